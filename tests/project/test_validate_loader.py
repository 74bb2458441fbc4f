"""The fast loader: same values as ruamel's stock safe loader, hostile input refused."""

from __future__ import annotations

import datetime as dt
import io
import math
import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from jcstate.project.yamlio import (
    MAX_DEPTH,
    CParser,
    YamlProblem,
    c_loader_available,
    fast_yaml,
    parse_fast,
)


def stock_load(text: str) -> Any:
    # ruamel's pure-Python parser is the reference for what a file means (it reads
    # YAML 1.2 and is the round-trip loader's parser); the C one is a fast path.
    return YAML(typ="safe", pure=True).load(text)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@pytest.mark.skipif(os.environ.get("JCSTATE_PURE_YAML") == "1", reason="the pure parser is forced")
def test_uses_the_c_parser() -> None:
    assert c_loader_available()
    _, loader = fast_yaml().get_constructor_parser(b"a: 1\n")
    assert isinstance(loader, CParser)
    loader.dispose()


# Plain scalars of every kind YAML resolves: ints (octal, hex), floats, bools,
# nulls, timestamps, and text that merely looks like one of them.
PLAIN_TOKENS = st.one_of(
    st.from_regex(r"[A-Za-z0-9_.+\-:~ ]{1,14}", fullmatch=True),
    st.sampled_from(
        [
            "yes",
            "No",
            "on",
            "OFF",
            "true",
            "False",
            "TRUE",
            "null",
            "Null",
            "~",
            "0o17",
            "0x1F",
            "012",
            "+12",
            "-0",
            "1e3",
            "1_000",
            ".5",
            ".inf",
            "-.Inf",
            ".nan",
            "2024-02-29",
            "2024-02-29T10:00:00Z",
            "2001-12-14 21:59:43.10 -5",
            "1:30",
            "+1 415 555 0100",
            "0",
            "3.",
            "1.0e+3",
            "=",
            "<<",
        ]
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(PLAIN_TOKENS, min_size=1, max_size=8))
def test_plain_scalars_resolve_like_the_stock_loader(tokens: list[str]) -> None:
    text = "".join(f"- {token}\n" for token in tokens)
    try:
        expected = stock_load(text)
    except Exception:
        with pytest.raises(YamlProblem):
            parse_fast(text.encode())
        return
    assert same(parse_fast(text.encode()).data, expected)


VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.text(max_size=12),
        st.dates(min_value=dt.date(1900, 1, 1)),
    ),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=8), VALUES, max_size=5))
def test_documents_load_like_the_stock_loader(document: dict[str, Any]) -> None:
    stream = io.StringIO()
    YAML(typ="safe", pure=True).dump(document, stream)
    text = stream.getvalue()
    try:
        expected = stock_load(text)
    except Exception:  # the dumper can write what no loader reads back
        with pytest.raises(YamlProblem):
            parse_fast(text.encode())
        return
    assert same(parse_fast(text.encode()).data, expected)


def test_merge_keys_and_anchors_still_work() -> None:
    text = b"base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\nl: [*b, *b]\n"
    data = parse_fast(text).data
    assert data["m"] == {"x": 1, "y": 3}
    assert data["l"] == [{"x": 1, "y": 2}] * 2


def test_item_marks_are_the_line_and_column_of_each_item() -> None:
    text = b'version: 1\ncontacts:\n  - phone: "1"\n\n  -   phone: "2"\n'
    assert parse_fast(text, index_key="contacts").item_marks == ((3, 5), (5, 7))


def billion_laughs(levels: int) -> bytes:
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        refs = ",".join([f"*l{level - 1}"] * 10)
        lines.append(f"l{level}: &l{level} [{refs}]")
    return ("\n".join(lines) + "\n").encode()


def test_billion_laughs_is_refused_without_expanding_it() -> None:
    # 10**30 strings: anything that expanded this would never return.
    with pytest.raises(YamlProblem, match="alias bomb"):
        parse_fast(billion_laughs(30))


def test_modest_alias_use_is_fine() -> None:
    shared = "common: &c {lead_source: Website, seats: 3}\n"
    items = "".join(f'  - {{phone: "{n}", custom_fields: *c}}\n' for n in range(2000))
    data = parse_fast((shared + "contacts:\n" + items).encode()).data
    assert len(data["contacts"]) == 2000


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(YamlProblem, match="refers to itself"):
        parse_fast(b"a: &a [1, *a]\n")


@pytest.mark.parametrize(
    "text",
    [
        b"[" * 50_000 + b"]" * 50_000,  # crashes the C composer if it gets through
        b"- " * 50_000 + b"x\n",
        b"".join(b" " * i + b"a:\n" for i in range(MAX_DEPTH + 1)),
    ],
    ids=["flow", "compact-block", "indented-block"],
)
def test_deep_nesting_is_refused_before_parsing(text: bytes) -> None:
    with pytest.raises(YamlProblem, match="nesting is deeper than"):
        parse_fast(text)


def test_python_tags_are_refused() -> None:
    with pytest.raises(YamlProblem, match=r"unsupported tag '!!python/name:os\.system'"):
        parse_fast(b"x: !!python/name:os.system\n")

"""One meaning for every YAML file: validation, editing and both parsers agree.

`validate` and `plan` read files with `parse_fast` (the C parser when it is
installed); `fmt`, `drift --adopt` and `export` merges edit them with the
round-trip loader (`load_roundtrip_bytes`). The differential tests below load
each document of the corpus (the repository's YAML files, the issue's cases,
mutations of the quickstart files and generated documents) every way, and
require: either every way refuses it with the same message at the same
`line:col`, or every way accepts it with equal plain values. Both parser
paths are run (`JCSTATE_PURE_YAML=1` forces the pure-Python one).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from jcstate.project.yamlio import (
    YamlProblem,
    load_roundtrip_bytes,
    parse_canonical,
    parse_fast,
    plain_value,
    roundtrip_yaml,
    same_plain,
)
from tests.fuzz.test_fuzz_config import (
    CONFIG_TEXT,
    CUSTOMERS_TEXT,
    PARTNERS_TEXT,
    mutated,
    yaml_values,
)

ROOT = Path(__file__).resolve().parents[2]
CORPUS_FILES = sorted(
    path
    for folder in ("tests/data", "tests/fuzz", "examples")
    for path in (ROOT / folder).rglob("*")
    if path.suffix in (".yaml", ".yml") and path.is_file()
)

#: The disagreements the issue names, and their neighbours.
ISSUE_CASES = [
    b"custom_fields: {website: https://acme.example}\n",
    b"custom_fields: {call_at: 12:30}\n",
    b"custom_fields:\n  call_at: 12:30\n",
    b"a: &x 1\nb: &x 2\nc: *x\n",
    b"base: &base {last_name: Lee}\nc:\n  <<: *base\n  first_name: Ann\n  first_name: Bob\n",
    b"c:\n  first_name: Ann\n  first_name: Bob\n",
    b"%YAML 1.1\n---\na: yes\nb: 010\nc: 12:30\n",
    b"a: !custom tag\n",
    b"a: 2024-02-30\n",
    b"phone: +442079460958\n",
    b"a: 1\nb:\t\n",
    b"cus\ttom: 1\n",
    b'a: "\\ud800"\n',
    b": x\n",
    b"a: [1\n",
]


@pytest.fixture(params=["c", "pure"])
def parser(request: pytest.FixtureRequest) -> Any:
    old = os.environ.get("JCSTATE_PURE_YAML")
    if request.param == "pure":
        os.environ["JCSTATE_PURE_YAML"] = "1"
    else:
        os.environ.pop("JCSTATE_PURE_YAML", None)
    yield request.param
    if old is None:
        os.environ.pop("JCSTATE_PURE_YAML", None)
    else:
        os.environ["JCSTATE_PURE_YAML"] = old


def validating(raw: bytes) -> Any:
    try:
        return ("ok", parse_fast(raw).data)
    except YamlProblem as problem:
        return ("error", problem.message, problem.line, problem.col)


def editing(raw: bytes) -> Any:
    """What fmt, adopt and export see: the round-trip load they edit, as plain values."""
    try:
        return ("ok", plain_value(load_roundtrip_bytes(raw)))
    except YamlProblem as problem:
        return ("error", problem.message, problem.line, problem.col)


def agree(a: Any, b: Any) -> bool:
    if a[0] == "ok" and b[0] == "ok":
        return same_plain(a[1], b[1])
    return bool(a == b)


def check_canonical(raw: bytes) -> None:
    """Where the canonical line reader answers, it reads what `parse_fast` reads."""
    quick = parse_canonical(raw)
    if quick is None:
        return
    reference = parse_fast(raw, index_key="contacts")
    assert same_plain(quick.data, reference.data), (raw, quick.data, reference.data)
    assert quick.item_marks == reference.item_marks, raw


def check_one_meaning(raw: bytes) -> None:
    check_canonical(raw)
    fast = validating(raw)
    edit = editing(raw)
    assert agree(fast, edit), (raw, fast, edit)
    assert "reads differently" not in str(edit), (raw, edit)
    if fast[0] == "ok":
        # The round-trip loader itself (no validation in front) reads the same value.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rt = roundtrip_yaml().load(raw)
        assert same_plain(plain_value(rt), fast[1]), (raw, fast, rt)


def both_parsers(raw: bytes) -> tuple[Any, Any]:
    old = os.environ.get("JCSTATE_PURE_YAML")
    try:
        os.environ.pop("JCSTATE_PURE_YAML", None)
        c_path = validating(raw)
        os.environ["JCSTATE_PURE_YAML"] = "1"
        pure_path = validating(raw)
    finally:
        if old is None:
            os.environ.pop("JCSTATE_PURE_YAML", None)
        else:
            os.environ["JCSTATE_PURE_YAML"] = old
    return c_path, pure_path


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_corpus_files_mean_the_same_to_every_command(path: Path, parser: str) -> None:
    check_one_meaning(path.read_bytes())


@pytest.mark.parametrize("raw", ISSUE_CASES)
def test_issue_cases_mean_the_same_to_every_command(raw: bytes, parser: str) -> None:
    check_one_meaning(raw)


@pytest.mark.parametrize("raw", ISSUE_CASES)
def test_issue_cases_mean_the_same_on_both_parsers(raw: bytes) -> None:
    c_path, pure_path = both_parsers(raw)
    assert agree(c_path, pure_path), (c_path, pure_path)


FUZZ = settings(
    max_examples=int(os.environ.get("JCSTATE_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,  # `parser` sets the path once for all inputs
    ],
)


def _dumped(document: Any) -> bytes:
    import io

    stream = io.StringIO()
    YAML(typ="safe", pure=True).dump(document, stream)
    return stream.getvalue().encode("utf-8", "surrogatepass")


@FUZZ
@given(text=st.one_of(mutated(CUSTOMERS_TEXT), mutated(PARTNERS_TEXT), mutated(CONFIG_TEXT)))
@example(text=CUSTOMERS_TEXT.replace("plan_tier: Enterprise", "site: https://acme.example"))
def test_mutated_files_mean_the_same_to_every_command(text: str, parser: str) -> None:
    check_one_meaning(text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(text=st.one_of(mutated(CUSTOMERS_TEXT), mutated(PARTNERS_TEXT), mutated(CONFIG_TEXT)))
def test_mutated_files_mean_the_same_on_both_parsers(text: str) -> None:
    c_path, pure_path = both_parsers(text.encode("utf-8", "surrogatepass"))
    assert agree(c_path, pure_path), (c_path, pure_path)


@FUZZ
@given(document=st.dictionaries(st.text(max_size=8), yaml_values, max_size=5))
def test_generated_documents_mean_the_same_to_every_command(
    document: dict[str, Any], parser: str
) -> None:
    check_one_meaning(_dumped(document))
    check_one_meaning(json.dumps(document).encode())


# ---------------------------------------------------------------------------
# The issue's cases, one by one: what every command now reads
# ---------------------------------------------------------------------------


def test_a_url_or_a_time_in_a_flow_mapping_is_a_value_everywhere(parser: str) -> None:
    raw = b"custom_fields: {website: https://acme.example, call_at: 12:30}\n"
    expected = {"custom_fields": {"website": "https://acme.example", "call_at": "12:30"}}
    assert validating(raw) == ("ok", expected)
    assert editing(raw) == ("ok", expected)


def test_a_reused_anchor_is_the_same_error_everywhere(parser: str) -> None:
    raw = b"a: &x 1\nb: &x 2\nc: *x\n"
    fast = validating(raw)
    assert fast[0] == "error"
    assert "duplicate anchor" in fast[1]
    assert fast[2:] == (2, 4)
    assert editing(raw) == fast


def test_a_duplicate_key_beside_a_merge_is_an_error_everywhere(parser: str) -> None:
    raw = b"base: &base {last_name: Lee}\nc:\n  <<: *base\n  first_name: Ann\n  first_name: Bob\n"
    expected = ("error", 'YAML syntax error: duplicate key "first_name"', 5, 3)
    assert validating(raw) == expected
    assert editing(raw) == expected


def test_a_yaml_1_1_directive_does_not_change_values_for_edits(parser: str) -> None:
    raw = b"%YAML 1.1\n---\na: yes\nb: 010\nc: 12:30\n"
    assert editing(raw) == validating(raw) == ("ok", {"a": "yes", "b": 10, "c": "12:30"})

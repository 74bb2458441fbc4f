"""The canonical form read line by line: the same meaning as the YAML parsers, or no answer.

`parse_canonical` reads the files `fmt` writes without a YAML parser. Where it
answers, its value and item positions must be exactly `parse_fast`'s (on both
parser paths); where a file is not in its shape it must not answer. And what
it takes as canonical must be what `fmt` itself writes: `fmt` keeps such
contacts byte for byte.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from jcstate.project.fmt import format_contacts_text
from jcstate.project.yamlio import (
    SCHEMA_COMMENT_PREFIX,
    FastDoc,
    YamlProblem,
    canonical_item,
    contact_chunks,
    contact_spans,
    linereader,
    parse_canonical,
    parse_fast,
    read_chunk,
    same_plain,
    split_contacts,
)

HEADER = "version: 1\ncontacts:\n"


@pytest.fixture(params=["c", "pure"])
def parser(request: pytest.FixtureRequest) -> Iterator[str]:
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


def same_as_parse_fast(text: str) -> bool:
    """Asserts agreement where `parse_canonical` answers; returns whether it answered.

    Also that reading the file by chunks (`contact_chunks`, `read_chunk`: the
    meaning cache's way) answers exactly where `parse_canonical` does, with the
    same values, positions and canonical contacts, and that `contact_spans`
    (fmt's way) finds the contacts `split_contacts` finds.
    """
    raw = text.encode("utf-8", "surrogatepass")
    quick = parse_canonical(raw)
    assert_same_by_chunks(raw, quick)
    assert_same_spans(text)
    if quick is None:
        return False
    reference = parse_fast(raw, index_key="contacts")
    assert same_plain(quick.data, reference.data), (text, quick.data, reference.data)
    assert quick.item_marks == reference.item_marks, text
    return True


def assert_same_by_chunks(raw: bytes, whole: FastDoc | None) -> None:
    spread, most = linereader.CHUNK_SPREAD, linereader.CHUNK_MAX
    linereader.CHUNK_SPREAD, linereader.CHUNK_MAX = 2, 3  # chunks even in small files
    try:
        chunks = contact_chunks(raw)
        reads = [read_chunk(raw, chunk) for chunk in chunks or ()]
    finally:
        linereader.CHUNK_SPREAD, linereader.CHUNK_MAX = spread, most
    if chunks is None or None in reads:
        assert whole is None, raw
        return
    assert whole is not None, raw
    items: list[Any] = []
    marks: list[Any] = []
    exact: list[int] = []
    for read in reads:
        assert read is not None
        exact += [len(items) + number for number in read[2]]
        items += read[0]
        marks += read[1]
    assert [chunk.end for chunk in chunks[:-1]] == [chunk.start for chunk in chunks[1:]]
    assert same_plain(items, whole.data["contacts"]), raw
    assert tuple(marks) == whole.item_marks
    assert frozenset(exact) == whole.canonical_items


def assert_same_spans(text: str) -> None:
    split = split_contacts(text)
    spans = contact_spans(text)
    if split is None:
        assert spans is None, text
        return
    assert spans is not None, text
    lines, _begin, starts = split
    offsets = [len("\n".join(lines[:start])) + 1 for start in starts]
    assert spans == (offsets, [start + 1 for start in starts])


CANONICAL = (
    HEADER + '  - id: 12\n    phone: "+14155550100"\n    first_name: Ada\n'
    "    last_name: Lovelace\n    email: ada@example.com\n    company: Acme Corp\n"
    "    custom_fields:\n      renewal_on: 2026-01-31\n      seats: 3\n      tier: Pro\n"
    "      vip: true\n"
    '  - phone: "+442079460000"\n    first_name: José\n    company: null\n'
)


def test_the_canonical_form_is_read_without_a_yaml_parser(parser: str) -> None:
    assert same_as_parse_fast(CANONICAL)
    assert same_as_parse_fast(SCHEMA_COMMENT_PREFIX + "../schema.json\n" + CANONICAL)


@pytest.mark.parametrize(
    "value",
    [
        "true",
        "True",
        "TRUE",
        "false",
        "null",
        "Null",
        "NULL",
        "~",
        "yes",
        "no",
        "on",
        "off",
        "y",
        "n",
        "0",
        "012",
        "0x1F",
        "0o17",
        "1e5",
        "1.5",
        "-3",
        "+3",
        ".inf",
        "inf",
        "nan",
        ".NaN",
        "Infinity",
        "2024-02-30",
        "2024-1-5",
        "2024-01-05",
        "2024-01-05T10:00:00",
        "12:30",
        "a - b",
        "a -b",
        "ada@example.com",
        "Ünïcödé",
        "x" * 300,
        "a  b",
        "a #b",
        "a# b",
        "'quoted'",
        '"double"',
        "&anchor x",
        "*alias",
        "!tag x",
        "[1, 2]",
        "{a: 1}",
        "|",
        ">",
        "- item",
        "? key",
        "%x",
        "@at",
        "`tick",
        "=",
        "<<",
        "9999999999999999999",
    ],
)
def test_every_tricky_value_means_the_same_or_is_left_to_the_parser(
    value: str, parser: str
) -> None:
    for line in (f"    first_name: {value}\n", f"    custom_fields:\n      seats: {value}\n"):
        same_as_parse_fast(HEADER + '  - phone: "+14155550100"\n' + line)
    same_as_parse_fast(
        HEADER + f'  - phone: "+14155550100"\n    custom_fields:\n      {value}: 1\n'
    )


@pytest.mark.parametrize(
    "text",
    [
        HEADER + '  - phone: "+14155550100"\n    first_name: Ada\n  # a comment\n',
        HEADER + "  - first_name: Ada  # first\n    phone: '(415) 555-0100'\n",
        HEADER + '  - phone: "+14155550100"\n\n  - phone: "+14155550101"\n',
        HEADER + '  - phone: "+14155550100"\n    first_name: "Ada\n      Lovelace"\n',
        HEADER + '  - phone: "+14155550100"\n    first_name: >\n      Ada\n',
        HEADER + '  - phone: "+14155550100"\n    custom_fields: {tier: Pro}\n',
        HEADER + '  - phone: "+14155550100"\n    first_name: Ada\n    first_name: Bob\n',
        HEADER + '  - phone: "+14155550100"\n     first_name: Ada\n',
        HEADER + '  - phone: "+14155550100"\n   first_name: Ada\n',
        HEADER + '  - &a phone: "+14155550100"\n',
        "version: 2\ncontacts:\n" + '  - phone: "+14155550100"\n',
        "version: 1\ndefaults: {company: X}\ncontacts:\n" + '  - phone: "+14155550100"\n',
        HEADER + '  - phone: "+14155550100"\nextra: 1\n',
        HEADER + '  - phone: "+14155550100"',
        HEADER + '  - phone: "+14155550100"\n    first_name: A\tda\n',
    ],
)
def test_near_canonical_files_mean_the_same_or_are_left_to_the_parser(
    text: str, parser: str
) -> None:
    same_as_parse_fast(text)


def test_a_contact_changed_by_hand_is_read_on_its_own_lines() -> None:
    text = CANONICAL.replace(
        '  - phone: "+442079460000"\n',
        "  - first_name: Grace  # renamed\n    phone: '020 7946 0000'\n",
    ).replace("    first_name: José\n", "")
    assert same_as_parse_fast(text)


FUZZ = settings(
    max_examples=int(os.environ.get("JCSTATE_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

words = st.one_of(
    st.sampled_from(["Ada", "Lovelace", "true", "null", "x-y", "a.b@c.d", "O'Neil", "José"]),
    st.text(alphabet="abcXYZ019 .-@#:'\"_", min_size=1, max_size=10),
)
scalars = st.one_of(words, st.integers(0, 10**6).map(str), st.sampled_from(["2024-01-05"]))
phones = st.sampled_from(["+14155550100", "+442079460958", "+14155550101", "+33142685300"])


@st.composite
def contacts_files(draw: Any) -> str:
    lines = ["version: 1", "contacts:"]
    for _ in range(draw(st.integers(1, 4))):
        entry = [f'phone: "{draw(phones)}"']
        for key in draw(st.lists(st.sampled_from(["first_name", "last_name", "email"]))):
            entry.append(f"{key}: {draw(scalars)}")
        custom = draw(st.dictionaries(st.sampled_from(["seats", "tier", "zz"]), scalars))
        if custom:
            entry.append("custom_fields:")
            entry += [f"  {key}: {value}" for key, value in sorted(custom.items())]
        if draw(st.booleans()):
            entry = draw(st.permutations(entry[:1] + entry[1:]))
        lines.append("  - " + entry[0])
        lines += ["    " + line for line in entry[1:]]
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from(["  # note", "", "    # x"])))
    return "\n".join(lines) + "\n"


@FUZZ
@given(text=contacts_files())
@example(text=CANONICAL)
def test_generated_files_mean_the_same(text: str, parser: str) -> None:
    same_as_parse_fast(text)


@FUZZ
@given(text=contacts_files())
@example(text=CANONICAL)
def test_what_is_read_as_canonical_is_what_fmt_writes(text: str) -> None:
    """A contact `canonical_item` takes is one fmt would not change (so fmt can keep it)."""
    lines = text.split("\n")[2:-1]
    starts = [i for i, line in enumerate(lines) if line.startswith("  - ")]
    for begin, end in zip(starts, [*starts[1:], len(lines)], strict=True):
        segment = lines[begin:end]
        if canonical_item(segment) is None:
            continue
        single = HEADER + "\n".join(segment) + "\n"
        try:
            parse_fast(single.encode())
        except YamlProblem:  # only files that load are formatted
            continue
        assert format_contacts_text(single) == single

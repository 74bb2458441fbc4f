"""A canonical contact read by one pattern match means what the line by line reading says.

The line reader takes a contact in the exact form fmt writes by one pattern
match on the file's text (`linereader._CANON_CONTACT`, `_canonical_groups`)
rather than cutting it into lines for `canonical_item`. For any contact's
lines the two must agree: the same mapping, and no answer from the pattern
where `canonical_item` has none (then the contact is read line by line, as
before). `test_canonical.py` holds the whole file's reading equal to the YAML
parsers.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from jcstate.project.yamlio import (
    canonical_item,
    linereader,
    parse_canonical,
    parse_fast,
    same_plain,
)

HEADER = "version: 1\ncontacts:\n"


def by_pattern(segment: list[str]) -> dict[str, Any] | None:
    """What the pattern reads of one contact's lines (None: no whole match, or not canonical)."""
    text = "\n".join(segment) + "\n"
    match = linereader._CANON_CONTACT.match(text)
    if match is None or match.end() != len(text):
        return None
    return linereader._canonical_groups(match.groups())


def agree(segment: list[str]) -> None:
    expected = canonical_item(segment)
    found = by_pattern(segment)
    assert found == expected, segment
    if found is not None:
        assert list(found) == list(expected or {}), segment
        assert [type(v) for v in found.values()] == [type(v) for v in (expected or {}).values()]


VALUES = [
    "Ada",
    "Ada Lovelace",
    "",
    " Ada",
    "Ada ",
    "a  b",
    "0",
    "12",
    "012",
    "-3",
    "true",
    "True",
    "null",
    "~",
    "2024-01-05",
    "2024-02-30",
    "x: y",
    "a #b",
    "'q'",
    '"q"',
    "José",
    "9999999999999999999",
]
LINES = [
    '  - phone: "+14155550100"',
    '  - phone: "+1"',
    '  - phone: "+"',
    '  - phone: "14155550100"',
    '  - phone: "+1415555010012345678901"',
    '  - phone: "+141555501001234567890"',
    "  - phone: +14155550100",
    '  - phone: "+14155550100" # x',
    '  -  phone: "+14155550100"',
    '  - id: 7\n    phone: "+14155550100"',
    *[f'  - id: {value}\n    phone: "+14155550100"' for value in VALUES],
]


@pytest.mark.parametrize("first", LINES)
def test_the_first_lines_agree(first: str) -> None:
    agree(first.split("\n"))
    agree([*first.split("\n"), "    first_name: Ada"])


@pytest.mark.parametrize("value", VALUES)
def test_every_value_agrees(value: str) -> None:
    phone = '  - phone: "+14155550100"'
    for key in ("first_name", "last_name", "email", "company", "nickname", "id", "phone"):
        agree([phone, f"    {key}: {value}"])
        agree([phone, f"    {key}:{value}"])
        agree([phone, f"     {key}: {value}"])
    agree([phone, "    custom_fields:", f"      seats: {value}"])
    agree([phone, "    custom_fields:", f"      {value}: 1"])
    agree([phone, "    custom_fields:", f"       seats: {value}"])


@pytest.mark.parametrize(
    "tail",
    [
        ["    custom_fields:"],
        ["    custom_fields: "],
        ["    custom_fields:", "      b: 1", "      a: 2"],
        ["    custom_fields:", "      a: 1", "      a: 2"],
        ["    custom_fields:", "      a: 1", "    first_name: Ada"],
        ["    custom_fields:", "      a: 1", "      # note"],
        ["    custom_fields:", "      a: 1", ""],
        ["    custom_fields:", "      a:"],
        ["    custom_fields:", "      true: 1"],
        ["    custom_fields:", "      9a: 1"],
        ["    company: X", "    first_name: Ada"],
        ["    first_name: Ada", "    first_name: Bob"],
        ["    first_name: Ada", ""],
        ["    first_name: Ada", "  # note"],
        ["    first_name: Ada  # note"],
    ],
)
def test_the_other_lines_agree(tail: list[str]) -> None:
    agree(['  - phone: "+14155550100"', *tail])


keys = st.sampled_from(
    ["id", "phone", "first_name", "last_name", "email", "company", "custom_fields", "other"]
)
texts = st.one_of(
    st.sampled_from(VALUES), st.text(alphabet="aZ09 .-@#:'\"_~+", min_size=0, max_size=8)
)


@st.composite
def segments(draw: Any) -> list[str]:
    lines = []
    for number, key in enumerate(draw(st.lists(keys, min_size=1, max_size=8))):
        lead = "  - " if number == 0 else draw(st.sampled_from(["    ", "    ", "     ", "  "]))
        if key == "phone":
            value = draw(st.sampled_from(['"+14155550100"', '"+4420"', "+1415", '"+1"x']))
            lines.append(f"{lead}phone: {value}")
        elif key == "custom_fields":
            lines.append(f"{lead}custom_fields:")
            for name in draw(st.lists(st.sampled_from(["a", "b", "seats", "null", "A"]))):
                indent = draw(st.sampled_from(["      ", "      ", "       "]))
                lines.append(f"{indent}{name}: {draw(texts)}")
        else:
            lines.append(f"{lead}{key}: {draw(texts)}")
    return lines


@settings(
    max_examples=int(os.environ.get("JCSTATE_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(segment=segments())
@example(segment=["  - id: 3", '    phone: "+14155550100"', "    custom_fields:", "      a: 1"])
def test_generated_contacts_agree(segment: list[str]) -> None:
    agree(segment)


@settings(max_examples=100, deadline=None)
@given(contacts=st.lists(segments(), min_size=1, max_size=4))
def test_generated_files_mean_what_the_parser_says(contacts: list[list[str]]) -> None:
    text = HEADER + "".join("\n".join(segment) + "\n" for segment in contacts)
    read = parse_canonical(text.encode())
    if read is None:
        return
    expected = parse_fast(text.encode(), index_key="contacts")
    assert same_plain(read.data, expected.data)
    assert read.item_marks == expected.item_marks

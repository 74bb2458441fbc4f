"""The event builder behind `parse_fast`: the stock loader's values, without its node graph."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from ruamel.yaml import YAML

from jcstate.project import yamlio
from jcstate.project.yamlio import YamlProblem, parse_fast
from tests.project.test_validate_loader import same


def stock_load(text: str) -> Any:
    return YAML(typ="safe", pure=False).load(text)


@pytest.fixture
def no_reference_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail if `parse_fast` hands the document to the compose-then-construct path."""

    def refuse(*_args: object) -> None:
        raise AssertionError("parse_fast fell back to the node-graph loader")

    monkeypatch.setattr(yamlio.fast, "_parse_composed", refuse)


def large_contacts_file(contacts: int) -> str:
    """A contacts file with every kind of value a real one holds, plus anchors and merges."""
    lines = [
        "# yaml-language-server: $schema=../schemas/contacts.schema.json",
        "version: 1",
        "defaults: &defaults",
        "  company: Acme Corp",
        "  custom_fields: &common {lead_source: Website, active: true}",
        "contacts:",
    ]
    for n in range(contacts):
        lines += [
            f'  - phone: "+1212{2_000_000 + n:07d}"',
            f"    first_name: {['Jordan', 'Sam', 'Alex', 'Kim'][n % 4]}",
            f"    last_name: 'O''Lee {n}'",
            f"    email: user.{n}@example.com",
        ]
        if n % 7 == 0:
            lines.append("    <<: *defaults")
        elif n % 7 == 1:
            lines.append("    custom_fields: *common")
        else:
            lines += [
                "    custom_fields:",
                f"      seats: {n % 50}",
                f"      ratio: {n / 8}",
                f"      renewal_on: 2026-{n % 12 + 1:02d}-{n % 28 + 1:02d}",
                f"      verified: {['true', 'false', 'null', '~', 'yes'][n % 5]}",
                f"      code: 0o{n % 8}{n % 7}",
                "      notes: |",
                f"        line one of {n}",
                "        line two",
            ]
    return "\n".join(lines) + "\n"


#: 2,000 contacts in the CI run; the 20,000 of the long variant (`-m slow`) take 20 times as long.
@pytest.mark.parametrize("count", [2_000, pytest.param(20_000, marks=pytest.mark.slow)])
def test_a_large_file_loads_exactly_like_the_stock_loader(
    count: int, no_reference_path: None
) -> None:
    text = large_contacts_file(count)
    doc = parse_fast(text.encode(), index_key="contacts")
    expected = stock_load(text)
    assert same(doc.data, expected)
    assert len(doc.item_marks) == count
    assert doc.item_marks[:3] == ((7, 5), (12, 5), (17, 5))  # contact 0 has 5 lines, 1 has 5
    assert doc.data["contacts"][1]["custom_fields"] is doc.data["defaults"]["custom_fields"]


@pytest.mark.parametrize(
    "text",
    [
        "a: &a {x: 1, y: 2}\nb: &b {y: 3, z: 4}\nm: {<<: [*a, *b], z: 5, w: 6}\n",
        "a: &a {x: 1}\nb: &b {<<: *a, y: 2}\nc: {<<: *b, x: 9}\n",
        "m:\n  <<: {k: inline, j: 1}\n  j: 2\n",
        "m: {<<: [], a: 1}\n",
        "{=: 1, <<: {b: 2}}\n",
        "- !!int '12'\n- !!str 12\n- !!float 1\n- !!null ''\n- !!bool true\n- !!binary aGk=\n",
        "- !!timestamp 2024-02-29 10:00:00 +1\n- 1_000\n- .NaN\n- 0x1F\n"
        "- 2001-12-14t21:59:43.10-05:00\n",
        "s: &s shared\nl: [*s, *s, &n 1, *n]\n1: int key\nnull: null key\n2024-01-01: date key\n",
        "",
        "---\n",
        "just a scalar\n",
        '- |\n  block\n- >\n  folded\n  text\n- "dq\\tesc"\n',
    ],
)
def test_anchors_merges_and_tags_load_like_the_stock_loader(
    text: str, no_reference_path: None
) -> None:
    assert same(parse_fast(text.encode()).data, stock_load(text))


def test_aliases_in_the_indexed_list_point_at_their_anchor(no_reference_path: None) -> None:
    text = b"one: &one {phone: '1'}\ncontacts:\n  - *one\n  - {phone: '2'}\n"
    assert parse_fast(text, index_key="contacts").item_marks == ((1, 6), (4, 5))


@pytest.mark.parametrize(
    ("text", "message", "line", "col"),
    [
        # Each is handed to the reference path, which reports it exactly as before.
        (b"a: 1\na: 2\n", 'duplicate key "a"', 2, 1),
        (b"a: &x 1\nb: &x 2\n", "duplicate anchor", 2, 4),
        (b"a: *nope\n", "undefined alias", 1, 4),
        (b"a: 1\n---\nb: 2\n", "another document", 2, 1),
        (b"d: 2024-02-30\n", "day is out of range", 1, 4),
        (b"m: {<<: 1}\n", "expected a mapping or list of mappings for merging", 1, 9),
        (b"- <<\n", "unsupported tag '!!merge'", 1, 3),
        (b"x: !!python/name:os.system\n", "unsupported tag", 1, 4),
    ],
)
def test_problems_keep_their_message_and_position(
    text: bytes, message: str, line: int, col: int
) -> None:
    with pytest.raises(YamlProblem, match=message) as caught:
        parse_fast(text)
    assert (caught.value.line, caught.value.col) == (line, col)


def test_heavy_alias_use_within_the_limit_still_loads() -> None:
    # 301 nodes aliased 1,500 times: over what the first lines allow, within the total.
    shared = "big: &big [" + ",".join(str(n) for n in range(300)) + "]\n"
    refs = "refs: [" + ",".join(["*big"] * 1_500) + "]\n"
    padding = "pad: [" + ",".join(f"p{n}" for n in range(150_000)) + "]\n"
    text = shared + refs + padding
    data = parse_fast(text.encode()).data
    assert len(data["refs"]) == 1_500 and data["refs"][0] is data["big"]
    assert data["big"][-1] == 299 and isinstance(data["big"][0], int)


def test_dates_stay_dates() -> None:
    assert parse_fast(b"d: 2024-02-29\n").data == {"d": dt.date(2024, 2, 29)}

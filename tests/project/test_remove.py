"""Removing contact entries from a hand-written file keeps every comment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jcstate.project.remove import remove_entries
from jcstate.project.yamlio import parse_fast

FILE = b"""\
# Customers, by hand.
version: 1
contacts:
  # the switchboard
  - phone: "+14155550001"  # A inline
    first_name: A
  # B is a reseller
  - phone: "+14155550002"
    first_name: B
    custom_fields: {seats: 3}  # B inline
  # C came from the fair
  - phone: "+14155550003"
    first_name: C
# the end
"""


def _phone(*phones: str) -> Any:
    def pick(entry: Mapping[str, Any]) -> bool:
        return entry.get("phone") in phones

    return pick


def test_an_entry_goes_and_every_full_line_comment_stays() -> None:
    removal = remove_entries(FILE, _phone("+14155550002"))
    assert removal is not None
    assert removal.lines == (8,)
    assert removal.text == FILE.decode().replace(
        '  - phone: "+14155550002"\n    first_name: B\n    custom_fields: {seats: 3}  # B inline\n',
        "",
    )
    assert "# B is a reseller" in removal.text and "# C came from the fair" in removal.text


def test_the_first_and_the_last_entries() -> None:
    removal = remove_entries(FILE, _phone("+14155550001", "+14155550003"))
    assert removal is not None
    data = parse_fast(removal.text.encode()).data
    assert [entry["phone"] for entry in data["contacts"]] == ["+14155550002"]
    for comment in ("# Customers", "# the switchboard", "# C came from the fair", "# the end"):
        assert comment in removal.text
    assert "A inline" not in removal.text


def test_every_entry_removed_leaves_an_empty_list() -> None:
    removal = remove_entries(FILE, lambda entry: True)
    assert removal is not None
    assert parse_fast(removal.text.encode()).data["contacts"] == []
    assert "# Customers, by hand." in removal.text


def test_a_flow_style_list_is_edited_too() -> None:
    raw = b'# flow\nversion: 1\ncontacts: [{phone: "+14155550001"}, {phone: "+14155550002"}]\n'
    removal = remove_entries(raw, _phone("+14155550001"))
    assert removal is not None
    assert parse_fast(removal.text.encode()).data["contacts"] == [{"phone": "+14155550002"}]
    assert removal.text.startswith("# flow\n")


def test_nothing_picked_is_none() -> None:
    assert remove_entries(FILE, _phone("+19999999999")) is None

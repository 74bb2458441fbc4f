"""Every value that `drift --adopt`, `export` and `import` write reads back identical.

A property test over arbitrary Unicode text (every code point a UTF-8 file
can hold), through each writer and the loader `validate` and `plan` use. The
break it guards: NEL (U+0085), LINE SEPARATOR and PARAGRAPH SEPARATOR are
line breaks to YAML, folded to a space in a plain or single-quoted scalar, so
`"a\\u2028b\\u0085c"` was written as a value that read back as `"a\\u2028b c"`
and the next plan updated the remote contact.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from jcstate.project.adopt import FieldWrite, apply_write
from jcstate.project.export import render_contacts_text
from jcstate.project.sources.writer import render_generated
from jcstate.project.yamlio import (
    dump_roundtrip_str,
    load_roundtrip_bytes,
    parse_fast,
    render_contacts_file,
)

#: Any character a UTF-8 file holds, with YAML's breaks, quotes and blanks drawn more often.
TEXT = st.text(
    st.one_of(st.characters(codec="utf-8"), st.sampled_from("\x85\u2028\u2029\r\n\t \"'#:-")),
    max_size=20,
)
PHONE = "+14155550100"
EXISTING = b'version: 1\n# kept\ncontacts:\n  - phone: "+14155550100"\n    first_name: Old\n'


def _read_back(text: str) -> Any:
    return parse_fast(text.encode("utf-8")).data["contacts"][0]


def _entry(value: str) -> dict[str, Any]:
    return {"phone": PHONE, "first_name": value, "custom_fields": {"note": value}}


@settings(max_examples=300)
@given(TEXT)
def test_export_and_import_writers_read_back_identical(value: str) -> None:
    for text in (
        render_contacts_file([_entry(value)]),
        render_contacts_text([_entry(value)]),
        render_generated("crm", [_entry(value)]),
    ):
        back = _read_back(text)
        assert back["first_name"] == value
        assert back["custom_fields"] == {"note": value}


@settings(max_examples=300)
@given(TEXT)
def test_adopt_writes_read_back_identical(value: str) -> None:
    data = load_roundtrip_bytes(EXISTING)
    entry = data["contacts"][0]
    apply_write(entry, FieldWrite("first_name", value))
    apply_write(entry, FieldWrite("custom_fields", value, custom_key="note"))
    text = dump_roundtrip_str(data)
    back = _read_back(text)
    assert back["first_name"] == value
    assert back["custom_fields"] == {"note": value}
    assert "# kept" in text


def test_the_reported_value() -> None:
    value = "a\u2028b\u0085c"
    assert _read_back(render_contacts_file([_entry(value)]))["first_name"] == value

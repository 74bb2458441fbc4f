"""fmt: idempotent, keeps comments, and never changes what a file declares (hypothesis)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import phonenumbers
import pytest
from hypothesis import strategies as st

from jcstate.core.model import ProjectConfig
from jcstate.project.fmt import format_contacts_text
from jcstate.project.validate import ContactsDoc, check_contacts
from jcstate.project.yamlio import parse_fast, render_contacts_file
from tests.support.properties import example_counts, run_property

CONFIG = ProjectConfig.model_validate(
    {
        "version": 1,
        "default_region": "US",
        "custom_fields": {
            "tier": {"type": "enum", "values": ["Free", "Pro"]},
            "seats": {"type": "integer"},
            "vip": {"type": "boolean"},
            "renewal_on": {"type": "date"},
            "notes": {"type": "string"},
        },
    }
)


def declared(text: str) -> list[tuple[Any, ...]]:
    doc = parse_fast(text.encode(), index_key="contacts")
    contacts, issues = check_contacts(CONFIG, [ContactsDoc("a.yaml", doc.data, doc.item_marks)])
    assert issues == []
    return [(c.phone, c.id, dict(c.fields), dict(c.custom_fields)) for c in contacts]


def scalar(value: Any, style: str) -> str:
    """`value` written as YAML, a string in the requested quoting style if possible."""
    if not isinstance(value, str):
        return json.dumps(value) if not isinstance(value, dt.date) else value.isoformat()
    if style == "single":
        return "'" + value.replace("'", "''") + "'"
    if style == "plain":
        try:
            block = parse_fast(f"k: {value}\n".encode()).data
            flow = parse_fast(f"{{k: {value}}}\n".encode()).data
            if block == flow == {"k": value} and "#" not in value:
                return value
        except Exception:
            pass
    return json.dumps(value, ensure_ascii=False)


US = [f"+1415{n:07d}" for n in range(2_000_100, 2_000_400)]
GB = [f"+44207946{n:04d}" for n in range(10, 300)]
TEXTS = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
    st.sampled_from(["yes", "no", "123", "a: b", " padded ", "#x", "null", "O'Neil", "-"]),
)
STYLES = st.sampled_from(["plain", "single", "double"])


@st.composite
def phone_text(draw: st.DrawFn, e164: str) -> str:
    number = phonenumbers.parse(e164)
    formats = [phonenumbers.PhoneNumberFormat.E164, phonenumbers.PhoneNumberFormat.INTERNATIONAL]
    if e164.startswith("+1"):
        formats.append(phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, draw(st.sampled_from(formats)))


@st.composite
def custom_fields(draw: st.DrawFn) -> dict[str, Any]:
    options: dict[str, st.SearchStrategy[Any]] = {
        "tier": st.sampled_from(["Free", "Pro"]),
        "seats": st.one_of(st.integers(0, 500), st.integers(0, 500).map(str)),
        "vip": st.sampled_from([True, False, "yes", "off"]),
        "renewal_on": st.one_of(st.dates(), st.dates().map(dt.date.isoformat)),
        "notes": st.one_of(TEXTS, st.none()),
    }
    keys = draw(st.lists(st.sampled_from(sorted(options)), unique=True, max_size=5))
    return {key: draw(options[key]) for key in keys}


@st.composite
def contact(draw: st.DrawFn, e164: str) -> list[tuple[str, Any]]:
    entry: dict[str, Any] = {"phone": draw(phone_text(e164))}
    for name in ("first_name", "last_name", "company"):
        if draw(st.booleans()):
            entry[name] = draw(st.one_of(TEXTS, st.none()))
    if draw(st.booleans()):
        user = draw(st.from_regex(r"[A-Za-z0-9._]{1,8}", fullmatch=True))
        entry["email"] = f"{user}@Example.com"
    if draw(st.booleans()):
        entry["custom_fields"] = draw(custom_fields())
    if draw(st.booleans()):
        entry["id"] = draw(st.integers(1, 10**9))
    items = list(entry.items())
    return draw(st.permutations(items))


@st.composite
def messy_file(draw: st.DrawFn) -> str:
    phones = draw(st.lists(st.sampled_from(US + GB), unique=True, max_size=6))
    lines = ["# a file comment"] if draw(st.booleans()) else []
    top: list[str] = []
    body = ["contacts:"] if phones else ["contacts: []"]
    comment = 0
    for e164 in phones:
        items = draw(contact(e164))
        ids = [v for k, v in items if k == "id"]
        if ids and ids[0] in _seen_ids(body):
            items = [(k, v) for k, v in items if k != "id"]
        for index, (key, value) in enumerate(items):
            lead = "  - " if index == 0 else "    "
            if key == "custom_fields":
                flow = draw(st.booleans())
                parts = [(k, scalar(v, draw(STYLES))) for k, v in value.items()]
                if flow or not parts:
                    text = "{" + ", ".join(f"{k}: {v}" for k, v in parts) + "}"
                    body.append(f"{lead}{key}: {text}")
                else:
                    body.append(f"{lead}{key}:")
                    body.extend(f"      {k}: {v}" for k, v in parts)
            else:
                body.append(f"{lead}{key}: {scalar(value, draw(STYLES))}")
            if draw(st.integers(0, 4)) == 0:
                comment += 1
                body[-1] += f"  # c{comment}"
    top.append("version: 1")
    if draw(st.booleans()):
        top.append("defaults: {company: " + scalar(draw(TEXTS), "double") + "}")
    blocks = [top, body]
    if draw(st.booleans()):
        blocks.reverse()
    return "\n".join(lines + blocks[0] + blocks[1]) + "\n"


def _seen_ids(body: list[str]) -> set[int]:
    return {
        int(line.split(":")[1].split("#")[0]) for line in body if line.strip(" -").startswith("id:")
    }


@pytest.mark.parametrize("examples", example_counts(120))
def test_fmt_is_idempotent_and_keeps_what_the_file_declares(examples: int) -> None:
    def check(text: str) -> None:
        formatted = format_contacts_text(text, "US")
        assert format_contacts_text(formatted, "US") == formatted
        assert declared(formatted) == declared(text)
        for marker in [part.split()[0] for part in text.split("# ")[1:]]:
            assert f"# {marker}" in formatted

    run_property(check, examples, messy_file())


def test_fmt_canonical_form() -> None:
    text = (
        "# yaml-language-server: $schema=../schemas/contacts.schema.json\n"
        "contacts:\n"
        "- email: 'ada@example.com'   # work\n"
        "  custom_fields: {seats: 3, tier: Pro}\n"
        "  phone: '(415) 200-0101'\n"
        '  first_name: "Ada"\n'
        "  last_name:\n"
        "version: 1\n"
    )
    assert format_contacts_text(text, "US") == (
        "# yaml-language-server: $schema=../schemas/contacts.schema.json\n"
        "version: 1\n"
        "contacts:\n"
        '  - phone: "+14152000101"\n'
        "    first_name: Ada\n"
        "    last_name: null\n"
        "    email: ada@example.com   # work\n"
        "    custom_fields: {seats: 3, tier: Pro}\n"
    )


RENDER_VALUES = st.one_of(
    TEXTS, st.sampled_from(["line one\nline two", "tab\there", "ends: ", "a #b"]), st.none()
)


@st.composite
def rendered_entry(draw: st.DrawFn, e164: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"phone": e164}
    for name in ("first_name", "last_name", "email", "company"):
        if draw(st.booleans()):
            entry[name] = draw(RENDER_VALUES)
    if draw(st.booleans()):
        keys = draw(st.lists(st.sampled_from(["notes", "seats", "vip", "when"]), unique=True))
        values = st.one_of(RENDER_VALUES, st.integers(), st.booleans(), st.dates())
        entry["custom_fields"] = {key: draw(values) for key in keys}
    if draw(st.booleans()):
        entry["id"] = draw(st.integers(1, 10**12))
    return dict(draw(st.permutations(list(entry.items()))))


@st.composite
def rendered_files(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    phones = draw(st.lists(st.sampled_from(US + GB), unique=True, max_size=5))
    entries = [draw(rendered_entry(phone)) for phone in phones]
    defaults = draw(st.one_of(st.none(), st.fixed_dictionaries({"company": TEXTS})))
    return entries, defaults


@pytest.mark.parametrize("examples", example_counts(150))
def test_rendered_files_read_back_as_written_and_are_canonical(examples: int) -> None:
    def check(case: tuple[list[dict[str, Any]], dict[str, Any] | None]) -> None:
        entries, defaults = case
        text = render_contacts_file(entries, defaults)
        expected: dict[str, Any] = {"version": 1}
        if defaults:
            expected["defaults"] = defaults
        expected["contacts"] = entries
        assert parse_fast(text.encode()).data == expected
        assert format_contacts_text(text, "US") == text
        for entry_text in text.split("\n  - ")[1:]:
            assert entry_text.startswith('phone: "+') or entry_text.startswith("id: ")

    run_property(check, examples, rendered_files())

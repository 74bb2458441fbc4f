"""The fast canonical renderer of export writes exactly what `yamlio.render_contacts_file` does."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import strategies as st

from jcstate.project.export import render_contacts_text
from jcstate.project.yamlio import render_contacts_file
from tests.support.properties import example_counts, run_property

# Text that exercises quoting: YAML indicators, numbers, booleans, dates, unicode, spaces.
tricky_text = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "Acme Corp",
            "yes",
            "null",
            "123",
            "1.5",
            "2027-03-01",
            "a: b",
            "#x",
            "x #y",
            " padded ",
            "O'Brien",
            'say "hi"',
            "-dash",
            "* star",
            "& amp",
            "Müller",
            "a\nb",
            "",
            "~",
            "true",
            "@handle",
            "%pct",
            "x" * 1200,
        ]
    ),
)
custom_value = st.one_of(
    tricky_text,
    st.integers(min_value=-(10**12), max_value=10**12),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)),
)
entry = st.fixed_dictionaries(
    {"phone": st.one_of(st.from_regex(r"\+1[2-9][0-9]{9}", fullmatch=True), tricky_text)},
    optional={
        "id": st.integers(min_value=1, max_value=10**9),
        "first_name": tricky_text,
        "last_name": tricky_text,
        "email": st.one_of(st.emails(), tricky_text),
        "company": st.one_of(tricky_text, st.none()),
        "custom_fields": st.dictionaries(
            st.one_of(st.from_regex(r"[a-z_]{1,10}", fullmatch=True), tricky_text),
            custom_value,
            max_size=4,
        ),
    },
)


@pytest.mark.parametrize("examples", example_counts(120))
def test_fast_renderer_matches_the_canonical_one(examples: int) -> None:
    def check(entries: list[dict[str, Any]], company: str | None) -> None:
        defaults = {"company": company} if company else None
        assert render_contacts_text(entries, defaults) == render_contacts_file(entries, defaults)

    run_property(
        check,
        examples,
        entries=st.lists(entry, max_size=6),
        company=st.one_of(st.none(), tricky_text),
    )


def test_schema_line_and_empty_file() -> None:
    url = "../schemas/contacts.schema.json"
    assert render_contacts_text([], schema_url=url) == render_contacts_file([], schema_url=url)
    one = [{"phone": "+14155550101", "first_name": "Ann"}]
    assert render_contacts_text(one, schema_url=url) == render_contacts_file(one, schema_url=url)


def test_a_phone_ending_in_a_line_break_is_written_as_ruamel_writes_it() -> None:
    # Found by the property above: `$` also matches before a final line break.
    for phone in ("\n", "+14155550123\n"):
        entries = [{"phone": phone, "first_name": "Ann"}]
        assert render_contacts_text(entries) == render_contacts_file(entries)
        assert '\\n"' in render_contacts_text(entries)

"""The short way through a contact's own checks gives what the full path gives, or steps aside.

`validate` takes an item with no problem at all by a shorter way (no pydantic
shape check, no generic phone parse; `_PlainItems`). Every item, clean or
not, must end with the same contact and the same issues as on the full path
alone: these tests run both on the same items.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jcstate.project.validate as validate_module
from jcstate.core.model import ProjectConfig
from jcstate.project.validate import ContactsDoc, check_contacts

CONFIG = ProjectConfig.model_validate(
    {
        "version": 1,
        "api": {"url": "sandbox://x.db"},
        "contacts": ["contacts/*.yaml"],
        "default_region": "US",
        "custom_fields": {
            "tier": {"type": "enum", "values": ["Free", "Pro"]},
            "seats": {"type": "integer"},
            "score": {"type": "number"},
            "vip": {"type": "boolean"},
            "since": {"type": "date"},
            "note": {"type": "string"},
        },
        "ownership": {"field": "managed_by", "value": "jcstate"},
    }
)

PHONES = [
    "+14155550100",
    "+14155550101",
    "+442079460000",
    "(415) 555-0102",
    "+1 415 555 0103",
    "+10005550100",
    "nope",
    "",
    "+14155550100 ext. 5",
    "+4402079460001",
]
TEXTS = [
    "Ada",
    " Ada ",
    "",
    "  ",
    "x" * 255,
    "x" * 256,
    "bell\x07",
    "tab\there",
    "Ada.Lovelace@Example.COM",
    "no-at-sign",
    "a@b",
    "\ud800",
    "Zoë",
]
VALUES: list[Any] = [
    *TEXTS,
    None,
    0,
    1,
    -3,
    2**64,
    1.5,
    float("nan"),
    True,
    False,
    dt.date(2024, 2, 29),
    dt.datetime(2024, 2, 29, 12, 0),
    "2024-02-30",
    "Pro",
    "Free",
    "yes",
    [1],
    {"a": 1},
]
CUSTOM_KEYS: list[Any] = ["tier", "seats", "score", "vip", "since", "note", "managed_by", "tyer", 7]
CONTACT_KEYS = ["id", "phone", "first_name", "last_name", "email", "company", "custom_fields"]

#: Mostly clean values (the short way's case), sometimes anything.
values = st.one_of(
    st.sampled_from(["Ada", " Zoë ", "a.b@Example.COM", None]), st.sampled_from(VALUES)
)
clean_customs = st.fixed_dictionaries(
    {},
    optional={
        "tier": st.sampled_from(["Pro", "Free", " Pro"]),
        "seats": st.sampled_from([3, "4", 2.0]),
        "vip": st.sampled_from([True, "yes", None]),
        "since": st.sampled_from([dt.date(2024, 1, 2), "2024-01-02"]),
        "note": st.sampled_from(["line\nbreak", "", 5]),
    },
)
customs = st.one_of(
    clean_customs,
    st.dictionaries(st.sampled_from(CUSTOM_KEYS), values, max_size=4),
    st.sampled_from([None, "tier: Pro", ["tier"]]),
)
items = st.one_of(
    st.fixed_dictionaries(
        {"phone": st.one_of(st.sampled_from(PHONES[:2]), st.sampled_from(PHONES))},
        optional={
            "id": st.sampled_from([None, 1, 0, -1, 10**20, True, "7", 1.0]),
            "first_name": values,
            "last_name": values,
            "email": values,
            "company": values,
            "custom_fields": customs,
            "nickname": values,
        },
    ),
    st.fixed_dictionaries({}, optional={"first_name": values, "phone": st.sampled_from([1, None])}),
    st.sampled_from(["+14155550100", None, 3, ["phone"]]),
)


def both_ways(
    monkeypatch: pytest.MonkeyPatch, entries: list[Any], defaults: dict[str, Any] | None = None
) -> tuple[Any, Any]:
    data: dict[str, Any] = {"version": 1, "contacts": entries}
    if defaults is not None:
        data["defaults"] = defaults
    marks = [(3 + 2 * index, 5) for index in range(len(entries))]
    doc = ContactsDoc("contacts/a.yaml", data, marks)
    short = check_contacts(CONFIG, [doc])
    with monkeypatch.context() as patch:
        patch.setattr(validate_module._PlainItems, "contact", lambda *args: None)
        full = check_contacts(CONFIG, [doc])
    return short, full


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(entries=st.lists(items, max_size=6))
def test_any_items_mean_the_same_by_both_ways(
    monkeypatch: pytest.MonkeyPatch, entries: list[Any]
) -> None:
    short, full = both_ways(monkeypatch, entries)
    assert short == full


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    entries=st.lists(items, max_size=4),
    defaults=st.fixed_dictionaries(
        {}, optional={"company": values, "custom_fields": customs, "first_name": values}
    ),
)
def test_items_with_defaults_mean_the_same_by_both_ways(
    monkeypatch: pytest.MonkeyPatch, entries: list[Any], defaults: dict[str, Any]
) -> None:
    short, full = both_ways(monkeypatch, entries, defaults)
    assert short == full


def test_clean_items_take_the_short_way_and_the_others_are_checked_in_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shape_checked: list[Any] = []
    real = validate_module._entry_errors

    def counting(entries: list[Any]) -> Any:
        shape_checked.extend(entries)
        return real(entries)

    monkeypatch.setattr(validate_module, "_entry_errors", counting)
    clean = {"phone": "+14155550100", "first_name": " Ada ", "custom_fields": {"tier": "Pro"}}
    wrong = {"phone": "+14155550101", "first_name": 7}
    contacts, issues = check_contacts(
        CONFIG, [ContactsDoc("contacts/a.yaml", {"version": 1, "contacts": [clean, wrong]})]
    )
    assert [(c.phone, dict(c.fields), dict(c.custom_fields)) for c in contacts] == [
        ("+14155550100", {"first_name": "Ada"}, {"tier": "Pro"})
    ]
    assert [issue.message for issue in issues] == [
        "first_name must be a string, got an integer (7) (put it in quotes)"
    ]
    assert shape_checked == [wrong]


def test_a_clean_item_with_any_one_value_changed_means_the_same_by_both_ways(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clean: dict[str, Any] = {
        "id": 5,
        "phone": "+14155550100",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "company": "Acme",
        "custom_fields": {"tier": "Pro", "seats": 3},
    }
    ids: list[Any] = [None, 1, 0, -1, 10**20, True, "7", 1.0]
    changed: list[dict[str, Any]] = [clean]
    for key in [*CONTACT_KEYS, "nickname"]:
        for value in [*VALUES, *PHONES, *ids]:
            changed.append({**clean, key: value})
        changed.append({name: value for name, value in clean.items() if name != key})
    for key in CUSTOM_KEYS:
        for value in VALUES:
            changed.append({**clean, "custom_fields": {"tier": "Pro", key: value}})
    for entry in changed:
        short, full = both_ways(monkeypatch, [entry])
        assert short == full, entry

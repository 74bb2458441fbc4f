"""`RemoteContact` keeps a dataclass's meaning with its written-out constructor.

A listing builds one for every contact of the account, so its constructor is
written out (the slots set through their descriptors); what the plan, drift
and saved plans rely on stays the frozen dataclass's: equality by value,
immutability, `replace`, keywords and defaults, the repr, pickling.
"""

from __future__ import annotations

import pytest

from jcstate.core.model import RemoteContact
from jcstate.remote.tolerant import parse_contact
from tests.support.values import assert_a_dataclass_still, assert_frozen_and_slotted


def _contact(**overrides: object) -> RemoteContact:
    values: dict[str, object] = {
        "id": 7,
        "phone": "+14155550123",
        "fields": {"first_name": "Ada", "last_name": None, "email": None, "company": None},
        "custom_fields": {"tier": "gold"},
        "created_at": "2026-01-01",
        "updated_at": "2026-01-02",
    }
    values.update(overrides)
    return RemoteContact(**values)  # type: ignore[arg-type]


def test_equal_by_value_and_unequal_on_any_field() -> None:
    contact = _contact()
    assert contact == _contact()
    assert contact == RemoteContact(
        7, "+14155550123", dict(contact.fields), {"tier": "gold"}, "2026-01-01", "2026-01-02"
    )
    for name, value in (
        ("id", 8),
        ("phone", "+14155550124"),
        ("fields", {**contact.fields, "company": "Acme"}),
        ("custom_fields", {"tier": "silver"}),
        ("created_at", None),
        ("updated_at", "2026-01-03"),
    ):
        assert _contact(**{name: value}) != contact, name


def test_defaults_keywords_and_positions_mean_the_same() -> None:
    by_position = RemoteContact(1, "+14155550123", {}, {})
    by_keyword = RemoteContact(id=1, phone="+14155550123", fields={}, custom_fields={})
    assert by_position == by_keyword
    assert (by_position.created_at, by_position.updated_at) == (None, None)
    with pytest.raises(TypeError):
        RemoteContact(1, "+14155550123", {})  # type: ignore[call-arg]


def test_frozen_and_slotted() -> None:
    assert_frozen_and_slotted(_contact())


def test_replace_repr_fields_and_pickle() -> None:
    assert_a_dataclass_still(
        _contact(),
        "RemoteContact(id=7, phone='+14155550123', fields=",
        ["id", "phone", "fields", "custom_fields", "created_at", "updated_at",],
    )  # fmt: skip


def test_a_parsed_page_contact_equals_the_one_built_by_hand() -> None:
    raw = {"id": 7, "phone": "+14155550123", "first_name": " Ada ", "email": "A@B.CO",
           "custom_fields": {"tier": "gold"}, "created_at": "2026-01-01"}  # fmt: skip
    assert parse_contact(raw) == RemoteContact(
        7,
        "+14155550123",
        {"first_name": "Ada", "last_name": None, "email": "a@b.co", "company": None},
        {"tier": "gold"},
        "2026-01-01",
        None,
    )

"""`DesiredContact` keeps a dataclass's meaning with its written-out constructor.

A warm load builds one for every declared contact from the cache, so its
constructor is written out (the slots set through their descriptors, as
`RemoteContact`'s); what the plan, validation and saved plans rely on stays the
frozen dataclass's: equality by value, immutability, `replace`, keywords and
defaults, the repr, pickling.
"""

from __future__ import annotations

import pytest

from jcstate.core.model import DesiredContact, SourceRef
from tests.support.values import assert_a_dataclass_still, assert_frozen_and_slotted


def _contact(**overrides: object) -> DesiredContact:
    values: dict[str, object] = {
        "phone": "+14155550123",
        "fields": {"first_name": "Ada", "company": None},
        "custom_fields": {"seats": 3},
        "id": 7,
        "source": SourceRef("contacts/a.yaml", 3, 5),
    }
    values.update(overrides)
    return DesiredContact(**values)  # type: ignore[arg-type]


def test_equal_by_value_and_unequal_on_any_field() -> None:
    contact = _contact()
    assert contact == _contact()
    for name, value in (
        ("phone", "+14155550124"),
        ("fields", {"first_name": "Bea", "company": None}),
        ("custom_fields", {"seats": 4}),
        ("id", None),
        ("source", SourceRef("contacts/a.yaml", 4, 5)),
    ):
        assert _contact(**{name: value}) != contact, name
    assert hash(_contact(fields=(), custom_fields=())) == hash(
        _contact(fields=(), custom_fields=())
    )


def test_defaults_keywords_and_positions_mean_the_same() -> None:
    by_position = DesiredContact("+14155550123", {}, {})
    by_keyword = DesiredContact(phone="+14155550123", fields={}, custom_fields={})
    assert by_position == by_keyword
    assert (by_position.id, by_position.source) == (None, None)
    assert DesiredContact("+1", {}, {}, 7, None) == DesiredContact("+1", {}, {}, id=7)
    with pytest.raises(TypeError):
        DesiredContact("+14155550123", {})  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        DesiredContact("+14155550123", {}, {}, nickname="x")  # type: ignore[call-arg]


def test_frozen_and_slotted() -> None:
    assert_frozen_and_slotted(_contact())


def test_replace_repr_fields_and_pickle() -> None:
    assert_a_dataclass_still(
        _contact(),
        "DesiredContact(phone='+14155550123', fields=",
        ["phone", "fields", "custom_fields", "id", "source",],
    )  # fmt: skip

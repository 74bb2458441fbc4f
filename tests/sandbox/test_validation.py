"""Request validation: a bad value is refused with a message naming the field."""

from __future__ import annotations

import pytest

from jcstate.sandbox.validation import InputError, merge_custom, validate_contact


def test_create_normalises_phone_to_e164_and_strips_text() -> None:
    contact = validate_contact(
        {"phone": "(415) 555-9876", "first_name": "  Jordan ", "last_name": ""}, partial=False
    )
    assert contact.fields == {"phone": "+14155559876", "first_name": "Jordan", "last_name": None}
    assert contact.custom_fields is None


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"first_name": "No phone"}, "phone", 400),
        ({"phone": "12"}, "phone", 422),
        ({"phone": 14155559876}, "phone", 400),
        ({"phone": "+14155559876", "email": "not-an-address"}, "email", 422),
        ({"phone": "+14155559876", "company": 5}, "company", 400),
        ({"phone": "+14155559876", "nickname": "J"}, "nickname", 400),
        ({"phone": "+14155559876", "custom_fields": ["a"]}, "custom_fields", 400),
        ({"phone": "+14155559876", "custom_fields": {"a": {"b": 1}}}, "custom_fields.a", 400),
    ],
)
def test_bad_values_name_the_field(body: dict[str, object], field: str, status: int) -> None:
    with pytest.raises(InputError) as caught:
        validate_contact(body, partial=False)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")
    assert caught.value.status == status


def test_update_may_omit_the_phone_but_not_clear_it() -> None:
    assert validate_contact({"company": "X"}, partial=True).fields == {"company": "X"}
    with pytest.raises(InputError, match="phone: is required"):
        validate_contact({"phone": None}, partial=True)


def test_unknown_custom_key_is_refused_only_when_definitions_exist() -> None:
    body = {"phone": "+14155559876", "custom_fields": {"colour": "red"}}
    assert validate_contact(body, partial=False).custom_fields == {"colour": "red"}
    with pytest.raises(InputError, match="unknown custom field 'colour'") as caught:
        validate_contact(body, partial=False, custom_keys={"lead_source"})
    assert caught.value.status == 400


def test_merge_custom_sets_and_removes_keys() -> None:
    assert merge_custom({"a": 1, "b": 2}, {"a": None, "c": "x"}) == {"b": 2, "c": "x"}

"""Phones to E.164: one answer per phone, None where a phone does not normalise."""

from __future__ import annotations

import pytest

from jcstate.core.phones import normalize_phone, normalize_phones


def test_normalize_phones_gives_e164_or_none_in_order() -> None:
    written = ["(415) 555-9876", "123", "", "415 555 0123 ext. 5", "+44 20 7946 0958"]
    assert normalize_phones(written, "US") == [
        "+14155559876",
        None,
        None,
        None,
        "+442079460958",
    ]


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("123", "invalid phone number '123'"),
        ("  ", "phone is empty"),
        ("415 555 0123 ext. 5", "has an extension (5)"),
    ],
)
def test_normalize_phone_says_why_a_phone_does_not_normalise(written: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        normalize_phone(written, "US")


def test_the_default_region_applies_only_without_a_country_code() -> None:
    assert normalize_phone("020 7946 0958", "GB") == "+442079460958"
    assert normalize_phone("+1 212 555 0143", "GB") == "+12125550143"

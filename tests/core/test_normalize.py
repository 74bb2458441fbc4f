"""Normalising and checking field values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jcstate.core.normalize import (
    check_email,
    is_nanp_e164,
    normalize_email,
    try_normalize_phone,
)


@pytest.mark.parametrize("address", ["ann@example.com", "a.b+c@mail.example.co.uk"])
def test_check_email_accepts_an_address(address: str) -> None:
    check_email(address)


@pytest.mark.parametrize(
    "address", ["ann@example.com\n", "ann@example", "ann example@x.com", "@example.com", "a@b@c.io"]
)
def test_check_email_refuses_what_is_not_one_address(address: str) -> None:
    with pytest.raises(ValueError, match="invalid e-mail address"):
        check_email(address)


def test_normalize_email_strips_and_lowers() -> None:
    assert normalize_email("  Ann@Example.COM \n") == "ann@example.com"
    assert normalize_email("   ") is None


NANP = st.from_regex(r"\+1[2-9][0-9]{2}[2-9][0-9]{6}", fullmatch=True)


@given(NANP, st.sampled_from(["US", "GB"]))
def test_a_nanp_phone_in_e164_is_taken_as_written_as_phonenumbers_would(
    phone: str, region: str
) -> None:
    """The fast path for `+1NXXNXXXXXX` gives what the full parse gives, for any such number."""
    import phonenumbers

    try:
        parsed = phonenumbers.parse(phone, region)
        valid = phonenumbers.is_valid_number(parsed)
        reference = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        valid, reference = False, phone
    assert try_normalize_phone(phone, region) == (reference if valid else phone)
    assert is_nanp_e164(phone)


def test_only_the_exact_nanp_shape_skips_the_parse() -> None:
    for phone in ("+14155550100 ", "+1415555010", "+11155550100", "+14151550100", "4155550100",
                  "+120\u06612000000"):  # fmt: skip
        assert not is_nanp_e164(phone)


def test_a_declared_nanp_phone_is_not_parsed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """`plan` counts the lookups of 100,000 declared (already E.164) phones: no parse each."""
    import phonenumbers

    def refuse(*_: object) -> None:
        raise AssertionError("parsed")

    monkeypatch.setattr(phonenumbers, "parse", refuse)
    assert try_normalize_phone("+12125550199", "US") == "+12125550199"


def test_a_phone_with_other_digits_is_still_parsed() -> None:
    assert try_normalize_phone("+120\u06612000000", "US") == "+12012000000"

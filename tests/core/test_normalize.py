"""Normalising and checking field values."""

from __future__ import annotations

import pytest

from jcstate.core.normalize import check_email, normalize_email


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

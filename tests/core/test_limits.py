"""The field limits (one place for validate and the sandbox), and phone extensions."""

from __future__ import annotations

import math

import pytest

from jcstate.core.limits import (
    MAX_INTEGER,
    MAX_TEXT_LENGTH,
    MIN_INTEGER,
    integer_problem,
    number_problem,
    parse_date,
    scalar_problem,
    text_problem,
)
from jcstate.core.model import CustomFieldDef
from jcstate.core.normalize import normalize_custom_value, normalize_phone


def test_text_at_the_limit_passes_one_more_is_refused() -> None:
    assert text_problem("x" * MAX_TEXT_LENGTH) is None
    assert "limit is 255" in str(text_problem("x" * (MAX_TEXT_LENGTH + 1)))
    assert "10,000 characters" in str(text_problem("x" * 10_000))


@pytest.mark.parametrize("text", ["a\x00b", "\x00", "tab\there", "line\nbreak", "esc\x1b", "\x7f"])
def test_control_characters_are_refused_in_names(text: str) -> None:
    assert "control character" in str(text_problem(text))


def test_notes_may_hold_tabs_and_line_breaks_but_no_other_control() -> None:
    assert text_problem("first line\nsecond\tcolumn\r\n", notes=True) is None
    assert "U+0000" in str(text_problem("a\x00", notes=True))


def test_a_lone_surrogate_is_refused() -> None:
    assert "Unicode" in str(text_problem("\ud800"))


def test_integers_are_64_bit() -> None:
    assert integer_problem(MAX_INTEGER) is None and integer_problem(MIN_INTEGER) is None
    assert integer_problem(MAX_INTEGER + 1) is not None
    assert integer_problem(10**20) is not None


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_numbers_are_finite(value: float) -> None:
    assert number_problem(value) is not None
    assert scalar_problem(value) is not None
    with pytest.raises(ValueError, match="finite"):
        normalize_custom_value(value, CustomFieldDef(type="number"))


def test_a_large_whole_number_stays_a_number() -> None:
    assert normalize_custom_value(1e20, CustomFieldDef(type="number")) == 1e20
    assert normalize_custom_value(3.0, CustomFieldDef(type="number")) == 3


@pytest.mark.parametrize(
    "text", ["2026-01-31 plus garbage", "2026-1-31", "20260131", "2026-01-31T10:00", " 2026-01-31"]
)
def test_dates_are_exactly_yyyy_mm_dd(text: str) -> None:
    with pytest.raises(ValueError):
        parse_date(text)


def test_a_real_day_is_a_date_and_an_impossible_one_is_not() -> None:
    assert parse_date("2024-02-29").isoformat() == "2024-02-29"
    with pytest.raises(ValueError, match="not a real day"):
        parse_date("2023-02-29")


@pytest.mark.parametrize(
    "written", ["+1 415 555 9876 ext. 5", "+1 415 555 9876 x5", "(415) 555-9876 extension 12"]
)
def test_a_phone_with_an_extension_is_refused_not_cut(written: str) -> None:
    with pytest.raises(ValueError, match="extension"):
        normalize_phone(written)


def test_a_phone_without_extension_still_normalises() -> None:
    assert normalize_phone("+1 415 555 9876") == "+14155559876"

"""A phone written in plain E.164 is checked without the generic parse, with the same answer.

`phonenumbers` is the reference: `reference` below is what `normalize_phone`
did for every phone before it had a shortcut (parse, valid for the region or
valid at all, no extension, E.164). The shortcut (`plain_e164`) answers only
when it is sure; for any phone it answers, its answer must be the reference's.
The corpus is every example number `phonenumbers` ships, for every region and
type and non-geographic entity, read with the regions that share its country
code, and invalid neighbours of each (a digit changed, dropped or added, a
national prefix or a zero written after the country code), plus hypothesis
over digit strings behind real country codes and over free text.
"""

from __future__ import annotations

from functools import cache

import phonenumbers
import pytest
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from jcstate.core.phones import normalize_phone, plain_e164
from tests.support.properties import example_counts, run_property

E164 = PhoneNumberFormat.E164
REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
CODES = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


def reference(text: str, region: str) -> str | None:
    """E.164 as the full `phonenumbers` path gives it, or None where it refuses the phone."""
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    valid = phonenumbers.is_valid_number_for_region(parsed, region) or phonenumbers.is_valid_number(
        parsed
    )
    if not valid or parsed.extension:
        return None
    return phonenumbers.format_number(parsed, E164)


def agree(text: str, region: str) -> str | None:
    """Assert the shortcut answers as the reference (or not at all); return its answer."""
    expected = reference(text, region)
    fast = plain_e164(text, region)
    assert fast is None or fast == expected, (text, region, fast, expected)
    try:
        assert normalize_phone(text, region) == expected, (text, region)
    except ValueError:
        assert expected is None, (text, region)
    return fast


@cache
def examples() -> list[tuple[str, str]]:
    """(E.164, region) of every example number phonenumbers has, valid and invalid."""
    out: set[tuple[str, str]] = set()
    for region in REGIONS:
        types = PhoneNumberType.values()
        numbers = [phonenumbers.example_number_for_type(region, t) for t in types]
        numbers.append(phonenumbers.invalid_example_number(region))
        for number in numbers:
            if number is not None:
                out.add((phonenumbers.format_number(number, E164), region))
    for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
        number = phonenumbers.example_number_for_non_geo_entity(code)
        if number is not None:
            out.add((phonenumbers.format_number(number, E164), "US"))
    return sorted(out)


def regions_of(e164: str) -> list[str]:
    """Every region with the country code of `e164` (the ones whose validity shortcut applies)."""
    code = phonenumbers.parse(e164).country_code or 0
    return [r for r in phonenumbers.region_codes_for_country_code(code) if r != "001"]


def neighbours(e164: str) -> list[str]:
    """Numbers near `e164`: mostly invalid, some valid in another range."""
    number = phonenumbers.parse(e164)
    code, nsn = number.country_code or 0, phonenumbers.national_significant_number(number)
    region = phonenumbers.region_code_for_country_code(code)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, region)
    prefix = (metadata.national_prefix if metadata else None) or "0"
    changed = [nsn[:i] + str((int(nsn[i]) + 1) % 10) + nsn[i + 1 :] for i in range(len(nsn))]
    others = [nsn[:-1], nsn + "0", nsn + "95", "0" + nsn, prefix + nsn, nsn[1:]]
    return [f"+{code}{digits}" for digits in changed + others]


def test_a_phone_in_plain_e164_is_not_parsed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cold `validate` checks every declared phone: one written in E.164 needs no generic parse."""

    def refuse(*_: object, **__: object) -> object:
        raise AssertionError("parsed")

    monkeypatch.setattr(phonenumbers, "parse", refuse)
    assert plain_e164("+442079460958", "US") == "+442079460958"  # another country
    assert plain_e164("+16135550123", "US") == "+16135550123"  # +1, but Canada
    assert plain_e164("+80012345678", "GB") == "+80012345678"  # non-geographic


def test_every_example_number_gets_the_reference_answer_with_every_region_of_its_code() -> None:
    answered = valid = 0
    for e164, region in examples():
        for reader in {region, "US", *regions_of(e164)}:
            fast = agree(e164, reader)
            valid += reference(e164, reader) is not None
            answered += fast is not None
    # The shortcut is worth having: it answers nearly every valid example itself.
    assert answered >= 0.9 * valid, (answered, valid)


def test_neighbours_of_every_example_number_get_the_reference_answer() -> None:
    for e164, region in examples():
        if reference(e164, region) is None:
            continue
        for near in neighbours(e164):
            agree(near, region)
            agree(near, "US")


@pytest.mark.parametrize("examples_count", example_counts(600))
def test_digits_behind_a_real_country_code_get_the_reference_answer(examples_count: int) -> None:
    def check(code: int, digits: str, region: str) -> None:
        agree(f"+{code}{digits}", region)

    run_property(
        check,
        examples_count,
        st.sampled_from(CODES),
        st.text("0123456789", max_size=18),
        st.sampled_from(["US", "GB", "CA", "DE", "IT", "RU", "KZ", "AU", "FR", "BR", "IN"]),
    )


@pytest.mark.parametrize("examples_count", example_counts(600))
def test_an_example_number_changed_anywhere_gets_the_reference_answer(examples_count: int) -> None:
    def check(example: tuple[str, str], at: int, digit: str, how: str, use_us: bool) -> None:
        e164, region = example
        head, tail = e164[: 2 + at % (len(e164) - 2)], e164[2 + at % (len(e164) - 2) :]
        text = {
            "replace": head + digit + tail[1:],
            "insert": head + digit + tail,
            "delete": head + tail[1:],
        }[how]
        agree(text, "US" if use_us else region)

    run_property(
        check,
        examples_count,
        st.sampled_from(examples()),
        st.integers(min_value=0, max_value=40),
        st.sampled_from("0123456789"),
        st.sampled_from(["replace", "insert", "delete"]),
        st.booleans(),
    )


@pytest.mark.parametrize("examples_count", example_counts(300))
def test_any_text_gets_the_reference_answer(examples_count: int) -> None:
    def check(text: str, region: str) -> None:
        if text.strip():
            agree(text, region)

    run_property(
        check,
        examples_count,
        st.text("+0123456789 ()-.x#\u0664\uff11", max_size=24),
        st.sampled_from(["US", "GB", "DE"]),
    )


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("+14155550100 ", "US"),  # spaces around: stripped, then the shortcut
        ("+1 415 555 0100", "US"),  # spaces inside: the full parse
        ("+390612345678", "IT"),  # Italian leading zero
        ("+114155550100", "US"),  # a national prefix written after +1
        ("+4402079460958", "GB"),  # ... and after +44
        ("+78001234567", "RU"),  # starts with the national prefix, still valid as written
        ("+1", "US"),
        ("+", "US"),
        ("+999123456", "US"),  # no such country code
        ("+1415555010012345678901", "US"),  # too long
        ("+\u0664\u0664\u0662\u0660\u0667\u0669\u0664\u0666\u0660\u0669\u0665\u0668", "US"),
    ],
)
def test_odd_phones_get_the_reference_answer(text: str, region: str) -> None:
    agree(text, region)

"""Phone numbers to E.164 (pure), apart from the rest of normalisation.

Apart because an import's worker processes import only this: phonenumbers
and the limits, not the pydantic models, so a worker starts in a fraction
of the time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, PhoneNumberDesc

from jcstate.core.limits import extension_problem

#: `+`, digits, nothing else (ASCII digits: others go through the full parse).
_PLAIN_E164 = re.compile(r"\+[1-9][0-9]{2,19}")
#: the bounds `phonenumbers.parse` puts on a national significant number
_NSN_LENGTHS = range(2, 18)
_NON_GEO = "001"
#: the number types of `phonenumbers`' metadata; a number is valid when it is of one
#: (the most common first: the answer is the same in any order)
_TYPES = (
    "fixed_line",
    "mobile",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)

#: one number description: its possible lengths (empty: any) and its pattern
_Desc = tuple[frozenset[int], re.Pattern[str]]


def _desc(desc: PhoneNumberDesc | None) -> _Desc | None:
    """None for a description no number matches (no pattern)."""
    if desc is None or not desc.national_number_pattern:
        return None
    return frozenset(desc.possible_length), re.compile(desc.national_number_pattern)


@dataclass(frozen=True, slots=True)
class _Rules:
    """What `phonenumbers` checks of a national number in one region (or non-geo entity)."""

    country_code: int | None
    general: _Desc | None
    types: tuple[_Desc, ...]
    leading_digits: re.Pattern[str] | None
    national_prefix: re.Pattern[str] | None

    def valid(self, nsn: str) -> bool:
        """`phonenumbers`' number type is not UNKNOWN: the general description, then a type.

        A description matches when the length is one of its possible lengths
        (if it lists any) and its whole pattern matches.
        """
        size = len(nsn)
        if self.general is None:
            return False
        lengths, pattern = self.general
        if (lengths and size not in lengths) or pattern.fullmatch(nsn) is None:
            return False
        for lengths, pattern in self.types:
            if (not lengths or size in lengths) and pattern.fullmatch(nsn) is not None:
                return True
        return False


def _rules(metadata: PhoneMetadata | None) -> _Rules | None:
    if metadata is None:
        return None
    # When mobile and fixed line have one pattern, phonenumbers looks at the fixed line only.
    names = [n for n in _TYPES if n != "mobile" or not metadata.same_mobile_and_fixed_line_pattern]
    descs = (_desc(getattr(metadata, name)) for name in names)
    leading, prefix = metadata.leading_digits, metadata.national_prefix_for_parsing
    return _Rules(
        country_code=metadata.country_code,
        general=_desc(metadata.general_desc),
        types=tuple(d for d in descs if d is not None),
        leading_digits=re.compile(leading) if leading is not None else None,
        national_prefix=re.compile(prefix) if prefix else None,
    )


@cache
def _region_rules(region: str) -> _Rules | None:
    return _rules(PhoneMetadata.metadata_for_region(region, None))


@cache
def _code_rules(country_code: int, region: str) -> _Rules | None:
    """The rules `phonenumbers` uses for `region` given a number's country code."""
    if region == _NON_GEO:
        return _rules(PhoneMetadata.metadata_for_nongeo_region(country_code, None))
    return _region_rules(region)


def _valid_for_region(country_code: int, nsn: str, region: str | None) -> bool:
    """`phonenumbers.is_valid_number_for_region`."""
    if region is None:
        return False
    rules = _code_rules(country_code, region)
    if rules is None or (region != _NON_GEO and rules.country_code != country_code):
        return False
    return rules.valid(nsn)


def _number_region(country_code: int, nsn: str) -> str | None:
    """`phonenumbers.region_code_for_number`: the first region whose leading digits match,
    or (for a region without them) where the number is valid."""
    regions = COUNTRY_CODE_TO_REGION_CODE[country_code]
    if len(regions) == 1:
        return regions[0]
    for region in regions:
        rules = _region_rules(region)
        if rules is None:
            continue
        if rules.leading_digits is not None:
            if rules.leading_digits.match(nsn):
                return region
        elif rules.valid(nsn):
            return region
    return None


@dataclass(frozen=True, slots=True)
class _Route:
    """What the first digits after `+` decide, for one default region."""

    country_code: int
    #: where the national number starts in the text (after `+` and the country code)
    start: int
    #: the national prefix of the code's main region, which parse may strip
    national_prefix: re.Pattern[str] | None
    #: the default region's rules when it has this country code (its validity shortcut)
    default: _Rules | None


@lru_cache(maxsize=8_192)
def _route(region: str, head: str) -> _Route | None:
    """The country code `phonenumbers.parse` splits from `head` (the first 3 digits), and so on.

    None when `region` is not a region phonenumbers knows, no code starts the
    digits, or the code has no metadata.
    """
    if region not in phonenumbers.SUPPORTED_REGIONS:
        return None
    for size in (1, 2, 3):
        code = int(head[:size])
        if code in COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    main = _code_rules(code, COUNTRY_CODE_TO_REGION_CODE[code][0])
    if main is None:
        return None
    default = _region_rules(region)
    return _Route(
        country_code=code,
        start=1 + size,
        national_prefix=main.national_prefix,
        default=default if default is not None and default.country_code == code else None,
    )


def plain_e164(text: str, region: str) -> str | None:
    """`text` itself when it is a valid phone written in plain E.164, else None (not sure).

    Exactly what `normalize_phone` answers, without `phonenumbers.parse`: the
    country code is split with phonenumbers' own table and the number checked
    with its own metadata, by the rules `is_valid_number_for_region` and
    `is_valid_number` apply. Whatever parse would read differently from how
    it is written (a national prefix or a leading zero after the country
    code, an unknown code, other digits or characters) is left to it (None).
    """
    if _PLAIN_E164.fullmatch(text) is None:
        return None
    route = _route(region, text[1:4])
    if route is None:
        return None
    nsn = text[route.start :]
    if len(nsn) not in _NSN_LENGTHS or nsn[0] == "0":
        return None
    if route.national_prefix is not None and route.national_prefix.match(nsn):
        return None  # parse might strip what reads as a national prefix
    code = route.country_code
    if (route.default is not None and route.default.valid(nsn)) or _valid_for_region(
        code, nsn, _number_region(code, nsn)
    ):
        return text
    return None


@lru_cache(maxsize=262_144)
def normalize_phone(raw: str, region: str = "US") -> str:
    """Return `raw` as E.164, using `region` for numbers written without +country."""
    text = str(raw).strip()
    if not text:
        raise ValueError("phone is empty")
    known = plain_e164(text, region)
    if known is not None:
        return known
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"invalid phone number {text!r}: {exc}") from None
    # Valid for the default region implies valid, and is one check: for a shared
    # country code (+1 has 25 regions) is_valid_number first searches the region.
    if not (
        phonenumbers.is_valid_number_for_region(parsed, region)
        or phonenumbers.is_valid_number(parsed)
    ):
        raise ValueError(f"invalid phone number {text!r}")
    extension = extension_problem(parsed.extension)
    if extension is not None:
        # E.164 has no extension: storing the number alone would drop it silently.
        raise ValueError(f"phone number {text!r} {extension}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalize_phones(raws: Sequence[str], region: str) -> list[str | None]:
    """E.164 of each phone, None where it does not normalise (`normalize_phone` says why).

    The unit of work a worker process of a large import does, so it takes and
    returns plain lists.
    """
    out: list[str | None] = []
    for raw in raws:
        try:
            out.append(normalize_phone(raw, region))
        except ValueError:
            out.append(None)
    return out

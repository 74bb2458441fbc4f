"""Phone numbers to E.164 (pure), apart from the rest of normalisation.

Apart because an import's worker processes import only this: phonenumbers
and the limits, not the pydantic models, so a worker starts in a fraction
of the time.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import phonenumbers

from jcstate.core.limits import extension_problem


@lru_cache(maxsize=262_144)
def normalize_phone(raw: str, region: str = "US") -> str:
    """Return `raw` as E.164, using `region` for numbers written without +country."""
    text = str(raw).strip()
    if not text:
        raise ValueError("phone is empty")
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

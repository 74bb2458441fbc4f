"""Normalisation: one canonical form per value, so formatting alone is never a change.

Pure functions. Each raises ``ValueError`` with a user-facing message when a
value cannot be normalised; callers attach file:line or request context.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any

from jcstate.core.limits import MAX_INTEGER, MIN_INTEGER, number_problem
from jcstate.core.model import CustomFieldDef, CustomValue

# Re-exported: callers normalise every kind of value through this module.
from jcstate.core.phones import normalize_phone as normalize_phone

# A pragmatic address check: one @, a dot in the domain, no spaces. Full RFC 5322
# accepts addresses no CRM or phone system does.
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


#: `+1`, an area code and an exchange code that cannot start with 0 or 1, a line
#: number: `phonenumbers` reads it as written (no national prefix to strip), and
#: formats it as written when valid; so does `try_normalize_phone` when not.
_NANP_E164 = re.compile(r"\+1[2-9][0-9]{2}[2-9][0-9]{6}")  # ASCII digits only


def is_nanp_e164(text: str) -> bool:
    """`text` is exactly `+1NXXNXXXXXX`, which `try_normalize_phone` keeps unparsed."""
    return _NANP_E164.fullmatch(text) is not None


def try_normalize_phone(raw: str, region: str = "US") -> str:
    """E.164 when `raw` parses, else the stripped raw text (remote data is what it is).

    A phone already `+1NXXNXXXXXX` is returned without a parse: it is its own
    answer either way (a plan counts the lookups of every declared phone).
    """
    if type(raw) is str and _NANP_E164.fullmatch(raw) is not None:
        return raw
    try:
        return normalize_phone(raw, region)
    except ValueError:
        return str(raw).strip()


def normalize_text(value: Any) -> str | None:
    """Strip a string; empty means absent (None)."""
    if value is None:
        return None
    text = value.strip() if type(value) is str else str(value).strip()
    return text or None


def normalize_email(value: Any) -> str | None:
    text = normalize_text(value)
    return text.lower() if text is not None else None


def check_email(value: str) -> None:
    if not _EMAIL_RE.fullmatch(value):
        raise ValueError(f"invalid e-mail address {value!r}")


def normalize_field(name: str, value: Any) -> str | None:
    """Normalise a standard contact field by name."""
    if name == "email":
        return normalize_email(value)
    return normalize_text(value)


_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def normalize_custom_value(value: Any, definition: CustomFieldDef) -> CustomValue | None:
    """Coerce `value` to its declared type; None/empty stays None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    kind = definition.type
    if kind in ("string", "enum"):
        return _text_value(value, definition)
    coerce = _COERCE.get(kind)
    if coerce is None:
        raise ValueError(f"unknown custom field type {kind!r}")  # pragma: no cover
    return coerce(value)


def _text_value(value: Any, definition: CustomFieldDef) -> str:
    text = str(value).strip() if not isinstance(value, bool) else str(value).lower()
    if (
        definition.type == "enum"
        and definition.values is not None
        and text not in definition.values
    ):
        allowed = ", ".join(definition.values)
        raise ValueError(f"{text!r} is not one of the allowed values ({allowed})")
    return text


def _integer_value(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    try:
        return int(str(value).strip())
    except ValueError:
        raise ValueError(f"expected an integer, got {value!r}") from None


def _number_value(value: Any) -> int | float:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, int | float):
        number = float(value)
    else:
        try:
            number = float(str(value).strip())
        except ValueError:
            raise ValueError(f"expected a number, got {value!r}") from None
    problem = number_problem(number)
    if problem is not None:
        raise ValueError(problem)
    # Whole numbers as integers, within the range the API keeps integers in.
    return int(number) if number.is_integer() and MIN_INTEGER <= number <= MAX_INTEGER else number


def _boolean_value(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"expected a boolean (true/false), got {value!r}")


def _date_value(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        raise ValueError(f"expected a date (YYYY-MM-DD), got {value!r}") from None


#: How a value of each non-text custom field type is coerced (ValueError: it cannot be).
_COERCE: dict[str, Callable[[Any], CustomValue]] = {
    "integer": _integer_value,
    "number": _number_value,
    "boolean": _boolean_value,
    "date": _date_value,
}


def normalize_remote_custom(
    values: Mapping[str, Any], defs: Mapping[str, CustomFieldDef]
) -> dict[str, Any]:
    """Normalise remote custom values of declared keys; undeclared keys pass through.

    A remote value that does not fit its declared type is kept as the raw
    value, so it shows up as a difference instead of crashing the plan.
    """
    out: dict[str, Any] = {}
    for key, value in values.items():
        definition = defs.get(key)
        if definition is None:
            out[key] = value
            continue
        try:
            out[key] = normalize_custom_value(value, definition)
        except ValueError:
            out[key] = value
    return out

"""What the API accepts in a contact's fields: one place, for `validate` and the sandbox.

Pure functions. Each ``*_problem`` returns None for an acceptable value, or
what is wrong with it (a phrase to put after the field's name). The seed API
documentation states no limits, so these are jcstate's, chosen to be what a
contacts API stores safely and documented in docs/guide/project-files.md:

- text (names, e-mail, company, string and enum custom values): at most
  `MAX_TEXT_LENGTH` characters after stripping, valid Unicode (no lone
  surrogates), no control characters (U+0000 to U+001F, U+007F); a custom
  *string* value may hold tabs and line breaks (notes), nothing else;
- integers: 64-bit signed (`MIN_INTEGER` to `MAX_INTEGER`);
- numbers: finite (no NaN, no infinity), so a plan is always valid JSON;
- dates: exactly ``YYYY-MM-DD``, a real day;
- phones: no extension (``ext. 5``): the API stores a number, not an extension,
  so one would be dropped silently.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

#: The API's own limits (its documentation): contacts a listing page holds at most,
#: and contacts one bulk import takes at most.
MAX_PER_PAGE = 100
MAX_BULK = 5000
#: Characters a text field may hold, after stripping.
MAX_TEXT_LENGTH = 255
#: A 64-bit signed integer's range.
MIN_INTEGER = -(2**63)
MAX_INTEGER = 2**63 - 1

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: In a custom string value: tab, line feed and carriage return are allowed.
_CONTROL_IN_NOTES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def text_problem(text: str, *, notes: bool = False) -> str | None:
    """What is wrong with `text` (already stripped) as a field value, or None.

    `notes`: a custom string value, which may hold tabs and line breaks.
    """
    if text.isprintable() and len(text) <= MAX_TEXT_LENGTH:
        # Printable excludes every control character and lone surrogates: the usual
        # value needs none of the checks below (a large import checks millions).
        return None
    control = (_CONTROL_IN_NOTES if notes else _CONTROL).search(text)
    if control is not None:
        return (
            f"holds a control character (U+{ord(control.group()):04X} at character "
            f"{control.start() + 1}), which the API does not accept"
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode text (it holds a lone surrogate such as \\ud800)"
    if len(text) > MAX_TEXT_LENGTH:
        return f"is {len(text):,} characters long; the limit is {MAX_TEXT_LENGTH}"
    return None


def key_problem(key: str) -> str | None:
    """What is wrong with a custom field's key (its name), or None.

    The rules of a text value: no control character (an escape sequence such
    as ``"\x1b[31m"`` or a line break would reach terminals and logs as it
    is), valid Unicode, at most `MAX_TEXT_LENGTH` characters.
    """
    return text_problem(key)


def integer_problem(value: int) -> str | None:
    if not MIN_INTEGER <= value <= MAX_INTEGER:
        return f"{value} is outside the 64-bit integer range ({MIN_INTEGER} to {MAX_INTEGER})"
    return None


def number_problem(value: float) -> str | None:
    if not math.isfinite(value):
        return f"{value} is not a finite number"
    return None


def parse_date(text: str) -> dt.date:
    """A strict ISO date: exactly ``YYYY-MM-DD`` and a real day; ValueError otherwise."""
    if not _DATE.fullmatch(text):
        raise ValueError(f"expected a date (YYYY-MM-DD), got {text!r}")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a real day") from None


def scalar_problem(value: Any, *, notes: bool = True) -> str | None:
    """The type-free checks of a custom value: text, integer range, finite number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return text_problem(value.strip(), notes=notes)
    if isinstance(value, int):
        return integer_problem(value)
    if isinstance(value, float):
        return number_problem(value)
    return None


def extension_problem(extension: str | None) -> str | None:
    if extension:
        return (
            f"has an extension ({extension}), which the API does not store: "
            "remove it (keep it in a custom field if it is needed)"
        )
    return None

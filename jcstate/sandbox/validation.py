"""Validation of request bodies, as a real API would do it. Pure functions.

Every problem is an `InputError` naming the field, so the API can answer
`{"status": "error", "message": "phone: invalid phone number '123'"}`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from jcstate.core.limits import MAX_TEXT_LENGTH as MAX_TEXT_LENGTH
from jcstate.core.limits import scalar_problem, text_problem
from jcstate.core.normalize import check_email, normalize_phone

#: Standard contact fields besides the phone, in response order.
TEXT_FIELDS: tuple[str, ...] = ("first_name", "last_name", "email", "company")
ALLOWED_KEYS: frozenset[str] = frozenset({"phone", *TEXT_FIELDS, "custom_fields"})
MAX_CUSTOM_FIELDS = 100

CustomScalar = str | int | float | bool


class InputError(ValueError):
    """A request value the API refuses; `status` is the HTTP status to answer."""

    def __init__(self, field: str, message: str, status: int = 400) -> None:
        self.field = field
        self.status = status
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True, slots=True)
class ContactInput:
    """A validated contact body: only the keys that were present.

    `fields` maps phone/first_name/... to a value or None (clear the field);
    `custom_fields` is None when absent, else key -> value or None (remove key).
    """

    fields: Mapping[str, str | None]
    custom_fields: Mapping[str, CustomScalar | None] | None


def _encodable(name: str, text: str) -> str:
    # JSON may carry lone surrogates ("\ud800"); they cannot be stored as UTF-8.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(name, "is not valid Unicode text") from None
    return text


def _text(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(name, "must be a string or null")
    text = _encodable(name, value).strip()
    # The limits `jcstate validate` applies too (jcstate.core.limits): one rule for both.
    problem = text_problem(text)
    if problem is not None:
        raise InputError(name, problem, status=422)
    return text or None


def validate_phone(value: Any, region: str = "US") -> str:
    """The E.164 form of a phone given in a request (422 when it is not a valid number)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InputError("phone", "is required")
    if not isinstance(value, str):
        raise InputError("phone", "must be a string")
    _encodable("phone", value)
    try:
        return normalize_phone(value, region)
    except ValueError as exc:
        raise InputError("phone", str(exc), status=422) from None


def int_param(name: str, raw: str | None, default: int, minimum: int, maximum: int) -> int:
    """An integer query parameter within bounds (absent or empty: the default)."""
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise InputError(name, "must be an integer") from None
    if value < minimum:
        raise InputError(name, f"must be at least {minimum}")
    if value > maximum:
        raise InputError(name, f"must be at most {maximum}")
    return value


def validate_email(value: Any) -> str | None:
    text = _text("email", value)
    if text is None:
        return None
    try:
        check_email(text)
    except ValueError as exc:
        raise InputError("email", str(exc), status=422) from None
    return text


def validate_custom_fields(
    value: Any, allowed_keys: Collection[str] | None
) -> dict[str, CustomScalar | None]:
    if not isinstance(value, Mapping):
        raise InputError("custom_fields", "must be an object of key/value pairs")
    if len(value) > MAX_CUSTOM_FIELDS:
        raise InputError("custom_fields", f"more than {MAX_CUSTOM_FIELDS} keys")
    out: dict[str, CustomScalar | None] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key.strip():
            raise InputError("custom_fields", "keys must be non-empty strings")
        _encodable("custom_fields", key)
        if allowed_keys is not None and key not in allowed_keys:
            defined = ", ".join(sorted(allowed_keys)) or "none"
            raise InputError(
                "custom_fields",
                f"unknown custom field {key!r} (defined custom fields: {defined})",
            )
        if item is not None and not isinstance(item, str | int | float | bool):
            raise InputError(f"custom_fields.{key}", "must be a string, number, boolean or null")
        if isinstance(item, str):
            _encodable(f"custom_fields.{key}", item)
        problem = scalar_problem(item, notes=True)
        if problem is not None:
            raise InputError(f"custom_fields.{key}", problem, status=422)
        out[key] = item
    return out


def validate_contact(
    body: Any,
    *,
    partial: bool,
    custom_keys: Collection[str] | None = None,
    region: str = "US",
) -> ContactInput:
    """Check a create (`partial=False`) or update (`partial=True`) body.

    A create needs a phone; an update may omit anything but cannot clear the
    phone. Unknown keys are refused so that client mistakes do not pass silently.
    """
    if not isinstance(body, Mapping):
        raise InputError("body", "must be a JSON object")
    unknown = sorted(str(key) for key in body if key not in ALLOWED_KEYS)
    if unknown:
        allowed = ", ".join(sorted(ALLOWED_KEYS))
        raise InputError(unknown[0], f"unknown field (allowed: {allowed})")
    fields: dict[str, str | None] = {}
    if "phone" in body or not partial:
        fields["phone"] = validate_phone(body.get("phone"), region)
    for name in TEXT_FIELDS:
        if name in body:
            value = body[name]
            fields[name] = validate_email(value) if name == "email" else _text(name, value)
    custom: dict[str, CustomScalar | None] | None = None
    if "custom_fields" in body and body["custom_fields"] is not None:
        custom = validate_custom_fields(body["custom_fields"], custom_keys)
    return ContactInput(fields=fields, custom_fields=custom)


def merge_custom(
    current: Mapping[str, Any], patch: Mapping[str, CustomScalar | None]
) -> dict[str, Any]:
    """Custom fields after a partial update: keys merged, None removes a key."""
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged

"""Tolerant parsing (pure): contacts and error bodies as the API sends them."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import phonenumbers

from jcstate.core.limits import MAX_PER_PAGE as MAX_PER_PAGE
from jcstate.core.model import STANDARD_FIELDS, RemoteContact
from jcstate.core.normalize import normalize_field, try_normalize_phone

if TYPE_CHECKING:
    from jcstate.remote.values import Answer


def _parse_custom_fields(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, dict | Mapping):
        return {str(key): value for key, value in raw.items()}
    if isinstance(raw, list):
        out: dict[str, Any] = {}
        for item in raw:
            if not isinstance(item, Mapping) or "key" not in item:
                raise ValueError("custom_fields list items must be {key, value} objects")
            out[str(item["key"])] = item.get("value")
        return out
    raise ValueError(f"custom_fields must be an object or a list, not {type(raw).__name__}")


#: A NANP number already in E.164 (+1, area code and exchange starting 2-9). phonenumbers
#: formats such a string back to itself when it is valid and keeps it as written when it
#: is not, so it is its own normalised form; skipping the parse makes a 100,000-contact
#: listing several seconds faster.
_NANP_E164 = re.compile(r"\+1[2-9][0-9]{2}[2-9][0-9]{6}")  # ASCII digits: others take the parse


def normalize_remote_phone(raw: str, region: str = "US") -> str:
    """`normalize.try_normalize_phone`, with a shortcut for numbers already in canonical form."""
    text = raw.strip()
    if _NANP_E164.fullmatch(text):
        return text
    if text.startswith("+"):
        try:
            parsed = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            return text
        # Formatting back to the same text: E.164 when valid, kept as written when not.
        if phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == text:
            return text
    return try_normalize_phone(text, region)


def _standard_field(name: str, value: Any) -> str | None:
    """`normalize.normalize_field`, inlined for plain strings (a listing parses 100,000s)."""
    if type(value) is str:
        if name == "email":
            return value.strip().lower() or None
        return value.strip() or None
    if value is None:
        return None
    return normalize_field(name, value)


def parse_contact(raw: Mapping[str, Any], region: str = "US") -> RemoteContact:
    """One contact object from the API, read tolerantly.

    Accepts `phone` or `contact_number`, custom fields as an object or a list
    of `{key, value}`. Raises ValueError when `id` or the phone is missing.
    """
    if type(raw) is dict:
        # The common shape (integer id, canonical NANP phone, custom fields as an
        # object) skips the general checks below; the result is the same.
        get = raw.get
        contact_id, phone, custom = get("id"), get("phone"), get("custom_fields")
        if (
            type(contact_id) is int
            and type(phone) is str
            and _NANP_E164.fullmatch(phone) is not None
            and type(custom) is dict
        ):
            created, updated = get("created_at"), get("updated_at")
            # Spelled out (not a loop over STANDARD_FIELDS): this line runs for every
            # contact of a listing, and the loop was its largest cost.
            first, last, email, company = (
                get("first_name"),
                get("last_name"),
                get("email"),
                get("company"),
            )
            return RemoteContact(
                contact_id,
                phone,
                {
                    "first_name": (first.strip() or None)
                    if type(first) is str
                    else _standard_field("first_name", first),
                    "last_name": (last.strip() or None)
                    if type(last) is str
                    else _standard_field("last_name", last),
                    "email": (email.strip().lower() or None)
                    if type(email) is str
                    else _standard_field("email", email),
                    "company": (company.strip() or None)
                    if type(company) is str
                    else _standard_field("company", company),
                },
                {str(key): value for key, value in custom.items()} if custom else {},
                None if created is None else str(created),
                None if updated is None else str(updated),
            )
    return _parse_contact_slowly(raw, region)


def parse_contacts(items: Sequence[Any], region: str = "US") -> list[RemoteContact]:
    """`parse_contact` of each item, in order (a page of a listing).

    A ValueError names the first item that cannot be read: `contact #3: ...`.
    """
    try:
        return [parse_contact(item, region) for item in items]
    except ValueError:
        pass
    for index, item in enumerate(items):  # the error path only: find which item failed
        try:
            parse_contact(item, region)
        except ValueError as exc:
            raise ValueError(f"contact #{index}: {exc}") from None
    raise AssertionError("unreachable")  # pragma: no cover


def _parse_contact_slowly(raw: Mapping[str, Any], region: str) -> RemoteContact:
    if not isinstance(raw, dict | Mapping):
        raise ValueError(f"a contact must be an object, not {type(raw).__name__}")
    raw_id = raw.get("id")
    if isinstance(raw_id, bool) or raw_id is None:
        raise ValueError("contact without an id")
    try:
        contact_id = _strict_int(raw_id)
    except ValueError:
        raise ValueError(f"contact id {raw_id!r} is not an integer") from None
    phone_raw = raw.get("phone")
    if phone_raw is None or (isinstance(phone_raw, str) and not phone_raw.strip()):
        phone_raw = raw.get("contact_number")
    if phone_raw is None or not str(phone_raw).strip():
        raise ValueError(f"contact {contact_id} has no phone")
    created = raw.get("created_at")
    updated = raw.get("updated_at")
    return RemoteContact(
        id=contact_id,
        phone=normalize_remote_phone(str(phone_raw), region),
        fields={name: _standard_field(name, raw.get(name)) for name in STANDARD_FIELDS},
        custom_fields=_parse_custom_fields(raw.get("custom_fields")),
        created_at=str(created) if created is not None else None,
        updated_at=str(updated) if updated is not None else None,
    )


def _server_message(body: Any) -> tuple[str | None, str | None]:
    """(message, error_code) from an error body, if it is an object."""
    if not isinstance(body, Mapping):
        return None, None
    message = body.get("message") or body.get("error") or body.get("detail")
    code = body.get("error_code")
    text = None if message is None else str(message)
    if text is not None and len(text) > 500:
        text = text[:500] + "..."
    return text, (None if code is None else str(code))


def _describe_body(response: Answer) -> str:
    content_type = response.headers.get("content-type", "no content type").split(";")[0]
    size = len(response.content)
    return f"the answer is not JSON ({content_type}, {size} bytes)"


def _strict_int(value: Any) -> int:
    """An integer as JSON may carry one: an int, an integral float, or digits in a string.

    Anything else raises ValueError: `int()` alone would turn 1.5 into 1 (a wrong
    id, a wrong count) and raise OverflowError for 1e999.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():  # False for inf and nan
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("+-").isdecimal() and len(text) - len(text.lstrip("+-")) <= 1:
            return int(text)
    raise ValueError(f"{value!r} is not an integer")

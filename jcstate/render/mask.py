"""PII masking for public CI logs (`--mask-pii`): pure string functions."""

from __future__ import annotations

import re

import phonenumbers

BULLETS = "•••••"
_PHONE_RE = re.compile(r"\+\d{7,15}")
#: An e-mail address, internationalised ones included (`jörg.müller@example.com`,
#: `maria@exämple.de`): a local part of any characters but spaces, controls and the
#: delimiters around an address in an output (quotes, brackets, backticks, pipes,
#: commas, colons), then a domain of Unicode letters, digits and hyphens with at
#: least one dot. Python's `\w` is Unicode-aware. A backslash belongs to the local
#: part: an address holding a control character is masked whole once escaped
#: (`jö\x1brg@example.com`), and masking too much is the safe side.
_EMAIL_RE = re.compile(
    r"""([^\s@"'`<>()\[\]{}|,;:\x00-\x1f\x7f-\x9f])[^\s@"`<>()\[\]{}|,;:\x00-\x1f\x7f-\x9f]*"""
    r"@((?:[\w-]+\.)+[\w-]*[^\W\d_][\w-]*)"
)


def mask_phone(phone: str) -> str:
    """`+14155559876` -> `+1•••••9876`: the country code and the last four digits stay."""
    digits = phone.lstrip("+")
    try:
        country = str(phonenumbers.parse(phone, None).country_code)
    except phonenumbers.NumberParseException:
        country = digits[:1]
    if len(digits) <= len(country) + 4:
        return "+" + country + BULLETS
    return f"+{country}{BULLETS}{digits[-4:]}"


def mask_email(email: str) -> str:
    """`jordan@example.com` -> `j•••@example.com`."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}"


def mask_text(text: str) -> str:
    """Mask every E.164 phone and e-mail address found in a rendered document."""
    text = _EMAIL_RE.sub(lambda m: f"{m.group(1)}•••@{m.group(2)}", text)
    return _PHONE_RE.sub(lambda m: mask_phone(m.group(0)), text)

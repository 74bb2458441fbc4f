"""Generated, valid, distinct contacts for seeding a sandbox. Pure and deterministic.

Contact number `n` (0-based) always gets the same phone and names, so seeding
twice with a start offset never repeats a phone.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

import phonenumbers

AREA_CODES: tuple[int, ...] = (212, 415, 646, 312, 617, 206, 303, 512, 718, 917)
_EXCHANGES = range(200, 1000)
_BLOCK = 10_000
FIRST_NAMES = (
    "Jordan", "Sam", "Alex", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Quinn",
    "Maria", "Wei", "Priya", "Diego", "Fatima", "Noah", "Olivia", "Liam", "Emma", "Yuki",
)  # fmt: skip
LAST_NAMES = (
    "Lee", "Chen", "Garcia", "Smith", "Patel", "Kim", "Nguyen", "Brown", "Rossi", "Müller",
    "Okafor", "Silva", "Cohen", "Haddad", "Novak", "Jones", "Ivanova", "Tanaka", "Dubois", "Khan",
)  # fmt: skip
COMPANIES = tuple(f"{name} {kind}" for name in (
    "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Soylent",
    "Tyrell",
) for kind in ("Corp", "Labs", "Group", "Inc", "Partners"))  # fmt: skip
LEAD_SOURCES = ("Website", "Referral", "Event")
PLAN_TIERS = ("Free", "Pro", "Enterprise", "Premium")
CUSTOM_FIELD_KEYS = ("lead_source", "plan_tier", "seats")


@cache
def _block_prefix(block: int) -> str:
    """The "+1AAAEEE" prefix of the `block`-th valid 10,000-number block."""
    valid = -1
    for area in AREA_CODES:
        for exchange in _EXCHANGES:
            prefix = f"+1{area}{exchange}"
            if phonenumbers.is_valid_number(phonenumbers.parse(prefix + "0100")):
                valid += 1
                if valid == block:
                    return prefix
    raise ValueError("no more generated phone numbers")


def generated_phone(index: int) -> str:
    """The E.164 phone of generated contact `index` (distinct for every index)."""
    block, line = divmod(index, _BLOCK)
    return f"{_block_prefix(block)}{line:04d}"


def generated_contact(index: int, custom_fields: bool = False) -> dict[str, Any]:
    first = FIRST_NAMES[index % len(FIRST_NAMES)]
    last = LAST_NAMES[(index // len(FIRST_NAMES)) % len(LAST_NAMES)]
    contact: dict[str, Any] = {
        "phone": generated_phone(index),
        "first_name": first,
        "last_name": last,
        "email": f"{first.lower()}.{index}@example.com",
        "company": COMPANIES[index % len(COMPANIES)],
    }
    if custom_fields:
        contact["custom_fields"] = {
            "lead_source": LEAD_SOURCES[index % len(LEAD_SOURCES)],
            "plan_tier": PLAN_TIERS[index % len(PLAN_TIERS)],
            "seats": 1 + index % 50,
        }
    return contact


def generated_contacts(
    start: int, count: int, custom_fields: bool = False
) -> Iterator[dict[str, Any]]:
    for index in range(start, start + count):
        yield generated_contact(index, custom_fields)

"""Checks shared by the tests of the contact value classes (written-out constructors)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest


def assert_frozen_and_slotted(value: Any) -> None:
    """`value` refuses assignment and deletion as a frozen dataclass does, and has no __dict__."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.phone = "+14155550124"
    with pytest.raises(dataclasses.FrozenInstanceError):
        del value.id
    assert not hasattr(value, "__dict__")

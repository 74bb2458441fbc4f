"""Checks shared by the tests of the contact value classes (written-out constructors)."""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Sequence
from typing import Any

import pytest


def assert_frozen_and_slotted(value: Any) -> None:
    """`value` refuses assignment and deletion as a frozen dataclass does, and has no __dict__."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.phone = "+14155550124"
    with pytest.raises(dataclasses.FrozenInstanceError):
        del value.id
    assert not hasattr(value, "__dict__")


def assert_a_dataclass_still(value: Any, repr_start: str, field_names: Sequence[str]) -> None:
    """`value` (a contact with phone +14155550123) keeps what a frozen dataclass gives:
    `replace`, a repr starting with `repr_start`, its fields in order, and pickling."""
    moved = dataclasses.replace(value, phone="+14155550124")
    assert moved.phone == "+14155550124"
    assert dataclasses.replace(moved, phone=value.phone) == value
    assert repr(value).startswith(repr_start)
    assert [field.name for field in dataclasses.fields(value)] == list(field_names)
    assert pickle.loads(pickle.dumps(value)) == value

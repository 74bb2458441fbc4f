"""A custom value repeated across a file's contacts is checked once, with the same meaning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import jcstate.project.validate as validate_module
from jcstate.core.normalize import normalize_custom_value
from jcstate.errors import ConfigError
from jcstate.project.config import load_project

CONFIG = """\
version: 1
api: {url: "sandbox://x.db"}
contacts: ["contacts/*.yaml"]
custom_fields:
  tier: {type: enum, values: [Free, Pro]}
  seats: {type: integer}
  score: {type: number}
  vip: {type: boolean}
"""


def write(tmp_path: Path, customs: list[str]) -> None:
    (tmp_path / "jcstate.yaml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "contacts").mkdir()
    lines = ["version: 1", "contacts:"]
    for n, custom in enumerate(customs):
        lines += [f'  - phone: "+1212{2_000_000 + n:07d}"', f"    custom_fields: {custom}"]
    (tmp_path / "contacts" / "a.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_repeated_custom_value_is_normalised_once_per_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cold `validate` of 100,000 contacts checks a few enum values 100,000 times otherwise."""
    calls: list[Any] = []

    def counting(value: Any, definition: Any) -> Any:
        calls.append(value)
        return normalize_custom_value(value, definition)

    monkeypatch.setattr(validate_module, "normalize_custom_value", counting)
    write(tmp_path, ["{tier: Pro, seats: 3}", "{tier: Free, seats: 3}"] * 50)
    project = load_project(cwd=tmp_path, use_cache=False)
    assert [c.custom_fields for c in project.desired.contacts][:2] == [
        {"tier": "Pro", "seats": 3},
        {"tier": "Free", "seats": 3},
    ]
    assert len(project.desired.contacts) == 100
    assert sorted(calls, key=str) == [3, "Free", "Pro"]


def test_repeated_values_keep_their_own_meaning_and_their_own_problems(tmp_path: Path) -> None:
    customs = [
        "{seats: 1, vip: true}",  # 1 and true are equal in Python; not the same value here
        "{seats: '1', vip: 'yes'}",
        "{score: 0.0}",
        "{score: -0.0}",
        "{tier: Gold}",
        "{tier: Gold}",  # a bad value is reported at every contact that has it
    ]
    write(tmp_path, customs)
    with pytest.raises(ConfigError) as caught:
        load_project(cwd=tmp_path, use_cache=False)
    found = [(d.line, d.message) for d in caught.value.diagnostics]
    assert [line for line, _ in found] == [12, 14]
    assert all("'Gold' is not one of the allowed values" in message for _, message in found)

    (tmp_path / "contacts" / "a.yaml").unlink()
    (tmp_path / "contacts").rmdir()
    write(tmp_path, customs[:4])
    values = [c.custom_fields for c in load_project(cwd=tmp_path).desired.contacts]
    assert values == [
        {"seats": 1, "vip": True},
        {"seats": 1, "vip": True},
        {"score": 0},  # a whole number is stored as an integer
        {"score": 0},
    ]

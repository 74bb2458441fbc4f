"""Golden error messages: one small bad project per failure mode under tests/data/bad/.

Each case directory holds a project and `expected.txt`, the exact text
`jcstate validate` prints for it (every diagnostic as file:line:col: message,
sorted, then the count). The test runs the real command in the case directory.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from jcstate.cli import cli

BAD = Path(__file__).parents[1] / "data" / "bad"
CASES = sorted(p.name for p in BAD.iterdir() if p.is_dir())


def test_every_failure_mode_has_a_case() -> None:
    expected_modes = {
        "unknown_field",
        "invalid_phone",
        "invalid_email",
        "undeclared_custom_field",
        "custom_integer",
        "custom_number",
        "custom_boolean",
        "custom_date",
        "custom_enum",
        "duplicate_phone",
        "id_not_positive",
        "id_duplicate",
        "contacts_version",
        "project_version",
        "yaml_syntax",
        "python_tag",
        "glob_no_match",
        "alias_bomb",
    }
    assert expected_modes <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_golden_message(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = BAD / case
    monkeypatch.chdir(directory)
    result = CliRunner().invoke(cli, ["validate"])
    expected = (directory / "expected.txt").read_text(encoding="utf-8")
    assert result.output == expected
    assert result.exit_code == 1


def test_unknown_field_message_is_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    # The issue's own example, spelled out here as well as in the golden file.
    monkeypatch.chdir(BAD / "unknown_field")
    result = CliRunner().invoke(cli, ["validate"])
    assert result.output.splitlines()[0] == (
        "contacts/a.yaml:4:3: unknown field 'frist_name' (did you mean 'first_name'?)"
    )


def test_duplicate_phone_names_both_places(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BAD / "duplicate_phone")
    result = CliRunner().invoke(cli, ["validate"])
    first = result.output.splitlines()[0]
    assert first.startswith("contacts/b.yaml:4:")
    assert first.endswith("also declared at contacts/a.yaml:3")

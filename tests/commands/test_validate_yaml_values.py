"""Scalars that cannot be built and unhashable keys are positioned errors, on both parsers."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from jcstate.cli import cli

CASES = [
    ("a: !!bool maybe\n", 1, 4, "'maybe' cannot be read"),
    ('a: !!bool ""\n', 1, 4, "'' cannot be read"),
    ('a: !!int ""\n', 1, 4, "'' cannot be read"),
    ('a: !!float ""\n', 1, 4, "'' cannot be read"),
    ("? [a, [b]]\n: x\n", 1, 3, "found unhashable key"),
    ("a:\n  <<: {x: 1}\n  ? [a, [b]]\n  : x\n", 3, 5, "found unhashable key"),
]


@pytest.mark.parametrize("pure", [False, True], ids=["c", "pure"])
@pytest.mark.parametrize(("text", "line", "col", "message"), CASES)
def test_bad_value_is_a_positioned_error(
    text: str,
    line: int,
    col: int,
    message: str,
    pure: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if pure:
        monkeypatch.setenv("JCSTATE_PURE_YAML", "1")
    else:
        monkeypatch.delenv("JCSTATE_PURE_YAML", raising=False)
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(cli, ["init", "proj"]).exit_code == 0
    (tmp_path / "proj" / "contacts" / "example.yaml").write_text(text)
    result = CliRunner().invoke(cli, ["-C", "proj", "validate"])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 1
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"proj/contacts/example.yaml:{line}:{col}: YAML syntax error: ")
    assert message in first

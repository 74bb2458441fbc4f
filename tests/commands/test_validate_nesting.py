"""The nesting limit counts real nesting, not brackets in strings, and says where it is crossed."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from jcstate.cli import cli


def validate(text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Result:
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(cli, ["init", "proj"]).exit_code == 0
    (tmp_path / "proj" / "contacts" / "example.yaml").unlink()
    (tmp_path / "proj" / "contacts" / "big.yaml").write_text(text)
    return CliRunner().invoke(cli, ["-C", "proj", "validate"])


def contacts(extra: str) -> str:
    return "version: 1\ncontacts:\n" + "".join(
        f'  - phone: "+1415555{n:04d}"\n{extra}' for n in range(400)
    )


@pytest.fixture(params=["c", "pure"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "pure":
        monkeypatch.setenv("JCSTATE_PURE_YAML", "1")
    else:
        monkeypatch.delenv("JCSTATE_PURE_YAML", raising=False)
    return str(request.param)


@pytest.mark.parametrize(
    "extra",
    [
        '    last_name: "Smith [VIP"\n',
        "    company: |-\n      " + "-" * 400 + "\n",
        "    company: |-\n      x\n      " + " " * 420 + "x\n",
        "    company: '{{{{{{{{{{'\n",
    ],
    ids=["quoted-bracket", "block-dashes", "block-spaces", "single-quoted-braces"],
)
def test_brackets_and_indentation_inside_strings_are_not_nesting(
    extra: str, parser: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = validate(contacts(extra), tmp_path, monkeypatch)
    if "|-" in extra:
        # A company of 400 characters (or of two lines) passes the nesting guard, then
        # meets the field limits (jcstate.core.limits): that, and only that, is reported.
        assert "nesting" not in result.stdout
        lines = result.stdout.splitlines()
        assert lines[-1] == "400 errors found", result.stdout[:300]
        field_limits = ("the limit is 255", "control character (U+000A")
        assert all(any(f in line for f in field_limits) for line in lines[:-1]), lines[:3]
        return
    assert (result.exit_code, result.stdout) == (0, "OK: 400 contacts in 1 file\n"), result.stdout[
        :300
    ]


LIMIT = "YAML nesting is deeper than 400 levels; refusing to load"


def test_block_nesting_500_deep_is_refused_where_depth_401_starts(
    parser: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "".join("  " * level + "a:\n" for level in range(500)) + "  " * 500 + "x\n"
    result = validate(text, tmp_path, monkeypatch)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == f"proj/contacts/big.yaml:401:801: {LIMIT}"


def test_flow_nesting_500_deep_is_refused_where_depth_401_starts(
    parser: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "x:\n  " + "[" * 500 + "]" * 500 + "\n"
    result = validate(text, tmp_path, monkeypatch)
    assert result.exit_code == 1
    # The root mapping is depth 1, so the 400th bracket opens depth 401.
    assert result.stdout.splitlines()[0] == f"proj/contacts/big.yaml:2:402: {LIMIT}"

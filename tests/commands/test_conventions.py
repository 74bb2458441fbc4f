"""What a user expects of any command line: NO_COLOR, global options anywhere, completion."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from jcstate.cli import cli, use_color
from jcstate.commands._options import progress_enabled


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("JCSTATE_API_URL", "JUSTCALL_API_KEY", "JUSTCALL_API_SECRET", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(cli, ["init", "proj"]).exit_code == 0
    return tmp_path / "proj"


@pytest.mark.parametrize(("value", "colour"), [(None, True), ("", True), ("1", False)])
def test_only_a_non_empty_no_color_turns_colour_off(
    monkeypatch: pytest.MonkeyPatch, value: str | None, colour: bool
) -> None:
    if value is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", value)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert use_color(False) is colour
    assert progress_enabled() is colour
    assert use_color(True) is False


@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_goes_before_or_after_the_command(project: Path, where: str) -> None:
    args = ["-v", "plan"] if where == "before" else ["plan", "-v"]
    result = CliRunner().invoke(cli, ["-C", str(project), *args])
    assert result.exit_code == 0, result.output
    assert "jcstate: GET /v2/contacts?page=1&per_page=100 -> 200" in result.stderr
    assert "request headers" not in result.stderr
    vv = CliRunner().invoke(cli, ["-C", str(project), "plan", "-vv"])
    assert "request headers" in vv.stderr


@pytest.mark.parametrize("where", ["before", "after"])
def test_no_color_goes_before_or_after_the_command(
    project: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    monkeypatch.setattr("jcstate.cli.use_color", lambda flag: not flag)
    coloured = CliRunner().invoke(cli, ["-C", str(project), "plan"], color=True)
    assert "\x1b[" in coloured.stdout
    args = ["--no-color", "plan"] if where == "before" else ["plan", "--no-color"]
    plain = CliRunner().invoke(cli, ["-C", str(project), *args], color=True)
    assert plain.exit_code == 0, plain.output
    assert "\x1b[" not in plain.stdout


def test_global_options_after_a_subcommand_of_a_group() -> None:
    result = CliRunner().invoke(cli, ["sandbox", "serve", "--help"])
    assert result.exit_code == 0
    assert "-v, --verbose" in result.output and "--no-color" in result.output


def test_shell_completion_is_generated_by_the_console_script() -> None:
    # click's completion: `_JCSTATE_COMPLETE=bash_source jcstate` prints the script.
    result = CliRunner().invoke(
        cli, [], prog_name="jcstate", env={"_JCSTATE_COMPLETE": "bash_source"}
    )
    assert result.exit_code == 0
    assert "_jcstate_completion" in result.output
    completion = CliRunner().invoke(
        cli,
        [],
        prog_name="jcstate",
        env={"_JCSTATE_COMPLETE": "bash_complete", "COMP_WORDS": "jcstate pl", "COMP_CWORD": "1"},
    )
    assert "plan" in completion.output


def test_progress_bars_show_counts_and_an_eta(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    import click

    from jcstate.commands import _options, apply

    monkeypatch.setattr(_options, "progress_enabled", lambda: True)
    monkeypatch.setattr(apply, "progress_enabled", lambda: True)
    seen: list[dict[str, object]] = []
    real = click.progressbar

    def spy(**options: object) -> object:
        seen.append(options)
        return real(**{**options, "file": io.StringIO()})  # type: ignore[call-overload]

    monkeypatch.setattr(click, "progressbar", spy)
    factory = _options.listing_progress()
    assert factory is not None
    with factory(50):
        pass
    bar = apply._Progress()
    bar.start(10)
    bar.finish()
    assert [(o["label"], o["show_pos"], o["show_eta"]) for o in seen] == [
        ("Listing contacts", True, True),
        ("Applying", True, True),
    ]

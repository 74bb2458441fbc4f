"""A usage error (unknown option, bad value, missing argument) exits 1 in every command.

Exit code 2 means only "changes" (`plan --detailed-exitcode`) or "drift"
(`drift`): a typo in a workflow's `args:` must fail the step, never look like a
result.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from jcstate.cli import COMMANDS, cli


def _every_command() -> list[list[str]]:
    paths: list[list[str]] = []
    for name in sorted(COMMANDS):
        command = cli.get_command(click.Context(cli), name)
        assert command is not None, name
        paths.append([name])
        if isinstance(command, click.Group):
            paths.extend([name, sub] for sub in sorted(command.commands))
    return paths


EVERY_COMMAND = _every_command()


def test_every_command_is_listed() -> None:
    assert ["sandbox", "serve"] in EVERY_COMMAND and ["import"] in EVERY_COMMAND


@pytest.mark.parametrize("path", EVERY_COMMAND, ids=" ".join)
def test_an_unknown_option_exits_1_with_a_message_on_stderr(
    path: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, [*path, "--no-such-option"])
    assert result.exit_code == 1, result.output
    assert "No such option" in result.stderr and "--no-such-option" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plan", "--detailed-exitcode", "--mask-pi"], "--mask-pi"),
        (["drift", "--formt", "markdown"], "--formt"),
        (["import", "--chek"], "--chek"),
        (["drift", "--format", "yaml"], "Invalid value for '--format'"),
        (["apply", "--lock-timeout", "soon"], "Invalid value for '--lock-timeout'"),
        (["show"], "Missing argument"),
        (["plan", "--target"], "requires an argument"),
        (["sandbox", "serve", "--fail-rate", "3"], "must be between 0 and 1"),
        (["no-such-command"], "No such command"),
        (["--no-such-global", "plan"], "No such option"),
        (["sandbox"], "Usage:"),
    ],
)
def test_a_bad_value_or_missing_argument_exits_1(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert message in result.stderr


def test_the_console_script_exits_1_too(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "jcstate", "drift", "--formt", "markdown"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert "No such option" in done.stderr and "--formt" in done.stderr


def test_help_and_version_still_exit_0() -> None:
    assert CliRunner().invoke(cli, ["plan", "--help"]).exit_code == 0
    assert CliRunner().invoke(cli, ["--version"]).exit_code == 0


@pytest.mark.parametrize("name", ["fmt", "validate", "show", "init", "schema"])
def test_commands_that_send_no_request_do_not_offer_v(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    shown = CliRunner().invoke(cli, [name, "--help"])
    assert shown.exit_code == 0
    assert "--verbose" not in shown.stdout and "Log each API request" not in shown.stdout
    assert "--no-color" in shown.stdout
    refused = CliRunner().invoke(cli, [name, "-v"])
    assert refused.exit_code == 1
    assert "No such option" in refused.stderr


@pytest.mark.parametrize("path", [["plan"], ["apply"], ["drift"], ["export"], ["sandbox", "serve"]])
def test_commands_that_send_requests_offer_v(path: list[str]) -> None:
    shown = CliRunner().invoke(cli, [*path, "--help"])
    assert "--verbose" in shown.stdout

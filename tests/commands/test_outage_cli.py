"""Commands against an API that is not there: a short --max-outage, one clear error."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from jcstate.cli import cli


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed on return: nothing listens there


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(cli, ["init", "proj"]).exit_code == 0
    return tmp_path / "proj"


ENV = {"JUSTCALL_API_KEY": "key-31d7", "JUSTCALL_API_SECRET": "secret-c02f", "NO_COLOR": "1"}


@pytest.mark.parametrize(
    ("command", "tail"),
    [
        (["plan"], ""),
        (["drift"], ""),
        (["apply", "--auto-approve"], "; nothing was applied; run apply again to continue"),
    ],
)
def test_a_missing_api_is_one_error_after_the_outage_window(
    project: Path, closed_port: int, command: list[str], tail: str
) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    result = CliRunner().invoke(
        cli, ["-C", str(project), *command, "--api-url", url, "--max-outage", "0.3"], env=ENV
    )
    assert result.exit_code == 1, result.output
    assert result.stderr.endswith(
        f"Error: the API at 127.0.0.1:{closed_port} has not answered for 0.3 s{tail}\n"
    )
    assert (
        f"retrying: 1 request waiting, last error GET /v2/contacts?page=1&per_page=100: "
        f"could not connect to 127.0.0.1:{closed_port}" in result.stderr
    )
    assert "Traceback" not in result.output
    assert "key-31d7" not in result.output and "secret-c02f" not in result.output

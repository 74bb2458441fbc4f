"""Credentials that cannot be sent as they are: refused before any request, never shown.

A key or secret holding CR/LF (header injection) or a non-ASCII character,
and an API URL with a user name or password (httpx would send Basic auth
instead of the JustCall header), each from wherever jcstate takes them.
The real command runs against a loopback server that counts requests: it
must get none, and the output must not hold the value.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.exhaustion_server import exhaustion_server

KEY = "shape-key-3d8e"
SECRET = "shape-secret-7b21"
PASSWORD = "pw-c0ffee42"


def project(root: Path, api_url: str = "https://api.justcall.io") -> Path:
    (root / "contacts").mkdir(parents=True, exist_ok=True)
    (root / "jcstate.yaml").write_text(
        f'version: 1\napi:\n  url: "{api_url}"\ndefault_region: US\ncontacts: ["contacts/*.yaml"]\n'
    )
    (root / "contacts" / "a.yaml").write_text('version: 1\ncontacts:\n  - phone: "+14155550100"\n')
    return root


def jcstate(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "NO_COLOR": "1", "JUSTCALL_API_KEY": KEY, "JUSTCALL_API_SECRET": SECRET}
    full.pop("JCSTATE_API_URL", None)
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "jcstate", "-C", str(root), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=full,
        timeout=60,
    )


def assert_refused(result: subprocess.CompletedProcess[str], *names: str) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output
    lines = [line for line in result.stderr.splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for name in names:
        assert name in lines[0]
    return output


def assert_refused_at_line(result: subprocess.CompletedProcess[str], start: str) -> str:
    """A problem of jcstate.yaml: one `file:line:col: message` line, and the count."""
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line]
    assert len(lines) == 2 and lines[1] == "1 error found", output
    assert start in lines[0], output
    return output


BAD = [
    ("Zq9\r\nX-Inj: 1", ["Zq9", "X-Inj"]),
    ("Zq9\nX-Inj: 1", ["Zq9", "X-Inj"]),
    ("Zq9-s\u00e9cret-\u00fcml", ["Zq9", "\u00fcml"]),
]


@pytest.mark.parametrize("variable", ["JUSTCALL_API_KEY", "JUSTCALL_API_SECRET"])
@pytest.mark.parametrize(("value", "fragments"), BAD)
def test_a_credential_with_a_line_break_or_non_ascii_is_refused_before_any_request(
    tmp_path: Path, variable: str, value: str, fragments: list[str]
) -> None:
    root = project(tmp_path / "project")
    with exhaustion_server("ok") as server:
        result = jcstate(root, {variable: value}, "plan", "--api-url", server.url)
    output = assert_refused(result, variable)
    assert server.requests == 0
    for fragment in fragments:
        assert fragment not in output


@pytest.mark.parametrize(
    "command", [["drift"], ["export", "--out", "exported", "--force"], ["apply", "--auto-approve"]]
)
def test_every_command_that_calls_the_api_refuses_a_line_break(
    tmp_path: Path, command: list[str]
) -> None:
    root = project(tmp_path / "project")
    value, fragments = BAD[0]
    with exhaustion_server("ok") as server:
        result = jcstate(root, {"JUSTCALL_API_SECRET": value}, *command, "--api-url", server.url)
    output = assert_refused(result, "JUSTCALL_API_SECRET")
    assert server.requests == 0
    for fragment in fragments:
        assert fragment not in output


def test_a_sound_pair_of_credentials_reaches_the_server_as_the_justcall_header(
    tmp_path: Path,
) -> None:
    """The control case: the same command with good credentials sends KEY:SECRET."""
    root = project(tmp_path / "project")
    with exhaustion_server("ok") as server:
        result = jcstate(root, {}, "plan", "--api-url", server.url)
    assert result.returncode == 0, result.stderr
    assert server.authorizations and set(server.authorizations) == {f"{KEY}:{SECRET}"}


@pytest.mark.parametrize("where", ["--api-url", "JCSTATE_API_URL", "api.url"])
@pytest.mark.parametrize("userinfo", [f"u:{PASSWORD}@", f":{PASSWORD}@", f"{PASSWORD}@"])
def test_an_api_url_with_a_user_name_or_password_is_refused_before_any_request(
    tmp_path: Path, where: str, userinfo: str
) -> None:
    with exhaustion_server("ok") as server:
        url = f"http://{userinfo}127.0.0.1:{server.port}"
        if where == "api.url":
            root = project(tmp_path / "project", api_url=url)
            result = jcstate(root, {}, "plan")
        elif where == "JCSTATE_API_URL":
            root = project(tmp_path / "project")
            result = jcstate(root, {"JCSTATE_API_URL": url}, "plan")
        else:
            root = project(tmp_path / "project")
            result = jcstate(root, {}, "plan", "--api-url", url)
    if where == "api.url":  # a branch's file: refused where the project is read, at its line
        output = assert_refused_at_line(result, "jcstate.yaml:3:8: api.url holds a user name")
    else:
        output = assert_refused(result, where, "user name or password")
    assert server.requests == 0 and not server.authorizations
    assert PASSWORD not in output


def test_validate_flags_a_user_name_or_password_in_api_url_at_its_line(tmp_path: Path) -> None:
    """Before any command that calls the API: `validate` (the pre-commit hook) names the place."""
    root = project(tmp_path / "project", api_url=f"https://u:{PASSWORD}@api.justcall.io")
    result = jcstate(root, {}, "validate")
    output = assert_refused_at_line(result, "jcstate.yaml:3:8: api.url holds a user name")
    assert PASSWORD not in output

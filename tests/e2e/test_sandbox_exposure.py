"""`jcstate sandbox serve` beyond loopback needs chosen credentials, and the start
banner never prints a secret someone chose (it may come from a CI job's environment)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

SECRET = "env-secret-0123456789"
BANNER_LINES = 5


def _command(db: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "jcstate", "sandbox", "serve", "--db", str(db), *args]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JCSTATE_SANDBOX_API_")}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


@contextmanager
def serving(db: Path, *args: str, env: dict[str, str]) -> Iterator[tuple[int, str]]:
    """A started server: (its port, its whole start banner)."""
    process = subprocess.Popen(
        _command(db, "--port", "0", *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        banner = [process.stdout.readline() for _ in range(BANNER_LINES)]
        assert banner[0].startswith("Listening on http://"), banner
        yield int(banner[0].rsplit(":", 1)[1]), "".join(banner)
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "example.com"])
def test_a_non_loopback_address_with_default_credentials_is_refused(
    tmp_path: Path, host: str
) -> None:
    done = subprocess.run(
        _command(tmp_path / "s.db", "--host", host, "--port", "0", "--api-key", "only-a-key"),
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
    )
    assert done.returncode == 1
    assert f"refusing to serve on {host}, which is not a loopback address" in done.stderr
    assert "pass --api-key and --api-secret" in done.stderr
    assert "Traceback" not in done.stderr
    assert "Listening" not in done.stdout


def test_a_non_loopback_address_passes_the_guard_with_chosen_credentials(tmp_path: Path) -> None:
    """192.0.2.10 (a documentation address, assigned to no interface): with credentials the
    guard lets it through and only binding fails, so nothing listens beyond loopback."""
    env = _env(JCSTATE_SANDBOX_API_KEY="team-key", JCSTATE_SANDBOX_API_SECRET=SECRET)
    done = subprocess.run(
        _command(tmp_path / "s.db", "--host", "192.0.2.10", "--port", "0"),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 1
    assert "cannot listen on 192.0.2.10:0" in done.stderr
    assert "refusing" not in done.stderr
    assert SECRET not in done.stdout + done.stderr


def test_the_banner_never_prints_a_secret_from_the_environment(tmp_path: Path) -> None:
    env = _env(JCSTATE_SANDBOX_API_KEY="team-key", JCSTATE_SANDBOX_API_SECRET=SECRET)
    with serving(tmp_path / "s.db", env=env) as (port, banner):
        answer = httpx.get(
            f"http://127.0.0.1:{port}/v2/contacts",
            headers={"Authorization": f"team-key:{SECRET}"},
            timeout=10,
        )
        assert answer.status_code == 200
    assert SECRET not in banner
    assert (
        "Credentials: JUSTCALL_API_KEY from JCSTATE_SANDBOX_API_KEY, "
        "JUSTCALL_API_SECRET from JCSTATE_SANDBOX_API_SECRET (not printed)\n"
    ) in banner


def test_the_banner_names_the_origin_of_a_chosen_secret(tmp_path: Path) -> None:
    with serving(tmp_path / "s.db", "--api-secret", SECRET, env=_env()) as (port, banner):
        answer = httpx.get(
            f"http://127.0.0.1:{port}/v2/contacts",
            headers={"Authorization": f"sandbox-key:{SECRET}"},
            timeout=10,
        )
        assert answer.status_code == 200
    assert SECRET not in banner
    assert (
        "Credentials: JUSTCALL_API_KEY=sandbox-key (default), "
        "JUSTCALL_API_SECRET from --api-secret (not printed)\n"
    ) in banner


def test_the_default_credentials_are_printed_on_loopback(tmp_path: Path) -> None:
    with serving(tmp_path / "s.db", env=_env()) as (_, banner):
        pass
    assert "Credentials: JUSTCALL_API_KEY=sandbox-key JUSTCALL_API_SECRET=sandbox-secret\n" in (
        banner
    )

"""Start `jcstate sandbox serve` as a real subprocess on a free loopback port.

with start_sandbox(tmp_path / "sandbox.db", "--fail-rate", "0.5") as server:
    httpx.get(server.url + "/v2/contacts", headers=server.auth_headers)

A test that needs a plain sandbox (no flags) takes the `sandbox_server` fixture
instead: one server per test process (`SharedSandbox`), emptied before each
test as a new one would be (`empty_sandbox`), which saves a server start (about
a second) per test.
"""

from __future__ import annotations

import itertools
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

_LISTENING = re.compile(r"^Listening on (http://\S+)$")
_CREDENTIALS = re.compile(r"JUSTCALL_API_KEY=(\S+) JUSTCALL_API_SECRET=(\S+)")
START_TIMEOUT_S = 30.0
DEFAULT_KEY, DEFAULT_SECRET = "sandbox-key", "sandbox-secret"


@dataclass
class SandboxServer:
    url: str
    api_key: str
    api_secret: str = field(repr=False)
    db_path: Path
    process: subprocess.Popen[str] = field(repr=False)
    stderr_path: Path = field(repr=False)

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"{self.api_key}:{self.api_secret}"}

    @property
    def env(self) -> dict[str, str]:
        """Environment for a jcstate subprocess talking to this server."""
        return {
            "JCSTATE_API_URL": self.url,
            "JUSTCALL_API_KEY": self.api_key,
            "JUSTCALL_API_SECRET": self.api_secret,
        }

    def stderr_text(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stop(self, kill: bool = False) -> None:
        """Stop the server (SIGTERM, or SIGKILL with `kill=True`) and wait for it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    # Keep reading so the server never blocks on a full stdout pipe; None marks the end.
    try:
        for line in stream:
            lines.put(line)
    except (OSError, ValueError):
        pass
    lines.put(None)


def launch_sandbox(db_path: Path, *args: str) -> SandboxServer:
    """Start a server and wait until it listens; the caller must `stop()` it."""
    stderr_file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the server
        prefix="sandbox-stderr-", suffix=".log", delete=False
    )
    command = [
        sys.executable,
        "-m",
        "jcstate",
        "sandbox",
        "serve",
        "--db",
        str(db_path),
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        *args,
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("JCSTATE_SANDBOX_API_KEY", None)
    env.pop("JCSTATE_SANDBOX_API_SECRET", None)
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=stderr_file, text=True, env=env
    )
    stderr_path = Path(stderr_file.name)
    stderr_file.close()
    assert process.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True).start()
    url: str | None = None
    # The banner prints the default credentials only; chosen ones are known from the flags.
    credentials: tuple[str, str] | None = None
    if "--api-key" in args or "--api-secret" in args:
        flags = dict(itertools.pairwise(args))
        credentials = (
            flags.get("--api-key", DEFAULT_KEY),
            flags.get("--api-secret", DEFAULT_SECRET),
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while url is None or credentials is None:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            line = None
        if line is None:
            process.kill()
            process.wait(timeout=10)
            raise RuntimeError(
                "sandbox did not start: " + stderr_path.read_text(errors="replace")[-2000:]
            )
        line = line.rstrip("\n")
        if match := _LISTENING.match(line):
            url = match.group(1)
        elif credentials is None and (match := _CREDENTIALS.search(line)):
            credentials = (match.group(1), match.group(2))
    return SandboxServer(
        url=url,
        api_key=credentials[0],
        api_secret=credentials[1],
        db_path=db_path,
        process=process,
        stderr_path=stderr_path,
    )


@contextmanager
def start_sandbox(db_path: Path, *args: str) -> Iterator[SandboxServer]:
    """A running sandbox on `db_path` with the extra `serve` flags `args`; stopped on exit."""
    server = launch_sandbox(db_path, *args)
    try:
        yield server
    finally:
        server.stop()
        server.stderr_path.unlink(missing_ok=True)


def empty_sandbox(server: SandboxServer) -> None:
    """Remove every contact of a served sandbox; ids restart at 1, as in a new one."""
    from jcstate.sandbox.store import ContactStore

    store = ContactStore(server.db_path)
    try:
        store.reset()
    finally:
        store.close()


class SharedSandbox:
    """One plain served sandbox for a whole test process, handed out emptied.

    Started on first use; started again if a test stopped it. Only for tests that
    leave the server running and read nothing from its log: a test that stops,
    kills or restarts its server, or starts it with flags, starts its own.
    """

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._server: SandboxServer | None = None
        self._starts = 0

    def fresh(self) -> SandboxServer:
        server = self._server
        if server is None or server.process.poll() is not None:
            if server is not None:
                self._close(server)
            self._starts += 1
            server = launch_sandbox(self._folder / f"shared-{self._starts}.db")
            self._server = server
        else:
            empty_sandbox(server)
        return server

    def close(self) -> None:
        if self._server is not None:
            self._close(self._server)
            self._server = None

    @staticmethod
    def _close(server: SandboxServer) -> None:
        server.stop()
        server.stderr_path.unlink(missing_ok=True)

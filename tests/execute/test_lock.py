"""`.jcstate/lock`: one run at a time per project, released when the holder dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from jcstate.errors import LockError, StateDirError
from jcstate.execute.lock import LOCK_FILE, acquire, held_message

HOLDER = """
import sys, time
from pathlib import Path
from jcstate.execute.lock import acquire
lock = acquire(Path(sys.argv[1]))
print("held", flush=True)
time.sleep(float(sys.argv[2]))
lock.release()
print("released", flush=True)
time.sleep(60)
"""


@contextmanager
def holder(root: Path, hold_s: float = 60) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the project's lock (prints "held" once it has it)."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(root), str(hold_s)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "held"
        yield process
    finally:
        process.kill()
        process.wait(timeout=10)


def test_the_message_names_the_holder_and_the_option() -> None:
    assert held_message(1234, 0) == (
        "another jcstate run (pid 1234) holds .jcstate/lock; "
        "wait for it or use --lock-timeout SECONDS"
    )
    assert "(waited 2.5 s)" in held_message(None, 2.5)


def test_a_second_process_fails_at_once_naming_the_holders_pid(tmp_path: Path) -> None:
    with holder(tmp_path) as other:
        started = time.monotonic()
        with pytest.raises(LockError) as refused:
            acquire(tmp_path)
        assert time.monotonic() - started < 1
    assert str(refused.value) == held_message(other.pid, 0)


def test_the_holder_writes_its_pid_and_releasing_lets_the_next_run_in(tmp_path: Path) -> None:
    with acquire(tmp_path):
        assert (tmp_path / LOCK_FILE).read_text() == f"{os.getpid()}\n"
        with pytest.raises(LockError, match=rf"pid {os.getpid()}"):
            acquire(tmp_path)
    with acquire(tmp_path):
        pass


def test_a_timeout_waits_for_the_holder_to_finish(tmp_path: Path) -> None:
    with holder(tmp_path, hold_s=1.0):
        started = time.monotonic()
        with acquire(tmp_path, timeout=20):
            waited = time.monotonic() - started
    assert 0.5 < waited < 15


def test_a_timeout_that_runs_out_fails(tmp_path: Path) -> None:
    with holder(tmp_path) as other:
        started = time.monotonic()
        with pytest.raises(LockError, match=rf"pid {other.pid}.*waited 0.3 s"):
            acquire(tmp_path, timeout=0.3)
        assert 0.25 < time.monotonic() - started < 5


def test_a_killed_holder_releases_the_lock(tmp_path: Path) -> None:
    with holder(tmp_path) as other:
        with pytest.raises(LockError):
            acquire(tmp_path)
        other.send_signal(signal.SIGKILL)
        other.wait(timeout=10)
        with acquire(tmp_path):
            assert (tmp_path / LOCK_FILE).read_text() == f"{os.getpid()}\n"


def test_a_file_where_the_state_directory_goes_is_a_clean_error(tmp_path: Path) -> None:
    (tmp_path / ".jcstate").write_text("not a directory")
    with pytest.raises(StateDirError, match="is not a directory"):
        acquire(tmp_path)

"""The project lock: `.jcstate/lock`, an exclusive OS-level lock (``flock``).

`apply` and `drift --adopt` hold it for their whole run, so two runs on one
project never race. The operating system drops the lock when the holder's
process ends, however it ends (kill -9 included), so a crash never leaves a
stale lock behind. The holder writes its pid into the file; a second run
names it in the error. The file itself stays; only the flock on it counts.

POSIX only (Linux, macOS): where `fcntl` is missing, taking the lock is an
error that says so rather than a run without one.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from jcstate.errors import LockError, check_state_dir
from jcstate.project.files import open_state_file

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = Path(".jcstate") / "lock"
#: How often a run waiting with --lock-timeout tries again.
POLL_S = 0.1


def held_message(pid: int | None, waited: float) -> str:
    """The error a second run gets (pure)."""
    who = f"another jcstate run (pid {pid})" if pid is not None else "another jcstate run"
    waited_text = f" (waited {waited:g} s)" if waited > 0 else ""
    return f"{who} holds .jcstate/lock{waited_text}; wait for it or use --lock-timeout SECONDS"


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 64, 0).decode("ascii", errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


class ProjectLock:
    """A held lock; `release()` (or leaving the `with` block) gives it up."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass
        finally:
            os.close(fd)  # closing the descriptor drops the flock

    def __enter__(self) -> ProjectLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def acquire(
    project_root: Path,
    *,
    timeout: float = 0.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ProjectLock:
    """Take `.jcstate/lock`, waiting up to `timeout` seconds; LockError if another run keeps it."""
    if fcntl is None:  # pragma: no cover - Windows
        raise LockError(
            "this system has no fcntl.flock: jcstate's project lock (.jcstate/lock) "
            "needs Linux or macOS"
        )
    path = project_root / LOCK_FILE
    check_state_dir(path.parent)
    try:
        # Not O_TRUNC: the holder's pid must survive a second run opening the file.
        # No link is followed and only a regular file is taken: a branch may commit
        # .jcstate/lock as a symlink, and the lock file is truncated below.
        fd = open_state_file(path, project_root, os.O_RDWR | os.O_CREAT, "the project lock")
    except OSError as exc:
        raise LockError(f"cannot open {path}: {exc.strerror or exc}") from None
    started = clock()
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = clock() - started
                if waited >= timeout:
                    raise LockError(held_message(_read_pid(fd), timeout)) from None
                sleep(min(POLL_S, max(0.0, timeout - waited)))
            except OSError as exc:
                raise LockError(f"cannot lock {path}: {exc.strerror or exc}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    except BaseException:
        os.close(fd)
        raise
    return ProjectLock(path, fd)

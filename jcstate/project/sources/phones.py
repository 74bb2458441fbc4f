"""Phone numbers of a large import, normalised in worker processes.

Parsing and checking a phone (`normalize_phone`, with the phonenumbers
library) is most of an import's CPU time, and each phone is independent: on
a machine with cores to spare, the phones of each chunk of rows are sent to
worker processes while this process maps and checks the chunk before. The
workers run `normalize_phones` itself, so the result is the same phone for
phone; a test holds the written file byte for byte equal with and without
workers.

A worker that cannot start or dies is not a failure: its chunk is normalised
here instead.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

from jcstate.core.phones import normalize_phones

#: worker processes at most: past this the mapping in this process is the bottleneck
MAX_WORKERS = 4


def default_workers() -> int:
    """One fewer than the CPUs this process may use (this one maps and checks), at most 4."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cpus = os.cpu_count() or 1
    return max(0, min(cpus - 1, MAX_WORKERS))


class PendingPhones(Protocol):
    def result(self) -> list[str | None]: ...


class _Done:
    def __init__(self, phones: list[str | None]) -> None:
        self._phones = phones

    def result(self) -> list[str | None]:
        return self._phones


class _Running:
    """A chunk sent to a worker; normalised here if the worker fails."""

    def __init__(self, future: Future[list[str | None]], raws: list[str], region: str) -> None:
        self._future = future
        self._raws = raws
        self._region = region

    def result(self) -> list[str | None]:
        try:
            return self._future.result()
        except (BrokenProcessPool, OSError):  # a worker died (killed, out of memory)
            return normalize_phones(self._raws, self._region)


def _main_importable() -> bool:
    """Whether a spawned worker can import this program's main module (not code from stdin)."""
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    return path is None or os.path.exists(path)


def _ignore_interrupt() -> None:
    # Ctrl-C reaches the whole process group: the command reports it, not each worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class PhonePool:
    """Normalises chunks of phones in `workers` processes (started on first use)."""

    def __init__(self, region: str, workers: int) -> None:
        self.region = region
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None
        self._broken = workers <= 0

    def submit(self, raws: Sequence[str]) -> PendingPhones:
        listed = list(raws)
        if not self._broken and self._executor is None and not _main_importable():
            self._broken = True
        if not self._broken and self._executor is None:
            try:
                # spawn, not fork: a fresh interpreter inherits no threads or open handles.
                context = multiprocessing.get_context("spawn")
                self._executor = ProcessPoolExecutor(
                    self.workers, mp_context=context, initializer=_ignore_interrupt
                )
            except (OSError, ValueError):
                self._broken = True
        if self._executor is not None and not self._broken:
            try:
                future = self._executor.submit(normalize_phones, listed, self.region)
            except (BrokenProcessPool, RuntimeError):  # a broken pool refuses new work
                self._broken = True
            else:
                return _Running(future, listed, self.region)
        return _Done(normalize_phones(listed, self.region))

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> PhonePool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

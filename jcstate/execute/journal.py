"""The apply journal: `.jcstate/journal/<UTC timestamp>.jsonl`, one JSON object a line.

Every request attempt (from the client's ``on_request`` hook) and every item
outcome is appended and flushed the moment it happens, so after kill -9 the
file says how far the run got. Only whitelisted fields are written; the
credentials are never among them, and any text that somehow contains one of
the given secrets is redacted before it reaches the disk.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Protocol

from jcstate.core.outcome import ItemResult
from jcstate.errors import check_state_dir
from jcstate.project.files import open_state_file

JOURNAL_DIR = Path(".jcstate") / "journal"
REDACTED = "[redacted]"


class RequestRecordLike(Protocol):
    """The client's RequestRecord: one attempt of one request."""

    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def status(self) -> int | None: ...
    @property
    def attempt(self) -> int: ...
    @property
    def duration_s(self) -> float: ...
    @property
    def error(self) -> str | None: ...


def journal_filename(now: dt.datetime) -> str:
    """`20260312T143000.123456Z.jsonl` — sorts by time; microseconds keep runs apart."""
    return now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ") + ".jsonl"


class Journal:
    """An append-only, line-flushed JSON Lines file."""

    def __init__(self, path: Path, *, root: Path, secrets: Iterable[str] = ()) -> None:
        self.path = path
        self._secrets = tuple(secret for secret in secrets if secret)
        check_state_dir(path.parent)
        # O_EXCL: never append to (or clobber) another run's journal; no link is
        # followed (open_state_file), and the folder on the way stays in the project.
        fd = open_state_file(
            path, root, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, "the apply journal"
        )
        self._file: IO[str] = os.fdopen(fd, "w", encoding="utf-8")

    @staticmethod
    def prepare(project_root: Path) -> None:
        """Check the journal's place now, so a file in its way stops the run before any change."""
        check_state_dir(project_root / JOURNAL_DIR)

    @classmethod
    def create(
        cls, project_root: Path, *, secrets: Iterable[str] = (), now: dt.datetime | None = None
    ) -> Journal:
        moment = now or dt.datetime.now(dt.UTC)
        while True:
            path = project_root / JOURNAL_DIR / journal_filename(moment)
            try:
                return cls(path, root=project_root, secrets=secrets)
            except FileExistsError:
                moment += dt.timedelta(microseconds=1)

    def _redact(self, value: Any) -> Any:
        if isinstance(value, str):
            for secret in self._secrets:
                value = value.replace(secret, REDACTED)
            return value
        if isinstance(value, dict):
            return {key: self._redact(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self._redact(item) for item in value]
        return value

    def event(self, kind: str, **fields: Any) -> None:
        if self._file.closed:
            return
        line = {"ts": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"), "event": kind}
        line.update(self._redact(fields))
        self._file.write(json.dumps(line, default=str, separators=(",", ":")) + "\n")
        self._file.flush()

    def record_request(self, record: RequestRecordLike) -> None:
        self.event(
            "request",
            method=record.method,
            path=record.path,
            status=record.status,
            attempt=record.attempt,
            duration_s=round(record.duration_s, 4),
            error=record.error,
        )

    def record_item(self, item: ItemResult) -> None:
        self.event(
            "item",
            action=item.action.value,
            phone=item.phone,
            id=item.id,
            outcome=item.outcome.value,
            message=item.message,
        )

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            self.event("interrupted", error=type(exc).__name__)
        self.close()


class NoJournal:
    """The journal of a run that keeps none (a library call, a test): every record is dropped.

    The executor always has a journal to write to; without a file it is this one.
    """

    def event(self, kind: str, **fields: Any) -> None:
        return None

    def record_request(self, record: RequestRecordLike) -> None:
        return None

    def record_item(self, item: ItemResult) -> None:
        return None


class EventSink(Protocol):
    """What the executor writes to: a `Journal`, or `NoJournal`."""

    def event(self, kind: str, **fields: Any) -> None: ...
    def record_item(self, item: ItemResult) -> None: ...


NO_JOURNAL = NoJournal()


def read_journal(path: Path) -> list[dict[str, Any]]:
    """The journal's events; a last line cut short by a crash is ignored."""
    events: list[dict[str, Any]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return events

"""The apply journal: one flushed JSON line per event, never a credential."""

from __future__ import annotations

import datetime as dt
import json
import stat
from dataclasses import dataclass
from pathlib import Path

from jcstate.core.outcome import ItemResult, Outcome
from jcstate.core.plan import Action
from jcstate.execute.journal import Journal, journal_filename, read_journal


@dataclass(frozen=True)
class Record:
    method: str
    path: str
    status: int | None
    attempt: int
    duration_s: float
    error: str | None


def test_journal_lives_under_the_project_and_is_named_by_utc_time(tmp_path: Path) -> None:
    moment = dt.datetime(2026, 3, 12, 14, 30, 0, 123456, tzinfo=dt.UTC)
    first = Journal.create(tmp_path, now=moment)
    second = Journal.create(tmp_path, now=moment)  # same instant: a new file, not an append
    first.close()
    second.close()
    assert first.path == tmp_path / ".jcstate" / "journal" / "20260312T143000.123456Z.jsonl"
    assert second.path != first.path
    assert journal_filename(moment) < journal_filename(moment + dt.timedelta(seconds=1))
    assert stat.S_IMODE(first.path.stat().st_mode) == 0o600


def test_each_event_is_on_disk_before_the_next_happens(tmp_path: Path) -> None:
    journal = Journal.create(tmp_path)
    journal.record_request(Record("POST", "/v2/contacts/bulk", 503, 1, 0.01234567, "Server"))
    # Not closed: what a kill -9 would leave behind must already be readable.
    events = read_journal(journal.path)
    assert events[-1]["event"] == "request"
    assert events[-1]["status"] == 503
    journal.record_item(ItemResult(Action.UPDATE, "+14155550100", 7, Outcome.FAILED, "boom"))
    events = read_journal(journal.path)
    assert {k: events[-1][k] for k in ("action", "phone", "id", "outcome", "message")} == {
        "action": "update",
        "phone": "+14155550100",
        "id": 7,
        "outcome": "failed",
        "message": "boom",
    }
    journal.close()


def test_secrets_are_redacted_wherever_they_appear(tmp_path: Path) -> None:
    with Journal.create(tmp_path, secrets=("my-key", "my-secret")) as journal:
        journal.record_request(
            Record("GET", "/v2/contacts?x=my-key", 401, 1, 0.1, "Authorization my-key:my-secret")
        )
        journal.event("warning", message="nested", detail={"list": ["my-secret"]})
    text = journal.path.read_text()
    assert "my-key" not in text and "my-secret" not in text
    assert text.count("[redacted]") == 4


def test_interruption_is_recorded_and_a_torn_last_line_is_ignored(tmp_path: Path) -> None:
    try:
        with Journal.create(tmp_path) as journal:
            journal.event("stage", name="apply")
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    with journal.path.open("a") as handle:
        handle.write('{"event": "item", "pho')  # what a crash mid-write leaves
    events = read_journal(journal.path)
    assert [e["event"] for e in events] == ["stage", "interrupted"]
    assert events[-1]["error"] == "KeyboardInterrupt"
    for line in journal.path.read_text().splitlines()[:2]:
        assert json.loads(line)["ts"].endswith("+00:00")

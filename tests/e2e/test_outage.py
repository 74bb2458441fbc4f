"""The API goes away mid-apply: jcstate stops by itself, says how far it got, and resumes.

A served sandbox is killed (SIGKILL) right after the apply's first bulk batch.
With `--max-outage 3`, apply must give up about 3 s later with one exact
message and exit 1, having shown a `retrying:` line meanwhile and flushed its
journal; after the sandbox is started again on the same database, a second
apply converges.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.support.sandbox_server import start_sandbox
from tests.support.scenario import (
    Scenario,
    jcstate_env,
    run_jcstate,
    seed_db,
    write_scenario_project,
)

SCENARIO = Scenario(
    creates=120, updates=40, clears=0, deletes=0, protected=0, partial=0, unchanged=10
)
BATCH_SIZE = 20


def _events(journal: Path) -> list[dict[str, Any]]:
    events = []
    for line in journal.read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return events


def _first_bulk_answered(events: list[dict[str, Any]]) -> bool:
    return any(
        event.get("event") == "request"
        and str(event.get("path", "")).startswith("/v2/contacts/bulk")
        and event.get("status") is not None
        for event in events
    )


def test_apply_stops_when_the_api_is_gone_and_the_next_apply_converges(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    seed_db(db, SCENARIO.existing)
    root = tmp_path / "project"
    write_scenario_project(root, SCENARIO, concurrency=2)
    journal_dir = root / ".jcstate" / "journal"
    with start_sandbox(db, "--latency-ms", "100") as server:
        env = jcstate_env(server.url, server.api_key, server.api_secret)
        port = server.url.rsplit(":", 1)[1].rstrip("/")
        process = subprocess.Popen(
            [sys.executable, "-m", "jcstate", "-C", str(root), "apply", "--auto-approve",
             "--batch-size", str(BATCH_SIZE), "--max-outage", "3"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=env,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            journals = sorted(journal_dir.glob("*.jsonl")) if journal_dir.exists() else []
            if journals and _first_bulk_answered(_events(journals[-1])):
                break
            time.sleep(0.01)
        server.stop(kill=True)
        killed_at = time.monotonic()
        stdout, stderr = process.communicate(timeout=60)
        stopped_after = time.monotonic() - killed_at

    assert process.returncode == 1, stderr[-3000:]
    assert "Traceback" not in stderr
    total = sum(SCENARIO.planned_changes.values())
    message = re.search(
        rf"^Error: the API at 127\.0\.0\.1:{port} has not answered for 3 s; "
        rf"applied (\d+) of {total} changes; run apply again to continue$",
        stderr,
        re.MULTILINE,
    )
    assert message, stderr[-3000:]
    applied = int(message.group(1))
    assert 0 < applied < total
    # It gave up on its own, soon after the window: not after 6 retries of every change.
    print(f"apply stopped {stopped_after:.1f} s after the kill", file=sys.stderr)
    assert stopped_after < 20, stopped_after
    assert re.search(
        rf"^retrying: \d+ requests? waiting, last error .*127\.0\.0\.1:{port}",
        stderr,
        re.MULTILINE,
    ), stderr[-3000:]
    assert "Converged: no." in stdout

    # The journal is complete: every applied change is in it, and the run's end.
    events = _events(sorted(journal_dir.glob("*.jsonl"))[-1])
    done = [e for e in events if e.get("event") == "item" and e.get("outcome") != "failed"]
    assert len(done) == applied
    assert events[-1]["event"] == "finished"

    with start_sandbox(db) as again:
        env = jcstate_env(again.url, again.api_key, again.api_secret)
        second = run_jcstate(root, env, "apply", "--auto-approve", "--format", "json")
        assert second.returncode == 0, second.stderr[-3000:]
        report = json.loads(second.stdout)
        assert report["converged"] is True
        assert sum(report["summary"].values()) <= total - applied
        check = run_jcstate(root, env, "plan", "--detailed-exitcode")
        assert check.returncode == 0, check.stdout[-2000:]


def test_ctrl_c_during_apply_says_how_far_it_got(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    seed_db(db, SCENARIO.existing)
    root = tmp_path / "project"
    write_scenario_project(root, SCENARIO, concurrency=2)
    journal_dir = root / ".jcstate" / "journal"
    with start_sandbox(db, "--latency-ms", "100") as server:
        env = jcstate_env(server.url, server.api_key, server.api_secret)
        process = subprocess.Popen(
            [sys.executable, "-m", "jcstate", "-C", str(root), "apply", "--auto-approve",
             "--batch-size", str(BATCH_SIZE)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=env,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            journals = sorted(journal_dir.glob("*.jsonl")) if journal_dir.exists() else []
            if journals and _first_bulk_answered(_events(journals[-1])):
                break
            time.sleep(0.01)
        process.send_signal(signal.SIGINT)
        _stdout, stderr = process.communicate(timeout=60)

        assert process.returncode == 130, stderr[-3000:]
        assert "Traceback" not in stderr
        total = sum(SCENARIO.planned_changes.values())
        assert re.search(
            rf"^Interrupted after the apply began: applied \d+ of {total} changes; "
            r"run `jcstate apply` again to continue",
            stderr,
            re.MULTILINE,
        ), stderr[-3000:]
        assert stderr.endswith("Interrupted.\n")
        second = run_jcstate(root, env, "apply", "--auto-approve")
        assert second.returncode == 0, second.stderr[-3000:]

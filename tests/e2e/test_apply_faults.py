"""`jcstate apply` under injected faults and after kill -9: converges, never duplicates."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from jcstate.execute.journal import read_journal
from tests.e2e.test_apply_e2e import jcstate, people, remote_by_phone, write_project
from tests.support.sandbox_server import start_sandbox


def seed(db: Path, count: int) -> None:
    """Contacts 0..count-1 of the generator, written straight into the database."""
    subprocess.run(
        [sys.executable, "-m", "jcstate", "sandbox", "seed", "--db", str(db), "--count",
         str(count), "--custom-fields"],
        check=True,
        capture_output=True,
    )  # fmt: skip


def declared_after(
    creates: int, updates: int, deletes: int, unchanged: int
) -> tuple[list[dict[str, Any]], list[str]]:
    """Existing 0..E-1: the first `updates` renamed, the next `deletes` dropped; new after E."""
    existing = updates + deletes + unchanged
    declared = people(range(updates))
    for contact in declared:
        contact["last_name"] = f"Renamed{contact['last_name']}"
    dropped = [c["phone"] for c in people(range(updates, updates + deletes))]
    declared += people(range(updates + deletes, existing))
    declared += people(range(existing, existing + creates))
    return declared, dropped


def converge_under_faults(
    tmp_path: Path, creates: int, updates: int, deletes: int, unchanged: int
) -> None:
    db = tmp_path / "sandbox.db"
    seed(db, updates + deletes + unchanged)
    root = tmp_path / "project"
    declared, dropped = declared_after(creates, updates, deletes, unchanged)
    write_project(root, declared, max_update_percent=100)
    faults = ("--fail-rate", "0.1", "--ambiguous-rate", "0.05", "--fault-seed", "11")
    with start_sandbox(db, *faults) as server:
        reports = []
        for _run in range(2):
            result = jcstate(
                root, server, "apply", "--auto-approve", "--prune", "--format", "json",
                "--batch-size", str(max(1, creates // 4)),
            )  # fmt: skip
            if result.stdout.strip():
                reports.append(json.loads(result.stdout))
            if result.returncode == 0:
                break
        assert result.returncode == 0, (result.stderr[-2000:], [r["summary"] for r in reports])
        assert reports[-1]["converged"] is True
        assert sum(r["requests"]["retries"] for r in reports) > 0  # the faults did happen
        remote = remote_by_phone(server)  # asserts no duplicate phones
    assert set(remote) == {c["phone"] for c in declared}  # nothing declared was deleted
    assert not set(dropped) & set(remote)
    assert remote[declared[0]["phone"]]["last_name"] == declared[0]["last_name"]


def test_faults_converge_small(tmp_path: Path) -> None:
    converge_under_faults(tmp_path, creates=300, updates=40, deletes=8, unchanged=60)


@pytest.mark.slow
def test_faults_converge_at_scale(tmp_path: Path) -> None:
    converge_under_faults(tmp_path, creates=5000, updates=500, deletes=100, unchanged=1000)


def _wait_for_items(journal_dir: Path, count: int, process: subprocess.Popen[str]) -> Path:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        for path in journal_dir.glob("*.jsonl"):
            items = [e for e in read_journal(path) if e["event"] == "item"]
            if len(items) >= count:
                return path
        time.sleep(0.05)
    raise AssertionError(f"apply did not get {count} items far (exit {process.poll()})")


def test_kill_9_during_apply_then_apply_again_converges(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    seed(db, 200)
    root = tmp_path / "project"
    declared, dropped = declared_after(creates=100, updates=150, deletes=10, unchanged=40)
    write_project(root, declared, max_update_percent=100, max_delete_percent=50)
    with start_sandbox(db, "--latency-ms", "40") as server:
        env = {**os.environ, **server.env, "NO_COLOR": "1"}
        # Output to a file: a full pipe nobody reads would stall the run, not the kill.
        with (tmp_path / "killed-run.log").open("w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "jcstate", "-C", str(root), "apply", "--auto-approve",
                 "--prune", "--batch-size", "20"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, text=True, env=env,
            )  # fmt: skip
            try:
                journal = _wait_for_items(root / ".jcstate" / "journal", 40, process)
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=10)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait(timeout=10)
        assert process.returncode == -signal.SIGKILL
        killed = read_journal(journal)
        assert not any(e["event"] == "finished" for e in killed)  # it really was cut short

        again = jcstate(root, server, "apply", "--auto-approve", "--prune", "--format", "json")
        assert again.returncode == 0, again.stderr[-2000:]
        report = json.loads(again.stdout)
        assert report["converged"] is True
        assert report["summary"]["failed"] == 0
        # The second run only does what the first did not.
        assert sum(report["summary"].values()) < 260
        remote = remote_by_phone(server)
    assert set(remote) == {c["phone"] for c in declared}
    assert not set(dropped) & set(remote)

"""Crash-resume: kill -9 `jcstate apply` at chosen points, run it again, it converges.

The served sandbox waits 30 ms before every answer, so an apply of a few
hundred changes takes seconds and can be cut at a precise point. The point is
read from the apply journal (`.jcstate/journal/*.jsonl`, one line per request
attempt, flushed as it happens): "after the k-th bulk request", "after the
k-th PUT", "after the k-th DELETE", "during the convergence check". After the
kill, `jcstate apply` is run again (at most 3 times) until a fresh plan is
empty, and the remote state, read with plain httpx, must be exactly the
declared one: no duplicated phone, nothing declared deleted, nothing outside
the plan touched.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.sandbox_server import SandboxServer, start_sandbox
from tests.support.scenario import (
    Scenario,
    by_phone,
    jcstate_env,
    list_remote,
    run_jcstate,
    seed_db,
    state_differences,
    touched_outside,
    write_scenario_project,
)

# 400 creates in 8 bulk batches of 50, 80 PUTs (60 updates, 20 clears), 20 DELETEs.
SCENARIO = Scenario(
    creates=400, updates=60, clears=20, deletes=20, protected=2, partial=10, unchanged=50
)
BATCH_SIZE = 50
LATENCY = ("--latency-ms", "30")
Events = list[dict[str, Any]]


def read_events(path: Path) -> Events:
    """The journal's lines; a line cut short by the kill is skipped."""
    events: Events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return events


def requests_of(events: Events, method: str, bulk: bool | None = None) -> int:
    count = 0
    for event in events:
        if event.get("event") != "request" or event.get("method") != method:
            continue
        is_bulk = str(event.get("path", "")).startswith("/v2/contacts/bulk")
        if bulk is None or bulk == is_bulk:
            count += 1
    return count


def after_bulk(k: int) -> Callable[[Events], bool]:
    return lambda events: requests_of(events, "POST", bulk=True) >= k


def after_put(k: int) -> Callable[[Events], bool]:
    return lambda events: requests_of(events, "PUT") >= k


def after_delete(k: int) -> Callable[[Events], bool]:
    return lambda events: requests_of(events, "DELETE") >= k


def during_verify(events: Events) -> bool:
    """Every change has an outcome and the convergence check has sent a request."""
    items = [index for index, event in enumerate(events) if event.get("event") == "item"]
    total = sum(SCENARIO.planned_changes.values())
    if len(items) < total:
        return False
    return any(event.get("event") == "request" for event in events[items[-1] + 1 :])


@dataclass
class Killed:
    point: str
    events: Events
    returncode: int


def apply_until_killed(
    root: Path,
    server: SandboxServer,
    point: str,
    should_kill: Callable[[Events], bool],
    timeout_s: float = 120,
    may_finish: bool = False,
) -> Killed | None:
    """Start `jcstate apply`; SIGKILL it as soon as its journal satisfies `should_kill`.

    None when it finished first (only allowed with `may_finish`).
    """
    journal_dir = root / ".jcstate" / "journal"
    known = set(journal_dir.glob("*.jsonl")) if journal_dir.exists() else set()
    env = jcstate_env(server.url, server.api_key, server.api_secret)
    log = root.parent / f"killed-{point}.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "jcstate", "-C", str(root), "apply", "--prune",
             "--auto-approve", "--format", "json", "--batch-size", str(BATCH_SIZE),
             "--api-url", server.url],
            stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        events: Events = []
        deadline = time.monotonic() + timeout_s
        try:
            while time.monotonic() < deadline and process.poll() is None:
                fresh = sorted(set(journal_dir.glob("*.jsonl")) - known)
                if fresh:
                    events = read_events(fresh[-1])
                    if should_kill(events):
                        os.kill(process.pid, signal.SIGKILL)
                        break
                time.sleep(0.01)
        finally:
            if process.poll() is None and time.monotonic() >= deadline:
                process.kill()
            process.wait(timeout=30)
    if may_finish and process.returncode in (0, 1):
        return None
    assert process.returncode == -signal.SIGKILL, (
        f"apply was not killed at {point} (exit {process.returncode}): " + log.read_text()[-2000:]
    )
    fresh = sorted(set(journal_dir.glob("*.jsonl")) - known)
    events = read_events(fresh[-1])
    assert not any(e.get("event") == "finished" for e in events), "it really was cut short"
    return Killed(point, events, process.returncode)


def resume(root: Path, server: SandboxServer, max_runs: int = 3) -> list[dict[str, Any]]:
    """Apply again until a fresh plan is empty; the JSON reports of the runs."""
    env = jcstate_env(server.url, server.api_key, server.api_secret)
    reports: list[dict[str, Any]] = []
    for _run in range(max_runs):
        applied = run_jcstate(
            root, env, "apply", "--prune", "--auto-approve", "--format", "json",
            "--batch-size", str(BATCH_SIZE), "--api-url", server.url,
        )  # fmt: skip
        assert "Traceback" not in applied.stderr, applied.stderr[-3000:]
        if applied.stdout.strip():
            reports.append(json.loads(applied.stdout))
        check = run_jcstate(
            root, env, "plan", "--prune", "--detailed-exitcode", "--api-url", server.url
        )
        assert check.returncode in (0, 2), check.stderr[-2000:]
        if check.returncode == 0:
            return reports
    raise AssertionError(f"no empty plan after {max_runs} runs: {check.stdout[-2000:]}")


def check_final_state(server: SandboxServer, before: dict[str, dict[str, Any]]) -> None:
    after = by_phone(list_remote(server.url, server.auth_headers))  # no duplicated phone
    problems = state_differences(SCENARIO.expected_state(), after)
    touched = touched_outside(before, after, SCENARIO.untouched_phones)
    if touched:
        problems.append(f"{len(touched)} contacts outside the plan touched: {touched[:5]}")
    assert not problems, "\n".join(problems[:20])


def prepared(folder: Path) -> tuple[Path, Path]:
    db = folder / "sandbox.db"
    seed_db(db, SCENARIO.existing)
    root = folder / "project"
    write_scenario_project(root, SCENARIO)
    return db, root


KILL_POINTS: dict[str, Callable[[Events], bool]] = {
    "after the 1st bulk batch": after_bulk(1),
    "after the 6th bulk batch": after_bulk(6),
    "after the 3rd PUT": after_put(3),
    "after the 50th PUT": after_put(50),
    "after the 1st DELETE": after_delete(1),
    "after the 15th DELETE": after_delete(15),
    "during the convergence check": during_verify,
}


def kill_then_resume(folder: Path, point: str) -> None:
    db, root = prepared(folder)
    with start_sandbox(db, *LATENCY) as server:
        before = by_phone(list_remote(server.url, server.auth_headers))
        killed = apply_until_killed(root, server, point, KILL_POINTS[point])
        assert killed is not None
        reports = resume(root, server)
        check_final_state(server, before)
    done = sum(1 for e in killed.events if e.get("event") == "item")
    redone = sum(sum(r["summary"].values()) for r in reports)
    print(f"killed {point}: {done} items done before the kill, {redone} after", file=sys.stderr)
    # The re-run does only what was left (plus what the kill left without an outcome).
    assert redone <= sum(SCENARIO.planned_changes.values())


def test_kill_9_among_the_puts_then_resume(tmp_path: Path) -> None:
    kill_then_resume(tmp_path, "after the 50th PUT")


@pytest.mark.slow
@pytest.mark.parametrize("point", [p for p in KILL_POINTS if p != "after the 50th PUT"])
def test_kill_9_at_each_point_then_resume(tmp_path: Path, point: str) -> None:
    kill_then_resume(tmp_path, point)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_kill_9_five_times_in_a_row_under_faults(tmp_path: Path, seed: int) -> None:
    """Five kills at random request counts, one after the other, on a faulty sandbox."""
    rng = random.Random(seed)
    db, root = prepared(tmp_path)
    with start_sandbox(db, *LATENCY) as clean:
        before = by_phone(list_remote(clean.url, clean.auth_headers))
    faults = ("--fail-rate", "0.1", "--ambiguous-rate", "0.05", "--fault-seed", str(seed))
    with start_sandbox(db, *LATENCY, *faults) as server:
        for round_number in range(5):
            # The listing takes 2 requests; kill somewhere in the first few dozen after it.
            k = rng.randint(3, 30)

            def enough(events: Events, k: int = k) -> bool:
                return sum(1 for e in events if e.get("event") == "request") >= k

            point = f"round {round_number}, request {k}"
            if apply_until_killed(root, server, point, enough, may_finish=True) is None:
                break  # less was left than k requests: it finished
        resume(root, server)
        check_final_state(server, before)

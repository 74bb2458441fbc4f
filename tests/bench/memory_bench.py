"""Memory (issue 9): peak RSS of `jcstate plan` and `jcstate apply` on 100,000 contacts.

The sandbox database is filled with `jcstate sandbox seed --custom-fields`
(contacts 0..N-1), the project declares all of them over 20 files with 1%
changed (new last name) plus 1% new contacts, and a served sandbox on
loopback answers. Each command runs as its own subprocess; its peak resident
set size is read from `os.wait4` (the kernel's ru_maxrss for that one child).
Target: under 600 MB for each. `jcstate drift` is measured too (not in smoke runs).

Run alone: `python -m tests.bench.memory_bench [--contacts N] [--smoke]`.
The full run uses at least 100,000 contacts whatever `--contacts` says.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jcstate.sandbox.seeddata import generated_contact
from tests.bench.common import BenchRow, bench_main, verdict
from tests.support.sandbox_server import start_sandbox
from tests.support.scenario import jcstate_env, seed_db, write_project

TARGET_MB = 600
FULL_SIZE = 100_000
SMOKE_SIZE = 500


@dataclass(frozen=True)
class Measured:
    returncode: int
    peak_rss_mb: float
    wall_s: float
    stdout: str
    stderr: str


def measure(command: list[str], env: dict[str, str]) -> Measured:
    """Run `command`; its exit code, its own peak RSS (os.wait4) and wall time."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                   env=env)  # fmt: skip
        _pid, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        # Linux reports ru_maxrss in KiB, macOS in bytes.
        peak = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
        return Measured(process.returncode, peak, wall, out.read(), err.read())


def declared(count: int) -> list[dict[str, Any]]:
    """Contacts 0..count-1 with every 100th renamed, and count/100 new ones after them."""
    contacts = []
    for index in range(count + count // 100):
        contact = generated_contact(index, custom_fields=True)
        if index < count and index % 100 == 0:
            contact["last_name"] = f"Renamed{index}"
        contacts.append(contact)
    return contacts


def run(contacts: int, smoke: bool) -> list[BenchRow]:
    size = SMOKE_SIZE if smoke else max(contacts, FULL_SIZE)
    rows: list[BenchRow] = []
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "sandbox.db"
        root = Path(folder) / "project"
        seed_db(db, size)
        write_project(root, declared(size), files=20)
        with start_sandbox(db) as server:
            env = jcstate_env(server.url, server.api_key, server.api_secret)
            base = [sys.executable, "-m", "jcstate", "-C", str(root)]
            plan_file = str(Path(folder) / "plan.json")
            plan = measure([*base, "plan", "--format", "json", "--out", plan_file], env)
            summary = json.loads(plan.stdout)["summary"] if plan.returncode == 0 else {}
            rows.append(
                BenchRow(
                    f"memory: jcstate plan, {size:,} contacts (served sandbox)",
                    f"peak RSS {plan.peak_rss_mb:.0f} MB, wall {plan.wall_s:.1f} s "
                    f"({summary.get('create', '?')} creates, {summary.get('update', '?')} updates)",
                    f"< {TARGET_MB} MB",
                    verdict(plan.returncode == 0 and plan.peak_rss_mb < TARGET_MB),
                )
            )
            if plan.returncode != 0:
                print(plan.stderr[-2000:], file=sys.stderr)
            applied = measure([*base, "apply", "--auto-approve", "--format", "json"], env)
            report = json.loads(applied.stdout) if applied.stdout.strip() else {}
            ok = applied.returncode == 0 and report.get("converged") is True
            rows.append(
                BenchRow(
                    f"memory: jcstate apply, {size:,} contacts (fresh plan, then apply)",
                    f"peak RSS {applied.peak_rss_mb:.0f} MB, wall {applied.wall_s:.1f} s, "
                    f"{report.get('requests', {}).get('total', '?')} requests, "
                    f"converged {report.get('converged')}",
                    f"< {TARGET_MB} MB",
                    verdict(ok and applied.peak_rss_mb < TARGET_MB),
                )
            )
            if not ok:
                print(applied.stderr[-2000:], file=sys.stderr)
            if smoke:
                return rows  # the smoke run proves the harness; drift adds nothing there
            drift = measure([*base, "drift", "--format", "json"], env)
            rows.append(
                BenchRow(
                    f"memory: jcstate drift, {size:,} contacts (after the apply)",
                    f"peak RSS {drift.peak_rss_mb:.0f} MB, wall {drift.wall_s:.1f} s "
                    f"(exit {drift.returncode})",
                    f"< {TARGET_MB} MB",
                    verdict(drift.returncode == 0 and drift.peak_rss_mb < TARGET_MB),
                )
            )
    return rows


def main() -> None:
    bench_main("memory_bench", run, FULL_SIZE)


if __name__ == "__main__":
    main()

"""Export figures (issue 7): `python -m tests.bench.export_bench [--contacts N] [--smoke]`.

A served sandbox (`jcstate sandbox serve`, real HTTP on loopback) holding
`contacts` seeded contacts with custom fields, and a fresh project (no
contacts declared, no custom fields declared):

1. `jcstate export` in a subprocess: wall time, CPU time and peak RSS (of
   that process alone, from `wait4`; the server's work is not included), the
   size of the written file; the file is checked to hold every contact.
2. `jcstate plan --detailed-exitcode` right after: it must show no changes
   (the onboarding promise), with its wall time and peak RSS.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jcstate.sandbox.store import ContactStore
from tests.bench.common import BenchRow, print_table, verdict
from tests.support.sandbox_server import SandboxServer, start_sandbox

PROJECT = """\
# Export benchmark project: nothing declared yet.
version: 1
api: {url: "https://api.justcall.io"}  # JCSTATE_API_URL points at the served sandbox
contacts: ["contacts/*.yaml"]
"""


def _run_with_rusage(
    cwd: Path, server: SandboxServer, *args: str
) -> tuple[float, float, float, int, str]:
    """(wall s, CPU s, peak RSS MB, exit code, stdout) of one jcstate subprocess, via wait4."""
    env = {**os.environ, "NO_COLOR": "1", **server.env}
    with tempfile.TemporaryFile(mode="w+") as out, tempfile.TemporaryFile(mode="w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "jcstate", *args], cwd=cwd, env=env, stdout=out, stderr=err
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read()
        if process.returncode not in (0, 2):
            raise RuntimeError(f"jcstate {' '.join(args)} failed: {err.read()[-2000:]}")
    peak_mb = usage.ru_maxrss / 1024  # Linux: KiB
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, peak_mb, process.returncode, stdout


def run(contacts: int, smoke: bool) -> list[BenchRow]:
    rows: list[BenchRow] = []
    with tempfile.TemporaryDirectory(prefix="export-bench-") as folder:
        db_path = Path(folder) / "sandbox.db"
        store = ContactStore(db_path)
        store.seed(contacts, custom_fields=True)
        store.close()
        project = Path(folder) / "project"
        project.mkdir()
        (project / "jcstate.yaml").write_text(PROJECT)
        with start_sandbox(db_path) as server:
            wall, cpu, peak, code, _ = _run_with_rusage(project, server, "export")
            written = project / "contacts" / "exported.yaml"
            text = written.read_text()
            exported = sum(1 for line in text.splitlines() if line.startswith("  - phone:"))
            if code != 0 or exported != contacts:
                raise AssertionError(f"export wrote {exported} contacts of {contacts}")
            rows.append(
                BenchRow(
                    f"export {contacts:,} contacts (served sandbox, one file)",
                    f"{wall:.2f} s wall ({cpu:.2f} s CPU), peak RSS {peak:.0f} MB, "
                    f"{len(text.encode()) / 1e6:.1f} MB written "
                    f"({contacts / wall:,.0f} contacts/s)",
                    "report",
                    "info",
                )
            )
            wall, cpu, peak, code, stdout = _run_with_rusage(
                project, server, "plan", "--detailed-exitcode"
            )
            summary = stdout.strip().splitlines()[-1] if stdout.strip() else ""
            rows.append(
                BenchRow(
                    f"plan right after the export ({contacts:,})",
                    f"{wall:.2f} s wall ({cpu:.2f} s CPU), peak RSS {peak:.0f} MB: {summary}",
                    "0 changes",
                    verdict(code == 0),
                )
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    print_table(run(200 if args.smoke else args.contacts, args.smoke))


if __name__ == "__main__":
    main()

"""Peak RSS of every output format of `plan`, `drift` and `export` (issue 24: < 1 GB at 300,000).

The served sandbox holds contacts 0..N-1 (`jcstate sandbox seed --custom-fields`);
the project declares contacts N/2..3N/2-1 in files of 1,000. So `plan --prune`
has N/2 creates, N/2 deletes and N/2 unchanged contacts (its JSON document is
the largest a plan of N contacts gets), `drift` finds N/2 missing and N/2 not
declared, and `export` writes all N. Each command is its own child process;
its peak RSS is the kernel's ru_maxrss for that child (`os.wait4`). The first
command reads the project cold (an empty cache folder); the others warm.
`export` writes into a project of the same configuration that declares nothing.

Run alone: `python -m tests.bench.rss_bench [--contacts N] [--growth-from M] [--smoke]`
(300,000 contacts unless told otherwise; at that size it takes about 7 minutes).
`--growth-from 10000` runs the commands at 10,000 contacts first and adds, for
each command, the exponent k of peak RSS ~ contacts^k between the two sizes.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from jcstate.sandbox.seeddata import generated_contact
from tests.bench.common import BenchRow, print_table, verdict
from tests.bench.memory_bench import measure
from tests.support.sandbox_server import start_sandbox
from tests.support.scenario import jcstate_env, seed_db, write_project

TARGET_MB = 1024
FULL_SIZE = 300_000
SMOKE_SIZE = 400


@dataclass(frozen=True)
class Measured:
    """One command's run: what the table shows (not its output, which may be 350 MB)."""

    returncode: int
    peak_rss_mb: float
    wall_s: float
    stdout_mb: float


def measure_all(size: int) -> dict[str, Measured]:
    """Each command's exit code, peak RSS and wall time against `size` served contacts."""
    measured: dict[str, Measured] = {}
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "sandbox.db"
        root = Path(folder) / "project"
        seed_db(db, size)
        declared = [
            generated_contact(i, custom_fields=True) for i in range(size // 2, size * 3 // 2)
        ]
        write_project(root, declared, files=max(1, len(declared) // 1000))
        del declared
        with start_sandbox(db) as server:
            env = jcstate_env(server.url, server.api_key, server.api_secret)
            env["JCSTATE_CACHE_DIR"] = str(Path(folder) / "cache")
            base = [sys.executable, "-m", "jcstate", "-C", str(root)]
            commands: list[tuple[str, list[str]]] = [
                (f"plan --prune --format {f}", ["plan", "--prune", "--format", f])
                for f in ("json", "text", "markdown")
            ]
            commands += [
                (f"drift --format {f}", ["drift", "--format", f])
                for f in ("json", "text", "markdown")
            ]
            empty = Path(folder) / "empty"  # the same configuration, no contacts declared
            empty.mkdir()
            (empty / "jcstate.yaml").write_bytes((root / "jcstate.yaml").read_bytes())
            commands.append(("export", ["-C", str(empty), "export"]))
            for name, args in commands:
                result = measure([*base, *args], env)
                if result.returncode not in (0, 2):
                    print(result.stderr[-2000:])
                measured[name] = Measured(
                    result.returncode, result.peak_rss_mb, result.wall_s, len(result.stdout) / 1e6
                )
                del result
    return measured


def rows_of(size: int, measured: dict[str, Measured]) -> list[BenchRow]:
    rows = []
    for name, result in measured.items():
        ok = result.returncode in (0, 2)
        rows.append(
            BenchRow(
                f"peak RSS: jcstate {name}, {size:,} contacts",
                f"{result.peak_rss_mb:.0f} MB, wall {result.wall_s:.1f} s, "
                f"{result.stdout_mb:.1f} MB on stdout (exit {result.returncode})",
                f"< {TARGET_MB} MB",
                verdict(ok and result.peak_rss_mb < TARGET_MB),
            )
        )
    return rows


def growth_rows(
    small: int, small_runs: dict[str, Measured], large: int, large_runs: dict[str, Measured]
) -> list[BenchRow]:
    """The exponent k of peak RSS ~ contacts^k between the two sizes, for each command."""
    rows = []
    for name, result in large_runs.items():
        before = small_runs[name].peak_rss_mb
        exponent = math.log(result.peak_rss_mb / before) / math.log(large / small)
        per_contact = (result.peak_rss_mb - before) * 1e3 / (large - small)
        rows.append(
            BenchRow(
                f"growth of peak RSS, {small:,} to {large:,}: jcstate {name}",
                f"exponent {exponent:.2f} ({before:.0f} MB to {result.peak_rss_mb:.0f} MB; "
                f"{per_contact:.2f} kB a contact between)",
                "<= 1 (linear or less)",
                verdict(exponent <= 1.0),
            )
        )
    return rows


def run(contacts: int, smoke: bool) -> list[BenchRow]:
    size = SMOKE_SIZE if smoke else contacts
    return rows_of(size, measure_all(size))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.rss_bench")
    parser.add_argument("--contacts", type=int, default=FULL_SIZE)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument(
        "--growth-from",
        type=int,
        default=None,
        metavar="N",
        help="also run at N contacts (first) and print the growth exponent of each command",
    )
    args = parser.parse_args(argv)
    size = SMOKE_SIZE if args.smoke else args.contacts
    rows: list[BenchRow] = []
    small_runs: dict[str, Measured] = {}
    small = args.growth_from
    if small is not None:
        small = min(small, size // 2) if args.smoke else small
        small_runs = measure_all(small)
        rows += rows_of(small, small_runs)
    large_runs = measure_all(size)
    rows += rows_of(size, large_runs)
    if small is not None:
        rows += growth_rows(small, small_runs, size, large_runs)
    rows.append(
        BenchRow("1-minute load average at the end", f"{os.getloadavg()[0]:.1f}", "", "info")
    )
    print_table(rows)


if __name__ == "__main__":
    main()

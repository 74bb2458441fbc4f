"""`jcstate validate` against a bare C-loader parse of the same files.

Two scenarios: N contacts in 20 files, and N contacts in ONE file (what
`jcstate export` writes; the stock loader's node graph made that one slow and
large, see `yamlio.events._EventBuilder`).

Run alone: `python -m tests.bench.validate_bench [--contacts N] [--smoke]
[--scenario files|one-file|all]`.

Both sides run as fresh subprocesses (interpreter start-up included on both),
interleaved, each several times; the median wall time is compared. Peak RSS
is measured per run (`RUSAGE_CHILDREN` inside a one-shot wrapper process).
Targets (issue 2): validate within 1.3x of the bare parse, under 250 MB; in
one file, under 250 MB as well (the bare stock parse of 100,000 contacts in
one file alone takes ~900 MB).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.bench.common import BenchRow, print_table, verdict

FILES = 20
RATIO_TARGET = 1.3
RSS_TARGET_MB = 250

PROJECT = """\
version: 1
api: {url: "sandbox://.jcstate/sandbox.db"}
default_region: US
contacts: ["contacts/*.yaml"]
custom_fields:
  lead_source: {type: enum, values: [Website, Referral, Event]}
  plan_tier: {type: enum, values: [Free, Pro, Enterprise]}
  seats: {type: integer}
  renewal_on: {type: date}
"""

BARE_PARSE = """\
import glob, sys
from ruamel.yaml import YAML
yaml = YAML(typ="safe", pure=False)
count = 0
for name in sorted(glob.glob(sys.argv[1] + "/contacts/*.yaml")):
    with open(name, "rb") as handle:
        count += len(yaml.load(handle)["contacts"])
print(count)
"""

# Runs one command and reports its own child's wall time, CPU time and peak RSS.
MEASURE = """\
import json, resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
wall = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
rss_mb = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
print(json.dumps({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": rss_mb,
                  "rc": done.returncode, "out": done.stdout[-300:], "err": done.stderr[-300:]}))
"""


def generate_project(root: Path, contacts: int, files: int = FILES) -> None:
    """A valid project: phones written in assorted formats, defaults, custom fields."""
    (root / "contacts").mkdir(parents=True, exist_ok=True)
    (root / "jcstate.yaml").write_text(PROJECT, encoding="utf-8")
    sources = ["Website", "Referral", "Event"]
    tiers = ["Free", "Pro", "Enterprise"]
    per_file = -(-contacts // files)
    number = 0
    for index in range(files):
        lines = ["version: 1", "defaults:", "  company: Acme Corp", "contacts:"]
        for _ in range(min(per_file, contacts - number)):
            number += 1
            exchange, line = 200 + number // 10_000, number % 10_000
            phone = (
                f"+1415{exchange:03d}{line:04d}"
                if number % 3 == 0
                else f"+1 415 {exchange:03d} {line:04d}"
                if number % 3 == 1
                else f"(415) {exchange:03d}-{line:04d}"
            )
            lines += [
                f'  - phone: "{phone}"',
                f"    first_name: First{number}",
                f"    last_name: Last{number}",
                f"    email: user{number}@example.com",
                "    custom_fields:",
                f"      lead_source: {sources[number % 3]}",
                f"      plan_tier: {tiers[number % 3]}",
                f"      seats: {number % 50 + 1}",
                f"      renewal_on: 2026-{number % 12 + 1:02d}-{number % 28 + 1:02d}",
            ]
        (root / "contacts" / f"part{index:02d}.yaml").write_text(
            "\n".join(lines) + "\n", encoding="utf-8"
        )


def measure(command: list[str]) -> dict[str, float | int | str]:
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, check=True
    )
    result: dict[str, float | int | str] = json.loads(done.stdout)
    if result["rc"] != 0:
        raise RuntimeError(f"{command} failed: {result['out']} {result['err']}")
    return result


def run(contacts: int, smoke: bool, scenario: str = "all") -> list[BenchRow]:
    rows: list[BenchRow] = []
    if scenario in ("all", "files"):
        rows += run_files(contacts, smoke)
    if scenario in ("all", "one-file"):
        rows += run_one_file(contacts, smoke)
    return rows


def run_files(contacts: int, smoke: bool) -> list[BenchRow]:
    repeats = 1 if smoke else 5
    with tempfile.TemporaryDirectory(prefix="jcstate-validate-bench-") as tmp:
        root = Path(tmp)
        generate_project(root, contacts)
        validate = [sys.executable, "-m", "jcstate", "-C", str(root), "validate"]
        bare = [sys.executable, "-c", BARE_PARSE, str(root)]
        measure(validate)  # warm the file cache and the bytecode
        validate_runs, bare_runs = [], []
        for _ in range(repeats):
            bare_runs.append(measure(bare))
            validate_runs.append(measure(validate))
    expected = f"OK: {contacts} contact"
    if not str(validate_runs[0]["out"]).startswith(expected):
        raise RuntimeError(f"unexpected validate output: {validate_runs[0]['out']!r}")

    def median(runs: list[dict[str, float | int | str]], key: str) -> float:
        return statistics.median(float(r[key]) for r in runs)

    v_wall, b_wall = median(validate_runs, "wall"), median(bare_runs, "wall")
    v_cpu, b_cpu = median(validate_runs, "cpu"), median(bare_runs, "cpu")
    v_rss = max(float(r["rss_mb"]) for r in validate_runs)
    b_rss = max(float(r["rss_mb"]) for r in bare_runs)
    size = f"{contacts:,} contacts / {FILES} files"
    ratio = v_wall / b_wall
    return [
        BenchRow(
            f"validate: bare C-loader parse ({size})",
            f"{b_wall:.2f} s wall, {b_cpu:.2f} s CPU, {b_rss:.0f} MB",
            "baseline",
            "info",
        ),
        BenchRow(
            f"validate: jcstate validate ({size})",
            f"{v_wall:.2f} s wall, {v_cpu:.2f} s CPU",
            f"<= {RATIO_TARGET}x bare parse",
            verdict(ratio <= RATIO_TARGET) if not smoke else "info",
        ),
        BenchRow(
            "validate: ratio to bare parse",
            f"{ratio:.2f}x wall, {v_cpu / b_cpu:.2f}x CPU (median of {repeats})",
            f"<= {RATIO_TARGET}x",
            verdict(ratio <= RATIO_TARGET) if not smoke else "info",
        ),
        BenchRow(
            "validate: peak RSS",
            f"{v_rss:.0f} MB",
            f"< {RSS_TARGET_MB} MB",
            verdict(v_rss < RSS_TARGET_MB) if not smoke else "info",
        ),
    ]


def run_one_file(contacts: int, smoke: bool) -> list[BenchRow]:
    """Validate N contacts in a single file; the bare parse of that file for reference."""
    repeats = 1 if smoke else 3
    with tempfile.TemporaryDirectory(prefix="jcstate-validate-bench-one-") as tmp:
        root = Path(tmp)
        generate_project(root, contacts, files=1)
        validate = [sys.executable, "-m", "jcstate", "-C", str(root), "validate"]
        bare = [sys.executable, "-c", BARE_PARSE, str(root)]
        measure(validate)  # warm the file cache and the bytecode
        validate_runs, bare_runs = [], []
        for _ in range(repeats):
            bare_runs.append(measure(bare))
            validate_runs.append(measure(validate))
    if not str(validate_runs[0]["out"]).startswith(f"OK: {contacts} contact"):
        raise RuntimeError(f"unexpected validate output: {validate_runs[0]['out']!r}")
    v_wall = statistics.median(float(r["wall"]) for r in validate_runs)
    b_wall = statistics.median(float(r["wall"]) for r in bare_runs)
    v_rss = max(float(r["rss_mb"]) for r in validate_runs)
    b_rss = max(float(r["rss_mb"]) for r in bare_runs)
    size = f"{contacts:,} contacts / 1 file"
    return [
        BenchRow(
            f"validate: bare stock C-loader parse ({size})",
            f"{b_wall:.2f} s wall, {b_rss:.0f} MB",
            "baseline",
            "info",
        ),
        BenchRow(
            f"validate: jcstate validate ({size})",
            f"{v_wall:.2f} s wall ({v_wall / b_wall:.2f}x bare parse, median of {repeats})",
            "info",
            "info",
        ),
        BenchRow(
            f"validate: peak RSS ({size})",
            f"{v_rss:.0f} MB",
            f"< {RSS_TARGET_MB} MB",
            verdict(v_rss < RSS_TARGET_MB) if not smoke else "info",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.validate_bench")
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--scenario", choices=("all", "files", "one-file"), default="all")
    args = parser.parse_args()
    contacts = 200 if args.smoke and args.contacts == 10_000 else args.contacts
    print_table(run(contacts, args.smoke, args.scenario))


if __name__ == "__main__":
    main()

"""Shared pieces of the benchmark suite: one row per measured scenario."""

from __future__ import annotations

import argparse
import resource
import sys
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class BenchRow:
    scenario: str
    figure: str
    target: str
    verdict: str  # "ok", "MISS" or "info"


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISS"


def peak_rss_mb(children: bool = False) -> float:
    """Peak resident set size of this process (or its waited-for children), in MB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    peak = resource.getrusage(who).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def print_table(rows: list[BenchRow]) -> None:
    headers = ("scenario", "figure", "target", "verdict")
    cells = [headers, *((r.scenario, r.figure, r.target, r.verdict) for r in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(4)]
    for index, row in enumerate(cells):
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if index == 0:
            print("  ".join("-" * w for w in widths))


def bench_main(
    prog: str,
    run: Callable[[int, bool], list[BenchRow]],
    default_contacts: int,
    argv: list[str] | None = None,
) -> None:
    """The command line of one benchmark: `--contacts N` and `--smoke`, then its table."""
    parser = argparse.ArgumentParser(prog=f"python -m tests.bench.{prog}")
    parser.add_argument("--contacts", type=int, default=default_contacts)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    print_table(run(args.contacts, args.smoke))

"""One benchmark suite: `python -m tests.bench [--contacts N] [--smoke] [--only NAME ...]`.

Each module `tests/bench/<name>_bench.py` exposes `run(contacts, smoke) -> list[BenchRow]`
and starts whatever it needs (a served sandbox on loopback) itself. The suite
prints one table: scenario, figure, target, verdict. Exit code 0 unless a
benchmark crashed: a missed target is a figure to report, not a test failure.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
import traceback
from pathlib import Path

from tests.bench.common import BenchRow, print_table


def discover() -> list[str]:
    folder = Path(__file__).parent
    return sorted(
        info.name for info in pkgutil.iter_modules([str(folder)]) if info.name.endswith("_bench")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--contacts", type=int, default=None, help="size of each scenario")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: seconds, for CI")
    parser.add_argument("--only", nargs="*", default=None, help="benchmark module names")
    args = parser.parse_args(argv)
    names = discover()
    if args.only:
        names = [n for n in names if n in args.only or n.removesuffix("_bench") in args.only]
    contacts = args.contacts if args.contacts is not None else (200 if args.smoke else 10_000)
    rows: list[BenchRow] = []
    crashed = False
    for name in names:
        started = time.perf_counter()
        print(f"# {name} ...", file=sys.stderr, flush=True)
        try:
            module = importlib.import_module(f"tests.bench.{name}")
            rows.extend(module.run(contacts=contacts, smoke=args.smoke))
        except Exception:
            crashed = True
            traceback.print_exc()
            rows.append(BenchRow(name, "crashed", "-", "ERROR"))
        print(f"# {name}: {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)
    print_table(rows)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Chaos figures (issue 9): runs and requests `apply --prune` needs under injected faults.

The soak of `tests/e2e/test_chaos.py` (10% 503s, 5% ambiguous writes, 20 ms
latency, a per-minute rate limit) on a mixed change set: creates, updates,
clears with null, deletes, plus protected, partial and unchanged contacts
that must stay untouched. Reports the apply runs needed until a fresh plan is
empty (target: at most 3), the requests those runs sent against the lower
bound for the same changes with no faults, and whether the end state was
exactly the declared one.

Run alone: `python -m tests.bench.chaos_bench [--contacts N] [--smoke]`.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

from tests.bench.common import BenchRow, bench_main, verdict
from tests.e2e.test_chaos import MAX_RUNS, soak
from tests.support.scenario import Scenario

BULK_LIMIT = 5000


def scenario_for(contacts: int, smoke: bool) -> tuple[Scenario, int, int]:
    """The change set, the rate limit per minute and the bulk batch size."""
    if smoke:
        return Scenario(creates=20, updates=6, clears=2, deletes=2, protected=1, partial=3,
                        unchanged=10), 1200, 10  # fmt: skip
    n = max(100, contacts // 10)
    scenario = Scenario(
        creates=n, updates=n // 5, clears=n // 20, deletes=n // 50, protected=5,
        partial=n // 10, unchanged=n // 2,
    )  # fmt: skip
    return scenario, 600, max(1, n // 5)


def run(contacts: int, smoke: bool) -> list[BenchRow]:
    scenario, per_minute, batch = scenario_for(contacts, smoke)
    with tempfile.TemporaryDirectory() as folder:
        result = soak(
            Path(folder), scenario, rate_limit_per_minute=per_minute, fault_seed=17,
            batch_size=batch,
        )  # fmt: skip
    changes = scenario.planned_changes
    lower_bound = math.ceil(changes["create"] / batch) + changes["update"] + changes["delete"]
    exact = not result.problems
    described = (
        f"{changes['create']} creates, {changes['update']} updates/clears, "
        f"{changes['delete']} deletes; 10% 503, 5% ambiguous, 20 ms, {per_minute}/min"
    )
    return [
        BenchRow(
            f"chaos soak: apply runs until the plan is empty ({described})",
            f"{result.runs_needed} run(s); end state exact: {exact}"
            + ("" if exact else f" ({'; '.join(result.problems[:2])})"),
            f"<= {MAX_RUNS}, exact",
            verdict(exact and result.runs_needed <= MAX_RUNS),
        ),
        BenchRow(
            "chaos soak: requests sent by those apply runs",
            f"{result.apply_requests} (no-fault bound for the changes {lower_bound} + refresh "
            f"and verify; {result.retries} retries, {result.rate_limited} x 429)",
            "-",
            "info",
        ),
    ]


def main() -> None:
    bench_main("chaos_bench", run, 10_000)


if __name__ == "__main__":
    main()

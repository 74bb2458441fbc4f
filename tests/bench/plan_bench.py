"""Plan figures (issue 5): `python -m tests.bench.plan_bench [--contacts N] [--smoke]`.

1. The diff engine (`compute_plan`) on 100,000 declared against 100,000 remote
   contacts with 1% changed: time (best of 3, without tracing) and peak memory
   allocated during the call (tracemalloc, separate run), plus process RSS.
2. A naive `DeepDiff` of the two whole contact lists, at a smaller size (it
   grows faster than linearly); the ratio is taken at that size and the
   extrapolation to 100,000 is stated as an extrapolation.
3. `jcstate plan` end to end on `contacts` contacts against a served sandbox
   (real HTTP on loopback), split into parse / fetch / diff / render from the
   command's own `--timings` output.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from jcstate.core.model import (
    CustomFieldDef,
    DesiredContact,
    DesiredState,
    RemoteContact,
    RemoteState,
    Safety,
)
from jcstate.core.plan import Plan, PlanOptions, compute_plan
from tests.bench.common import BenchRow, peak_rss_mb, print_table, verdict

DEFS = {
    "lead_source": CustomFieldDef(type="enum", values=["Website", "Referral", "Event"]),
    "plan_tier": CustomFieldDef(type="enum", values=["Free", "Pro", "Enterprise", "Premium"]),
    "seats": CustomFieldDef(type="integer"),
}
TIERS = ("Free", "Pro", "Enterprise", "Premium")
SOURCES = ("Website", "Referral", "Event")


def phone_of(index: int) -> str:
    # +1 415 2xx xxxx: valid NANP numbers, distinct for index < 8,000,000.
    return f"+1415{2_000_000 + index:07d}"


def make_states(count: int, changed_share: float = 0.01) -> tuple[DesiredState, RemoteState]:
    """`count` declared and `count` remote contacts; `changed_share` of them differ."""
    every = max(1, round(1 / changed_share)) if changed_share else 0
    desired: list[DesiredContact] = []
    remote: list[RemoteContact] = []
    for index in range(count):
        phone = phone_of(index)
        first, last = f"First{index}", f"Last{index}"
        email = f"user{index}@example.com"
        tier, source, seats = TIERS[index % 4], SOURCES[index % 3], index % 50
        desired.append(
            DesiredContact(
                phone=phone,
                fields={"first_name": first, "last_name": last, "email": email, "company": "Acme"},
                custom_fields={"plan_tier": tier, "lead_source": source, "seats": seats},
            )
        )
        changed = bool(every) and index % every == 0
        remote.append(
            RemoteContact(
                id=index + 1,
                phone=phone,
                fields={
                    "first_name": first,
                    "last_name": last,
                    "email": email,
                    "company": "Acme Old" if changed else "Acme",
                },
                custom_fields={
                    "plan_tier": TIERS[(index + 1) % 4] if changed else tier,
                    "lead_source": source,
                    "seats": seats,
                },
            )
        )
    unlimited = Safety(max_delete_percent=100, max_update_percent=100, min_existing=0)
    return (
        DesiredState(contacts=tuple(desired), custom_field_defs=DEFS, safety=unlimited),
        RemoteState(contacts=tuple(remote)),
    )


def _best_of(runs: int, work: Callable[[], Any]) -> tuple[float, Any]:
    seconds, _, result = _best_of_cpu(runs, work)
    return seconds, result


def _best_of_cpu(runs: int, work: Callable[[], Any]) -> tuple[float, float, Any]:
    """Best wall time of `runs`, the CPU time of that run, and the result."""
    best = (float("inf"), float("inf"))
    result: Any = None
    for _ in range(runs):
        gc.collect()
        started, cpu_started = time.perf_counter(), time.process_time()
        result = work()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        best = min(best, (wall, cpu))
    return best[0], best[1], result


def _traced_peak_mb(work: Callable[[], Any]) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        work()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / (1024 * 1024)


def diff_engine_rows(count: int) -> list[BenchRow]:
    desired, remote = make_states(count)
    options = PlanOptions()
    seconds, cpu, plan = _best_of_cpu(5, lambda: compute_plan(desired, remote, options))
    load = os.getloadavg()[0]
    assert isinstance(plan, Plan)
    expected = len(range(0, count, 100))
    assert plan.summary["update"] == expected, plan.summary
    peak = _traced_peak_mb(lambda: compute_plan(desired, remote, options))
    label = f"plan diff engine {count:,} vs {count:,}, 1% changed"
    return [
        BenchRow(
            f"{label}: time (best of 5; CPU time of that run; 1-min load average)",
            f"{seconds:.3f} s (CPU {cpu:.3f} s, load {load:.1f})",
            "< 1 s",
            verdict(seconds < 1.0),
        ),
        BenchRow(
            f"{label}: peak memory allocated by compute_plan (tracemalloc)",
            f"{peak:.1f} MB",
            "< 400 MB",
            verdict(peak < 400),
        ),
        BenchRow(
            f"{label}: process peak RSS (inputs included)",
            f"{peak_rss_mb():.0f} MB",
            "< 400 MB",
            verdict(peak_rss_mb() < 400),
        ),
    ]


def _as_plain(contact: DesiredContact | RemoteContact) -> dict[str, Any]:
    return {
        "phone": contact.phone,
        "fields": dict(contact.fields),
        "custom_fields": dict(contact.custom_fields),
    }


def _naive_seconds(count: int) -> tuple[float, float]:
    """(naive DeepDiff seconds, compute_plan seconds) on the same `count` vs `count` data."""
    from deepdiff import DeepDiff

    desired, remote = make_states(count)
    left = [_as_plain(c) for c in remote.contacts]
    right = [_as_plain(c) for c in desired.contacts]
    naive_s, _ = _best_of(1, lambda: DeepDiff(left, right))
    engine_s, _ = _best_of(3, lambda: compute_plan(desired, remote, PlanOptions()))
    return naive_s, engine_s


def naive_rows(count: int, target_count: int) -> list[BenchRow]:
    """DeepDiff of the two whole lists (what a first attempt would do) vs compute_plan.

    Measured at `count // 2` and `count`; the growth between the two sizes is
    used to extrapolate to `target_count`, and the row says it is extrapolated.
    """
    half_naive, _ = _naive_seconds(count // 2)
    naive_s, engine_s = _naive_seconds(count)
    ratio = naive_s / engine_s if engine_s else float("inf")
    rows = [
        BenchRow(
            f"naive DeepDiff of whole lists, {count:,} vs {count:,}, 1% changed",
            f"{naive_s:.2f} s vs compute_plan {engine_s * 1000:.1f} ms: {ratio:.0f}x slower "
            f"({count // 2:,}: {half_naive:.2f} s)",
            "info",
            "info",
        )
    ]
    if target_count > count and half_naive > 0:
        exponent = max(1.0, math.log(naive_s / half_naive, 2))
        projected = naive_s * (target_count / count) ** exponent
        rows.append(
            BenchRow(
                f"naive DeepDiff at {target_count:,}: EXTRAPOLATED, not measured "
                f"(growth exponent {exponent:.2f}, at least linear)",
                f"~{projected:.0f} s",
                "info",
                "info",
            )
        )
    return rows


def _write_project(root: Path, count: int, db_url: str) -> None:
    (root / "contacts").mkdir(parents=True)
    lines = [
        "version: 1",
        "api:",
        f"  url: {db_url}",
        "default_region: US",
        'contacts: ["contacts/*.yaml"]',
        "custom_fields:",
        "  lead_source: {type: enum, values: [Website, Referral, Event]}",
        "  plan_tier: {type: enum, values: [Free, Pro, Enterprise, Premium]}",
        "  seats: {type: integer}",
        "safety: {max_delete_percent: 100, max_update_percent: 100}",
    ]
    (root / "jcstate.yaml").write_text("\n".join(lines) + "\n")


def _contacts_yaml(remote: list[dict[str, Any]], changed_every: int) -> str:
    entries = []
    for index, raw in enumerate(remote):
        company = raw.get("company") or "Acme"
        if index % changed_every == 0:
            company = f"{company} Renamed"
        entry = {
            "phone": raw["phone"],
            "first_name": raw.get("first_name"),
            "last_name": raw.get("last_name"),
            "email": raw.get("email"),
            "company": company,
        }
        entries.append(entry)
    from jcstate.project.yamlio import render_contacts_file

    return render_contacts_file(entries)


def end_to_end_rows(count: int) -> list[BenchRow]:
    """`jcstate plan` against `jcstate sandbox serve` over loopback HTTP."""
    from tests.support.sandbox_server import start_sandbox

    rows: list[BenchRow] = []
    with tempfile.TemporaryDirectory(prefix="jcstate-plan-bench-") as tmp:
        root = Path(tmp)
        db = root / "sandbox.db"
        python = sys.executable
        subprocess.run(
            [python, "-m", "jcstate", "sandbox", "seed", "--db", str(db), "--count", str(count)],
            check=True,
            capture_output=True,
        )
        with start_sandbox(db) as server:
            project = root / "project"
            _write_project(project, count, server.url)
            env = {
                **os.environ,
                "JUSTCALL_API_KEY": server.api_key,
                "JUSTCALL_API_SECRET": server.api_secret,
                "NO_COLOR": "1",
            }
            remote = _list_all(server.url, server.api_key, server.api_secret)
            (project / "contacts" / "all.yaml").write_text(_contacts_yaml(remote, 100))
            started = time.perf_counter()
            done = subprocess.run(
                [python, "-m", "jcstate", "-C", str(project), "plan", "--timings"],
                capture_output=True,
                text=True,
                env=env,
            )
            wall = time.perf_counter() - started
        if done.returncode not in (0, 2):
            raise RuntimeError(f"jcstate plan failed: {done.stderr[-2000:]}")
        timings = _parse_timings(done.stderr)
        last = done.stdout.strip().splitlines()[-1]
        split = ", ".join(f"{k} {v:.2f} s" for k, v in timings.items())
        rows.append(
            BenchRow(
                f"jcstate plan end to end, {count:,} contacts, served sandbox",
                f"{wall:.2f} s wall ({split})",
                "info",
                "info",
            )
        )
        rows.append(BenchRow("  ... its last line", last, "info", "info"))
    return rows


def _list_all(url: str, key: str, secret: str) -> list[dict[str, Any]]:
    import httpx

    out: list[dict[str, Any]] = []
    page = 1
    with httpx.Client(base_url=url, headers={"Authorization": f"{key}:{secret}"}) as http:
        while True:
            answer = http.get("/v2/contacts", params={"page": page, "per_page": 100}).json()
            data = answer.get("data") or []
            out.extend(data)
            if len(data) < 100:
                return out
            page += 1


def _parse_timings(stderr: str) -> dict[str, float]:
    # The command prints "Timings: parse 0.12 s, fetch 1.03 s, diff 0.02 s, render 0.01 s".
    for line in stderr.splitlines():
        if line.startswith("Timings:"):
            parts = line.removeprefix("Timings:").split(",")
            return {p.split()[0]: float(p.split()[1]) for p in parts if p.strip()}
    return {}


def run(contacts: int, smoke: bool) -> list[BenchRow]:
    engine_count = min(contacts, 2_000) if smoke else max(contacts, 100_000)
    naive_count = 200 if smoke else 2_000
    e2e_count = min(contacts, 200) if smoke else contacts
    rows = diff_engine_rows(engine_count)
    rows += naive_rows(naive_count, engine_count)
    rows += end_to_end_rows(e2e_count)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--only", choices=["engine", "naive", "e2e"], default=None)
    args = parser.parse_args()
    if args.only == "engine":
        rows = diff_engine_rows(max(args.contacts, 100_000) if not args.smoke else 2_000)
    elif args.only == "naive":
        rows = naive_rows(200 if args.smoke else 2_000, 100_000)
    elif args.only == "e2e":
        rows = end_to_end_rows(args.contacts)
    else:
        rows = run(args.contacts, args.smoke)
    print_table(rows)
    print(json.dumps([asdict(r) for r in rows]), file=sys.stderr)


if __name__ == "__main__":
    main()

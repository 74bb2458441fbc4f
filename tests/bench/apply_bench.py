"""Apply benchmarks against a served sandbox (`jcstate sandbox serve` on loopback).

1. Requests issued by apply against the lower bound
   ceil(creates/5000) + updates + deletes (the refresh and the convergence
   check are reported beside it). Target: ratio 1.00 with no faults.
2. Apply of N creates and N/10 updates (10,000 and 1,000 by default): wall
   time and requests.
3. The same under `--rate-limit-per-minute 600`, the client paced at 600/min:
   achieved request rate against the limit, and 429s.

Run alone: `python -m tests.bench.apply_bench [--contacts N] [--smoke]`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from jcstate.core.model import DesiredContact, DesiredState, RemoteState
from jcstate.core.outcome import ApplyReport
from jcstate.core.plan import MAX_BULK_BATCH, PlanOptions, compute_plan
from jcstate.execute.apply import apply_plan
from jcstate.remote.client import ClientSettings, JustCallClient, resolve_settings
from jcstate.remote.listing import fetch_remote
from jcstate.sandbox.seeddata import generated_contact
from tests.bench.common import BenchRow, bench_main, verdict
from tests.support.sandbox_server import SandboxServer, start_sandbox

RATE_LIMIT = 600


@dataclass(frozen=True)
class Mix:
    creates: int
    updates: int
    deletes: int
    unchanged: int

    @property
    def existing(self) -> int:
        return self.updates + self.deletes + self.unchanged

    @property
    def lower_bound(self) -> int:
        return math.ceil(self.creates / MAX_BULK_BATCH) + self.updates + self.deletes


@dataclass(frozen=True)
class Measured:
    report: ApplyReport
    wall_s: float
    apply_s: float
    rate_limited: int


def _desired(index: int, changed: bool) -> DesiredContact:
    raw = generated_contact(index)
    fields = {name: raw[name] for name in ("first_name", "last_name", "email", "company")}
    if changed:
        fields["last_name"] = f"Changed{index}"
    return DesiredContact(phone=raw["phone"], fields=fields, custom_fields={})


def _settings(server: SandboxServer, per_minute: int | None) -> ClientSettings:
    env = {"JUSTCALL_API_KEY": server.api_key, "JUSTCALL_API_SECRET": server.api_secret}
    settings = resolve_settings(None, api_url=server.url, env=env)
    return dataclasses.replace(settings, per_minute=per_minute)


async def _seed(server: SandboxServer, count: int) -> None:
    async with JustCallClient(_settings(server, None)) as client:
        for start in range(0, count, MAX_BULK_BATCH):
            chunk = [generated_contact(i) for i in range(start, min(count, start + MAX_BULK_BATCH))]
            await client.bulk_upsert(chunk)


async def _apply(server: SandboxServer, mix: Mix, per_minute: int | None) -> Measured:
    # Existing contacts 0..existing-1: the first `updates` change, the next `deletes`
    # are no longer declared, the rest stay; creates are new indexes after them.
    declared = [_desired(i, changed=i < mix.updates) for i in range(mix.updates)]
    first_unchanged = mix.updates + mix.deletes
    declared += [_desired(i, changed=False) for i in range(first_unchanged, mix.existing)]
    declared += [_desired(mix.existing + i, changed=False) for i in range(mix.creates)]
    state = DesiredState(contacts=tuple(declared))
    started = time.monotonic()
    async with JustCallClient(_settings(server, per_minute)) as client:
        remote = await fetch_remote(client, refresh="full")
        plan = compute_plan(state, remote, PlanOptions(prune=mix.deletes > 0))
        summary = plan.summary
        assert (summary["create"], summary["update"], summary["delete"]) == (
            mix.creates,
            mix.updates,
            mix.deletes,
        ), summary

        async def fetch_touched(phones: frozenset[str]) -> RemoteState:
            return await fetch_remote(client, phones=sorted(phones), refresh="auto")

        apply_started = time.monotonic()
        report = await apply_plan(
            plan,
            client,
            state,
            fetch_touched=fetch_touched,
            requests_before={"refresh": client.stats.total},
            started=started,
        )
        apply_s = time.monotonic() - apply_started
        rate_limited = client.stats.rate_limited
    return Measured(report, time.monotonic() - started, apply_s, rate_limited)


def _measure(mix: Mix, per_minute: int | None, *server_args: str) -> Measured:
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "bench.db"
        with start_sandbox(db) as seeding:
            asyncio.run(_seed(seeding, mix.existing))
        with start_sandbox(db, *server_args) as server:
            return asyncio.run(_apply(server, mix, per_minute))


def run(contacts: int, smoke: bool) -> list[BenchRow]:
    size = min(contacts, 300) if smoke else contacts
    rows: list[BenchRow] = []

    # 1. requests against the lower bound (no faults)
    mix = Mix(creates=size // 2, updates=size // 20, deletes=size // 100, unchanged=size // 4)
    measured = _measure(mix, None)
    stages = measured.report.requests_by_stage
    ratio = stages["apply"] / mix.lower_bound
    rows.append(
        BenchRow(
            f"apply requests vs lower bound ({mix.creates} creates, {mix.updates} updates, "
            f"{mix.deletes} deletes)",
            f"{stages['apply']} / {mix.lower_bound} = {ratio:.2f} "
            f"(+ refresh {stages['refresh']}, verify {stages['verify']}; "
            f"converged {measured.report.converged})",
            "1.00",
            verdict(ratio <= 1.0 and measured.report.ok),
        )
    )

    # 2. N creates and N/10 updates, unlimited sandbox
    mix = Mix(creates=size, updates=size // 10, deletes=0, unchanged=0)
    measured = _measure(mix, None)
    stages = measured.report.requests_by_stage
    requests = measured.report.requests
    rows.append(
        BenchRow(
            f"apply {mix.creates} creates + {mix.updates} updates (served sandbox)",
            f"wall {measured.wall_s:.1f} s (apply {measured.apply_s:.1f} s); requests "
            f"{requests['total']} (refresh {stages['refresh']}, apply {stages['apply']}, "
            f"verify {stages['verify']}: bulk {requests['bulk']}, put {requests['put']})",
            "-",
            "info" if measured.report.ok else "MISS",
        )
    )

    # 3. the same under the sandbox's rate limit, the client paced to it
    limited = mix if not smoke else Mix(creates=size // 2, updates=60, deletes=0, unchanged=0)
    measured = _measure(limited, RATE_LIMIT, "--rate-limit-per-minute", str(RATE_LIMIT))
    total = measured.report.requests["total"]
    achieved = total / measured.wall_s * 60
    # The limit is a per-minute window: N requests need at least (ceil(N/L) - 1) minutes.
    floor_s = (math.ceil(total / RATE_LIMIT) - 1) * 60
    pace = (
        f"the {RATE_LIMIT}/min windows allow it in >= {floor_s} s: "
        f"{floor_s / measured.wall_s:.0%} of the possible pace"
        if floor_s
        else f"all within the first {RATE_LIMIT}/min window"
    )
    rows.append(
        BenchRow(
            f"apply {limited.creates} creates + {limited.updates} updates at {RATE_LIMIT}/min",
            f"{total} requests in {measured.wall_s:.1f} s = {achieved:.0f}/min ({pace}), "
            f"{measured.rate_limited} x 429",
            "near the limit, <= 2 x 429",
            verdict(measured.report.ok and measured.rate_limited <= 2),
        )
    )
    return rows


def main() -> None:
    bench_main("apply_bench", run, 10_000)


if __name__ == "__main__":
    main()

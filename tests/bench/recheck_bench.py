"""The requests the write re-checks add to an apply, against min(w, ceil(N/100) + 2).

Before each PUT and DELETE, apply reads its target again (by id when the
writes are few, else the listing's pages, each once). For an account of N
contacts (10,000 by default) and w in {1, 100, 1,000, 10,000} updates, then
the same numbers of deletes, this prints the re-check requests beside the
bound min(w, ceil(N/100) + 2) and their ratio, which must be at most 1.00.

Run alone: `python -m tests.bench.recheck_bench [--contacts N] [--smoke]`.
"""

from __future__ import annotations

import asyncio
import math
import tempfile
from pathlib import Path

from jcstate.core.model import DesiredContact, DesiredState, RemoteState
from jcstate.core.outcome import ApplyReport
from jcstate.core.plan import MAX_BULK_BATCH, Action, PlanOptions, compute_plan
from jcstate.core.recheck import recheck_budget
from jcstate.execute.apply import apply_plan
from jcstate.remote.client import ClientSettings, JustCallClient, resolve_settings
from jcstate.remote.listing import fetch_remote
from jcstate.sandbox.seeddata import generated_contact
from tests.bench.common import BenchRow, bench_main, verdict
from tests.support.sandbox_server import SandboxServer, start_sandbox


def _settings(server: SandboxServer) -> ClientSettings:
    env = {"JUSTCALL_API_KEY": server.api_key, "JUSTCALL_API_SECRET": server.api_secret}
    return resolve_settings(None, api_url=server.url, env=env)


def _desired(index: int, changed: bool) -> DesiredContact:
    raw = generated_contact(index)
    fields = {name: raw[name] for name in ("first_name", "last_name", "email", "company")}
    if changed:
        fields["last_name"] = f"Changed{index}"
    return DesiredContact(phone=raw["phone"], fields=fields, custom_fields={})


async def _seed(server: SandboxServer, count: int) -> None:
    async with JustCallClient(_settings(server)) as client:
        for start in range(0, count, MAX_BULK_BATCH):
            chunk = [generated_contact(i) for i in range(start, min(count, start + MAX_BULK_BATCH))]
            await client.bulk_upsert(chunk)


async def _apply(server: SandboxServer, size: int, writes: int, action: Action) -> ApplyReport:
    if action is Action.UPDATE:
        declared = [_desired(i, changed=i < writes) for i in range(size)]
    else:  # the first `writes` contacts are no longer declared: pruned
        declared = [_desired(i, changed=False) for i in range(writes, size)]
    state = DesiredState(contacts=tuple(declared))
    async with JustCallClient(_settings(server)) as client:
        view = await fetch_remote(client, refresh="full")
        plan = compute_plan(state, view, PlanOptions(prune=action is Action.DELETE))
        assert plan.count(action) == writes and len(plan.changes) == writes, plan.summary

        async def fetch_touched(phones: frozenset[str]) -> RemoteState:
            return await fetch_remote(client, phones=sorted(phones), refresh="auto")

        return await apply_plan(
            plan,
            client,
            state,
            fetch_touched=fetch_touched,
            requests_before={"refresh": client.stats.total},
            view=view,
        )


def _measure(size: int, writes: int, action: Action) -> ApplyReport:
    with tempfile.TemporaryDirectory() as folder, start_sandbox(Path(folder) / "db") as server:
        asyncio.run(_seed(server, size))
        return asyncio.run(_apply(server, size, writes, action))


def run(contacts: int, smoke: bool) -> list[BenchRow]:
    size = min(contacts, 300) if smoke else contacts
    counts = sorted({1, size} if smoke else {1, 100, 1_000, 10_000})
    counts = [w for w in counts if 1 <= w <= size]
    rows: list[BenchRow] = []
    for action in (Action.UPDATE, Action.DELETE):
        for writes in counts:
            report = _measure(size, writes, action)
            extra = report.requests_by_stage["recheck"]
            bound = recheck_budget(writes, size)
            ratio = extra / bound
            done = report.summary["updated" if action is Action.UPDATE else "deleted"]
            rows.append(
                BenchRow(
                    f"re-checks of {writes} {action.value}s, N={size}",
                    f"{extra} / min({writes}, {math.ceil(size / 100)}+2) = {bound}: "
                    f"{ratio:.2f} (writes {report.requests_by_stage['apply']}, "
                    f"done {done}, converged {report.converged})",
                    "<= 1.00",
                    verdict(ratio <= 1.0 and report.ok and done == writes),
                )
            )
    return rows


def main() -> None:
    bench_main("recheck_bench", run, 10_000)


if __name__ == "__main__":
    main()

"""The apply engine against the real sandbox app, in process (httpx ASGI transport).

Faults come from the sandbox's own injector with a fixed seed, so runs are
reproducible; no mocks.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from jcstate.core.model import DesiredContact, DesiredState, RemoteState
from jcstate.core.outcome import ApplyReport, Outcome
from jcstate.core.plan import Action, Change, Plan, PlanOptions, compute_plan
from jcstate.errors import StalePlanError
from jcstate.execute.apply import ApplySettings, apply_plan, execute_plan
from jcstate.execute.authority import recheck_saved_plan
from jcstate.execute.journal import Journal, read_journal
from jcstate.remote.client import ClientSettings, JustCallClient
from jcstate.remote.listing import fetch_remote
from jcstate.sandbox.app import create_app
from jcstate.sandbox.config import DEFAULT_API_KEY, DEFAULT_API_SECRET, SandboxConfig
from tests.support.builders import phone

T = TypeVar("T")


def contact(n: int, **fields: str | None) -> DesiredContact:
    return DesiredContact(
        phone=phone(n),
        fields={"first_name": f"First{n}", "last_name": f"Last{n}", **fields},
        custom_fields={},
    )


def desired(*contacts: DesiredContact) -> DesiredState:
    return DesiredState(contacts=tuple(contacts))


def sandbox_client(db: Path, **faults: Any) -> JustCallClient:
    settings = ClientSettings(
        api_url=f"sandbox://{db}",
        api_key=DEFAULT_API_KEY,
        api_secret=DEFAULT_API_SECRET,
        sandbox_db=db,
        max_attempts=6,
    )
    app = create_app(SandboxConfig(db_path=db, fault_seed=7, **faults))
    return JustCallClient(settings, transport=httpx.ASGITransport(app=app))


def run(factory: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(factory())  # type: ignore[arg-type]


async def plan_for(client: JustCallClient, state: DesiredState, *, prune: bool = False) -> Plan:
    remote = await fetch_remote(client, refresh="full")
    return compute_plan(state, remote, PlanOptions(prune=prune))


async def full_apply(
    client: JustCallClient, state: DesiredState, *, prune: bool = False, **kwargs: Any
) -> ApplyReport:
    plan = await plan_for(client, state, prune=prune)

    async def fetch_touched(phones: frozenset[str]) -> RemoteState:
        return await fetch_remote(client, phones=sorted(phones), refresh="auto")

    return await apply_plan(plan, client, state, fetch_touched=fetch_touched, **kwargs)


async def remote_phones(client: JustCallClient) -> Counter[str]:
    remote = await fetch_remote(client, refresh="full")
    return Counter(c.phone for c in remote.contacts)


def test_creates_go_in_bulk_batches_and_updates_carry_only_the_patch(tmp_path: Path) -> None:
    db = tmp_path / "s.db"

    async def scenario() -> None:
        async with sandbox_client(db) as client:
            first = desired(*(contact(n) for n in range(5)))
            report = await full_apply(client, first, settings=ApplySettings(batch_size=2))
            assert report.summary["created"] == 5
            assert report.requests_by_stage["apply"] == 3  # ceil(5 / 2) bulk requests
            assert client.stats.bulk == 3
            assert report.converged
            assert all(item.id is not None for item in report.items)  # filled in by verify

            second = desired(
                contact(0, email="zero@example.com"), *(contact(n) for n in range(1, 5))
            )
            plan = await plan_for(client, second)
            assert [c.action for c in plan.changes] == [Action.UPDATE]
            puts_before = client.stats.put
            result = await execute_plan(plan, client)
            assert client.stats.put - puts_before == 1
            assert [i.outcome for i in result.items] == [Outcome.UPDATED]
            current = await client.find_by_phone(phone(0))
            assert current[0].fields["email"] == "zero@example.com"
            assert current[0].fields["first_name"] == "First0"

    run(scenario)


def test_a_failed_item_does_not_stop_the_others_and_says_why(tmp_path: Path) -> None:
    db = tmp_path / "s.db"

    async def scenario() -> None:
        async with sandbox_client(db) as client:
            await client.bulk_upsert([{"phone": phone(9), "first_name": "Nine"}])
            existing = (await client.find_by_phone(phone(9)))[0]
            plan = Plan(
                changes=(
                    Change(Action.CREATE, phone(1), None, {"phone": phone(1), "first_name": "A"}),
                    Change(Action.CREATE, phone(2), None, {"phone": phone(2), "email": "nope"}),
                    Change(Action.UPDATE, phone(3), 999_999, {"first_name": "Gone"}),
                    Change(Action.UPDATE, phone(9), existing.id, {"last_name": "Nine"}),
                    Change(Action.DELETE, phone(4), 888_888, {}),
                )
            )
            result = await execute_plan(plan, client)
            outcomes = {i.phone: (i.outcome, i.message) for i in result.items}
            assert outcomes[phone(1)] == (Outcome.CREATED, "")
            assert outcomes[phone(2)][0] is Outcome.FAILED
            assert "invalid e-mail" in outcomes[phone(2)][1]
            assert outcomes[phone(3)][0] is Outcome.FAILED
            assert outcomes[phone(3)][1].startswith("contact no longer exists")
            assert outcomes[phone(9)] == (Outcome.UPDATED, "")
            # 404 on the first attempt: someone else deleted it; a warning, not a failure.
            assert outcomes[phone(4)] == (Outcome.DELETED, "already gone")
            assert any("already deleted" in w for w in result.warnings)

    run(scenario)


def test_bulk_that_updates_where_creates_were_planned_warns(tmp_path: Path) -> None:
    db = tmp_path / "s.db"

    async def scenario() -> None:
        async with sandbox_client(db) as client:
            state = desired(contact(1), contact(2))
            plan = await plan_for(client, state)
            # Someone creates one of them between plan and apply.
            await client.bulk_upsert([{"phone": phone(2), "first_name": "Other"}])
            result = await execute_plan(plan, client)
            assert [i.outcome for i in result.items] == [Outcome.CREATED, Outcome.CREATED]
            assert len(result.warnings) == 1
            assert result.warnings[0] == (
                "bulk batch 1/1: 1 of 2 contacts already existed and were updated instead "
                "of created (someone created them meanwhile)"
            )
            assert (await remote_phones(client))[phone(2)] == 1

    run(scenario)


def test_deletes_listed_first_free_the_phone_for_a_moved_contact(tmp_path: Path) -> None:
    db = tmp_path / "s.db"

    async def scenario() -> None:
        async with sandbox_client(db) as client:
            await client.bulk_upsert(
                [
                    {"phone": phone(1), "first_name": "Old"},
                    {"phone": phone(2), "first_name": "Keep"},
                ]
            )
            keep = (await client.find_by_phone(phone(2)))[0]
            # The contact pinned by id moves onto phone 1, which must be deleted first.
            moved = DesiredContact(
                phone=phone(1), fields={"first_name": "Keep"}, custom_fields={}, id=keep.id
            )
            report = await full_apply(client, desired(moved), prune=True)
            assert report.ok, report
            assert [i.action for i in report.items] == [Action.DELETE, Action.UPDATE]
            assert await remote_phones(client) == Counter({phone(1): 1})

    run(scenario)


def test_faults_never_duplicate_and_a_second_run_converges(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    state = desired(*(contact(n) for n in range(120)))
    seeded = [{"phone": phone(n), "first_name": "Stale"} for n in range(100, 140)]

    async def scenario() -> None:
        async with sandbox_client(db) as clean:
            await clean.bulk_upsert(seeded)
        runs = 0
        while runs < 2:
            runs += 1
            async with sandbox_client(db, fail_rate=0.1, ambiguous_rate=0.05) as client:
                report = await full_apply(
                    client, state, prune=True, settings=ApplySettings(batch_size=25)
                )
            if report.ok:
                break
        assert report.ok, (runs, report.summary, report.remaining[:3])
        async with sandbox_client(db) as clean:
            phones = await remote_phones(clean)
            assert phones == Counter({phone(n): 1 for n in range(120)})
            assert not (await plan_for(clean, state, prune=True)).has_changes

    run(scenario)


def test_stale_saved_plan_is_refused_or_partly_applied(tmp_path: Path) -> None:
    db = tmp_path / "s.db"

    async def scenario() -> None:
        async with sandbox_client(db) as client:
            await client.bulk_upsert([{"phone": phone(n), "first_name": "Old"} for n in range(3)])
            state = desired(*(contact(n) for n in range(4)))
            plan = await plan_for(client, state)
            assert plan.summary == {"create": 1, "update": 3, "delete": 0, "unchanged": 0}
            edited = (await client.find_by_phone(phone(1)))[0]
            await client.update_contact(edited.id, {"company": "Changed Elsewhere"})
            await client.bulk_upsert([{"phone": phone(3), "first_name": "Sneaky"}])
            # Already as declared is not stale: an interrupted earlier apply got there.
            done = (await client.find_by_phone(phone(2)))[0]
            await client.update_contact(done.id, {"first_name": "First2", "last_name": "Last2"})

            async def recheck() -> tuple[Plan, RemoteState]:
                remote = await fetch_remote(client, refresh="full")
                return compute_plan(state, remote, PlanOptions()), remote

            check = await recheck_saved_plan(plan, PlanOptions(), client, state, recheck)
            assert [c.phone for c in check.apply] == [phone(0)]
            assert {s.phone for s in check.stale} == {phone(1), phone(3)}
            assert [c.phone for c in check.already_applied] == [phone(2)]
            assert check.refused == ()
            gets_before = client.stats.get
            await recheck_saved_plan(plan, PlanOptions(), client, state, recheck)
            assert client.stats.get - gets_before == 1  # the fresh plan's one-page listing

            async def fetch_touched(phones: frozenset[str]) -> RemoteState:
                return await fetch_remote(client, phones=sorted(phones), refresh="targeted")

            with pytest.raises(StalePlanError) as refused:
                await apply_plan(
                    plan,
                    client,
                    state,
                    fetch_touched=fetch_touched,
                    settings=ApplySettings(saved=True),
                    recheck=recheck,
                )
            message = str(refused.value)
            assert message.startswith("2 contacts changed since the plan was made:")
            assert f"{phone(1)} (id {edited.id}): changed since the plan" in message
            assert f"{phone(3)}: created since the plan" in message

            async def fetch_touched(phones: frozenset[str]) -> RemoteState:
                return await fetch_remote(client, phones=sorted(phones), refresh="targeted")

            report = await apply_plan(
                plan,
                client,
                state,
                fetch_touched=fetch_touched,
                settings=ApplySettings(saved=True, skip_stale=True),
                recheck=recheck,
            )
            assert report.summary == {
                "created": 0,
                "updated": 1,
                "deleted": 0,
                "failed": 0,
                "skipped": 3,
            }
            # Two contacts were left alone as stale: they still differ, so not converged.
            assert report.skipped_stale == 2
            assert not report.converged
            assert not report.ok
            still = (await client.find_by_phone(phone(1)))[0]
            assert still.fields["company"] == "Changed Elsewhere"
            assert still.fields["first_name"] == "Old"

    run(scenario)


def test_journal_records_every_request_and_item_without_credentials(tmp_path: Path) -> None:
    db = tmp_path / "s.db"

    async def scenario() -> Path:
        async with sandbox_client(db, fail_rate=0.3) as client:
            with Journal.create(tmp_path, secrets=(DEFAULT_API_KEY, DEFAULT_API_SECRET)) as journal:
                client.on_request = journal.record_request
                report = await full_apply(
                    client,
                    desired(*(contact(n) for n in range(6))),
                    journal=journal,
                    settings=ApplySettings(batch_size=2),
                )
                assert report.ok
                return journal.path

    path = run(scenario)
    events = read_journal(path)
    requests = [e for e in events if e["event"] == "request"]
    items = [e for e in events if e["event"] == "item"]
    assert any(e["status"] == 503 for e in requests)  # the retried attempts are there too
    assert [e["path"] for e in requests].count("/v2/contacts/bulk") >= 3
    assert sorted(e["phone"] for e in items) == [phone(n) for n in range(6)]
    assert events[-1]["event"] == "finished"
    assert events[-1]["converged"] is True
    text = path.read_text()
    assert DEFAULT_API_KEY not in text and DEFAULT_API_SECRET not in text

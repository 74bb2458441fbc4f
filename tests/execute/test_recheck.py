"""Each write re-read before it is sent: the pure verdict and the reads' budget."""

from __future__ import annotations

import json
import math
from pathlib import Path

from jcstate.core.model import (
    DesiredContact,
    DesiredState,
    Ownership,
    RemoteContact,
    RemoteState,
    Safety,
)
from jcstate.core.outcome import ApplyReport, ItemResult, Outcome
from jcstate.core.plan import Action, PlanOptions, compute_plan, delete_change
from jcstate.core.recheck import (
    describe_difference,
    expected_page,
    recheck_budget,
    recheck_verdict,
)
from jcstate.execute.apply import apply_plan
from jcstate.remote.listing import fetch_remote
from jcstate.render.report import render_report_json, render_report_text
from tests.execute.test_apply_engine import contact, desired, run, sandbox_client
from tests.support import builders
from tests.support.builders import account, phone

OWNED = Ownership(field="managed_by", value="ops")


def remote(n: int, contact_id: int, **custom: str) -> RemoteContact:
    marked = {"managed_by": "ops", **custom}
    return builders.remote(contact_id, phone(n), marked, first_name=f"First{n}")


def owned(*contacts: DesiredContact, protected: tuple[str, ...] = ()) -> DesiredState:
    return DesiredState(
        contacts=tuple(contacts), ownership=OWNED, safety=Safety(protected=list(protected))
    )


def test_an_unchanged_target_may_be_written() -> None:
    before = remote(1, 7)
    assert recheck_verdict(delete_change(before), before, before, owned()) is None


def test_a_moved_phone_is_named_with_both_numbers() -> None:
    before = remote(1, 7)
    now = RemoteContact(7, phone(2), before.fields, before.custom_fields)
    verdict = recheck_verdict(delete_change(before), before, now, owned())
    assert verdict == f"changed in JustCall after the plan: phone {phone(1)} -> {phone(2)}"


def test_a_removed_marker_and_an_edited_field_are_named() -> None:
    before = remote(1, 7)
    now = RemoteContact(7, phone(1), {**before.fields, "last_name": "Edited"}, {})
    assert describe_difference(before, now) == [
        "last_name (empty) -> Edited",
        "custom_fields.managed_by ops -> (empty)",
    ]


def test_without_the_planned_view_the_fingerprint_still_tells() -> None:
    before = remote(1, 7)
    now = RemoteContact(7, phone(1), before.fields, {"managed_by": "ops", "x": "1"})
    verdict = recheck_verdict(delete_change(before), None, now, owned())
    assert verdict == "changed in JustCall after the plan: its content differs from the plan's"


def test_a_delete_is_refused_on_a_protected_or_declared_target_even_unchanged() -> None:
    # A plan whose fingerprint still matches, yet the target is protected or declared:
    # never deleted (the plan cannot have asked for it, a plan file could).
    before = remote(1, 7)
    verdict = recheck_verdict(delete_change(before), before, before, owned(protected=(phone(1),)))
    assert verdict is not None and "protected" in verdict
    declared = owned(DesiredContact(phone(1), {}, {}))
    verdict = recheck_verdict(delete_change(before), before, before, declared)
    assert verdict is not None and "declared" in verdict


def test_a_deleted_update_target_is_reported() -> None:
    before = remote(1, 7)
    plan = compute_plan(
        owned(DesiredContact(phone(1), {"first_name": "New"}, {})),
        account(before),
        PlanOptions(),
    )
    (change,) = plan.changes
    assert recheck_verdict(change, before, None, owned()) == (
        "changed in JustCall after the plan: deleted"
    )


def test_the_budget_is_min_of_writes_and_the_listing() -> None:
    assert recheck_budget(1, 10_000) == 1
    assert recheck_budget(100, 10_000) == 100
    assert recheck_budget(1_000, 10_000) == 102
    assert recheck_budget(10_000, 10_000) == 102
    assert recheck_budget(7, None) == 7


def test_the_expected_page_follows_the_deletes_below() -> None:
    ids = list(range(1, 301))
    assert expected_page(150, ids, []) == 2
    assert expected_page(101, ids, []) == 2
    assert expected_page(101, ids, [5]) == 1  # one contact below it is gone
    assert expected_page(999, ids, []) is None


def test_many_writes_read_each_listing_page_once(tmp_path: Path) -> None:
    """350 contacts, 200 updates and 100 deletes: 4 pages read, not 300 contacts."""
    db = tmp_path / "s.db"
    count = 350

    async def scenario() -> None:
        async with sandbox_client(db) as client:
            await client.bulk_upsert(
                [{"phone": phone(n), "first_name": f"First{n}"} for n in range(count)]
            )
            state = desired(
                *(contact(n) for n in range(200)),
                *(contact(n, email=f"p{n}@example.com") for n in range(300, count)),
            )
            view = await fetch_remote(client, refresh="full")
            plan = compute_plan(state, view, PlanOptions(prune=True))
            assert plan.summary["update"] == 250 and plan.summary["delete"] == 100

            async def fetch_touched(phones: frozenset[str]) -> RemoteState:
                return await fetch_remote(client, phones=sorted(phones), refresh="auto")

            report = await apply_plan(plan, client, state, fetch_touched=fetch_touched, view=view)
            assert report.ok, report.skipped_changed[:3]
            assert report.summary["updated"] == 250 and report.summary["deleted"] == 100
            reads = report.requests_by_stage["recheck"]
            assert reads <= min(350, math.ceil(count / 100) + 2)
            assert reads == 4  # each page read once (the deletes' pages afresh, budget allowing)
            assert report.requests["put"] == 250 and report.requests["delete"] == 100

    run(scenario)


def test_a_target_changed_between_plan_and_write_is_skipped_in_process(tmp_path: Path) -> None:
    db = tmp_path / "s.db"

    async def scenario() -> None:
        async with sandbox_client(db) as client:
            await client.bulk_upsert([{"phone": phone(n), "first_name": "Old"} for n in range(3)])
            state = desired(*(contact(n) for n in range(3)))
            view = await fetch_remote(client, refresh="full")
            plan = compute_plan(state, view, PlanOptions())
            victim = next(c for c in view.contacts if c.phone == phone(1))
            await client.update_contact(victim.id, {"phone": phone(9)})

            async def fetch_touched(phones: frozenset[str]) -> RemoteState:
                return await fetch_remote(client, phones=sorted(phones), refresh="auto")

            report = await apply_plan(plan, client, state, fetch_touched=fetch_touched, view=view)
            assert not report.ok and not report.converged
            (item,) = report.skipped_changed
            assert (item.action, item.id) == (Action.UPDATE, victim.id)
            assert item.message == (
                f"changed in JustCall after the plan: phone {phone(1)} -> {phone(9)}"
            )
            assert report.summary["updated"] == 2
            assert report.remaining == ()  # not sent, so not "still needed": plan again
            moved = await client.get_contact(victim.id)
            assert moved.fields["first_name"] == "Old"

    run(scenario)


def test_the_report_names_each_skipped_write_in_text_and_json() -> None:

    message = f"changed in JustCall after the plan: phone {phone(50)} -> {phone(0)}"
    skipped = ItemResult(Action.DELETE, phone(50), 3, Outcome.SKIPPED, message)
    report = ApplyReport(
        items=(ItemResult(Action.UPDATE, phone(1), 1, Outcome.UPDATED), skipped),
        warnings=(),
        requests={"total": 3},
        requests_by_stage={"recheck": 2},
        converged=False,
        remaining=(),
        duration_s=0.1,
        skipped_changed=(skipped,),
    )
    text = render_report_text(report)
    assert f"\nskipped: {phone(50)} (id 3) {message}\n" in text
    assert "run `jcstate plan` again" in text
    assert text.endswith("Converged: no.\n")
    assert "Skipped:" not in text  # listed once, as changed
    data = json.loads(render_report_json(report))
    assert data["skipped_changed"] == [
        {"action": "delete", "phone": phone(50), "id": 3, "message": message}
    ]
    assert data["converged"] is False

"""Pure parts of apply: phases, batching, bulk answers, staleness, reports."""

from __future__ import annotations

import json

import pytest

from jcstate.core.model import RemoteContact, fingerprint
from jcstate.core.outcome import ApplyReport, ItemResult, Outcome
from jcstate.core.plan import Action, Change, FieldChange
from jcstate.execute.apply import (
    ExecutionResult,
    Verification,
    batches,
    build_report,
    classify_bulk_answer,
    classify_staleness,
    plan_phases,
    stale_message,
    touched_phones,
)
from jcstate.remote.client import BulkItemError, BulkResult
from jcstate.render.report import render_report_json, render_report_text
from tests.support import builders


def create(phone: str) -> Change:
    return Change(Action.CREATE, phone, None, {"phone": phone, "first_name": "A"})


def update(phone: str, contact_id: int, fp: str | None = None) -> Change:
    return Change(Action.UPDATE, phone, contact_id, {"email": "x@example.com"}, fingerprint=fp)


def delete(phone: str, contact_id: int, fp: str | None = None) -> Change:
    return Change(Action.DELETE, phone, contact_id, {}, fingerprint=fp)


def remote(contact_id: int, phone: str, first_name: str = "A") -> RemoteContact:
    return builders.remote(contact_id, phone, first_name=first_name)


def test_phases_follow_the_plan_order_and_group_runs() -> None:
    freeing_delete = delete("+14155550101", 1)
    changes = [
        freeing_delete,
        create("+14155550102"),
        create("+14155550103"),
        update("+14155550104", 4),
        delete("+14155550105", 5),
    ]
    phases = plan_phases(changes)
    assert [(action, len(items)) for action, items in phases] == [
        (Action.DELETE, 1),
        (Action.CREATE, 2),
        (Action.UPDATE, 1),
        (Action.DELETE, 1),
    ]
    assert phases[0][1] == [freeing_delete]


def test_batches_never_exceed_the_size_and_keep_everything() -> None:
    items = list(range(12_001))
    chunks = batches(items, 5000)
    assert [len(c) for c in chunks] == [5000, 5000, 2001]
    assert [i for c in chunks for i in c] == items
    with pytest.raises(ValueError):
        batches(items, 0)


def test_bulk_failures_map_back_to_the_batch_phones() -> None:
    batch = [create(f"+1415555{n:04d}") for n in range(200, 205)]
    answer = BulkResult(
        created=3,
        updated=0,
        failed=2,
        errors=[
            BulkItemError(1, "+14155550201", "invalid email"),
            BulkItemError(4, "+14155550204", "unknown custom field 'x'"),
        ],
    )
    items, warnings = classify_bulk_answer(batch, answer, label="bulk batch 1/1")
    outcomes = {item.phone: (item.outcome, item.message) for item in items}
    assert outcomes["+14155550201"] == (Outcome.FAILED, "invalid email")
    assert outcomes["+14155550204"] == (Outcome.FAILED, "unknown custom field 'x'")
    assert [p for p, (o, _) in outcomes.items() if o is Outcome.CREATED] == [
        "+14155550200",
        "+14155550202",
        "+14155550203",
    ]
    assert warnings == []


def test_bulk_error_with_bad_index_is_matched_by_phone() -> None:
    batch = [create("+14155550300"), create("+14155550301")]
    answer = BulkResult(1, 0, 1, [BulkItemError(99, "+1 415 555 0301", "rejected")])
    items, _ = classify_bulk_answer(batch, answer, label="b")
    assert [i.outcome for i in items] == [Outcome.CREATED, Outcome.FAILED]


def test_bulk_updated_where_creates_expected_is_a_warning_not_a_failure() -> None:
    batch = [create("+14155550400"), create("+14155550401")]
    items, warnings = classify_bulk_answer(batch, BulkResult(1, 1, 0), label="bulk batch 2/3")
    assert all(i.outcome is Outcome.CREATED for i in items)
    assert len(warnings) == 1
    assert warnings[0].startswith("bulk batch 2/3: 1 of 2 contacts already existed")
    assert "answer was lost" in warnings[0]
    _, sent_once = classify_bulk_answer(batch, BulkResult(1, 1, 0), label="b", maybe_resent=False)
    assert sent_once[0].endswith("(someone created them meanwhile)")


def test_unidentified_bulk_failures_are_warned_about() -> None:
    batch = [create("+14155550500"), create("+14155550501")]
    _, warnings = classify_bulk_answer(batch, BulkResult(1, 0, 1, []), label="b")
    assert any("did not identify" in w for w in warnings)


def test_touched_phones_include_both_sides_of_a_phone_change() -> None:
    moved = Change(
        Action.UPDATE,
        "+14155550601",
        6,
        {"phone": "+14155550601"},
        changes=(FieldChange("phone", "+14155550600", "+14155550601"),),
    )
    assert touched_phones([moved, create("+14155550602")]) == {
        "+14155550600",
        "+14155550601",
        "+14155550602",
    }


def test_staleness_names_changed_deleted_and_created_contacts() -> None:
    same = remote(1, "+14155550701")
    edited_before = remote(2, "+14155550702")
    edited_now = remote(2, "+14155550702", first_name="Changed")
    changes = [
        update("+14155550701", 1, fingerprint(same)),
        update("+14155550702", 2, fingerprint(edited_before)),
        delete("+14155550703", 3, "abc"),
        create("+14155550704"),
        create("+14155550705"),
    ]
    by_id = {1: same, 2: edited_now, 3: None}
    by_phone = {"+14155550704": [remote(9, "+14155550704")], "+14155550705": []}
    verdicts = classify_staleness(changes, by_id, by_phone)
    assert verdicts[0] is None
    assert verdicts[4] is None
    reasons = [str(v) for v in verdicts if v is not None]
    assert reasons == [
        "+14155550702 (id 2): changed since the plan",
        "+14155550703 (id 3): deleted since the plan",
        "+14155550704: created since the plan (id 9)",
    ]
    message = stale_message([v for v in verdicts if v is not None])
    assert message.startswith("3 contacts changed since the plan was made:")
    assert "--skip-stale" in message


def _report(items: list[ItemResult], *, converged: bool = True) -> ApplyReport:
    return build_report(
        ExecutionResult(items=tuple(items), warnings=("w1",)),
        skipped=[ItemResult(Action.UPDATE, "+14155550999", 9, Outcome.SKIPPED, "changed")],
        verification=Verification(
            converged=converged,
            remaining=() if converged else (create("+14155550902"),),
            ids_by_phone={"+14155550901": 77},
        ),
        requests={"total": 5, "bulk": 1, "put": 2, "delete": 1, "get": 1, "retries": 0},
        requests_by_stage={"refresh": 1, "apply": 4},
        duration_s=1.23456,
    )


def test_report_json_has_the_stable_keys_and_fills_in_new_ids() -> None:
    report = _report(
        [
            ItemResult(Action.CREATE, "+14155550901", None, Outcome.CREATED),
            ItemResult(Action.UPDATE, "+14155550903", 3, Outcome.FAILED, "PUT (422): bad"),
        ]
    )
    data = json.loads(render_report_json(report))
    assert data["summary"] == {"created": 1, "updated": 0, "deleted": 0, "failed": 1, "skipped": 1}
    stable = ("total", "bulk", "put", "delete", "get", "retries")
    assert {k: data["requests"][k] for k in stable} == {
        "total": 5,
        "bulk": 1,
        "put": 2,
        "delete": 1,
        "get": 1,
        "retries": 0,
    }
    assert data["converged"] is True
    assert data["duration_s"] == 1.235
    created = next(i for i in data["items"] if i["outcome"] == "created")
    assert created == {
        "action": "create",
        "phone": "+14155550901",
        "id": 77,
        "outcome": "created",
        "message": "",
    }
    assert not report.ok


def test_report_text_lists_failures_and_non_convergence() -> None:
    report = _report(
        [ItemResult(Action.UPDATE, "+14155550903", 3, Outcome.FAILED, "PUT (422): bad")],
        converged=False,
    )
    text = render_report_text(report)
    assert text.startswith(
        "Apply finished with errors: 0 created, 0 updated, 0 deleted, 1 failed, 1 skipped."
    )
    assert "  ~ +14155550903 (id 3): PUT (422): bad" in text
    assert "Not converged: 1 change is still needed" in text
    assert text.rstrip().endswith("Converged: no.")


def test_report_text_of_a_clean_run() -> None:
    report = build_report(
        ExecutionResult(items=(ItemResult(Action.DELETE, "+14155550904", 4, Outcome.DELETED),)),
        verification=Verification(converged=True),
        requests={"total": 2, "delete": 1, "get": 1},
        requests_by_stage={},
        duration_s=0.5,
    )
    text = render_report_text(report)
    assert text.splitlines()[0] == (
        "Apply complete: 0 created, 0 updated, 1 deleted, 0 failed, 0 skipped."
    )
    assert "Requests: 2 (bulk 0, put 0, delete 1, get 1; 0 retries) in 0.5 s." in text
    assert report.ok

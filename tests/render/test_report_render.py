"""The apply report as text and JSON: what it says must be true."""

from __future__ import annotations

import json

from jcstate.core.outcome import ApplyReport, ItemResult, Outcome
from jcstate.core.plan import Action
from jcstate.render.report import render_report_json, render_report_text


def _report(*items: ItemResult, converged: bool = True, skipped_stale: int = 0) -> ApplyReport:
    return ApplyReport(
        items=items,
        warnings=(),
        requests={"total": 3, "put": 1, "get": 2},
        requests_by_stage={},
        converged=converged,
        remaining=(),
        duration_s=0.25,
        skipped_stale=skipped_stale,
    )


STALE = ItemResult(Action.UPDATE, "+14155550902", 2, Outcome.SKIPPED, "changed since the plan")
UPDATED = ItemResult(Action.UPDATE, "+14155550901", 1, Outcome.UPDATED)


def test_a_run_that_skipped_stale_contacts_does_not_say_converged() -> None:
    report = _report(UPDATED, STALE, converged=False, skipped_stale=1)
    text = render_report_text(report)
    assert "Converged: yes." not in text
    assert text.rstrip().endswith("Converged: no.")
    assert text.startswith("Apply finished with errors: 0 created, 1 updated")
    assert (
        "Not converged: 1 contact was skipped as stale and still differs from the files "
        "(run `jcstate plan` again, review, apply)." in text
    )
    data = json.loads(render_report_json(report))
    assert data["converged"] is False
    assert data["skipped_stale"] == 1
    assert not report.ok


def test_skipped_as_already_applied_is_converged() -> None:
    done = ItemResult(
        Action.UPDATE, "+14155550903", 3, Outcome.SKIPPED, "already as declared (applied earlier)"
    )
    report = _report(UPDATED, done)
    data = json.loads(render_report_json(report))
    assert data["converged"] is True and data["skipped_stale"] == 0
    assert render_report_text(report).rstrip().endswith("Converged: yes.")
    assert report.ok


def test_counts_in_the_report_are_pluralised() -> None:
    from jcstate.core.plan import Change

    one_left = ApplyReport(
        items=(),
        warnings=(),
        requests={"total": 1, "retries": 1},
        requests_by_stage={},
        converged=False,
        remaining=(Change(action=Action.UPDATE, phone="+14155550901", id=1, body={}),),
        duration_s=1.0,
    )
    text = render_report_text(one_left)
    assert "Not converged: 1 change is still needed (run `jcstate apply` again):" in text
    assert "(s)" not in text
    assert "1 retry)" in text

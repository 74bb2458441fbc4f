"""Apply report renderers (pure): ApplyReport -> text or JSON.

The JSON keys `summary`, `requests` and `converged` are a stable contract for
scripts (see docs/guide/apply.md); new keys may be added, none renamed.
A server's messages are data: each text line is escaped (`core.safe.shown`),
and the JSON has its control characters as `\\u` escapes.
"""

from __future__ import annotations

from typing import Any

from jcstate.core.outcome import ApplyReport, ItemResult, Outcome
from jcstate.core.plan import Action
from jcstate.core.safe import json_text, shown
from jcstate.render import plural

REPORT_FORMAT_VERSION = 1
#: the request kinds every report carries, in this order (missing ones count 0)
REQUEST_KEYS = ("total", "bulk", "put", "delete", "get", "retries")
_SYMBOL = {Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-"}


def report_to_dict(report: ApplyReport) -> dict[str, Any]:
    requests = {key: int(report.requests.get(key, 0)) for key in REQUEST_KEYS}
    requests.update(
        {key: int(value) for key, value in report.requests.items() if key not in requests}
    )
    return {
        "format_version": REPORT_FORMAT_VERSION,
        "summary": report.summary,
        "requests": requests,
        "requests_by_stage": dict(report.requests_by_stage),
        "converged": report.converged,
        "skipped_stale": report.skipped_stale,
        "skipped_changed": [_item_dict(item) for item in report.skipped_changed],
        "convergence_error": report.convergence_error,
        "remaining": [
            {"action": change.action.value, "phone": change.phone, "id": change.id}
            for change in report.remaining
        ],
        "aborted": report.aborted,
        "warnings": list(report.warnings),
        "duration_s": round(report.duration_s, 3),
        "items": [
            {**_item_dict(item, outcome=True), "message": item.message} for item in report.items
        ],
    }


def _item_dict(item: ItemResult, *, outcome: bool = False) -> dict[str, Any]:
    found: dict[str, Any] = {"action": item.action.value, "phone": item.phone, "id": item.id}
    if outcome:
        found["outcome"] = item.outcome.value
    else:
        found["message"] = item.message
    return found


def render_report_json(report: ApplyReport) -> str:
    return json_text(report_to_dict(report), indent=2, ensure_ascii=True) + "\n"


def _who(item: ItemResult) -> str:
    return f"{item.phone} (id {item.id})" if item.id is not None else item.phone


def _item_line(item: ItemResult) -> str:
    who = _who(item)
    message = f": {item.message}" if item.message else ""
    return f"  {_SYMBOL[item.action]} {who}{message}"


def _listed(title: str, lines: list[str], limit: int) -> list[str]:
    if not lines:
        return []
    shown = lines[:limit]
    if len(lines) > limit:
        shown.append(f"  ... and {len(lines) - limit} more (see --format json or the journal)")
    return ["", title, *shown]


def _converged_word(report: ApplyReport) -> str:
    if report.converged:
        return "yes"
    return "not known" if report.convergence_error is not None else "no"


def render_report_text(report: ApplyReport, *, limit: int = 50) -> str:
    """A short summary: counts, what failed or was skipped, warnings, requests, convergence."""
    summary = report.summary
    counts = (
        f"{summary['created']} created, {summary['updated']} updated, "
        f"{summary['deleted']} deleted, {summary['failed']} failed, "
        f"{summary['skipped']} skipped."
    )
    headline = "Apply complete: " if report.ok else "Apply finished with errors: "
    lines = [headline + counts]
    if report.aborted:
        lines += ["", f"Stopped early: {report.aborted}"]
    lines += _outcome_lines(report, limit)
    lines += _convergence_lines(report, limit)
    lines += _request_lines(report)
    return "\n".join(shown(line) for line in lines) + "\n"


def _outcome_lines(report: ApplyReport, limit: int) -> list[str]:
    """What failed or was skipped, and the warnings."""
    lines: list[str] = []
    failed = [_item_line(i) for i in report.items if i.outcome is Outcome.FAILED]
    changed = set(report.skipped_changed)
    skipped = [
        _item_line(i) for i in report.items if i.outcome is Outcome.SKIPPED and i not in changed
    ]
    lines += _listed("Failed:", failed, limit)
    lines += _listed("Skipped:", skipped, limit)
    if changed:
        lines.append("")
        lines += [
            f"skipped: {_who(item)} {item.message}" for item in report.skipped_changed[:limit]
        ]
        if len(changed) > limit:
            lines.append(f"... and {len(changed) - limit} more (see --format json or the journal)")
    lines += _listed("Warnings:", [f"  - {w}" for w in report.warnings], limit)
    return lines


def _convergence_lines(report: ApplyReport, limit: int) -> list[str]:
    """What is not converged: stale or changed contacts, changes still needed."""
    lines: list[str] = []
    if report.skipped_stale:
        stale = report.skipped_stale
        lines += [
            "",
            f"Not converged: {plural(stale, 'contact')} {'was' if stale == 1 else 'were'} "
            f"skipped as stale and still {'differs' if stale == 1 else 'differ'} from the "
            "files (run `jcstate plan` again, review, apply).",
        ]
    if report.skipped_changed:
        count = len(report.skipped_changed)
        lines += [
            "",
            f"Not converged: {plural(count, 'contact')} changed in JustCall after the plan "
            f"and {'was' if count == 1 else 'were'} not written; run `jcstate plan` again, "
            "review, and apply.",
        ]
    if report.convergence_error is not None:
        lines += [
            "",
            f"Not checked: the convergence check after the writes failed "
            f"({report.convergence_error}); run `jcstate plan` to see what is left.",
        ]
    elif report.remaining:
        remaining = [
            f"  {_SYMBOL[c.action]} {c.phone}" + (f" (id {c.id})" if c.id is not None else "")
            for c in report.remaining
        ]
        count = len(report.remaining)
        lines += _listed(
            f"Not converged: {plural(count, 'change')} {'is' if count == 1 else 'are'} "
            "still needed (run `jcstate apply` again):",
            remaining,
            limit,
        )
    return lines


def _request_lines(report: ApplyReport) -> list[str]:
    lines: list[str] = []
    requests = report.requests
    kinds = ", ".join(
        f"{key} {int(requests.get(key, 0))}" for key in ("bulk", "put", "delete", "get")
    )
    retries = int(requests.get("retries", 0))
    lines += [
        "",
        f"Requests: {int(requests.get('total', 0))} ({kinds}; {retries} "
        f"{'retry' if retries == 1 else 'retries'}) in {report.duration_s:.1f} s.",
        f"Converged: {_converged_word(report)}.",
    ]
    return lines

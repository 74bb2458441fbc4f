"""`drift` streams its report (issue 24): `iter_drift` yields the document in pieces whose
concatenation is byte for byte the one document it wrote before (the JSON of
`report_to_dict` escaped by `core.safe.json_text`, the golden text, the capped
markdown), masked (`--mask-pii`) and with the rules section the same, so a script
or a reader sees no change; and no piece of a large report is the whole of it.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jcstate.core.drift import DriftReport, MissingContact, compute_drift
from jcstate.core.model import (
    DesiredState,
    RemoteContact,
    RemoteState,
    RuleViolation,
    SourceRef,
)
from jcstate.core.safe import json_text
from jcstate.render.drift import (
    MARKDOWN_LIMIT,
    iter_drift,
    render_json,
    render_markdown,
    render_text,
    report_to_dict,
)
from jcstate.render.mask import mask_text
from jcstate.render.rules import violation_markdown, violation_text, violations_summary
from tests.render.test_drift_render import drifted_report, in_sync_report
from tests.render.test_remote_as_data import FAST, accounts

HOSTILE = [
    RuleViolation(
        rule="no-\x1b[31mred",
        level="error",
        message='call "+14155550123"\n or write jö\u202erg@example.com',
        rule_file="jcstate.yaml",
        rule_line=12,
        phone="+14155550123",
        source=SourceRef("contacts/a.yaml", 4),
    ),
    RuleViolation("seats", "warning", "too few seats", "jcstate.yaml", 20, phone="+12125550143"),
]


def whole_document(
    report: DriftReport,
    output_format: str,
    *,
    mask_pii: bool = False,
    violations: list[RuleViolation] | None = None,
) -> str:
    """The report as `drift` wrote it before streaming: one string, masked whole, and
    the rules section added to it afterwards (JSON: loaded and written again)."""
    clean = mask_text if mask_pii else (lambda text: text)
    if output_format == "json":
        text = clean(json_text(report_to_dict(report), indent=2, default=str) + "\n")
        if violations is None:
            return text
        document = json.loads(text)
        document["rule_violations"] = [v.to_dict() for v in violations]
        return clean(json_text(document, indent=2, default=str) + "\n")
    if output_format == "markdown":
        text = render_markdown(report, postprocess=mask_text if mask_pii else None)
    else:
        text = clean(render_text(report))
    if not violations:
        return text
    head = f"Rules: {violations_summary(violations)} in remote contacts in scope"
    if output_format == "markdown":
        lines = [f"- {violation_markdown(v)}" for v in violations]
        return text + clean(f"\n### {head}\n\n" + "\n".join(lines) + "\n")
    lines = [f"  {violation_text(v)}" for v in violations]
    return text + clean(f"\n{head}\n" + "\n".join(lines) + "\n")


def huge_report(count: int = 3_000) -> DriftReport:
    """`count` missing and `count` unmanaged contacts, with hostile remote values."""
    missing = tuple(
        MissingContact(f"+1415555{i:04d}", None, SourceRef("contacts/all.yaml", 3 + 2 * i))
        for i in range(count)
    )
    unmanaged = tuple(
        RemoteContact(
            id=10_000 + i,
            phone=f"+1212555{i:04d}",
            fields={
                "first_name": f"Ann\x1b[2J{i}",
                "last_name": "O'Brien | `x`",
                "email": f"ann.{i}@example.com",
                "company": "Acme\u202e\n+14155550100",
            },
            custom_fields={"tier": "Pro", "note": 'a "quoted"\tvalue'},
            updated_at="2026-03-10T09:30:00Z",
        )
        for i in range(count)
    )
    return DriftReport(
        changed=drifted_report().changed,
        missing=missing,
        unmanaged=unmanaged,
        undeclared_custom_fields=(),
        conflicts=(),
        managed=count,
        in_scope=3 * count,
    )


REPORTS = {"drifted": drifted_report, "in sync": in_sync_report, "huge": huge_report}


@pytest.mark.parametrize("output_format", ["json", "text", "markdown"])
@pytest.mark.parametrize("name", sorted(REPORTS))
@pytest.mark.parametrize("mask", [False, True])
@pytest.mark.parametrize("violations", [None, [], HOSTILE])
def test_the_streamed_report_is_the_same_bytes_as_the_whole_document(
    output_format: str, name: str, mask: bool, violations: list[RuleViolation] | None
) -> None:
    report = REPORTS[name]()
    chunks = iter_drift(report, output_format, color=False, mask_pii=mask, violations=violations)
    assert "".join(chunks) == whole_document(
        report, output_format, mask_pii=mask, violations=violations
    )


@pytest.mark.parametrize("output_format", ["json", "text"])
def test_a_large_report_comes_in_pieces_none_of_them_the_whole(output_format: str) -> None:
    chunks = list(iter_drift(huge_report(), output_format, color=False, mask_pii=False))
    whole = sum(len(chunk) for chunk in chunks)
    assert len(chunks) >= 4
    assert max(len(chunk) for chunk in chunks) < whole / 3
    assert output_format == "json" or all(chunk.endswith("\n") for chunk in chunks)


def test_the_coloured_text_streams_to_the_same_bytes() -> None:
    report = huge_report(1_200)
    chunks = list(iter_drift(report, "text", color=True, mask_pii=False))
    assert len(chunks) >= 2
    assert "".join(chunks) == render_text(report, color=True)
    assert render_json(report) == "".join(iter_drift(report, "json", color=False, mask_pii=False))


def test_the_markdown_of_a_large_report_is_cut_to_githubs_limit_as_before() -> None:
    text = "".join(iter_drift(huge_report(), "markdown", color=False, mask_pii=True))
    assert len(text) <= MARKDOWN_LIMIT
    assert "more rows, left out to fit GitHub's size limit" in text
    assert "+12125550001" not in text and "+1•••••0001" in text


@FAST
@given(accounts(), st.booleans(), st.sampled_from(["json", "text", "markdown"]))
def test_any_values_stream_to_the_same_escaped_bytes(
    account: tuple[DesiredState, RemoteState], mask: bool, output_format: str
) -> None:
    report = compute_drift(*account)
    streamed = "".join(iter_drift(report, output_format, color=False, mask_pii=mask))
    assert streamed == whole_document(report, output_format, mask_pii=mask)

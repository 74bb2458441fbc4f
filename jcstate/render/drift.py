"""Renderers of the drift report: text (terminal, logs), markdown (an issue body), json.

Pure functions `DriftReport -> str`. The text form ends with the line
``Drift: N changed, N missing, N unmanaged, N undeclared custom fields.``;
the JSON schema is documented in docs/guide/drift-export-adopt.md and keeps
its keys stable within a ``format_version``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import click

from jcstate.core.drift import FORMAT_VERSION, ChangedContact, DriftReport, FieldDrift
from jcstate.core.model import STANDARD_FIELDS, RemoteContact
from jcstate.core.safe import json_text, md_code, md_text, shown
from jcstate.render import format_value, plural

#: GitHub refuses issue bodies and comments longer than this.
MARKDOWN_LIMIT = 65_536
#: row caps tried in turn until the markdown fits the limit
_ROW_CAPS: tuple[int | None, ...] = (None, 2000, 500, 200, 50, 10)


def _are(count: int) -> str:
    return "is" if count == 1 else "are"


def summary_line(report: DriftReport) -> str:
    counts = report.summary
    undeclared = counts["undeclared_custom_fields"]
    return (
        f"Drift: {counts['changed']} changed, {counts['missing']} missing, "
        f"{counts['unmanaged']} unmanaged, {plural(undeclared, 'undeclared custom field')}."
    )


def coverage_line(report: DriftReport) -> str:
    return (
        f"Coverage: {report.coverage_percent:.1f}% ({report.managed} of "
        f"{plural(report.in_scope, 'contact')} in scope {_are(report.managed)} declared)"
    )


def _remote_label(contact: RemoteContact) -> str:
    name = " ".join(
        part for part in (contact.fields.get("first_name"), contact.fields.get("last_name")) if part
    )
    parts = [contact.phone]
    if name:
        parts.append(name)
    email = contact.fields.get("email")
    if email:
        parts.append(f"<{email}>")
    company = contact.fields.get("company")
    if company:
        parts.append(f"({company})")
    parts.append(f"[id {contact.id}]")
    return " ".join(parts)


# ---------------------------------------------------------------------------
# text
# ---------------------------------------------------------------------------


def render_text(report: DriftReport, *, color: bool = False) -> str:
    def paint(text: str, fg: str) -> str:
        # Escaped before it is coloured: the colour's own escape codes stay live.
        return click.style(shown(text), fg=fg) if color else shown(text)

    lines: list[str] = []
    if report.changed:
        lines.append(f"Changed remotely ({plural(len(report.changed), 'contact')}):")
        for item in report.changed:
            where = f" ({item.source})" if item.source else ""
            when = f", changed {item.when}" if item.when else ""
            lines.append(paint(f"  ~ {item.phone}{where} [id {item.id}]{when}", "yellow"))
            for drift in item.fields:
                lines.append(
                    shown(
                        f"      {drift.field}: declared {format_value(drift.declared)}, "
                        f"remote {format_value(drift.remote)}"
                    )
                )
                if drift.note:
                    lines.append(shown(f"        ({drift.note})"))
        lines.append("")
    if report.missing:
        lines.append(
            f"Missing remotely ({plural(len(report.missing), 'contact')} declared "
            "but not in JustCall):"
        )
        for missing in report.missing:
            where = f" ({missing.source})" if missing.source else ""
            lines.append(paint(f"  - {missing.phone}{where}", "red"))
        lines.append("")
    if report.unmanaged:
        lines.append(
            f"Unmanaged ({plural(len(report.unmanaged), 'contact')} in JustCall but not declared):"
        )
        for contact in report.unmanaged:
            lines.append(paint(f"  + {_remote_label(contact)}", "green"))
        lines.append("")
    if report.undeclared_custom_fields:
        count = len(report.undeclared_custom_fields)
        lines.append(
            f"Undeclared custom fields ({plural(count, 'remote key')} "
            "not declared in jcstate.yaml):"
        )
        for key in report.undeclared_custom_fields:
            lines.append(shown(f"  ? {key.key} (on {plural(key.contacts, 'contact')})"))
        lines.append("")
    if report.conflicts:
        lines.append("Remote duplicates (one phone, several contacts; the lowest id is the match):")
        for conflict in report.conflicts:
            ids = ", ".join(str(i) for i in conflict.ids)
            lines.append(shown(f"  ! {conflict.phone}: ids {ids}"))
        lines.append("")
    if report.in_sync:
        lines.append("In sync: JustCall matches the declared contacts.")
    lines.append(coverage_line(report) + ".")
    lines.append(summary_line(report))
    # Each line that holds a remote value was escaped (`shown`) before any colour:
    # no value brings a control character or a line break of its own.
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# markdown
# ---------------------------------------------------------------------------


def _cell(value: str | None) -> str:
    """A remote or declared string in a table cell: a code span (`core.safe.md_code`)."""
    return md_code(value or "", table=True)


def _code(value: Any) -> str:
    """A field value as the YAML would write it (null, 42, "text"), in a code span."""
    return _cell(format_value(value))


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], cap: int | None) -> list[str]:
    shown = rows if cap is None else rows[:cap]
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out.extend("| " + " | ".join(row) + " |" for row in shown)
    if len(shown) < len(rows):
        out.append("")
        out.append(
            f"_… and {len(rows) - len(shown)} more rows, left out to fit GitHub's size limit "
            "(`jcstate drift --format json` has them all)._"
        )
    return out


def _changed_rows(changed: Sequence[ChangedContact]) -> list[list[str]]:
    rows: list[list[str]] = []
    for item in changed:
        for drift in item.fields:
            rows.append(
                [
                    _cell(item.phone),
                    _cell(drift.field),
                    _code(drift.declared),
                    _code(drift.remote) + (" ⚠️" if not drift.adoptable else ""),
                    md_text(item.when or ""),
                    _cell(str(item.source)) if item.source else "",
                ]
            )
    return rows


def _markdown(report: DriftReport, cap: int | None) -> str:
    counts = report.summary
    lines: list[str] = []
    if report.in_sync:
        lines.append("## ✅ jcstate drift: in sync")
    else:
        lines.append("## ⚠️ jcstate drift: JustCall differs from git")
    lines.append("")
    lines.append(
        f"Coverage: **{report.coverage_percent:.1f}%** ({report.managed} of "
        f"{plural(report.in_scope, 'contact')} in scope {_are(report.managed)} declared)."
    )
    lines.append("")
    lines.append("| Section | Count |")
    lines.append("|---|---:|")
    lines.append(f"| Changed remotely | {counts['changed']} |")
    lines.append(f"| Missing remotely | {counts['missing']} |")
    lines.append(f"| Unmanaged (not declared) | {counts['unmanaged']} |")
    lines.append(f"| Undeclared custom fields | {counts['undeclared_custom_fields']} |")
    if report.changed:
        lines += ["", f"### Changed remotely ({len(report.changed)})", ""]
        lines += _table(
            ("Phone", "Field", "Declared", "Remote", "When", "Declared in"),
            _changed_rows(report.changed),
            cap,
        )
        if any(not d.adoptable for item in report.changed for d in item.fields):
            lines += ["", "⚠️ cannot be adopted into YAML as it is (see the text report)."]
    if report.missing:
        lines += ["", f"### Missing remotely ({len(report.missing)})", ""]
        rows = [[_cell(m.phone), _cell(str(m.source)) if m.source else ""] for m in report.missing]
        lines += _table(("Phone", "Declared in"), rows, cap)
    if report.unmanaged:
        lines += ["", f"### Unmanaged: in JustCall, not declared ({len(report.unmanaged)})", ""]
        rows = [
            [
                _cell(c.phone),
                str(c.id),
                *(_cell(c.fields.get(name)) for name in STANDARD_FIELDS),
            ]
            for c in report.unmanaged
        ]
        lines += _table(("Phone", "Id", "First name", "Last name", "E-mail", "Company"), rows, cap)
    if report.undeclared_custom_fields:
        lines += ["", f"### Undeclared custom fields ({len(report.undeclared_custom_fields)})", ""]
        rows = [[_cell(k.key), str(k.contacts)] for k in report.undeclared_custom_fields]
        lines += _table(("Key", "Contacts"), rows, cap)
    if report.conflicts:
        lines += ["", f"### Remote duplicates ({len(report.conflicts)})", ""]
        rows = [[_cell(c.phone), ", ".join(map(str, c.ids))] for c in report.conflicts]
        lines += _table(("Phone", "Ids (lowest is the match)"), rows, cap)
    if not report.in_sync:
        lines += [
            "",
            "Bring git up to date with `jcstate drift --adopt` (and `--adopt-unmanaged FILE`), "
            "or restore JustCall from git with `jcstate apply`.",
        ]
    lines += ["", f"_{summary_line(report)}_"]
    return "\n".join(lines) + "\n"


def render_markdown(report: DriftReport, *, postprocess: Callable[[str], str] | None = None) -> str:
    """Markdown for an issue body; rows are cut, with a note, to stay under GitHub's limit.

    `postprocess` (e.g. PII masking) is applied before measuring the size.
    """
    text = ""
    for cap in _ROW_CAPS:
        text = _markdown(report, cap)
        if postprocess is not None:
            text = postprocess(text)
        if len(text) <= MARKDOWN_LIMIT:
            return text
    return text


# ---------------------------------------------------------------------------
# json
# ---------------------------------------------------------------------------


def _field_dict(drift: FieldDrift) -> dict[str, Any]:
    out: dict[str, Any] = {
        "field": drift.field,
        "declared": drift.declared,
        "remote": drift.remote,
        "adoptable": drift.adoptable,
    }
    if drift.note:
        out["note"] = drift.note
    return out


def _remote_dict(contact: RemoteContact) -> dict[str, Any]:
    out: dict[str, Any] = {"phone": contact.phone, "id": contact.id}
    for name in STANDARD_FIELDS:
        out[name] = contact.fields.get(name)
    out["custom_fields"] = {
        key: contact.custom_fields[key] for key in sorted(contact.custom_fields)
    }
    out["updated_at"] = contact.updated_at
    return out


def report_to_dict(report: DriftReport) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "in_sync": report.in_sync,
        "summary": report.summary,
        "coverage_percent": report.coverage_percent,
        "managed": report.managed,
        "in_scope": report.in_scope,
        "changed": [
            {
                "phone": item.phone,
                "id": item.id,
                "source": str(item.source) if item.source else None,
                "when": item.when,
                "fields": [_field_dict(drift) for drift in item.fields],
            }
            for item in report.changed
        ],
        "missing": [
            {"phone": m.phone, "id": m.id, "source": str(m.source) if m.source else None}
            for m in report.missing
        ],
        "unmanaged": [_remote_dict(contact) for contact in report.unmanaged],
        "undeclared_custom_fields": [
            {"key": key.key, "contacts": key.contacts} for key in report.undeclared_custom_fields
        ],
        "conflicts": [{"phone": c.phone, "ids": list(c.ids)} for c in report.conflicts],
    }


def render_json(report: DriftReport) -> str:
    """The report as JSON; control, C1 and bidi characters as `\\u` escapes (`core.safe`)."""
    return json_text(report_to_dict(report), indent=2, default=str) + "\n"


RENDERERS: Mapping[str, Callable[[DriftReport], str]] = {
    "text": render_text,
    "markdown": render_markdown,
    "json": render_json,
}

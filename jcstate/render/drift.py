"""Renderers of the drift report: text (terminal, logs), markdown (an issue body), json.

Pure functions `DriftReport -> str`, and `iter_drift`, the document of `jcstate
drift` in chunks: JSON and text stream, so a report of 300,000 contacts is never
one string in memory (`render_text` and `render_json` join the same chunks).
The text form ends with the line
``Drift: N changed, N missing, N unmanaged, N undeclared custom fields.``;
the JSON schema is documented in docs/guide/drift-export-adopt.md and keeps
its keys stable within a ``format_version``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import click

from jcstate.core.drift import FORMAT_VERSION, ChangedContact, DriftReport, FieldDrift
from jcstate.core.model import STANDARD_FIELDS, RemoteContact, RuleViolation
from jcstate.core.safe import json_safe, md_code, md_text, shown
from jcstate.render import format_value, plural
from jcstate.render.jsonstream import Items, iter_object
from jcstate.render.mask import mask_text
from jcstate.render.rules import violation_markdown, violation_text, violations_summary

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


#: lines of the text report in one chunk of `iter_drift`
LINES_PER_CHUNK = 1000


def _text_lines(report: DriftReport, color: bool) -> Iterator[str]:
    """The lines of the text report, each without its line break."""

    def paint(text: str, fg: str) -> str:
        # Escaped before it is coloured: the colour's own escape codes stay live.
        return click.style(shown(text), fg=fg) if color else shown(text)

    if report.changed:
        yield f"Changed remotely ({plural(len(report.changed), 'contact')}):"
        for item in report.changed:
            where = f" ({item.source})" if item.source else ""
            when = f", changed {item.when}" if item.when else ""
            yield paint(f"  ~ {item.phone}{where} [id {item.id}]{when}", "yellow")
            for drift in item.fields:
                yield shown(
                    f"      {drift.field}: declared {format_value(drift.declared)}, "
                    f"remote {format_value(drift.remote)}"
                )
                if drift.note:
                    yield shown(f"        ({drift.note})")
        yield ""
    if report.missing:
        yield (
            f"Missing remotely ({plural(len(report.missing), 'contact')} declared "
            "but not in JustCall):"
        )
        for missing in report.missing:
            where = f" ({missing.source})" if missing.source else ""
            yield paint(f"  - {missing.phone}{where}", "red")
        yield ""
    if report.unmanaged:
        count = plural(len(report.unmanaged), "contact")
        yield f"Unmanaged ({count} in JustCall but not declared):"
        for contact in report.unmanaged:
            yield paint(f"  + {_remote_label(contact)}", "green")
        yield ""
    yield from _text_tail(report)


def _text_tail(report: DriftReport) -> Iterator[str]:
    """The undeclared keys, the remote duplicates, and the coverage and summary lines."""
    if report.undeclared_custom_fields:
        count = len(report.undeclared_custom_fields)
        yield (
            f"Undeclared custom fields ({plural(count, 'remote key')} "
            "not declared in jcstate.yaml):"
        )
        for key in report.undeclared_custom_fields:
            yield shown(f"  ? {key.key} (on {plural(key.contacts, 'contact')})")
        yield ""
    if report.conflicts:
        yield "Remote duplicates (one phone, several contacts; the lowest id is the match):"
        for conflict in report.conflicts:
            ids = ", ".join(str(i) for i in conflict.ids)
            yield shown(f"  ! {conflict.phone}: ids {ids}")
        yield ""
    if report.in_sync:
        yield "In sync: JustCall matches the declared contacts."
    yield coverage_line(report) + "."
    yield summary_line(report)


def iter_text(report: DriftReport, *, color: bool = False) -> Iterator[str]:
    """The text report in chunks of whole lines (`LINES_PER_CHUNK`), each ending with `\\n`.

    Each line that holds a remote value was escaped (`shown`) before any colour:
    no value brings a control character or a line break of its own, so a chunk
    can be masked on its own.
    """
    lines = _text_lines(report, color)
    while chunk := list(itertools.islice(lines, LINES_PER_CHUNK)):
        yield "".join(line + "\n" for line in chunk)


def render_text(report: DriftReport, *, color: bool = False) -> str:
    return "".join(iter_text(report, color=color))


# ---------------------------------------------------------------------------
# markdown
# ---------------------------------------------------------------------------


def _cell(value: str | None) -> str:
    """A remote or declared string in a table cell: a code span (`core.safe.md_code`)."""
    return md_code(value or "", table=True)


def _code(value: Any) -> str:
    """A field value as the YAML would write it (null, 42, "text"), in a code span."""
    return _cell(format_value(value))


@dataclass(frozen=True)
class _Rows:
    """The rows of one table: how many, and each made only when it is shown."""

    count: int
    rows: Callable[[], Iterable[Sequence[str]]]

    def first(self, cap: int | None) -> list[Sequence[str]]:
        return list(self.rows() if cap is None else itertools.islice(self.rows(), cap))


def _table(headers: Sequence[str], rows: _Rows, cap: int | None) -> list[str]:
    shown = rows.first(cap)
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out.extend("| " + " | ".join(row) + " |" for row in shown)
    if len(shown) < rows.count:
        out.append("")
        out.append(
            f"_… and {rows.count - len(shown)} more rows, left out to fit GitHub's size limit "
            "(`jcstate drift --format json` has them all)._"
        )
    return out


def _changed_rows(changed: Sequence[ChangedContact]) -> Iterator[list[str]]:
    for item in changed:
        for drift in item.fields:
            yield [
                _cell(item.phone),
                _cell(drift.field),
                _code(drift.declared),
                _code(drift.remote) + (" ⚠️" if not drift.adoptable else ""),
                md_text(item.when or ""),
                _cell(str(item.source)) if item.source else "",
            ]


def _tables(report: DriftReport) -> dict[str, _Rows]:
    """The rows of each table of the markdown report, made when shown."""
    return {
        "changed": _Rows(
            sum(len(item.fields) for item in report.changed),
            lambda: _changed_rows(report.changed),
        ),
        "missing": _Rows(
            len(report.missing),
            lambda: (
                [_cell(m.phone), _cell(str(m.source)) if m.source else ""] for m in report.missing
            ),
        ),
        "unmanaged": _Rows(
            len(report.unmanaged),
            lambda: (
                [
                    _cell(c.phone),
                    str(c.id),
                    *(_cell(c.fields.get(name)) for name in STANDARD_FIELDS),
                ]
                for c in report.unmanaged
            ),
        ),
        "undeclared": _Rows(
            len(report.undeclared_custom_fields),
            lambda: ([_cell(k.key), str(k.contacts)] for k in report.undeclared_custom_fields),
        ),
        "conflicts": _Rows(
            len(report.conflicts),
            lambda: ([_cell(c.phone), ", ".join(map(str, c.ids))] for c in report.conflicts),
        ),
    }


def _markdown(report: DriftReport, cap: int | None) -> str:
    counts = report.summary
    tables = _tables(report)
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
            tables["changed"],
            cap,
        )
        if any(not d.adoptable for item in report.changed for d in item.fields):
            lines += ["", "⚠️ cannot be adopted into YAML as it is (see the text report)."]
    if report.missing:
        lines += ["", f"### Missing remotely ({len(report.missing)})", ""]
        lines += _table(("Phone", "Declared in"), tables["missing"], cap)
    if report.unmanaged:
        lines += ["", f"### Unmanaged: in JustCall, not declared ({len(report.unmanaged)})", ""]
        headers = ("Phone", "Id", "First name", "Last name", "E-mail", "Company")
        lines += _table(headers, tables["unmanaged"], cap)
    if report.undeclared_custom_fields:
        lines += ["", f"### Undeclared custom fields ({len(report.undeclared_custom_fields)})", ""]
        lines += _table(("Key", "Contacts"), tables["undeclared"], cap)
    if report.conflicts:
        lines += ["", f"### Remote duplicates ({len(report.conflicts)})", ""]
        lines += _table(("Phone", "Ids (lowest is the match)"), tables["conflicts"], cap)
    if not report.in_sync:
        lines += [
            "",
            "Bring git up to date with `jcstate drift --adopt` (and `--adopt-unmanaged FILE`), "
            "or restore JustCall from git with `jcstate apply`.",
        ]
    lines += ["", f"_{summary_line(report)}_"]
    return "\n".join(lines) + "\n"


#: the fewest characters a table row takes, masked or not: `|  |  |` and its line break
_SHORTEST_ROW = 8


def _cannot_fit(report: DriftReport, cap: int | None) -> bool:
    """True when the rows a cap shows are too many for any document to fit the limit."""
    shown = sum(
        rows.count if cap is None else min(cap, rows.count) for rows in _tables(report).values()
    )
    return shown * _SHORTEST_ROW > MARKDOWN_LIMIT


def render_markdown(report: DriftReport, *, postprocess: Callable[[str], str] | None = None) -> str:
    """Markdown for an issue body; rows are cut, with a note, to stay under GitHub's limit.

    `postprocess` (e.g. PII masking) is applied before measuring the size. A cap
    that shows more rows than could ever fit is not tried (its document is not
    built), and only the rows a cap shows are made.
    """
    text = ""
    for cap in _ROW_CAPS:
        if cap != _ROW_CAPS[-1] and _cannot_fit(report, cap):
            continue
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


def _changed_dict(item: ChangedContact) -> dict[str, Any]:
    return {
        "phone": item.phone,
        "id": item.id,
        "source": str(item.source) if item.source else None,
        "when": item.when,
        "fields": [_field_dict(drift) for drift in item.fields],
    }


def _members(
    report: DriftReport, violations: Sequence[RuleViolation] | None = None
) -> Iterator[tuple[str, Any]]:
    """The members of the JSON report, in order; the long lists as `Items`.

    `rule_violations` comes last, when the project has contact rules.
    """
    yield "format_version", FORMAT_VERSION
    yield "in_sync", report.in_sync
    yield "summary", report.summary
    yield "coverage_percent", report.coverage_percent
    yield "managed", report.managed
    yield "in_scope", report.in_scope
    yield "changed", Items(_changed_dict(item) for item in report.changed)
    yield (
        "missing",
        Items(
            {"phone": m.phone, "id": m.id, "source": str(m.source) if m.source else None}
            for m in report.missing
        ),
    )
    yield "unmanaged", Items(_remote_dict(contact) for contact in report.unmanaged)
    yield (
        "undeclared_custom_fields",
        [{"key": key.key, "contacts": key.contacts} for key in report.undeclared_custom_fields],
    )
    yield "conflicts", [{"phone": c.phone, "ids": list(c.ids)} for c in report.conflicts]
    if violations is not None:
        yield "rule_violations", [v.to_dict() for v in violations]


def report_to_dict(report: DriftReport) -> dict[str, Any]:
    """The JSON report as one dict (what `iter_json` writes, member by member)."""
    return {
        key: list(value.items) if isinstance(value, Items) else value
        for key, value in _members(report)
    }


def iter_json(
    report: DriftReport, *, violations: Sequence[RuleViolation] | None = None
) -> Iterator[str]:
    """The JSON report in chunks; control, C1 and bidi characters as `\\u` escapes."""
    for chunk in iter_object(_members(report, violations), end="\n", default=str):
        yield json_safe(chunk)


def render_json(report: DriftReport) -> str:
    """The report as JSON; control, C1 and bidi characters as `\\u` escapes (`core.safe`)."""
    return "".join(iter_json(report))


def _rules_section(violations: Sequence[RuleViolation], output_format: str) -> str:
    """What `drift` adds after a text or markdown report: the broken contact rules."""
    head = f"Rules: {violations_summary(violations)} in remote contacts in scope"
    if output_format == "markdown":
        lines = [f"- {violation_markdown(v)}" for v in violations]
        return f"\n### {head}\n\n" + "\n".join(lines) + "\n"
    lines = [f"  {violation_text(v)}" for v in violations]
    return f"\n{head}\n" + "\n".join(lines) + "\n"


def iter_drift(
    report: DriftReport,
    output_format: str,
    *,
    color: bool,
    mask_pii: bool,
    violations: Sequence[RuleViolation] | None = None,
) -> Iterator[str]:
    """The chunks of `jcstate drift`'s document in `output_format` (text, markdown, json).

    JSON and text stream; markdown is one chunk (cut to GitHub's limit). With
    `mask_pii` every chunk is masked (and the text has no colour). `violations`:
    the broken contact rules (None: the project has none), JSON's last member,
    a section after a text or markdown report when there are any.
    """
    clean: Callable[[str], str] = mask_text if mask_pii else str
    if output_format == "json":
        for chunk in iter_json(report, violations=violations):
            yield clean(chunk)
        return
    if output_format == "markdown":
        yield render_markdown(report, postprocess=mask_text if mask_pii else None)
    else:
        for chunk in iter_text(report, color=color and not mask_pii):
            yield clean(chunk)
    if violations:
        yield clean(_rules_section(violations, output_format))


RENDERERS: Mapping[str, Callable[[DriftReport], str]] = {
    "text": render_text,
    "markdown": render_markdown,
    "json": render_json,
}

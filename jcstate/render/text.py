"""The plan as text, like Terraform: `+` create, `~` update, `-` delete.

Pure: `render_text(plan, color=..., mask_pii=...) -> str`, and `iter_text(...)`,
the same text in chunks of a few hundred changes (`plan` writes them as they
come, so a plan of 300,000 changes is never one string). Unchanged contacts
are hidden; changed attributes show as `old -> new`. The cost line comes
just before the last line, which is always
``Plan: N to create, N to update, N to delete, N unchanged.``

Every line is passed through `core.safe.shown` before it is coloured: a
remote value's control characters (a line break, an escape sequence, a bidi
override) are shown escaped, so a value never begins a line of its own.
"""

from __future__ import annotations

from collections.abc import Iterator

import click

from jcstate.core.changeset import ChangedSince
from jcstate.core.plan import Action, Change, Plan
from jcstate.core.safe import shown
from jcstate.render import cost_line, field_change_text, plan_summary_line
from jcstate.render.mask import mask_text
from jcstate.render.rules import plan_rules_text

_SIGN = {Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-"}
_COLOR = {Action.CREATE: "green", Action.UPDATE: "yellow", Action.DELETE: "red"}


def _header(change: Change) -> str:
    parts = [f"{_SIGN[change.action]} {change.phone}"]
    if change.id is not None:
        parts.append(f"(id {change.id})")
    if change.adopt:
        parts.append("adopt")
    if change.source is not None:
        parts.append(f"# {change.source}")
    return "  ".join(parts)


def _change_lines(change: Change) -> list[str]:
    lines = []
    for field_change in change.changes:
        lines.append(
            f"      {field_change.field}: {field_change_text(change.action, field_change)}"
        )
    return lines


#: changes rendered into one chunk of `iter_text`
CHANGES_PER_CHUNK = 500


def render_text(
    plan: Plan,
    *,
    color: bool = False,
    mask_pii: bool = False,
    changed_since: ChangedSince | None = None,
) -> str:
    """The plan for a terminal or a CI log; ends with the summary line and a newline."""
    return "".join(iter_text(plan, color=color, mask_pii=mask_pii, changed_since=changed_since))


def iter_text(
    plan: Plan,
    *,
    color: bool = False,
    mask_pii: bool = False,
    changed_since: ChangedSince | None = None,
) -> Iterator[str]:
    """The chunks of `render_text(plan, ...)`, in order; each ends with a newline."""

    def paint(text: str, colour: str | None, bold: bool = False) -> str:
        return click.style(text, fg=colour, bold=bold) if color else text

    def clean(text: str) -> str:
        """One line as shown: masked first (the masks read the raw values), then escaped."""
        return shown(mask_text(text) if mask_pii else text)

    out: list[str] = [paint(clean(line), "red") for line in plan_rules_text(plan.rule_violations)]
    if plan.changes:
        out.append("jcstate will perform the following actions:")
        out.append("")
        for number, change in enumerate(plan.changes, start=1):
            colour = _COLOR[change.action]
            out.append(paint(clean("  " + _header(change)), colour, bold=True))
            out.extend(paint(clean(line), colour) for line in _change_lines(change))
            out.append("")
            if number % CHANGES_PER_CHUNK == 0:
                yield "".join(line + "\n" for line in out)
                out = []
    else:
        out.append("No changes. The remote contacts match the declared ones.")
        out.append("")
    if not plan.safe:
        out.append(paint("UNSAFE PLAN: apply refuses it without --force:", "red", bold=True))
        out.extend(paint(clean(f"  ! {reason}"), "red") for reason in plan.unsafe_reasons)
        out.append("")
    if plan.warnings:
        out.append(paint("Warnings:", "yellow", bold=True))
        out.extend(clean(f"  - {warning}") for warning in plan.warnings)
        out.append("")
    if plan.undeclared_custom_fields:
        keys = ", ".join(plan.undeclared_custom_fields)
        out.append(clean(f"Undeclared remote custom fields (left untouched): {keys}"))
    out.extend(clean(f"Note: {note}") for note in plan.notes)
    if changed_since is not None:
        out.append(clean(changed_since.line()))
    out.append(cost_line(plan.cost))
    # Bold in the terminal's own foreground: white would vanish on a light background.
    out.append(paint(plan_summary_line(plan), None, bold=True))
    yield "".join(line + "\n" for line in out)

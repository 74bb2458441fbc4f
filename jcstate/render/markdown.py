"""The plan as one GitHub pull-request comment (markdown).

Pure: `render_markdown(plan, mask_pii=...) -> str`. A summary table, the
unsafe reasons and warnings up front (GitHub alert blocks), then one
collapsible `<details>` section per action holding a `diff` block. The result
always stays under GitHub's 65,536-character comment limit: when the details
do not fit, the last ones are left out and a note says how many.

Remote values are data (`core.safe`): a custom-field key is a code span
(`md_code`), the warnings and notes that quote remote phones are escaped
markdown text (`md_text`), and each line of a `diff` block is escaped like a
line of the text plan, so no value ends the block, the `<details>` or a line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from jcstate.core.changeset import ChangedSince
from jcstate.core.plan import Action, Change, Plan
from jcstate.core.safe import md_code, md_text, shown
from jcstate.render import (
    cost_line,
    field_change_text,
    plan_summary_line,
    plural,
)
from jcstate.render.mask import mask_text
from jcstate.render.rules import plan_rules_markdown

#: GitHub refuses comments longer than this many characters.
MARKDOWN_LIMIT = 65_536
#: at most this many warning lines before "... and N more"
MAX_WARNINGS = 50

_TITLES = {Action.CREATE: "Create", Action.UPDATE: "Update", Action.DELETE: "Delete"}
_SIGN = {Action.CREATE: "+", Action.UPDATE: "!", Action.DELETE: "-"}


def _fence(body: str) -> str:
    longest = 2
    run = 0
    for char in body:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    return "`" * (longest + 1)


def _entry(change: Change) -> str:
    """One change as lines of a ```diff block (GitHub colours + green, - red, ! orange)."""
    sign = _SIGN[change.action]
    head = f"{sign} {change.phone}"
    if change.id is not None:
        head += f"  (id {change.id})"
    if change.adopt:
        head += "  adopt"
    if change.source is not None:
        head += f"  # {change.source}"
    lines = [head]
    for item in change.changes:
        lines.append(f"{sign}     {item.field}: {field_change_text(change.action, item)}")
    return "".join(shown(line) + "\n" for line in lines)


def _bullets(items: Sequence[str], clean: Callable[[str], str]) -> list[str]:
    listed = [f"> - {md_text(clean(item))}" for item in items[:MAX_WARNINGS]]
    if len(items) > MAX_WARNINGS:
        listed.append(f"> - ... and {len(items) - MAX_WARNINGS} more")
    return listed


def _head(
    plan: Plan, clean: Callable[[str], str], changed_since: ChangedSince | None = None
) -> str:
    counts = plan.summary
    out = [
        "### jcstate plan",
        "",
        f"**{plan_summary_line(plan)}**",
        "",
        "| Action | Contacts |",
        "| --- | ---: |",
        f"| ➕ Create | {counts['create']} |",
        f"| ✏️ Update | {counts['update']} |",
        f"| ➖ Delete | {counts['delete']} |",
        f"| Unchanged | {counts['unchanged']} |",
        "",
        *(clean(line) for line in plan_rules_markdown(plan.rule_violations)),
    ]
    if not plan.safe:
        out += ["> [!CAUTION]", "> **Unsafe plan**: `jcstate apply` refuses it without `--force`."]
        out += _bullets(plan.unsafe_reasons, clean)
        out.append("")
    if plan.warnings:
        out += ["> [!WARNING]", f"> **{plural(len(plan.warnings), 'warning')}**"]
        out += _bullets(plan.warnings, clean)
        out.append("")
    notes = _bullets(plan.notes, clean)
    if plan.undeclared_custom_fields:
        keys = ", ".join(md_code(clean(k)) for k in plan.undeclared_custom_fields[:MAX_WARNINGS])
        if len(plan.undeclared_custom_fields) > MAX_WARNINGS:
            keys += f" and {len(plan.undeclared_custom_fields) - MAX_WARNINGS} more"
        notes.append(f"> - Undeclared remote custom fields (left untouched): {keys}")
    if notes:
        out += ["> [!NOTE]", *notes, ""]
    if changed_since is not None:
        out += [md_text(changed_since.line()), ""]
    out += [cost_line(plan.cost), "", ""]
    return "\n".join(out)


def _section(action: Action, total: int, entries: Sequence[str], left_out: int) -> str:
    out = [f"<details><summary><b>{_TITLES[action]}</b> ({total:,})</summary>", ""]
    if entries:
        body = "".join(entries)
        fence = _fence(body)
        out += [f"{fence}diff", body.rstrip("\n"), fence, ""]
    if left_out:
        more = f"{left_out:,} more" if entries else f"All {left_out:,}"
        out += [f"_{more} not shown (comment size limit)._", ""]
    out += ["</details>", ""]
    return "\n".join(out)


#: which details get the room first when not everything fits: destructive first
_PRIORITY = (Action.DELETE, Action.UPDATE, Action.CREATE)


def render_markdown(
    plan: Plan,
    *,
    mask_pii: bool = False,
    limit: int = MARKDOWN_LIMIT,
    changed_since: ChangedSince | None = None,
) -> str:
    """One PR comment, shorter than `limit` characters.

    When the details do not all fit, deletes get the room first, then updates,
    then creates; each section says how many of its changes it leaves out.
    """

    def clean(text: str) -> str:
        return mask_text(text) if mask_pii else text

    head = _head(plan, clean, changed_since)
    if not plan.changes:
        return head + "No changes. The remote contacts match the declared ones.\n"
    groups = {action: [c for c in plan.changes if c.action is action] for action in Action}
    # Room for the section wrappers and the closing note, measured generously.
    reserve = 600 + 200 * len(Action)
    budget = limit - len(head) - reserve
    shown: dict[Action, list[str]] = {action: [] for action in Action}
    for action in _PRIORITY:
        for change in groups[action]:
            entry = clean(_entry(change))
            if len(entry) > budget:
                break
            budget -= len(entry)
            shown[action].append(entry)
    sections: list[str] = []
    omitted = 0
    for action in Action:
        if not groups[action]:
            continue
        left_out = len(groups[action]) - len(shown[action])
        omitted += left_out
        sections.append(_section(action, len(groups[action]), shown[action], left_out))
    tail = ""
    if omitted:
        changes = f"{omitted:,} change{'' if omitted == 1 else 's'}"
        tail = (
            f"\n> [!NOTE]\n> {changes} left out of this comment to stay "
            f"under GitHub's {limit:,}-character limit; run `jcstate plan` or read the JSON "
            "plan (`--format json`) for every change.\n"
        )
    text = head + "\n".join(sections) + tail
    if len(text) >= limit:  # only when the head alone is huge; never exceed the limit
        # At a line break: a cut inside a code span would let the rest of a
        # remote value be read as markdown.
        keep = max(text.rfind("\n", 0, limit - 100), 0)
        text = text[:keep] + "\n\n_(cut to fit GitHub's comment size limit)_\n"
    return text

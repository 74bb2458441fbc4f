"""Broken `rules:` as lines: for `validate`, the plan renderers, `import` and `drift`. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from jcstate.core.model import RuleViolation
from jcstate.core.safe import md_text, shown


def violation_place(violation: RuleViolation) -> str:
    """Where the violation is: the contact's file:line:col, a source row, a phone, or the plan."""
    if violation.source is not None:
        source = violation.source
        return f"{source.file}:{source.line}:{source.col}"
    if violation.row is not None:
        return f"row {violation.row}"
    return shown(violation.phone) if violation.phone is not None else "plan"


def violation_text(violation: RuleViolation, *, place: bool = True) -> str:
    """`contacts/a.yaml:4:5: error: MESSAGE (rule NAME, jcstate.yaml:12)`; why, if not evaluated.

    Without `place`, neither the place nor the level (a GitHub annotation has both).
    A phone or a reason may come from the account: both are shown as data.
    """
    where = f"{violation_place(violation)}: {violation.level}: " if place else ""
    subject = (
        f" [{shown(violation.phone)}]" if violation.phone and violation.source is not None else ""
    )
    text = (
        f"{where}{violation.message} (rule {violation.rule}, "
        f"{violation.rule_file}:{violation.rule_line}){subject}"
    )
    if violation.detail is not None:
        text += f": {shown(violation.detail)}"
    return text


def violations_summary(violations: Sequence[RuleViolation]) -> str:
    errors = sum(1 for v in violations if v.is_error)
    warnings = len(violations) - errors
    parts = []
    if errors:
        parts.append(f"{errors} rule error{'' if errors == 1 else 's'}")
    if warnings:
        parts.append(f"{warnings} rule warning{'' if warnings == 1 else 's'}")
    return " and ".join(parts)


def refused_rules(violations: Sequence[RuleViolation], forced: Sequence[str] = ()) -> list[str]:
    """The names of the error rules broken and not forced, in order of first violation."""
    names: list[str] = []
    for violation in violations:
        if violation.is_error and violation.rule not in forced and violation.rule not in names:
            names.append(violation.rule)
    return names


def plan_rules_text(violations: Sequence[RuleViolation] | None) -> list[str]:
    """The block at the top of a text plan (no lines when nothing is broken)."""
    if not violations:
        return []
    out = [f"Rules: {violations_summary(violations)}"]
    out.extend(f"  {violation_text(v)}" for v in violations[:200])
    if len(violations) > 200:
        out.append(f"  ... and {len(violations) - 200} more")
    if refused_rules(violations):
        out.append("  apply refuses this plan unless each error rule is named: --force-rule NAME")
    out.append("")
    return out


def plan_rules_markdown(violations: Sequence[RuleViolation] | None, limit: int = 50) -> list[str]:
    """The alert at the top of the pull-request comment."""
    if not violations:
        return []
    kind = "[!CAUTION]" if refused_rules(violations) else "[!WARNING]"
    out = ["> " + kind, f"> **{violations_summary(violations)}**"]
    out.extend(f"> - {violation_markdown(v)}" for v in violations[:limit])
    if len(violations) > limit:
        out.append(f"> - ... and {len(violations) - limit} more")
    if refused_rules(violations):
        out.append("> `jcstate apply` refuses this plan unless each error rule is named")
        out.append("> (`--force-rule NAME`).")
    out.append("")
    return out


def violation_markdown(violation: RuleViolation) -> str:
    """One violation as plain markdown text for a list item (nothing in it is markup)."""
    return md_text(violation_text(violation))

"""`rules:` in the commands: check a plan (both kinds), refuse it, re-check a saved plan."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

import click

from jcstate.core.model import Project, RemoteContact, RuleViolation
from jcstate.core.plan import Plan
from jcstate.core.rules import check_contacts, check_plan, project_rules
from jcstate.errors import RuleViolationError
from jcstate.render.rules import refused_rules, violation_text

T = TypeVar("T")

force_rule_option = click.option(
    "--force-rule",
    "force_rules",
    multiple=True,
    metavar="NAME",
    help="Apply even though the error rule NAME of `rules:` is broken (repeatable).",
)


def plan_violations(
    project: Project, plan: Plan, remote: Iterable[RemoteContact] = ()
) -> tuple[RuleViolation, ...] | None:
    """Every broken rule (contact rules first), or None when the project has no rules."""
    rules = project_rules(project)
    if not rules.rules:
        return None
    return (
        *check_contacts(rules, project.desired.contacts),
        *check_plan(rules, plan, remote, project.desired.custom_field_defs),
    )


def with_rules(project: Project, plan: Plan, remote: Iterable[RemoteContact] = ()) -> Plan:
    """The plan with its `rule_violations` computed from the project (never from a file)."""
    return dataclasses.replace(plan, rule_violations=plan_violations(project, plan, remote))


def with_rules_run(project: Project, run: T) -> T:
    """A `PlanRun` whose plan carries its rule violations."""
    plan = with_rules(project, run.plan, run.remote.contacts)  # type: ignore[attr-defined]
    return dataclasses.replace(run, plan=plan)  # type: ignore[type-var]


def check_forced_names(project: Project, forced: Sequence[str]) -> None:
    names = {rule.name for rule in project.config.rules}
    for name in forced:
        if name not in names:
            known = ", ".join(sorted(names)) or "none"
            raise RuleViolationError(
                f"--force-rule {name}: jcstate.yaml has no rule of that name (rules: {known})"
            )


def refuse_broken_rules(plan: Plan, forced: Sequence[str]) -> None:
    """Raise when an error rule is broken and not named by `--force-rule`."""
    violations = plan.rule_violations or ()
    refused = refused_rules(violations, forced)
    if not refused:
        return
    lines = [f"  - {violation_text(v)}" for v in violations if v.rule in refused][:50]
    options = " ".join(f"--force-rule {name}" for name in refused)
    raise RuleViolationError(
        "refusing to apply a plan that breaks the project's rules "
        f"(pass {options} to apply it anyway):\n" + "\n".join(lines)
    )


def rule_checked_recheck(
    project: Project, forced: Sequence[str], recheck: Callable[[], Awaitable[Any]]
) -> Callable[[], Awaitable[Any]]:
    """Wrap a saved plan's re-plan: its rules are checked on the fresh plan, from the project."""

    async def checked() -> Any:
        plan, remote = await recheck()
        refuse_broken_rules(with_rules(project, plan, remote.contacts), forced)
        return plan, remote

    return checked


def saved_with_rules(ctx: click.Context, plan: Plan) -> Plan:
    """`show`: a saved plan with the rules of the project found here checked again.

    With no jcstate.yaml in reach, no rule is shown (and none taken from the file).
    """
    from jcstate.commands._project import project_from_ctx
    from jcstate.errors import ProjectNotFoundError

    try:
        project = project_from_ctx(ctx)
    except ProjectNotFoundError:
        return dataclasses.replace(plan, rule_violations=None)
    return with_rules(project, plan)


def drift_rules(
    project: Project,
    remote: Sequence[RemoteContact],
    text: str,
    output_format: str,
    postprocess: Callable[[str], str] | None = None,
) -> tuple[str, bool]:
    """`drift`: the report with the remote contacts in scope that break a contact rule.

    Returns the document and whether an error rule is broken (drift: exit 2).
    `postprocess` (`--mask-pii`) is applied to what this adds.
    """
    clean = postprocess if postprocess is not None else (lambda added: added)
    import json

    from jcstate.core.drift import is_marked
    from jcstate.core.rules import check_remote
    from jcstate.render.rules import violations_summary

    rules = project_rules(project)
    if not rules.of("contact"):
        return text, False
    ownership = project.desired.ownership
    in_scope = [contact for contact in remote if is_marked(contact, ownership)]
    found = check_remote(rules, in_scope, project.desired.custom_field_defs)
    broken = any(v.is_error for v in found)
    if output_format == "json":
        document = json.loads(text)
        document["rule_violations"] = [v.to_dict() for v in found]
        added = json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n"
        return clean(added), broken
    if not found:
        return text, broken
    head = f"Rules: {violations_summary(found)} in remote contacts in scope"
    if output_format == "markdown":
        from jcstate.render.rules import violation_markdown

        lines = [f"- {violation_markdown(v)}" for v in found]
        return text + clean(f"\n### {head}\n\n" + "\n".join(lines) + "\n"), broken
    lines = [f"  {violation_text(v)}" for v in found]
    return text + clean(f"\n{head}\n" + "\n".join(lines) + "\n"), broken

"""`rules:` in a run: check a plan (both kinds), refuse it, re-check a saved plan's re-plan."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from jcstate.core.model import Project, RemoteContact, RuleViolation
from jcstate.core.plan import Plan
from jcstate.core.rules import check_contacts, check_plan, project_rules
from jcstate.errors import RuleViolationError
from jcstate.remote.pipeline import PlanRun
from jcstate.render.rules import refused_rules, violation_text


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


def with_rules_run(project: Project, run: PlanRun) -> PlanRun:
    """A `PlanRun` whose plan carries its rule violations."""
    return dataclasses.replace(run, plan=with_rules(project, run.plan, run.remote.contacts))


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

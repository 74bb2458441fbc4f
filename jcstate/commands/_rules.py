"""`rules:` in the commands: `--force-rule`, a saved plan shown, drift's report.

Checking and refusing a plan is part of a run: `jcstate.runs.rules`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    # The models and the rules engine load when a command runs, not for `--help`.
    from jcstate.core.model import Project, RemoteContact, RuleViolation
    from jcstate.core.plan import Plan

force_rule_option = click.option(
    "--force-rule",
    "force_rules",
    multiple=True,
    metavar="NAME",
    help="Apply even though the error rule NAME of `rules:` is broken (repeatable).",
)


def saved_with_rules(ctx: click.Context, plan: Plan) -> Plan:
    """`show`: a saved plan with the rules of the project found here checked again.

    With no jcstate.yaml in reach, no rule is shown (and none taken from the file).
    """
    from jcstate.commands._project import project_from_ctx
    from jcstate.errors import ProjectNotFoundError
    from jcstate.runs.rules import with_rules

    try:
        project = project_from_ctx(ctx)
    except ProjectNotFoundError:
        return dataclasses.replace(plan, rule_violations=None)
    return with_rules(project, plan)


def drift_violations(
    project: Project, remote: Sequence[RemoteContact]
) -> tuple[tuple[RuleViolation, ...] | None, bool]:
    """`drift`: the remote contacts in scope that break a contact rule, and whether an
    error rule is broken (drift: exit 2). None when the project has no contact rules
    (the report then has no rules section, and its JSON no `rule_violations`)."""
    from jcstate.core.drift import is_marked
    from jcstate.core.rules import check_remote, project_rules

    rules = project_rules(project)
    if not rules.of("contact"):
        return None, False
    ownership = project.desired.ownership
    in_scope = [contact for contact in remote if is_marked(contact, ownership)]
    found = tuple(check_remote(rules, in_scope, project.desired.custom_field_defs))
    return found, any(v.is_error for v in found)

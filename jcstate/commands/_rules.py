"""`rules:` in the commands: `--force-rule`, a saved plan shown, drift's report.

Checking and refusing a plan is part of a run: `jcstate.runs.rules`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    # The models and the rules engine load when a command runs, not for `--help`.
    from jcstate.core.model import Project, RemoteContact
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
    from jcstate.core.rules import check_remote, project_rules
    from jcstate.core.safe import json_text
    from jcstate.render.rules import violation_text, violations_summary

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
        added = json_text(document, indent=2, default=str) + "\n"
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

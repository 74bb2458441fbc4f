"""`jcstate validate`: check every project file, offline; exit 0 valid, 1 invalid."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from jcstate.commands._project import project_from_ctx
from jcstate.core.text import plural
from jcstate.errors import ConfigError, Diagnostic

if TYPE_CHECKING:
    from jcstate.core.model import Project, RuleViolation


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotation(diagnostic: Diagnostic) -> str:
    """A GitHub Actions workflow command that annotates the file at the line."""
    return (
        f"::error file={_escape_property(diagnostic.file)},line={diagnostic.line},"
        f"col={diagnostic.col}::{_escape_data(diagnostic.message)}"
    )


def render_failure(diagnostics: Sequence[Diagnostic], output_format: str) -> str:
    summary = f"{plural(len(diagnostics), 'error')} found"
    if output_format == "json":
        errors = [
            {"file": d.file, "line": d.line, "col": d.col, "message": d.message}
            for d in diagnostics
        ]
        return json.dumps({"valid": False, "errors": errors}, indent=2)
    if output_format == "github":
        return "\n".join([*map(github_annotation, diagnostics), summary])
    return "\n".join([*map(str, diagnostics), summary])


def render_success(contacts: int, files: int, output_format: str) -> str:
    if output_format == "json":
        return json.dumps({"valid": True, "errors": [], "contacts": contacts, "files": files})
    return f"OK: {plural(contacts, 'contact')} in {plural(files, 'file')}"


@click.command("validate")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="text: file:line:col: message; json: one document; github: workflow annotations.",
)
@click.pass_context
def command(ctx: click.Context, output_format: str) -> None:
    """Check jcstate.yaml and every contacts file, offline. Exit 0 if valid, 1 if not.

    Every problem is reported with its file, line and column, all at once.
    """
    try:
        project = project_from_ctx(ctx)
    except ConfigError as exc:
        click.echo(render_failure(exc.diagnostics, output_format))
        ctx.exit(1)
    if project.config.rules:
        ctx.exit(_report_rules(project, output_format))
    click.echo(
        render_success(len(project.desired.contacts), len(project.contact_files), output_format)
    )


def _rule_annotation(violation: RuleViolation) -> str:
    from jcstate.render.rules import violation_text

    source = violation.source
    where = (
        f"file={_escape_property(source.file)},line={source.line},col={source.col},"
        if source is not None
        else f"file={_escape_property(violation.rule_file)},line={violation.rule_line},"
    )
    title = _escape_property(f"rule {violation.rule}")
    text = _escape_data(violation_text(violation, place=False))
    return f"::{violation.level} {where}title={title}::{text}"


def _report_rules(project: Project, output_format: str) -> int:
    """The contact rules' verdict on every declared contact: exit 1 on an error rule."""
    # The rules engine and the models load when validate runs, not for `--help`.
    from jcstate.core.rules import check_contacts, project_rules
    from jcstate.render.rules import violation_text, violations_summary

    violations = check_contacts(project_rules(project), project.desired.contacts)
    errors = sum(1 for v in violations if v.is_error)
    contacts, files = len(project.desired.contacts), len(project.contact_files)
    if output_format == "json":
        document = {
            "valid": not errors,
            "errors": [],
            "contacts": contacts,
            "files": files,
            "rule_violations": [v.to_dict() for v in violations],
        }
        click.echo(json.dumps(document, indent=2 if errors else None))
        return 1 if errors else 0
    lines = [
        _rule_annotation(v) if output_format == "github" else violation_text(v) for v in violations
    ]
    if errors:
        lines.append(f"{violations_summary(violations)} found")
    else:
        done = render_success(contacts, files, output_format)
        lines.append(f"{done} ({violations_summary(violations)})" if violations else done)
    click.echo("\n".join(lines))
    return 1 if errors else 0

"""`jcstate plan`: fetch the remote contacts and show what apply would change.

A thin shell: load the project, make the plan run (`jcstate.runs.plan`), render
(`jcstate.render`), optionally save the plan file, and pick the exit code:
0 ok, 1 error, 2 changes (with --detailed-exitcode).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from jcstate.commands._changed import changed_since_option, check_changed_since
from jcstate.commands._options import (
    api_options,
    app_context,
    check_mask_options,
    client_settings,
    listing_progress,
    mask_options,
    plan_format_option,
    warn_undeclared_targets,
)

if TYPE_CHECKING:
    from jcstate.core.changeset import ChangedSince
    from jcstate.core.model import Project
    from jcstate.core.plan import Plan, PlanOptions
    from jcstate.remote.client import ClientSettings
    from jcstate.remote.pipeline import PlanRun
    from jcstate.runs.plan import ChangedScope

EXIT_CHANGES = 2


async def _plan(
    project: Project,
    options: PlanOptions,
    settings: ClientSettings,
    *,
    refresh: str,
    parse_seconds: float,
    scope: ChangedScope | None = None,
) -> PlanRun:
    from jcstate.remote.client import JustCallClient
    from jcstate.runs.plan import plan_project

    async with JustCallClient(settings) as client:
        return await plan_project(
            project,
            client,
            options,
            refresh=refresh,
            scope=scope,
            progress=listing_progress(),
            parse_seconds=parse_seconds,
        )


def render(
    plan: Plan,
    output_format: str,
    *,
    color: bool,
    mask_pii: bool,
    changed_since: ChangedSince | None = None,
) -> str:
    """The plan document on stdout (`jcstate show` renders saved plans with it too)."""
    if output_format == "markdown":
        from jcstate.render.markdown import render_markdown

        return render_markdown(plan, mask_pii=mask_pii, changed_since=changed_since)
    if output_format == "json":
        from jcstate.render.json import render_json

        return render_json(plan, mask_pii=mask_pii, changed_since=changed_since)
    from jcstate.render.text import render_text

    return render_text(plan, color=color, mask_pii=mask_pii, changed_since=changed_since)


@click.command("plan")
@click.option(
    "--prune", is_flag=True, help="Delete in-scope remote contacts that are not declared."
)
@click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="PHONE",
    help="Plan only this phone (repeatable; without +country the project's default_region).",
)
@click.option(
    "--refresh",
    type=click.Choice(["auto", "full", "targeted"]),
    default="auto",
    show_default=True,
    help="full: list every contact; targeted: look up the declared phones one by one; "
    "auto: whichever takes fewer requests (always full with --prune).",
)
@plan_format_option
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Also save the plan to FILE (JSON, mode 0600) for `jcstate apply FILE`.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when the plan has changes (0: none, 1: error).",
)
@changed_since_option
@mask_options
@api_options
@click.option("--timings", is_flag=True, help="Print the time of each stage to stderr.")
@click.pass_context
def command(
    ctx: click.Context,
    prune: bool,
    targets: tuple[str, ...],
    refresh: str,
    output_format: str,
    out_file: Path | None,
    detailed_exitcode: bool,
    changed_since: str | None,
    mask_pii: bool,
    mask_pii_json: bool,
    api_url: str | None,
    insecure_http: bool,
    timings: bool,
) -> None:
    """Show the changes that would make JustCall match the declared contacts.

    Creates (+), updates (~) and, with --prune, deletes (-); the last line is
    `Plan: N to create, N to update, N to delete, N unchanged.` Read-only.
    Exit code 0 ok, 1 error, 2 changes with --detailed-exitcode.
    """
    from jcstate.commands._project import project_from_ctx, use_cache_from_ctx
    from jcstate.runs.plan import changed_scope, plan_options

    check_mask_options(output_format, mask_pii, mask_pii_json)
    check_changed_since(changed_since, targets)
    app = app_context(ctx)
    started = time.perf_counter()
    project = project_from_ctx(ctx)
    parse_seconds = time.perf_counter() - started
    options = plan_options(project, prune=prune, targets=targets)
    warn_undeclared_targets(targets, project, prune=prune)
    settings = client_settings(ctx, project, api_url, insecure_http)
    scope = changed_scope(project, changed_since, use_cache=use_cache_from_ctx(ctx))
    run = asyncio.run(
        _plan(project, options, settings, refresh=refresh, parse_seconds=parse_seconds, scope=scope)
    )
    record = run.changed_since
    started = time.perf_counter()
    text = render(
        run.plan,
        output_format,
        color=app.color,
        mask_pii=mask_pii,
        changed_since=record,
    )
    stage_times = {**run.timings, "render": time.perf_counter() - started}
    click.echo(text, nl=False)

    if out_file is not None:
        from jcstate.execute.planfile import save_plan

        save_plan(
            out_file,
            run.plan,
            project=project,
            api_url=settings.api_url,
            options=options,
            changed_since=record,
        )
        click.echo(
            f"Saved the plan to {out_file}; apply exactly these changes with "
            f"`jcstate apply {out_file}`.",
            err=True,
        )
    if timings:
        order = ("parse", "git", "fetch", "diff", "render")
        shown = ", ".join(
            f"{name} {stage_times[name]:.3f} s" for name in order if name in stage_times
        )
        click.echo(f"Timings: {shown}", err=True)
    if detailed_exitcode and run.plan.has_changes:
        ctx.exit(EXIT_CHANGES)

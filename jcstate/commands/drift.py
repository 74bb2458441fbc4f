"""`jcstate drift`: what changed in JustCall outside git (thin shell over jcstate.core.drift).

Exit codes: 0 in sync, 2 drift, 1 error. Read-only unless `--adopt`,
`--adopt-deletes` or `--adopt-unmanaged FILE`, which bring the remote state into
the hand-written YAML files (never into a file `jcstate import` generated).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import click

from jcstate.commands._options import (
    api_options,
    app_context,
    check_mask_options,
    client_settings,
    fetch_full_listing,
    lock_option,
    mask_options,
)
from jcstate.core.safe import shown

if TYPE_CHECKING:
    pass

EXIT_DRIFT = 2


@click.command("drift")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="The report on stdout (markdown: ready to paste into an issue).",
)
@mask_options
@click.option(
    "--adopt",
    is_flag=True,
    help="Write the remote values of changed managed fields into the YAML files, in place.",
)
@click.option(
    "--adopt-deletes",
    is_flag=True,
    help="Remove the contacts deleted in JustCall (the missing ones) from their hand-written "
    "files, comments kept.",
)
@click.option(
    "--adopt-unmanaged",
    "adopt_unmanaged_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Append the unmanaged remote contacts to FILE (created if missing).",
)
@lock_option
@api_options
@click.pass_context
def command(
    ctx: click.Context,
    output_format: str,
    mask_pii: bool,
    mask_pii_json: bool,
    adopt: bool,
    adopt_deletes: bool,
    adopt_unmanaged_file: Path | None,
    lock_timeout: float,
    api_url: str | None,
    insecure_http: bool,
) -> None:
    """Report how JustCall differs from the declared contacts (read-only unless --adopt).

    Sections: changed (declared contacts edited remotely), missing (declared,
    absent remotely), unmanaged (remote contacts in scope that are not
    declared) and undeclared remote custom-field keys, with the coverage.
    Exit code 0 in sync, 2 drift, 1 error.
    """
    from jcstate.commands._project import project_from_ctx
    from jcstate.commands._rules import drift_violations
    from jcstate.core.drift import compute_drift
    from jcstate.project.adopt import adopt_changed, adopt_unmanaged, describe
    from jcstate.project.adopt import adopt_deletes as adopt_deletes_from
    from jcstate.render.drift import iter_drift

    check_mask_options(output_format, mask_pii, mask_pii_json)
    project = project_from_ctx(ctx)
    adopting = adopt or adopt_deletes or adopt_unmanaged_file is not None
    if adopting:
        from jcstate.execute.lock import acquire

        # Held until the process ends: the adopting writes come last.
        ctx.with_resource(acquire(project.root, timeout=lock_timeout))
    color = app_context(ctx).color
    settings = client_settings(ctx, project, api_url, insecure_http)
    remote = asyncio.run(fetch_full_listing(settings, project.config.api.concurrency))
    report = compute_drift(project.desired, remote)

    violations, rules_broken = drift_violations(project, remote.contacts)
    document = iter_drift(
        report, output_format, color=color, mask_pii=mask_pii, violations=violations
    )
    for chunk in document:
        click.echo(chunk, nl=False)  # JSON and text stream: the report is never one string

    if adopt:
        for line in describe(adopt_changed(project, report)):
            click.echo(shown(line), err=True)
    if adopt_deletes:
        for line in describe(adopt_deletes_from(project, report)):
            click.echo(shown(line), err=True)
    if adopt_unmanaged_file is not None:
        for line in describe(adopt_unmanaged(project, report, adopt_unmanaged_file)):
            click.echo(shown(line), err=True)
    if adopting and not report.in_sync:
        click.echo("Run `jcstate plan` to check: the adopted contacts show no changes.", err=True)

    if not report.in_sync or rules_broken:
        ctx.exit(EXIT_DRIFT)

"""`jcstate drift`: what changed in JustCall outside git (thin shell over jcstate.drift).

Exit codes: 0 in sync, 2 drift, 1 error. Read-only unless `--adopt` or
`--adopt-unmanaged FILE`, which write the remote values into the YAML files.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from jcstate.errors import JcstateError

if TYPE_CHECKING:
    from jcstate.model import Project, RemoteState

EXIT_DRIFT = 2


async def _fetch(
    project: Project, api_url: str | None, insecure_http: bool, verbose: int
) -> RemoteState:
    from jcstate.client import JustCallClient, resolve_settings
    from jcstate.remote import fetch_remote

    settings = resolve_settings(
        project,
        api_url=api_url,
        env=os.environ,
        insecure_http=insecure_http,
        verbose=verbose,
    )
    async with JustCallClient(settings) as client:
        # Unmanaged contacts can only be seen in the complete listing.
        return await fetch_remote(
            client,
            refresh="full",
            prune=True,
            concurrency=project.config.api.concurrency,
            progress=sys.stderr.isatty(),
        )


@click.command("drift")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="The report on stdout (markdown: ready to paste into an issue).",
)
@click.option(
    "--mask-pii",
    is_flag=True,
    help="Mask phones and e-mail addresses in the text and markdown report.",
)
@click.option(
    "--mask-pii-json",
    is_flag=True,
    help="With --format json and --mask-pii: mask the JSON too (it then no longer "
    "identifies contacts).",
)
@click.option(
    "--adopt",
    is_flag=True,
    help="Write the remote values of changed managed fields into the YAML files, in place.",
)
@click.option(
    "--adopt-unmanaged",
    "adopt_unmanaged_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Append the unmanaged remote contacts to FILE (created if missing).",
)
@click.option("--api-url", metavar="URL", help="API base URL (overrides api.url).")
@click.option(
    "--insecure-http",
    is_flag=True,
    help="Allow plain http:// to a host that is not loopback.",
)
@click.pass_context
def command(
    ctx: click.Context,
    output_format: str,
    mask_pii: bool,
    mask_pii_json: bool,
    adopt: bool,
    adopt_unmanaged_file: Path | None,
    api_url: str | None,
    insecure_http: bool,
) -> None:
    """Report how JustCall differs from the declared contacts (read-only unless --adopt).

    Sections: changed (declared contacts edited remotely), missing (declared,
    absent remotely), unmanaged (remote contacts in scope that are not
    declared) and undeclared remote custom-field keys, with the coverage.
    Exit code 0 in sync, 2 drift, 1 error.
    """
    from jcstate.adopt import adopt_changed, adopt_unmanaged, describe
    from jcstate.commands._project import project_from_ctx
    from jcstate.drift import compute_drift
    from jcstate.render.drift import render_json, render_markdown, render_text
    from jcstate.render.mask import mask_text

    if mask_pii and output_format == "json" and not mask_pii_json:
        raise JcstateError(
            "--mask-pii does not mask JSON silently: JSON is for scripts that need the real "
            "phones; add --mask-pii-json to mask it anyway, or use --format text|markdown"
        )
    if mask_pii_json and not mask_pii:
        raise JcstateError("--mask-pii-json only makes sense with --mask-pii")

    project = project_from_ctx(ctx)
    verbose = int(getattr(ctx.find_root().obj, "verbose", 0))
    color = bool(getattr(ctx.find_root().obj, "color", False))
    remote = asyncio.run(_fetch(project, api_url, insecure_http, verbose))
    report = compute_drift(project.desired, remote)

    postprocess = mask_text if mask_pii else None
    if output_format == "markdown":
        text = render_markdown(report, postprocess=postprocess)
    else:
        if output_format == "json":
            text = render_json(report)
        else:
            text = render_text(report, color=color and not mask_pii)
        if postprocess is not None:
            text = postprocess(text)
    click.echo(text, nl=False)

    if adopt:
        for line in describe(adopt_changed(project, report)):
            click.echo(line, err=True)
    if adopt_unmanaged_file is not None:
        for line in describe(adopt_unmanaged(project, report, adopt_unmanaged_file)):
            click.echo(line, err=True)
    if (adopt or adopt_unmanaged_file is not None) and not report.in_sync:
        click.echo("Run `jcstate plan` to check: the adopted contacts show no changes.", err=True)

    if not report.in_sync:
        ctx.exit(EXIT_DRIFT)

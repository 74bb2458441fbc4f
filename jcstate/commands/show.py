"""`jcstate show PLANFILE`: render a saved plan (`jcstate plan --out`) again.

Zero API requests and no credentials: the plan file holds everything the
renderers need, so the output is exactly what `jcstate plan` printed for
that plan, in each format. Useful in CI to plan once and print the plan
several ways (a pull-request comment, the full log).
"""

from __future__ import annotations

from pathlib import Path

import click

from jcstate.commands._options import (
    app_context,
    check_mask_options,
    mask_options,
    plan_format_option,
)


@click.command("show")
@click.argument("planfile", type=click.Path(dir_okay=False, path_type=Path))
@plan_format_option
@mask_options
@click.pass_context
def command(
    ctx: click.Context,
    planfile: Path,
    output_format: str,
    mask_pii: bool,
    mask_pii_json: bool,
) -> None:
    """Print the saved plan PLANFILE as `jcstate plan` printed it (no API request).

    Needs no credentials. The changes come from the file; the project's
    `rules:` (when a jcstate.yaml is found) are checked again, never read from it.
    """
    from jcstate.commands._rules import saved_with_rules
    from jcstate.commands.plan import render
    from jcstate.execute.planfile import load_plan

    check_mask_options(output_format, mask_pii, mask_pii_json)
    saved = load_plan(planfile)
    text = render(
        saved_with_rules(ctx, saved.plan),
        output_format,
        color=app_context(ctx).color,
        mask_pii=mask_pii,
        changed_since=saved.changed_since,
    )
    click.echo(text, nl=False)

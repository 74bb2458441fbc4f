"""`jcstate fmt`: rewrite contacts files in canonical form, keeping comments."""

from __future__ import annotations

import click

from jcstate.commands._project import project_from_ctx
from jcstate.core.text import plural
from jcstate.errors import JcstateError


@click.command("fmt")
@click.option(
    "--check",
    is_flag=True,
    help="Change nothing; list the files that would change and exit 1 if any would.",
)
@click.pass_context
def command(ctx: click.Context, check: bool) -> None:
    """Format every contacts file: canonical key order and quoting, phones as E.164.

    Comments are kept. The project must validate first (fix what
    `jcstate validate` reports), so formatting never changes what a file
    declares.
    """
    # The loader and the formatter (pydantic, ruamel) are imported here, not for `--help`.
    from jcstate.project.config import display_path
    from jcstate.project.fmt import declared_contacts, format_contacts_text

    project = project_from_ctx(ctx)
    region = project.config.default_region
    changed: list[str] = []
    for path in project.contact_files:
        text = path.read_text(encoding="utf-8")
        formatted = format_contacts_text(text, region)
        if formatted == text:
            continue
        name = display_path(path, path.cwd())
        # A safety net: never write a file that reads back differently.
        if declared_contacts(formatted, project.config) != declared_contacts(text, project.config):
            raise JcstateError(
                f"fmt: the canonical form of {name} would not declare the same contacts; "
                "the file was left as it is (please report this as a bug)"
            )
        changed.append(name)
        if check:
            click.echo(name)
        else:
            tmp = path.with_name(f".{path.name}.jcstate-fmt")
            tmp.write_text(formatted, encoding="utf-8")
            tmp.replace(path)
            click.echo(f"formatted {name}")
    total = len(project.contact_files)
    if check:
        if changed:
            click.echo(f"{len(changed)} of {plural(total, 'file')} would be reformatted", err=True)
            ctx.exit(1)
        click.echo(f"{plural(total, 'file')} already formatted", err=True)
    else:
        click.echo(f"{len(changed)} of {plural(total, 'file')} reformatted", err=True)

"""`jcstate fmt`: rewrite contacts files in canonical form, keeping comments."""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from jcstate.commands._project import project_from_ctx, use_cache_from_ctx
from jcstate.core.text import plural
from jcstate.errors import JcstateError

if TYPE_CHECKING:
    from jcstate.core.model import Project


@click.command("fmt")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--check",
    is_flag=True,
    help="Change nothing; list the files that would change and exit 1 if any would.",
)
@click.option(
    "--diff",
    "show_diff",
    is_flag=True,
    help="Change nothing; print a unified diff of each file that would change "
    "and exit 1 if any would.",
)
@click.pass_context
def command(ctx: click.Context, files: tuple[Path, ...], check: bool, show_diff: bool) -> None:
    """Format the contacts files: canonical key order and quoting, phones as E.164.

    With FILE arguments, only those contacts files (the pre-commit hook
    passes the staged ones; naming jcstate.yaml formats every file). Comments
    are kept, and a contact that is already canonical is kept byte for byte.
    The project must validate first (fix what `jcstate validate` reports), so
    formatting never changes what a file declares.
    """
    # The loader, the cache and the formatter (pydantic, ruamel): imported here, not for --help.
    from jcstate.project.cache import CANONICAL_FACT, file_digest
    from jcstate.project.config import display_path, open_cache
    from jcstate.project.files import write_file
    from jcstate.project.fmt import format_file

    project = project_from_ctx(ctx)
    targets = _targets(project, files)
    cache = open_cache(project.root, project.config, use_cache_from_ctx(ctx))
    phones = _phones_by_file(project)
    changed: list[str] = []
    for path in targets:
        raw = path.read_bytes()
        digest = file_digest(raw)
        if cache is not None and cache.has_fact(CANONICAL_FACT, digest):
            continue
        text = raw.decode("utf-8")
        name = display_path(path, Path.cwd())
        formatted, same = format_file(text, project.config, phones.get(name))
        if formatted == text:
            if cache is not None:
                cache.put_fact(CANONICAL_FACT, digest)
            continue
        # A safety net: never write a file that reads back differently.
        if not same:
            raise JcstateError(
                f"fmt: the canonical form of {name} would not declare the same contacts; "
                "the file was left as it is (please report this as a bug)"
            )
        changed.append(name)
        if show_diff:
            click.echo(_unified_diff(name, text, formatted), nl=False)
        elif check:
            click.echo(name)
        else:
            write_file(path, formatted, root=project.root, keep_mode=True)
            click.echo(f"formatted {name}")
            if cache is not None:
                cache.put_fact(CANONICAL_FACT, file_digest(formatted.encode("utf-8")))
    total = len(targets)
    if check or show_diff:
        if changed:
            click.echo(f"{len(changed)} of {plural(total, 'file')} would be reformatted", err=True)
            ctx.exit(1)
        click.echo(f"{plural(total, 'file')} already formatted", err=True)
    else:
        click.echo(f"{len(changed)} of {plural(total, 'file')} reformatted", err=True)


def _targets(project: Project, files: Sequence[Path]) -> tuple[Path, ...]:
    """The contacts files to format: all of them, or those named (jcstate.yaml: all)."""
    from jcstate.project.config import display_path

    if not files:
        return project.contact_files
    known = {os.path.realpath(path): path for path in project.contact_files}
    config = os.path.realpath(project.config_path)
    picked: dict[str, Path] = {}
    for file in files:
        real = os.path.realpath(file)
        if real == config:
            return project.contact_files
        if real not in known:
            raise JcstateError(
                f"fmt: {file} is not a contacts file of this project "
                f"(the contacts globs of {display_path(project.config_path, Path.cwd())})"
            )
        picked[real] = known[real]
    return tuple(sorted(picked.values(), key=lambda path: path.as_posix()))


def _phones_by_file(project: Project) -> dict[str, dict[int, str]]:
    """The E.164 phone of each declared contact, by file and line (as the load read them)."""
    out: dict[str, dict[int, str]] = {}
    for contact in project.desired.contacts:
        source = contact.source
        if source is not None:
            out.setdefault(source.file, {})[source.line] = contact.phone
    return out


def _unified_diff(name: str, before: str, after: str) -> str:
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"a/{name}",
            tofile=f"b/{name}",
        )
    )

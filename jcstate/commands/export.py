"""`jcstate export`: write the remote account as contacts files (shell over project.export)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import click

from jcstate.commands._options import api_options, client_settings, fetch_full_listing
from jcstate.commands._project import project_dir_from_ctx
from jcstate.core.safe import shown
from jcstate.core.text import plural
from jcstate.errors import RefuseOverwriteError

if TYPE_CHECKING:
    from jcstate.core.model import Project, ProjectConfig
    from jcstate.project.export import ExportPlan
    from jcstate.remote.client import ClientSettings

#: warnings shown one by one before they are summarised
MAX_WARNINGS_SHOWN = 20


def _shell_project(config_path: Path, config: ProjectConfig) -> Project:
    """The project as far as the client needs it: no contacts are read for an export."""
    from jcstate.core.model import DesiredState, Project

    return Project(
        root=config_path.parent,
        config_path=config_path,
        config=config,
        contact_files=(),
        desired=DesiredState(contacts=()),
        digest="",
    )


def _declaring_files(
    root: Path, config: ProjectConfig, config_path: Path, replaceable: Callable[[Path], bool]
) -> list[Path]:
    """Contacts files matched by the globs that declare contacts and that the export keeps."""
    from jcstate.project.config import expand_globs
    from jcstate.project.yamlio import YamlProblem, parse_fast, read_limited

    paths, _ = expand_globs(root, config.contacts, config_path)
    declaring: list[Path] = []
    for path in paths:
        if replaceable(path.resolve()):
            continue
        try:
            data = parse_fast(read_limited(path)).data
        except (YamlProblem, OSError):
            declaring.append(path)
            continue
        if isinstance(data, dict) and data.get("contacts"):
            declaring.append(path)
    return declaring


@click.command("export")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for the contacts files (default: the directory of the first "
    "contacts glob, e.g. contacts/).",
)
@click.option(
    "--split-by",
    type=click.Choice(["none", "company"]),
    default="none",
    show_default=True,
    help="none: one file, exported.yaml; company: one file per company (slugified name).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Overwrite existing files; with contacts declared in other files, export only "
    "the remote contacts not declared yet.",
)
@click.option(
    "--pins",
    is_flag=True,
    help="Write each contact's `id:` pin, so that a phone changed in git later is an "
    "update of the same contact.",
)
@api_options
@click.pass_context
def command(
    ctx: click.Context,
    out_dir: Path | None,
    split_by: Literal["none", "company"],
    force: bool,
    pins: bool,
    api_url: str | None,
    insecure_http: bool,
) -> None:
    """Write the remote contacts (all, or the ownership scope) as contacts files.

    Canonical `fmt` form, phones in E.164, sorted by phone. Remote custom-field
    keys that jcstate.yaml does not declare are added to it (typed `string`
    unless all values are integers, numbers, booleans or dates), and a contacts
    glob is added if none matches the written files. Right after an export,
    `jcstate plan` shows no changes.
    """
    from jcstate.commands.init import CONTACTS_SCHEMA
    from jcstate.project.config import load_config_only, load_project
    from jcstate.project.export import (
        DEFAULT_FILE_NAME,
        build_export,
        check_overwrite,
        contacts_dir_of,
        edit_project_file,
        render_contacts_text,
        write_atomically,
    )

    config_path, config = load_config_only(project_dir_from_ctx(ctx))
    root = config_path.parent
    directory = (Path.cwd() / out_dir) if out_dir else root / contacts_dir_of(config.contacts)
    directory = directory.resolve()

    default_target = directory / DEFAULT_FILE_NAME

    def replaceable(path: Path) -> bool:
        # The files this export may write: exported.yaml, or any file of the directory
        # with --split-by company (one per company, known only after the listing).
        return path == default_target if split_by == "none" else path.parent == directory

    declaring = _declaring_files(root, config, config_path, replaceable)
    if declaring and not force:
        names = ", ".join(os.path.relpath(path) for path in declaring)
        raise RefuseOverwriteError(
            f"the project already declares contacts in {names}: an export would declare them "
            "twice, or leave them to be created. Delete those files first (in a new project: "
            "the example `jcstate init` wrote), or pass --force to export only the remote "
            "contacts that are not declared there"
        )
    if split_by == "none":
        # Refuse before the listing, which may take a while on a large account.
        check_overwrite([default_target], force=force, root=Path.cwd())
    skip_phones: frozenset[str] = frozenset()
    if declaring:
        project = load_project(project_dir_from_ctx(ctx))
        skip_phones = frozenset(
            contact.phone
            for contact in project.desired.contacts
            if contact.source is None
            or not replaceable(Path(os.path.abspath(contact.source.file)).resolve())
        )

    settings = client_settings(ctx, _shell_project(config_path, config), api_url, insecure_http)
    remote = asyncio.run(fetch_full_listing(settings, config.api.concurrency))
    plan = build_export(
        remote.contacts,
        defs=config.custom_fields,
        ownership=config.ownership,
        split_by=split_by,
        skip_phones=skip_phones,
        region=config.default_region,
        pins=pins,
    )
    schema = root / CONTACTS_SCHEMA
    # Editors validate the files against the schema `jcstate init` wrote, when there is one.
    schema_url = Path(os.path.relpath(schema, directory)).as_posix() if schema.exists() else None
    texts: dict[Path, str] = {
        directory / exported.name: render_contacts_text(
            exported.entries, exported.defaults, schema_url=schema_url
        )
        for exported in plan.files
    }
    check_overwrite(texts, force=force, root=Path.cwd())
    dead_globs = _globs_left_empty(root, config, config_path, list(texts))
    project_text = edit_project_file(
        config_path,
        root,
        files=list(texts),
        new_definitions=plan.new_definitions,
        drop_globs=dead_globs,
    )
    if project_text is not None:
        texts[config_path] = project_text
    write_atomically(texts, root)

    _report(plan, texts, config_path, directory, dead_globs, edited=project_text is not None)
    _say_next(project_dir_from_ctx(ctx), _another_account(ctx, settings, api_url, insecure_http))


def _report(
    plan: ExportPlan,
    texts: Mapping[Path, str],
    config_path: Path,
    directory: Path,
    dead_globs: Sequence[str],
    *,
    edited: bool,
) -> None:
    """The warnings, then what was written and what changed in jcstate.yaml."""
    for warning in plan.warnings[:MAX_WARNINGS_SHOWN]:
        click.echo(shown(f"Warning: {warning}"), err=True)
    if len(plan.warnings) > MAX_WARNINGS_SHOWN:
        click.echo(f"Warning: … and {len(plan.warnings) - MAX_WARNINGS_SHOWN} more", err=True)
    written = [os.path.relpath(path) for path in texts if path != config_path]
    where = (
        written[0] if len(written) == 1 else f"{len(written)} files in {os.path.relpath(directory)}"
    )
    click.echo(f"Exported {plural(plan.contacts, 'contact')} to {where}.")
    if plan.new_definitions:
        added = ", ".join(f"{key} ({kind})" for key, kind in plan.new_definitions.items())
        click.echo(shown(f"Declared custom fields in {os.path.relpath(config_path)}: {added}."))
    config_name = os.path.relpath(config_path)
    for glob in dead_globs:
        click.echo(
            f"Removed the contacts glob {glob!r} from {config_name}: it matches no file "
            "(a glob that matches nothing is an error); add it back once it has files."
        )
    if edited and not plan.new_definitions and not dead_globs:
        click.echo(f"Added a contacts glob to {config_name}.")


def _globs_left_empty(
    root: Path, config: ProjectConfig, config_path: Path, written: list[Path]
) -> list[str]:
    """The contacts globs that match no file now and none of the files being written."""
    from jcstate.project.config import expand_globs
    from jcstate.project.export import matches_globs

    _, empty = expand_globs(root, config.contacts, config_path)
    relative = [
        Path(os.path.relpath(path.resolve(), root.resolve())).as_posix() for path in written
    ]
    return [
        config.contacts[index]
        for index in empty
        if not any(matches_globs(name, [config.contacts[index]]) for name in relative)
    ]


def _another_account(
    ctx: click.Context, settings: ClientSettings, api_url: str | None, insecure_http: bool
) -> str | None:
    """The `--api-url` of this export when a plain `jcstate plan` would read another account.

    A plan reads `--api-url`, else JCSTATE_API_URL, else `api.url`: an export
    from `--api-url URL` and a plan without it may read two accounts.
    """
    from jcstate.core.urls import public_url
    from jcstate.errors import JcstateError
    from jcstate.project.config import load_config_only

    if api_url is None:
        return None
    config_path, config = load_config_only(project_dir_from_ctx(ctx))
    try:
        plain = client_settings(ctx, _shell_project(config_path, config), None, insecure_http)
    except JcstateError:
        return public_url(settings.api_url)
    if (plain.api_url, plain.sandbox_db) == (settings.api_url, settings.sandbox_db):
        return None
    return public_url(settings.api_url)


def _say_next(project_dir: Path | None, other_url: str | None = None) -> None:
    """The next step, once the written project is checked to load (offline).

    `other_url`: the export read an account that a plain `jcstate plan` does not.
    """
    from jcstate.errors import ConfigError
    from jcstate.project.config import load_project

    command = "`jcstate plan`" if other_url is None else f"`jcstate plan --api-url {other_url}`"
    try:
        load_project(project_dir)
    except ConfigError as exc:
        click.echo(
            f"Next: the project does not load yet; fix these, then {command} should "
            f"show no changes:\n{exc}"
        )
        return
    click.echo(f"Next: {command} should show no changes.")
    if other_url is not None:
        click.echo(
            f"A plain `jcstate plan` reads another account (api.url in jcstate.yaml, or "
            f"JCSTATE_API_URL): set api.url to {other_url} to manage this one."
        )

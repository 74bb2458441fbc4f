"""`jcstate init [DIR]`: a new project on the embedded sandbox, ready to plan and apply."""

from __future__ import annotations

import json
from pathlib import Path

import click

from jcstate.errors import RefuseOverwriteError
from jcstate.project.files import write_files

PROJECT_SCHEMA = "schemas/jcstate.schema.json"
CONTACTS_SCHEMA = "schemas/contacts.schema.json"
GITIGNORE_ENTRY = ".jcstate/"

#: After the yaml-language-server line that names the schema (see `project_files`).
PROJECT_TEMPLATE = """\
# The jcstate project file. Contacts live in the files the `contacts` globs match.
version: 1
api:
  # The embedded sandbox: a local SQLite file, so plan and apply work without an
  # account. For a real account use https://api.justcall.io and set
  # JUSTCALL_API_KEY and JUSTCALL_API_SECRET in the environment.
  url: sandbox://.jcstate/sandbox.db
default_region: US            # for phones written without +country
contacts: ["contacts/*.yaml"] # globs, relative to this file
custom_fields:                # the account's custom-field definitions
  lead_source: {type: enum, values: [Website, Referral, Event]}
  seats: {type: integer}
safety:
  max_delete_percent: 10      # a plan deleting more is refused without --force
  max_update_percent: 30
  min_existing: 10
"""

EXAMPLE_TEMPLATE = """\
# Each contact is identified by its phone (stored as E.164). A field you leave
# out is not managed; `null` means "must be empty".
version: 1
defaults:
  company: Example Inc
contacts:
  - phone: "+14155550123"
    first_name: Jordan
    last_name: Lee
    email: jordan@example.com
    custom_fields:
      lead_source: Website
      seats: 5
  - phone: "+14155550124"
    first_name: Sam
    last_name: Rivera
    email: sam@example.com
    custom_fields:
      lead_source: Referral
"""


def project_files() -> dict[str, str]:
    """What `init` writes, by path relative to the project directory."""
    # pydantic (the models behind both) is imported when init runs, not for `--help`.
    from jcstate.project.schema import json_schema
    from jcstate.project.yamlio import SCHEMA_COMMENT_PREFIX

    return {
        "jcstate.yaml": f"{SCHEMA_COMMENT_PREFIX}{PROJECT_SCHEMA}\n{PROJECT_TEMPLATE}",
        "contacts/example.yaml": f"{SCHEMA_COMMENT_PREFIX}../{CONTACTS_SCHEMA}\n{EXAMPLE_TEMPLATE}",
        PROJECT_SCHEMA: json.dumps(json_schema("project"), indent=2) + "\n",
        CONTACTS_SCHEMA: json.dumps(json_schema("contacts"), indent=2) + "\n",
    }


def _gitignore_text(existing: str | None) -> str | None:
    """The new .gitignore text, or None when it already ignores .jcstate/."""
    if existing is None:
        return f"# jcstate's local state (sandbox database, plan cache)\n{GITIGNORE_ENTRY}\n"
    entries = {line.strip() for line in existing.splitlines()}
    if entries & {GITIGNORE_ENTRY, "/.jcstate/", ".jcstate", "/.jcstate"}:
        return None
    prefix = existing if not existing or existing.endswith("\n") else existing + "\n"
    return prefix + GITIGNORE_ENTRY + "\n"


@click.command("init")
@click.argument(
    "directory",
    required=False,
    default=".",
    type=click.Path(file_okay=False, path_type=Path),
)
def command(directory: Path) -> None:
    """Create a project in DIRECTORY (default: here) that uses the embedded sandbox.

    Writes jcstate.yaml, contacts/example.yaml, JSON Schemas for editors under
    schemas/, and adds .jcstate/ to .gitignore. Refuses to overwrite any file.
    """
    files = project_files()
    existing = [name for name in files if (directory / name).exists()]
    if existing:
        where = "" if directory == Path(".") else f" in {directory}"
        raise RefuseOverwriteError(
            f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}{where}; "
            "init writes nothing over existing files"
        )
    gitignore = directory / ".gitignore"
    old = gitignore.read_text(encoding="utf-8") if gitignore.exists() else None
    new = _gitignore_text(old)
    writes: dict[Path, str | bytes] = {directory / name: text for name, text in files.items()}
    if new is not None:
        writes[gitignore] = new
    # Through the one writer: a link committed at any of these names is not followed out.
    write_files(writes, root=directory, mode=0o644, keep_mode=True)
    written = [*files, ".gitignore"] if new is not None else list(files)
    shown = "" if directory == Path(".") else f"{directory}/"
    for name in written:
        click.echo(
            f"created {shown}{name}"
            if name != ".gitignore" or old is None
            else f"updated {shown}{name}"
        )
    step = "" if directory == Path(".") else f"cd {directory} && "
    click.echo(f"Next: {step}jcstate validate && jcstate plan")

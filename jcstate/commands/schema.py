"""`jcstate schema`: the JSON Schema of the project's files, for editors."""

from __future__ import annotations

import json

import click


@click.command("schema")
@click.option(
    "--kind",
    type=click.Choice(["project", "contacts"]),
    default="project",
    show_default=True,
    help="project: jcstate.yaml; contacts: a contacts file.",
)
def command(kind: str) -> None:
    """Print the JSON Schema of jcstate.yaml or of a contacts file.

    Point yaml-language-server at it with a first line such as
    `# yaml-language-server: $schema=schemas/contacts.schema.json`.
    """
    from jcstate.project.schema import json_schema  # pydantic: not for `--help`

    click.echo(json.dumps(json_schema("contacts" if kind == "contacts" else "project"), indent=2))

"""`jcstate import`: turn the declared sources into generated contacts files (shell).

Named `import_` because `import` is a Python keyword; the command is `jcstate import`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from jcstate.core.text import plural
from jcstate.errors import JcstateError

if TYPE_CHECKING:
    from jcstate.project.sources.importer import SourceResult

#: the version of the --format json document
FORMAT_VERSION = 1


def _counts(result: SourceResult) -> dict[str, Any]:
    collected = result.collected
    return {
        "name": result.source.name,
        "kind": result.source.config.kind,
        "into": result.shown,
        "rows_read": collected.rows_read,
        "written": result.written,
        "skipped_by_skip_if": collected.skipped_by_skip_if,
        "merged_duplicates": collected.merged_duplicates,
        "invalid_rows": len(collected.invalid_rows),
        "added": result.changes.added,
        "changed": result.changes.changed,
        "removed": result.changes.removed,
        "file_changed": result.file_changed,
        "problems": [
            {
                "row": problem.row,
                "column": problem.column,
                "message": problem.message,
                "text": str(problem),
            }
            for problem in collected.problems
        ],
    }


def _summary(result: SourceResult, skip_invalid: bool) -> str:
    collected = result.collected
    invalid = (
        f", {len(collected.invalid_rows)} skipped as invalid"
        if skip_invalid and collected.invalid_rows
        else ""
    )
    changes = result.changes
    return (
        f"{result.source.name} -> {result.shown}: {collected.rows_read} rows read, "
        f"{result.written} written, {collected.skipped_by_skip_if} skipped by skip_if, "
        f"{collected.merged_duplicates} merged duplicates{invalid}; "
        f"{changes.added} added, {changes.changed} changed, {changes.removed} removed"
    )


@click.command("import")
@click.argument("names", nargs=-1, metavar="[NAME ...]")
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 2 when a generated file would change (0 when none would).",
)
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Write the good rows and list the bad ones (default: any bad row writes nothing).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: a summary per source; json: one document with the same counts.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Worker processes that check the phone numbers of a large source "
    "(default: one fewer than the CPUs, at most 4; 0: none). The result is the same.",
)
@click.pass_context
def command(
    ctx: click.Context,
    names: Sequence[str],
    check: bool,
    skip_invalid: bool,
    output_format: str,
    jobs: int | None,
) -> None:
    """Read each source of jcstate.yaml (all, or those NAMEd) into its generated file.

    Rows are mapped and checked with the rules of a contacts file; the `into`
    file is rewritten in canonical form, sorted by phone, atomically. Any bad
    row: every problem is listed, nothing is written, exit 1 (with
    --skip-invalid: the good rows are written). Exit 0 when done, 2 with
    --check when a file would change.
    """
    from pathlib import Path

    from jcstate.commands._project import project_dir_from_ctx
    from jcstate.project.config import load_config_only
    from jcstate.project.sources.config import parse_sources
    from jcstate.project.sources.importer import import_source, write_results

    config_path, config = load_config_only(project_dir_from_ctx(ctx))
    sources = parse_sources(config)
    unknown = [name for name in names if name not in sources]
    if unknown:
        known = ", ".join(sources) or "none"
        raise JcstateError(
            f"no source named {', '.join(unknown)} in jcstate.yaml (sources: {known})"
        )
    selected = [sources[name] for name in dict.fromkeys(names)] or list(sources.values())
    cwd = Path.cwd()
    results = [
        import_source(source, config, config_path.parent, cwd, workers=jobs) for source in selected
    ]
    problems = [p for result in results for p in result.collected.problems]
    failed = bool(problems) and not skip_invalid
    would_change = [result for result in results if result.file_changed]
    written: list[SourceResult] = []
    if not failed and not check:
        written = write_results(results)

    if output_format == "json":
        document = {
            "format_version": FORMAT_VERSION,
            "check": check,
            "ok": not failed,
            "written": [] if failed or check else [r.shown for r in written],
            "would_change": [r.shown for r in would_change],
            "sources": [_counts(result) for result in results],
        }
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        if not sources:
            click.echo("No sources declared in jcstate.yaml: nothing to import.")
        for problem in problems:
            prefix = "skipped " if skip_invalid else ""
            click.echo(f"{prefix}{problem}", err=True)
        for result in results:
            click.echo(_summary(result, skip_invalid))
        if failed:
            click.echo(
                f"{plural(len(problems), 'problem')} found: nothing written "
                "(fix the rows, translate the values, or pass --skip-invalid)",
                err=True,
            )
        elif check:
            for result in would_change:
                click.echo(f"{result.shown} would change")
            if not would_change and results:
                click.echo("Every generated file is up to date.")
        else:
            for result in written:
                click.echo(f"Wrote {result.shown}.")
            if not written and results:
                click.echo("Every generated file is up to date.")
    if failed:
        ctx.exit(1)
    if check and would_change:
        ctx.exit(2)

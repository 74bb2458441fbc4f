"""`jcstate import`: turn the declared sources into generated contacts files (shell).

Named `import_` because `import` is a Python keyword; the command is `jcstate import`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from jcstate.core.safe import json_text
from jcstate.core.text import plural
from jcstate.errors import JcstateError

if TYPE_CHECKING:
    from jcstate.core.model import ProjectConfig
    from jcstate.project.sources.config import Source
    from jcstate.project.sources.importer import SourceResult
    from jcstate.project.sources.mapping import RowProblem
    from jcstate.project.sources.owners import Claim

#: the version of the --format json document
FORMAT_VERSION = 1


def _counts(result: SourceResult, wrote: bool) -> dict[str, Any]:
    collected = result.collected
    return {
        "name": result.source.name,
        "kind": result.source.config.kind,
        "into": result.shown,
        "rows_read": collected.rows_read,
        # the contacts the file holds after this run: 0 when nothing was written
        "written": result.written if wrote else 0,
        # the contacts the generated file holds, or would hold
        "contacts": result.written,
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


def _summary(result: SourceResult, skip_invalid: bool, wrote: bool) -> str:
    """One source's line; when nothing was written, what would have been, and that nothing was."""
    collected = result.collected
    invalid = (
        f", {len(collected.invalid_rows)} skipped as invalid"
        if skip_invalid and collected.invalid_rows
        else ""
    )
    changes = result.changes
    if wrote:
        written = f"{result.written} written"
        counts = f"{changes.added} added, {changes.changed} changed, {changes.removed} removed"
        tail = ""
    else:
        written = f"{result.written} to write"
        counts = f"{changes.added} to add, {changes.changed} to change, {changes.removed} to remove"
        tail = " (nothing written)"
    return (
        f"{result.source.name} -> {result.shown}: {collected.rows_read} rows read, "
        f"{written}, {collected.skipped_by_skip_if} skipped by skip_if, "
        f"{collected.merged_duplicates} merged duplicates{invalid}; {counts}{tail}"
    )


@dataclass(frozen=True)
class _Run:
    """What an import did or would do (for the JSON document and the text lines)."""

    results: list[SourceResult]
    problems: list[RowProblem]
    claims: list[Claim]
    refused: bool
    failed: bool
    check: bool
    would_change: list[SourceResult]
    written: list[SourceResult]
    #: shown name of a hand-written file -> the contacts taken over from it
    taken_over: dict[str, int]

    @property
    def wrote(self) -> bool:
        return not self.failed and not self.check


def _document(run: _Run) -> dict[str, Any]:
    """The --format json document."""
    wrote = run.wrote
    return {
        "format_version": FORMAT_VERSION,
        "check": run.check,
        "ok": not run.failed,
        "written": [r.shown for r in run.written] + (list(run.taken_over) if wrote else []),
        "would_change": [r.shown for r in run.would_change] + list(run.taken_over),
        "sources": [_counts(result, wrote) for result in run.results],
        "claimed": [
            {
                "phone": claim.phone,
                "source": claim.source,
                "row": claim.row,
                "file": claim.file,
                "line": claim.line,
                "generated_by": claim.generated_by,
            }
            for claim in run.claims
        ],
        "taken_over": run.taken_over,
    }


def _echo_text(run: _Run, skip_invalid: bool) -> None:
    """The text output: problems and refusals (stderr), each source, then the files."""
    for problem in run.problems:
        prefix = "skipped " if skip_invalid else ""
        click.echo(f"{prefix}{problem}", err=True)
    if run.refused:
        for claim in run.claims:
            click.echo(str(claim), err=True)
    for result in run.results:
        click.echo(_summary(result, skip_invalid, run.wrote))
    for shown, count in run.taken_over.items():
        verb = "Took over" if run.wrote else "Would take over"
        click.echo(f"{verb} {plural(count, 'contact')} from {shown}.")
    if run.problems and not skip_invalid:
        click.echo(
            f"{plural(len(run.problems), 'problem')} found: nothing written "
            "(fix the rows, translate the values, or pass --skip-invalid)",
            err=True,
        )
    if run.refused:
        click.echo(
            f"{plural(len(run.claims), 'phone')} already declared in another contacts file: "
            "nothing written (a contact has one owner: remove those entries, or pass "
            "--take-over to move them from the hand-written files into the generated ones)",
            err=True,
        )
    if not run.failed:
        # (A failed run: what would have been written is in the lines above, and that
        # nothing was.)
        _echo_files(run)


def _echo_files(run: _Run) -> None:
    """The files that would change (--check) or were written."""
    if run.check:
        for result in run.would_change:
            click.echo(f"{result.shown} would change")
        changed = bool(run.would_change)
    else:
        for result in run.written:
            click.echo(f"Wrote {result.shown}.")
        changed = bool(run.written)
    for shown in run.taken_over:
        click.echo(f"{shown} would change" if run.check else f"Wrote {shown}.")
    if not changed and not run.taken_over and run.results:
        click.echo("Every generated file is up to date.")


def _import(
    selected: Sequence[Source],
    config_path: Path,
    config: ProjectConfig,
    *,
    jobs: int | None,
    check: bool,
    skip_invalid: bool,
    take_over: bool,
) -> _Run:
    """Read the sources, find the phones other files declare, and write unless told not to."""
    from jcstate.project.rules import rules_of
    from jcstate.project.sources.importer import import_source, write_results
    from jcstate.project.sources.owners import find_claims
    from jcstate.project.sources.owners import take_over as take_over_entries

    cwd = Path.cwd()
    rules = rules_of(config_path, config, cwd)
    results = [
        import_source(source, config, config_path.parent, cwd, workers=jobs, rules=rules)
        for source in selected
    ]
    problems = [p for result in results for p in result.collected.problems]
    claims, claimed_files = find_claims(results, config, config_path, cwd)
    edits = take_over_entries(claims, claimed_files, config.default_region) if take_over else {}
    refused = bool(claims) and not take_over
    failed = (bool(problems) and not skip_invalid) or refused
    would_change = [result for result in results if result.file_changed]
    written: list[SourceResult] = []
    if not failed and not check:
        written = write_results(
            results, config_path.parent, {path: edit[0] for path, edit in edits.items()}
        )
    run = _Run(
        results=results,
        problems=problems,
        claims=claims,
        refused=refused,
        failed=failed,
        check=check,
        would_change=would_change,
        written=written,
        taken_over={shown: count for _, shown, count in edits.values()},
    )
    return run


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
@click.option(
    "--take-over",
    is_flag=True,
    help="A phone a hand-written contacts file declares moves into the generated file: its "
    "entry is removed from that file (comments kept), in the same atomic change.",
)
@click.pass_context
def command(
    ctx: click.Context,
    names: Sequence[str],
    check: bool,
    skip_invalid: bool,
    output_format: str,
    jobs: int | None,
    take_over: bool,
) -> None:
    """Read each source of jcstate.yaml (all, or those NAMEd) into its generated file.

    Rows are mapped and checked with the rules of a contacts file; the `into`
    file is rewritten in canonical form, sorted by phone, atomically. Any bad
    row: every problem is listed, nothing is written, exit 1 (with
    --skip-invalid: the good rows are written). A phone that another contacts
    file declares is refused the same way (with --take-over: a hand-written
    file gives it up). Exit 0 when done, 2 with --check when a file would change.
    """
    from jcstate.commands._project import project_dir_from_ctx
    from jcstate.project.config import load_config_only
    from jcstate.project.sources.config import parse_sources

    config_path, config = load_config_only(project_dir_from_ctx(ctx))
    sources = parse_sources(config)
    unknown = [name for name in names if name not in sources]
    if unknown:
        known = ", ".join(sources) or "none"
        raise JcstateError(
            f"no source named {', '.join(unknown)} in jcstate.yaml (sources: {known})"
        )
    selected = [sources[name] for name in dict.fromkeys(names)] or list(sources.values())
    run = _import(
        selected,
        config_path,
        config,
        jobs=jobs,
        check=check,
        skip_invalid=skip_invalid,
        take_over=take_over,
    )
    if output_format == "json":
        click.echo(json_text(_document(run), indent=2))
    else:
        if not sources:
            click.echo("No sources declared in jcstate.yaml: nothing to import.")
        _echo_text(run, skip_invalid)
    if run.failed:
        ctx.exit(1)
    if check and (run.would_change or run.taken_over):
        ctx.exit(2)

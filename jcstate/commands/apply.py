"""`jcstate apply [PLANFILE]`: make the account match the files.

A thin shell over `jcstate.runs.apply`: parse the options, show the plan, ask for
'yes', draw the progress bar, print the report and pick the exit code.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from jcstate.commands._changed import changed_since_option, check_changed_since
from jcstate.commands._options import (
    api_options,
    app_context,
    client_settings,
    listing_progress,
    lock_option,
    progress_enabled,
    warn_undeclared_targets,
)
from jcstate.commands._rules import force_rule_option
from jcstate.core.safe import shown
from jcstate.errors import ApiUnavailableError, ApplyError, JcstateError, PlanFileError

if TYPE_CHECKING:
    from jcstate.core.changeset import ChangedSince
    from jcstate.core.outcome import ApplyReport, ItemResult
    from jcstate.core.plan import Plan
    from jcstate.runs.apply import Tally

CONFIRM_PROMPT = (
    "\nDo you want to perform these actions?\n"
    "  jcstate will perform the actions described above.\n"
    "  Only 'yes' will be accepted to approve.\n"
)
NOT_A_TERMINAL = (
    "refusing to apply without confirmation: stdin is not a terminal; pass --auto-approve"
)


@click.command("apply")
@click.argument("planfile", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--prune", is_flag=True, help="Delete remote contacts that are not declared.")
@click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="PHONE",
    help="Only plan and apply these phones (repeatable).",
)
@click.option("--auto-approve", is_flag=True, help="Apply without asking for 'yes'.")
@click.option("--force", is_flag=True, help="Apply a plan the safety rules mark unsafe.")
@force_rule_option
@click.option(
    "--skip-stale",
    is_flag=True,
    help="Saved plan: leave contacts changed since the plan alone, apply the rest.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="The apply report on stdout.",
)
@click.option(
    "--refresh",
    type=click.Choice(["auto", "full", "targeted"]),
    default="auto",
    show_default=True,
    help="How to read the remote state for a fresh plan.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 5000),
    default=5000,
    show_default=True,
    help="Creates per bulk request.",
)
@lock_option
@changed_since_option
@api_options
@click.pass_context
def command(
    ctx: click.Context,
    planfile: Path | None,
    prune: bool,
    targets: tuple[str, ...],
    auto_approve: bool,
    force: bool,
    force_rules: tuple[str, ...],
    skip_stale: bool,
    output_format: str,
    refresh: str,
    batch_size: int,
    lock_timeout: float,
    changed_since: str | None,
    api_url: str | None,
    insecure_http: bool,
) -> None:
    """Apply the changes: a fresh plan (asks for 'yes'), or the saved PLANFILE.

    \b
    Exit codes:
      0    applied and converged, or no changes
      1    error; a change failed or was refused; not converged (also with
           --skip-stale that left stale contacts alone: they still differ);
           the API did not answer for --max-outage seconds
      130  interrupted (Ctrl-C)
    """
    from jcstate.commands._project import project_from_ctx
    from jcstate.runs.apply import ApplyRequest, Tally, apply_project
    from jcstate.runs.rules import check_forced_names

    if planfile is not None:
        _refuse_fresh_options(prune, targets, refresh, changed_since)
    check_changed_since(changed_since, targets)
    project = project_from_ctx(ctx)
    check_forced_names(project, force_rules)
    warn_undeclared_targets(targets, project, prune=prune)
    settings = client_settings(ctx, project, api_url, insecure_http)
    request = ApplyRequest(
        planfile=planfile,
        prune=prune,
        targets=targets,
        force=force,
        skip_stale=skip_stale,
        refresh=refresh,
        batch_size=batch_size,
        changed_since=changed_since,
        force_rules=force_rules,
        lock_timeout=lock_timeout,
    )
    ui = _Terminal(output_format, app_context(ctx).color, auto_approve)
    tally = Tally()
    with _saying_how_far(tally):
        result = apply_project(project, request, settings, ui, tally)
    report = result.report
    if result.nothing_to_do and output_format != "json":
        return  # "No changes." said it all
    _emit_report(report, output_format)
    if tally.outage is not None:
        raise JcstateError(f"{tally.outage}; {tally.how_far()}; run apply again to continue")
    if not report.ok:
        ctx.exit(1)


def _refuse_fresh_options(
    prune: bool, targets: tuple[str, ...], refresh: str, changed_since: str | None
) -> None:
    """A saved plan: the options that shape a fresh one have no say."""
    if prune or targets or refresh != "auto" or changed_since:
        raise PlanFileError(
            "--prune, --target, --refresh and --changed-since shape a fresh plan; a saved plan "
            "already carries its choices (make a new one with `jcstate plan --out`)"
        )


@contextmanager
def _saying_how_far(tally: Tally) -> Iterator[None]:
    """After Ctrl-C or an outage, the user learns how far the apply got."""
    try:
        yield
    except KeyboardInterrupt:
        if tally.started:
            click.echo(
                f"\nInterrupted after the apply began: {tally.how_far()}; "
                "run `jcstate apply` again to continue (it plans only what is left).",
                err=True,
            )
        raise
    except ApiUnavailableError as exc:
        # Before the plan was made there is no M to count against: nothing was sent.
        done = tally.how_far() if tally.total else "nothing was applied"
        raise JcstateError(f"{exc}; {done}; run apply again to continue") from None


def _emit_report(report: ApplyReport, output_format: str) -> None:
    from jcstate.render.report import render_report_json, render_report_text

    if output_format == "json":
        click.echo(render_report_json(report), nl=False)
        if report.skipped_changed:
            from jcstate.render import plural

            count = len(report.skipped_changed)
            click.echo(
                f"{plural(count, 'contact')} changed in JustCall after the plan and "
                f'{"was" if count == 1 else "were"} not written (see "skipped_changed"); '
                "run `jcstate plan` again, review, and apply.",
                err=True,
            )
    else:
        click.echo("\n" + render_report_text(report), nl=False)


def _show_plan(
    plan: Plan, output_format: str, color: bool, changed_since: ChangedSince | None = None
) -> None:
    """The plan as `jcstate plan` prints it; on stderr when stdout carries JSON."""
    from jcstate.render.text import render_text

    to_stderr = output_format == "json"
    text = render_text(plan, color=color and not to_stderr, changed_since=changed_since)
    click.echo(text, err=to_stderr, nl=False)


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def _confirm(auto_approve: bool) -> None:
    if auto_approve:
        return
    if not _stdin_is_terminal():
        raise ApplyError(NOT_A_TERMINAL)
    click.echo(CONFIRM_PROMPT, err=True)
    # The event loop's Ctrl-C handler would only cancel the task once the line is
    # entered: at the prompt, Ctrl-C interrupts at once, as in any prompt.
    restore = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT) if restore else None
    try:
        if restore:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        answer = click.prompt("  Enter a value", default="", show_default=False, err=True)
    except click.Abort:
        click.echo("", err=True)  # end the prompt's line before "Interrupted."
        raise KeyboardInterrupt from None
    finally:
        if restore:
            signal.signal(signal.SIGINT, previous)
    if answer.strip() != "yes":
        raise ApplyError("apply cancelled (only 'yes' approves)")


class _Progress:
    """A click progress bar on stderr, only on a terminal and without NO_COLOR (non-empty)."""

    def __init__(self) -> None:
        self.enabled = progress_enabled()
        self._bar: Any = None

    def start(self, total: int) -> None:
        if self.enabled and total > 0:
            self._bar = click.progressbar(
                length=total, label="Applying", file=sys.stderr, show_pos=True, show_eta=True
            )
            self._bar.__enter__()

    def on_item(self, _item: ItemResult) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


class _Terminal:
    """The apply as the user sees it (`jcstate.runs.apply.ApplyUI`): stderr, the prompt."""

    def __init__(self, output_format: str, color: bool, auto_approve: bool) -> None:
        self.output_format = output_format
        self.color = color
        self.auto_approve = auto_approve
        self.listing_progress = listing_progress()
        self._bar = _Progress()

    def no_changes(self, plan: Plan, changed: ChangedSince | None) -> None:
        for line in (*plan.warnings, *plan.notes):
            click.echo(shown(f"Note: {line}"), err=True)
        if changed is not None:
            click.echo(shown(changed.line()), err=True)
        click.echo("No changes.", err=self.output_format == "json")

    def show_plan(self, plan: Plan, changed: ChangedSince | None) -> None:
        _show_plan(plan, self.output_format, self.color, changed)

    def confirm(self) -> None:
        _confirm(self.auto_approve)

    def start(self, total: int) -> None:
        self._bar.start(total)

    def on_item(self, item: ItemResult) -> None:
        self._bar.on_item(item)

    def finish(self) -> None:
        self._bar.finish()

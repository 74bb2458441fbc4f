"""`jcstate apply [PLANFILE]`: make the account match the files (thin shell over execute)."""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
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
    target_phones,
    warn_undeclared_targets,
)
from jcstate.commands._rules import (
    check_forced_names,
    force_rule_option,
    refuse_broken_rules,
    rule_checked_recheck,
    with_rules,
)
from jcstate.core.safe import shown
from jcstate.errors import (
    ApiUnavailableError,
    ApplyError,
    JcstateError,
    PlanFileError,
    UnsafePlanError,
)

if TYPE_CHECKING:
    from jcstate.core.changeset import ChangedSince
    from jcstate.core.model import Project, RemoteState
    from jcstate.core.outcome import ApplyReport, ItemResult
    from jcstate.core.plan import Plan
    from jcstate.execute.planfile import SavedPlan
    from jcstate.remote.client import ClientSettings

CONFIRM_PROMPT = (
    "\nDo you want to perform these actions?\n"
    "  jcstate will perform the actions described above.\n"
    "  Only 'yes' will be accepted to approve.\n"
)
NOT_A_TERMINAL = (
    "refusing to apply without confirmation: stdin is not a terminal; pass --auto-approve"
)


@dataclass(frozen=True)
class ApplyArgs:
    planfile: Path | None
    prune: bool
    targets: tuple[str, ...]
    auto_approve: bool
    force: bool
    skip_stale: bool
    output_format: str
    refresh: str
    batch_size: int
    changed_since: str | None = None
    force_rules: tuple[str, ...] = ()


@dataclass
class _Tally:
    """How far the apply got: the one thing to say after an outage or Ctrl-C."""

    total: int = 0
    applied: int = 0
    started: bool = False
    outage: ApiUnavailableError | None = field(default=None)

    def on_item(self, item: ItemResult) -> None:
        from jcstate.core.outcome import Outcome

        if item.outcome in (Outcome.CREATED, Outcome.UPDATED, Outcome.DELETED):
            self.applied += 1

    def how_far(self) -> str:
        from jcstate.render import plural

        return f"applied {self.applied} of {plural(self.total, 'change')}"


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

    args = ApplyArgs(
        planfile,
        prune,
        targets,
        auto_approve,
        force,
        skip_stale,
        output_format,
        refresh,
        batch_size,
        changed_since,
        force_rules,
    )
    if planfile is not None and (prune or targets or refresh != "auto" or changed_since):
        raise PlanFileError(
            "--prune, --target, --refresh and --changed-since shape a fresh plan; a saved plan "
            "already carries its choices (make a new one with `jcstate plan --out`)"
        )
    check_changed_since(changed_since, targets)
    project = project_from_ctx(ctx)
    check_forced_names(project, force_rules)
    warn_undeclared_targets(targets, project, prune=prune)
    settings = client_settings(ctx, project, api_url, insecure_http)
    from jcstate.execute.lock import acquire

    with acquire(project.root, timeout=lock_timeout):
        tally = _Tally()
        try:
            report = asyncio.run(_run(project, args, settings, app_context(ctx).color, tally))
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
        if report is not None:
            _emit_report(report, output_format)
        if tally.outage is not None:
            raise JcstateError(f"{tally.outage}; {tally.how_far()}; run apply again to continue")
        if report is not None and not report.ok:
            ctx.exit(1)


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


def _refuse_unsafe(plan: Plan, force: bool) -> None:
    if plan.safe or force:
        return
    reasons = "\n".join(f"  - {reason}" for reason in plan.unsafe_reasons)
    raise UnsafePlanError(
        f"refusing to apply an unsafe plan (pass --force to apply it anyway):\n{reasons}"
    )


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


async def _run(
    project: Project, args: ApplyArgs, settings: ClientSettings, color: bool, tally: _Tally
) -> ApplyReport | None:
    from jcstate.core.urls import public_url
    from jcstate.execute.apply import ApplySettings, apply_plan
    from jcstate.execute.journal import Journal
    from jcstate.remote.client import JustCallClient
    from jcstate.remote.listing import fetch_remote

    started = time.monotonic()
    Journal.prepare(project.root)
    api_url = settings.api_url
    concurrency = project.config.api.concurrency
    saved: SavedPlan | None = None
    saved_plan: Plan | None = None
    if args.planfile is not None:
        saved = _load_saved_plan(args.planfile, project, api_url)
        saved_plan = saved.plan

    async with JustCallClient(settings) as client:
        stages: dict[str, int] = {}
        #: the account as a fresh plan was made from it: each write is re-checked against it
        view: RemoteState | None = None
        if saved_plan is not None:
            # No verdict from the file: apply_plan plans again and judges what may run.
            plan = saved_plan
            tally.total = len(plan.changes)
        else:
            from jcstate.remote.pipeline import make_plan, options_for

            options = dataclasses.replace(
                options_for(
                    project,
                    prune=args.prune,
                    targets=target_phones(args.targets, project.desired.default_region),
                ),
                bulk_batch_size=args.batch_size,
            )
            changed: ChangedSince | None = None
            if args.changed_since is not None:
                from jcstate.commands._changed import changed_scope, plan_scope

                scope = changed_scope(project, args.changed_since)
                changed = scope.record
                planned = await plan_scope(
                    project,
                    scope,
                    client,
                    options,
                    refresh=args.refresh,
                    progress=listing_progress(),
                )
            else:
                planned = await make_plan(
                    project, client, options, refresh=args.refresh, progress=listing_progress()
                )
            plan = planned.plan
            view = planned.remote
            tally.total = len(plan.changes)
            stages["refresh"] = client.stats.total
            if not plan.has_changes:
                for line in (*plan.warnings, *plan.notes):
                    click.echo(shown(f"Note: {line}"), err=True)
                if changed is not None:
                    click.echo(shown(changed.line()), err=True)
                click.echo("No changes.", err=args.output_format == "json")
                if args.output_format == "json":
                    return await _empty_report(client, stages, started)
                return None
            plan = with_rules(project, plan, planned.remote.contacts)
            _show_plan(plan, args.output_format, color, changed)
            _refuse_unsafe(plan, args.force)
            refuse_broken_rules(plan, args.force_rules)
            _confirm(args.auto_approve)

        async def fetch_touched(phones: frozenset[str]) -> Any:
            return await fetch_remote(
                client, phones=sorted(phones), refresh="auto", concurrency=concurrency
            )

        async def recheck() -> Any:
            from jcstate.remote.pipeline import make_plan

            assert saved is not None
            again = await make_plan(project, client, saved.options, refresh="auto")
            return again.plan, again.remote

        rechecked = rule_checked_recheck(project, args.force_rules, recheck)
        progress_bar = _Progress()
        secrets = (settings.api_key, settings.api_secret)
        with Journal.create(project.root, secrets=secrets) as journal:
            previous_hook = client.on_request

            def record(request: Any) -> None:
                journal.record_request(request)
                if previous_hook is not None:
                    previous_hook(request)

            client.on_request = record
            journal.event(
                "start",
                mode="saved" if saved_plan is not None else "fresh",
                plan_file=str(args.planfile) if args.planfile else None,
                api_url=public_url(api_url),
                plan=plan.summary,
            )
            progress_bar.start(len(plan.changes))
            tally.started = True

            def on_item(item: ItemResult) -> None:
                tally.on_item(item)
                progress_bar.on_item(item)

            try:
                report = await apply_plan(
                    plan,
                    client,
                    project.desired,
                    fetch_touched=fetch_touched,
                    settings=ApplySettings(
                        saved=saved is not None,
                        saved_options=saved.options if saved is not None else None,
                        skip_stale=args.skip_stale,
                        force=args.force,
                        batch_size=args.batch_size,
                        concurrency=concurrency,
                    ),
                    recheck=rechecked,
                    journal=journal,
                    on_item=on_item,
                    requests_before=stages,
                    started=started,
                    view=view,
                )
            finally:
                progress_bar.finish()
                client.on_request = previous_hook
        if client.breaker.tripped():
            tally.outage = client.outage_error()
        return report


async def _empty_report(client: Any, stages: dict[str, int], started: float) -> ApplyReport:
    from jcstate.core.outcome import ApplyReport

    return ApplyReport(
        items=(),
        warnings=(),
        requests={key: int(value) for key, value in client.stats.as_dict().items()},
        requests_by_stage=stages,
        converged=True,
        remaining=(),
        duration_s=time.monotonic() - started,
    )


def _same_api(saved_url: str | None, current_url: str) -> bool:
    from jcstate.core.urls import public_url

    def canonical(url: str) -> str:
        return public_url(url).rstrip("/")

    return saved_url is not None and canonical(saved_url) == canonical(current_url)


def _load_saved_plan(path: Path, project: Project, api_url: str) -> SavedPlan:
    from jcstate.execute.planfile import files_changed, load_plan, project_files

    saved = load_plan(path)
    if saved.config_digest != project.digest:
        which = "; ".join(files_changed(saved.files, project_files(project)))
        if not which:  # a plan file without the names of its files
            which = "jcstate.yaml or the contacts changed since"
        raise PlanFileError(
            f"{path}: this plan was made from different files ({which}); "
            "run `jcstate plan --out` again"
        )
    if not _same_api(saved.api_url, api_url):
        raise PlanFileError(
            f"{path}: this plan was made for {saved.api_url}, not {api_url}; "
            "apply it against the same API or make a new plan"
        )
    return saved

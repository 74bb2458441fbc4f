"""An apply run: the lock, a fresh plan or a saved one, the journal, the re-checks, the report.

`apply_project(project, request, settings, ui)` does all of `jcstate apply` that is
not the terminal: what the user sees and answers goes through `ui` (an
`ApplyUI`, supplied by the command), and how far the run got is kept in
`request.tally`, so that an interrupted or cut-off run can say so.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from jcstate.errors import ApiUnavailableError, PlanFileError, UnsafePlanError

if TYPE_CHECKING:
    from jcstate.core.changeset import ChangedSince
    from jcstate.core.model import Project, RemoteState
    from jcstate.core.outcome import ApplyReport, ItemResult
    from jcstate.core.plan import Plan
    from jcstate.execute.planfile import SavedPlan
    from jcstate.remote.client import ClientSettings, JustCallClient
    from jcstate.remote.listing import ProgressFactory


@dataclass(frozen=True)
class ApplyRequest:
    """What `jcstate apply` was asked: a saved plan, or the options of a fresh one."""

    planfile: Path | None = None
    prune: bool = False
    targets: tuple[str, ...] = ()
    force: bool = False
    skip_stale: bool = False
    refresh: str = "auto"
    batch_size: int = 5000
    changed_since: str | None = None
    force_rules: tuple[str, ...] = ()
    lock_timeout: float = 0


@dataclass
class Tally:
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
        from jcstate.core.text import plural

        return f"applied {self.applied} of {plural(self.total, 'change')}"


class ApplyUI(Protocol):
    """What the user sees and answers during an apply (the command's terminal)."""

    #: the listing's progress bar while a fresh plan is made
    listing_progress: ProgressFactory | None

    def no_changes(self, plan: Plan, changed: ChangedSince | None) -> None:
        """A fresh plan has nothing to do."""

    def show_plan(self, plan: Plan, changed: ChangedSince | None) -> None:
        """A fresh plan, before it is judged and confirmed."""

    def confirm(self) -> None:
        """Ask for 'yes' (raise to refuse)."""

    def start(self, total: int) -> None:
        """The writes begin: `total` changes."""

    def on_item(self, item: ItemResult) -> None:
        """One change's outcome."""

    def finish(self) -> None:
        """The writes ended (or were cut off)."""


@dataclass(frozen=True)
class ApplyResult:
    """The report, and whether a fresh plan had nothing to do (its report is then empty)."""

    report: ApplyReport
    nothing_to_do: bool = False


def apply_project(
    project: Project,
    request: ApplyRequest,
    settings: ClientSettings,
    ui: ApplyUI,
    tally: Tally,
) -> ApplyResult:
    """Apply under the project's lock; `tally` says how far it got, even when it raises."""
    from jcstate.execute.lock import acquire

    with acquire(project.root, timeout=request.lock_timeout):
        return asyncio.run(_apply(project, request, settings, ui, tally))


def _refuse_unsafe(plan: Plan, force: bool) -> None:
    if plan.safe or force:
        return
    reasons = "\n".join(f"  - {reason}" for reason in plan.unsafe_reasons)
    raise UnsafePlanError(
        f"refusing to apply an unsafe plan (pass --force to apply it anyway):\n{reasons}"
    )


@dataclass
class _Fresh:
    """A fresh plan ready to run (or nothing to do), and the account it was made from."""

    plan: Plan
    view: RemoteState | None
    report: ApplyReport | None = None


async def _fresh_plan(
    project: Project,
    request: ApplyRequest,
    client: JustCallClient,
    ui: ApplyUI,
    stages: dict[str, int],
    started: float,
    tally: Tally,
) -> _Fresh:
    """Plan, show, judge and confirm; or the empty report when there is nothing to do."""
    from jcstate.runs.plan import changed_scope, plan_options, plan_project
    from jcstate.runs.rules import refuse_broken_rules, with_rules

    options = plan_options(
        project, prune=request.prune, targets=request.targets, batch_size=request.batch_size
    )
    scope = changed_scope(project, request.changed_since)
    planned = await plan_project(
        project,
        client,
        options,
        refresh=request.refresh,
        scope=scope,
        progress=ui.listing_progress,
        check_rules=False,
    )
    plan = planned.plan
    tally.total = len(plan.changes)
    stages["refresh"] = client.stats.total
    if not plan.has_changes:
        ui.no_changes(plan, planned.changed_since)
        return _Fresh(plan, planned.remote, _empty_report(client, stages, started))
    plan = with_rules(project, plan, planned.remote.contacts)
    ui.show_plan(plan, planned.changed_since)
    _refuse_unsafe(plan, request.force)
    refuse_broken_rules(plan, request.force_rules)
    ui.confirm()
    return _Fresh(plan, planned.remote)


async def _apply(
    project: Project,
    request: ApplyRequest,
    settings: ClientSettings,
    ui: ApplyUI,
    tally: Tally,
) -> ApplyResult:
    from jcstate.core.urls import public_url
    from jcstate.execute.apply import ApplySettings, apply_plan
    from jcstate.execute.journal import Journal
    from jcstate.remote.client import JustCallClient
    from jcstate.remote.listing import fetch_remote
    from jcstate.runs.rules import rule_checked_recheck

    started = time.monotonic()
    Journal.prepare(project.root)
    concurrency = project.config.api.concurrency
    saved: SavedPlan | None = None
    if request.planfile is not None:
        saved = _load_saved_plan(request.planfile, project, settings.api_url)

    async with JustCallClient(settings) as client:
        stages: dict[str, int] = {}
        #: the account as a fresh plan was made from it: each write is re-checked against it
        view: RemoteState | None = None
        if saved is not None:
            # No verdict from the file: apply_plan plans again and judges what may run.
            plan = saved.plan
            tally.total = len(plan.changes)
        else:
            fresh = await _fresh_plan(project, request, client, ui, stages, started, tally)
            if fresh.report is not None:
                return ApplyResult(fresh.report, nothing_to_do=True)
            plan, view = fresh.plan, fresh.view

        async def fetch_touched(phones: frozenset[str]) -> Any:
            return await fetch_remote(
                client, phones=sorted(phones), refresh="auto", concurrency=concurrency
            )

        async def recheck() -> Any:
            from jcstate.remote.pipeline import make_plan

            assert saved is not None
            again = await make_plan(project, client, saved.options, refresh="auto")
            return again.plan, again.remote

        secrets = (settings.api_key, settings.api_secret)
        with Journal.create(project.root, secrets=secrets) as journal:
            previous_hook = client.on_request

            def record(attempt: Any) -> None:
                journal.record_request(attempt)
                if previous_hook is not None:
                    previous_hook(attempt)

            client.on_request = record
            journal.event(
                "start",
                mode="saved" if saved is not None else "fresh",
                plan_file=str(request.planfile) if request.planfile else None,
                api_url=public_url(settings.api_url),
                plan=plan.summary,
            )
            ui.start(len(plan.changes))
            tally.started = True

            def on_item(item: ItemResult) -> None:
                tally.on_item(item)
                ui.on_item(item)

            try:
                report = await apply_plan(
                    plan,
                    client,
                    project.desired,
                    fetch_touched=fetch_touched,
                    settings=ApplySettings(
                        saved=saved is not None,
                        saved_options=saved.options if saved is not None else None,
                        skip_stale=request.skip_stale,
                        force=request.force,
                        batch_size=request.batch_size,
                        concurrency=concurrency,
                    ),
                    recheck=rule_checked_recheck(project, request.force_rules, recheck),
                    journal=journal,
                    on_item=on_item,
                    requests_before=stages,
                    started=started,
                    view=view,
                )
            finally:
                ui.finish()
                client.on_request = previous_hook
        if client.breaker.tripped():
            tally.outage = client.outage_error()
        return ApplyResult(report)


def _empty_report(client: JustCallClient, stages: dict[str, int], started: float) -> ApplyReport:
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

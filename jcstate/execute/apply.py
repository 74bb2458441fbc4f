"""Carry out a Plan: bulk creates, PUT patches, DELETEs; staleness; convergence.

Pure helpers (phases, batches, bulk-answer classification, staleness
classification, the report) take and return plain values. The async
functions are the shell: they talk to a client object with the methods of
``jcstate.remote.client.JustCallClient`` and never decide anything the pure parts
could decide.

Order: the plan decides it. The changes are executed as consecutive runs of
one action ("phases"), in the plan's order, so a delete the plan lists before
a create (because it frees the phone the create needs) is done first. Inside a
phase the items are independent and run concurrently, bounded by a semaphore,
under the client's own pacing.

Crash safety does not rest on the journal: creates go through the bulk
endpoint, which upserts by phone, so a batch resent after a lost answer (or
after kill -9 and a fresh plan) updates instead of duplicating; updates are
idempotent patches; a delete answered 404 has nothing left to do.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, TypeVar

from jcstate.core.model import DesiredState, RemoteContact, RemoteState, fingerprint
from jcstate.core.normalize import try_normalize_phone
from jcstate.core.outcome import ApplyReport, ItemResult, Outcome
from jcstate.core.plan import MAX_BULK_BATCH, Action, Change, Plan, PlanOptions
from jcstate.errors import (
    AccountChangedError,
    ApiError,
    ApiUnavailableError,
    AuthError,
    BudgetExhaustedError,
    JcstateError,
    NotFoundError,
    PlanFileError,
    StalePlanError,
    UnsafePlanError,
)
from jcstate.execute.authority import (
    FreshPlan,
    StaleContact,
    recheck_saved_plan,
    refused_message,
    unsafe_message,
)
from jcstate.execute.journal import NO_JOURNAL, EventSink
from jcstate.execute.recheck import Recheck

if TYPE_CHECKING:
    from jcstate.remote.client import BulkResult, JustCallClient

T = TypeVar("T")


# ---------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------

_SUCCESS: dict[Action, Outcome] = {
    Action.CREATE: Outcome.CREATED,
    Action.UPDATE: Outcome.UPDATED,
    Action.DELETE: Outcome.DELETED,
}


@dataclass(frozen=True)
class ExecutionResult:
    items: tuple[ItemResult, ...]
    warnings: tuple[str, ...] = ()
    duration_s: float = 0.0
    #: set when the run stopped early (auth failure, hourly budget at zero)
    aborted: str | None = None
    #: writes not sent because their target changed after the plan (also in `items`)
    skipped_changed: tuple[ItemResult, ...] = ()


@dataclass(frozen=True)
class ApplySettings:
    """The choices of one apply: how the plan runs (not what it runs against)."""

    #: the plan came from a file: it is only a request, checked against a fresh plan
    saved: bool = False
    #: the options the saved plan was made with (its re-derivation uses them)
    saved_options: PlanOptions | None = None
    #: a saved plan: leave the contacts changed since it alone and apply the rest
    skip_stale: bool = False
    #: apply what the safety rules mark unsafe
    force: bool = False
    #: creates per bulk request
    batch_size: int = MAX_BULK_BATCH
    #: requests in flight at once
    concurrency: int = 4


DEFAULT_SETTINGS = ApplySettings()


@dataclass(frozen=True)
class Verification:
    converged: bool
    remaining: tuple[Change, ...] = ()
    #: ids of the touched phones as they are now (fills in ids of new contacts)
    ids_by_phone: Mapping[str, int] = field(default_factory=dict)
    #: why the check could not be made (then `converged` is False: not known)
    error: str | None = None


def convergence_error(exc: JcstateError) -> str:
    """Why the convergence check failed, never claiming that nothing was changed."""
    if isinstance(exc, AccountChangedError):
        return "the account changed while it was being read, so the result could not be checked"
    return str(exc)


# ---------------------------------------------------------------------------
# Pure helpers
# ---------------------------------------------------------------------------


def plan_phases(changes: Sequence[Change]) -> list[tuple[Action, list[Change]]]:
    """Split the plan into consecutive runs of one action, keeping the plan's order."""
    phases: list[tuple[Action, list[Change]]] = []
    for change in changes:
        if phases and phases[-1][0] is change.action:
            phases[-1][1].append(change)
        else:
            phases.append((change.action, [change]))
    return phases


def batches(items: Sequence[T], size: int) -> list[list[T]]:
    """`items` in consecutive chunks of at most `size` (at least 1)."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    return [list(items[start : start + size]) for start in range(0, len(items), size)]


def phase_moves_phones_within(phase: Sequence[Change]) -> bool:
    """True when a change of `phase` frees a phone that another change of it takes."""
    freed: set[str] = set()
    claimed: set[str] = set()
    for change in phase:
        if change.action is Action.DELETE:
            freed.add(change.phone)
        new_phone = change.body.get("phone")
        if change.action is Action.UPDATE and isinstance(new_phone, str):
            claimed.add(new_phone)
            freed.update(str(fc.old) for fc in change.changes if fc.field == "phone" and fc.old)
    return bool(freed & claimed)


def classify_bulk_answer(
    batch: Sequence[Change], answer: BulkResult, *, label: str, maybe_resent: bool = True
) -> tuple[list[ItemResult], list[str]]:
    """Map a bulk answer onto the batch's creates: per-record failures by index.

    The answer carries only counts plus the failed records, so every record not
    named in ``errors`` counts as applied. An ``updated`` count where creates
    were expected means the phone already existed: someone created the
    contact meanwhile (or an earlier attempt of this batch did and its answer
    was lost); the upsert made it match the plan, which is worth a warning,
    not a failure.
    """
    failures: dict[int, str] = {}
    by_phone = {change.phone: index for index, change in enumerate(batch)}
    warnings: list[str] = []
    unattributed = 0
    for error in answer.errors:
        index = error.index if 0 <= error.index < len(batch) else None
        if index is None and error.phone is not None:
            index = by_phone.get(try_normalize_phone(error.phone))
        if index is None:
            unattributed += 1
            continue
        failures[index] = error.message or "rejected by the server"
    items = [
        ItemResult(Action.CREATE, change.phone, change.id, Outcome.FAILED, failures[index])
        if index in failures
        else ItemResult(Action.CREATE, change.phone, change.id, Outcome.CREATED)
        for index, change in enumerate(batch)
    ]
    if answer.updated:
        cause = (
            "someone created them meanwhile, or an earlier attempt of this batch whose "
            "answer was lost"
            if maybe_resent
            else "someone created them meanwhile"
        )
        warnings.append(
            f"{label}: {answer.updated} of {len(batch)} contacts already existed and were "
            f"updated instead of created ({cause})"
        )
    missing_details = answer.failed - len(failures)
    if unattributed or missing_details > 0:
        count = max(unattributed, missing_details)
        warnings.append(
            f"{label}: the server reported {count} failed records it did not identify; "
            "the convergence check shows which contacts differ"
        )
    return items, warnings


def touched_phones(changes: Iterable[Change], region: str = "US") -> frozenset[str]:
    """Every phone a change reads or writes (both sides of a phone change)."""
    phones: set[str] = set()
    for change in changes:
        phones.add(change.phone)
        new_phone = change.body.get("phone")
        if isinstance(new_phone, str):
            phones.add(try_normalize_phone(new_phone, region))
        for field_change in change.changes:
            if field_change.field == "phone":
                for value in (field_change.old, field_change.new):
                    if isinstance(value, str) and value:
                        phones.add(try_normalize_phone(value, region))
    return frozenset(phones)


def classify_staleness(
    changes: Sequence[Change],
    by_id: Mapping[int, RemoteContact | None],
    by_phone: Mapping[str, Sequence[RemoteContact]],
) -> list[StaleContact | None]:
    """For each change: None when the remote contact is as the plan saw it, else why not."""
    verdicts: list[StaleContact | None] = []
    for change in changes:
        if change.action is Action.CREATE:
            present = by_phone.get(change.phone, ())
            verdicts.append(StaleContact.created_since(change, present) if present else None)
            continue
        if change.id is None:  # pragma: no cover - the plan always pins updates/deletes
            verdicts.append(StaleContact(change.action, change.phone, None, "no remote id"))
            continue
        current = by_id.get(change.id)
        if current is None:
            verdicts.append(
                StaleContact(change.action, change.phone, change.id, "deleted since the plan")
            )
        elif change.fingerprint is not None and fingerprint(current) != change.fingerprint:
            verdicts.append(
                StaleContact(change.action, change.phone, change.id, "changed since the plan")
            )
        else:
            verdicts.append(None)
    return verdicts


def stale_message(stale: Sequence[StaleContact], limit: int = 20) -> str:
    count = len(stale)
    lines = [f"{count} contact{'s' if count != 1 else ''} changed since the plan was made:"]
    lines += [f"  {contact}" for contact in stale[:limit]]
    if count > limit:
        lines.append(f"  ... and {count - limit} more")
    lines.append("Run `jcstate plan` again, or pass --skip-stale to apply the rest.")
    return "\n".join(lines)


def build_report(
    execution: ExecutionResult,
    *,
    skipped: Sequence[ItemResult] = (),
    verification: Verification,
    requests: Mapping[str, int],
    requests_by_stage: Mapping[str, int],
    duration_s: float,
    extra_warnings: Sequence[str] = (),
    skipped_stale: int = 0,
) -> ApplyReport:
    """Combine execution, skipped items and the convergence check into one report.

    Contacts skipped as stale, or because they changed after the plan, still
    differ from the files: with any, the report is not converged, whatever
    the check of the applied ones found.
    """
    ids = verification.ids_by_phone
    items = tuple(
        replace(item, id=ids[item.phone])
        if item.id is None and item.outcome is Outcome.CREATED and item.phone in ids
        else item
        for item in (*skipped, *execution.items)
    )
    return ApplyReport(
        items=items,
        warnings=(*extra_warnings, *execution.warnings),
        requests=dict(requests),
        requests_by_stage=dict(requests_by_stage),
        converged=(verification.converged and skipped_stale == 0 and not execution.skipped_changed),
        remaining=verification.remaining,
        convergence_error=verification.error,
        duration_s=duration_s,
        aborted=execution.aborted,
        skipped_stale=skipped_stale,
        skipped_changed=execution.skipped_changed,
    )


# ---------------------------------------------------------------------------
# Execution
# ---------------------------------------------------------------------------

#: after one of these nothing more is sent (the outage breaker has opened, for one)
_FATAL = (AuthError, BudgetExhaustedError, ApiUnavailableError)


class _Run:
    """State of one execution: results in plan order, the journal, the abort flag."""

    def __init__(
        self,
        journal: EventSink,
        on_item: Callable[[ItemResult], None] | None,
    ) -> None:
        self.journal = journal
        self.on_item = on_item
        self.warnings: list[str] = []
        self.aborted: str | None = None
        self.changed: list[ItemResult] = []

    def record(self, item: ItemResult) -> ItemResult:
        self.journal.record_item(item)
        if self.on_item is not None:
            self.on_item(item)
        return item

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        self.journal.event("warning", message=message)

    def skip_changed(self, change: Change, reason: str) -> ItemResult:
        item = ItemResult(change.action, change.phone, change.id, Outcome.SKIPPED, reason)
        self.changed.append(item)
        return self.record(item)

    def not_attempted(self, change: Change) -> ItemResult:
        return self.record(
            ItemResult(
                change.action,
                change.phone,
                change.id,
                Outcome.FAILED,
                f"not attempted: {self.aborted}",
            )
        )

    def fail(self, change: Change, exc: ApiError) -> ItemResult:
        if isinstance(exc, _FATAL) and self.aborted is None:
            self.aborted = str(exc)
        return self.record(
            ItemResult(change.action, change.phone, change.id, Outcome.FAILED, str(exc))
        )


async def execute_plan(
    plan: Plan,
    client: JustCallClient,
    *,
    changes: Sequence[Change] | None = None,
    batch_size: int = MAX_BULK_BATCH,
    concurrency: int = 4,
    journal: EventSink = NO_JOURNAL,
    on_item: Callable[[ItemResult], None] | None = None,
    recheck: Recheck | None = None,
) -> ExecutionResult:
    """Run the plan's changes (or `changes`, a subset in plan order); never raises ApiError.

    Each item's outcome is recorded; a failed item does not stop the others,
    except an authentication failure or an exhausted hourly budget, after
    which nothing more is sent and the rest are reported as not attempted.
    With `recheck`, each PUT and DELETE is sent only after its target was
    read again and found as the plan saw it (see jcstate.execute.recheck);
    one that changed is skipped and reported in `skipped_changed`.
    """
    if not 1 <= batch_size <= MAX_BULK_BATCH:
        raise ValueError(f"batch size must be between 1 and {MAX_BULK_BATCH}")
    started = time.monotonic()
    run = _Run(journal, on_item)
    semaphore = asyncio.Semaphore(max(1, concurrency))
    results: list[ItemResult] = []
    todo = plan.changes if changes is None else changes

    for number, (action, phase) in enumerate(plan_phases(todo), start=1):
        journal.event("phase", number=number, action=action.value, count=len(phase))
        if action is Action.CREATE:
            chunks = batches(phase, batch_size)
            jobs: list[Awaitable[list[ItemResult]]] = [
                _create_batch(client, chunk, semaphore, run, f"bulk batch {index}/{len(chunks)}")
                for index, chunk in enumerate(chunks, start=1)
            ]
        elif phase_moves_phones_within(phase):
            # One change frees a phone another one here takes: keep the plan's order.
            if recheck is not None:
                recheck.begin_phase(phase)
            for change in phase:
                results.extend(await _single(client, change, semaphore, run, recheck))
            continue
        else:
            if recheck is not None:
                recheck.begin_phase(phase)
            # Sent in the re-check's order (it reads the listing page by page), reported
            # in the plan's.
            order = recheck.order(phase) if recheck is not None else range(len(phase))
            answers = await asyncio.gather(
                *(_single(client, phase[i], semaphore, run, recheck) for i in order)
            )
            by_index = dict(zip(order, answers, strict=True))
            for index in range(len(phase)):
                results.extend(by_index[index])
            continue
        for chunk_items in await asyncio.gather(*jobs):
            results.extend(chunk_items)

    return ExecutionResult(
        items=tuple(results),
        warnings=tuple(run.warnings),
        duration_s=time.monotonic() - started,
        aborted=run.aborted,
        skipped_changed=tuple(run.changed),
    )


def _bulk_attempts(client: JustCallClient) -> int:
    return client.stats.bulk


async def _create_batch(
    client: JustCallClient,
    batch: list[Change],
    semaphore: asyncio.Semaphore,
    run: _Run,
    label: str,
) -> list[ItemResult]:
    async with semaphore:
        if run.aborted is not None:
            return [run.not_attempted(change) for change in batch]
        bulk_before = _bulk_attempts(client)
        try:
            answer = await client.bulk_upsert([dict(change.body) for change in batch])
        except ApiError as exc:
            return [run.fail(change, exc) for change in batch]
        # One bulk attempt in the window: this batch was sent once, so an "updated"
        # count cannot come from our own lost first attempt.
        maybe_resent = _bulk_attempts(client) - bulk_before != 1
    items, warnings = classify_bulk_answer(batch, answer, label=label, maybe_resent=maybe_resent)
    for message in warnings:
        run.warn(message)
    return [run.record(item) for item in items]


async def _single(
    client: JustCallClient,
    change: Change,
    semaphore: asyncio.Semaphore,
    run: _Run,
    recheck: Recheck | None = None,
) -> list[ItemResult]:
    if change.id is None:
        return [
            run.record(
                ItemResult(
                    change.action, change.phone, None, Outcome.FAILED, "the plan gives no remote id"
                )
            )
        ]
    async with semaphore:
        if run.aborted is not None:
            return [run.not_attempted(change)]
        try:
            gone = False
            if recheck is not None:
                # In the slot the write will use: the read is as close to the write as can be.
                verdict = await recheck.verify(change)
                if verdict.skip is not None:
                    return [run.skip_changed(change, verdict.skip)]
                gone = verdict.gone
            if change.action is Action.UPDATE:
                await client.update_contact(change.id, dict(change.body))
                return [
                    run.record(ItemResult(change.action, change.phone, change.id, Outcome.UPDATED))
                ]
            if gone:
                return [_already_deleted(change, run)]
            await client.delete_contact(change.id)
            if recheck is not None:
                recheck.deleted(change.id)
            return [run.record(ItemResult(change.action, change.phone, change.id, Outcome.DELETED))]
        except NotFoundError as exc:
            if change.action is Action.DELETE:
                # 404 on the first attempt: someone else deleted it; the goal holds.
                return [_already_deleted(change, run)]
            return [
                run.record(
                    ItemResult(
                        change.action,
                        change.phone,
                        change.id,
                        Outcome.FAILED,
                        f"contact no longer exists ({exc.detail})",
                    )
                )
            ]
        except ApiError as exc:
            return [run.fail(change, exc)]


def _already_deleted(change: Change, run: _Run) -> ItemResult:
    run.warn(f"{change.phone} (id {change.id}) was already deleted")
    return run.record(
        ItemResult(change.action, change.phone, change.id, Outcome.DELETED, "already gone")
    )


# ---------------------------------------------------------------------------
# Convergence: plan the touched contacts again
# ---------------------------------------------------------------------------


def evaluate_convergence(
    attempted: Sequence[Change],
    desired: DesiredState,
    current: RemoteState,
    replan: Callable[[DesiredState, RemoteState, PlanOptions], Plan],
) -> Verification:
    """Pure: what is still different about the attempted changes' contacts."""
    if not attempted:
        return Verification(converged=True)
    phones = touched_phones(attempted, desired.default_region)
    remaining = list(replan(desired, current, PlanOptions(prune=False, targets=phones)).changes)
    # A targeted view never prunes, so a delete that did not happen is found by its id.
    present_ids = {contact.id for contact in current.contacts}
    remaining += [
        change
        for change in attempted
        if change.action is Action.DELETE and change.id in present_ids
    ]
    ids_by_phone: dict[str, int] = {}
    for contact in sorted(current.contacts, key=lambda c: c.id, reverse=True):
        if contact.phone in phones:
            ids_by_phone[contact.phone] = contact.id
    return Verification(
        converged=not remaining, remaining=tuple(remaining), ids_by_phone=ids_by_phone
    )


async def verify_convergence(
    attempted: Sequence[Change],
    desired: DesiredState,
    fetch: Callable[[frozenset[str]], Awaitable[RemoteState]],
    replan: Callable[[DesiredState, RemoteState, PlanOptions], Plan] | None = None,
) -> Verification:
    """Re-fetch the attempted changes' phones and plan them again."""
    if not attempted:
        return Verification(converged=True)
    if replan is None:
        from jcstate.core.plan import compute_plan

        replan = compute_plan
    current = await fetch(touched_phones(attempted, desired.default_region))
    return evaluate_convergence(attempted, desired, current, replan)


# ---------------------------------------------------------------------------
# The whole apply of one plan: re-check (saved plans), execute, verify
# ---------------------------------------------------------------------------


def _stats_dict(client: JustCallClient) -> dict[str, int]:
    return client.stats.as_dict()


@dataclass(frozen=True)
class _Judged:
    """What of a saved plan may run now, the account it is checked against, what is skipped."""

    plan: Plan
    view: RemoteState | None
    skipped: tuple[ItemResult, ...]
    skipped_stale: int


async def _judge_saved(
    plan: Plan,
    client: JustCallClient,
    desired: DesiredState,
    settings: ApplySettings,
    recheck: Callable[[], Awaitable[FreshPlan]],
) -> _Judged:
    """The saved plan checked against a fresh one; raises before anything is sent."""
    check = await recheck_saved_plan(
        plan, settings.saved_options or PlanOptions(), client, desired, recheck
    )
    if check.refused:
        raise PlanFileError(refused_message(check.refused))
    if check.stale and not settings.skip_stale:
        raise StalePlanError(stale_message(check.stale))
    if check.unsafe_reasons and not settings.force:
        raise UnsafePlanError(unsafe_message(check.unsafe_reasons))
    skipped = [
        ItemResult(stale.action, stale.phone, stale.id, Outcome.SKIPPED, stale.reason)
        for stale in check.stale
    ]
    skipped += [
        ItemResult(
            change.action,
            change.phone,
            change.id,
            Outcome.SKIPPED,
            "already as declared (applied earlier)",
        )
        for change in check.already_applied
    ]
    return _Judged(replace(plan, changes=check.apply), check.view, tuple(skipped), len(check.stale))


async def apply_plan(
    plan: Plan,
    client: JustCallClient,
    desired: DesiredState,
    *,
    fetch_touched: Callable[[frozenset[str]], Awaitable[RemoteState]],
    settings: ApplySettings = DEFAULT_SETTINGS,
    recheck: Callable[[], Awaitable[FreshPlan]] | None = None,
    journal: EventSink = NO_JOURNAL,
    on_item: Callable[[ItemResult], None] | None = None,
    requests_before: Mapping[str, int] | None = None,
    replan: Callable[[DesiredState, RemoteState, PlanOptions], Plan] | None = None,
    started: float | None = None,
    view: RemoteState | None = None,
) -> ApplyReport:
    """Apply `plan` and check the result.

    Fresh or saved, the plan that runs is executed one way: every PUT and
    DELETE is sent only after its target was read again and found as the
    plan saw it (jcstate.execute.recheck); `view` is the account as the plan
    was made from it (a saved plan's comes from its re-derivation). A target
    that changed is skipped and reported (`skipped_changed`), never written.

    `settings` holds the run's choices (`ApplySettings`). A saved plan
    (`settings.saved`) is only a request: `recheck` makes the plan again from the
    files and the account as they are now (see jcstate.execute.authority), and
    only the saved entries that fresh plan justifies run. Raises PlanFileError
    for entries the files never justified, StalePlanError for contacts that
    changed since the plan (unless `settings.skip_stale`), UnsafePlanError when
    what would run is unsafe now (unless `settings.force`); all before anything
    is sent. The `journal` gets each stage, item and warning (`NO_JOURNAL`: none).

    `requests_before` is the stage breakdown of requests already spent (the
    refresh of a fresh plan); the report adds "staleness", "recheck", "apply",
    "verify".
    `started` (time.monotonic()) lets the duration include that refresh.
    """
    started = time.monotonic() if started is None else started
    stages: dict[str, int] = dict(requests_before or {})
    mark = client.stats.total
    skipped: list[ItemResult] = []
    skipped_stale = 0
    changes: Sequence[Change] = plan.changes
    if settings.saved:
        if recheck is None:
            raise ValueError("a saved plan needs `recheck` (the fresh plan to check it against)")
        journal.event("stage", name="staleness", contacts=len(plan.changes))
        judged = await _judge_saved(plan, client, desired, settings, recheck)
        stages["staleness"] = client.stats.total - mark
        mark = client.stats.total
        plan, changes, view = judged.plan, judged.plan.changes, judged.view
        skipped, skipped_stale = list(judged.skipped), judged.skipped_stale
        for item in skipped:
            journal.record_item(item)
            if on_item is not None:
                on_item(item)

    journal.event("stage", name="apply", changes=len(changes))
    guard = Recheck(client, desired, view, changes)
    execution = await execute_plan(
        plan,
        client,
        changes=changes,
        batch_size=settings.batch_size,
        concurrency=settings.concurrency,
        journal=journal,
        on_item=on_item,
        recheck=guard,
    )
    stages["recheck"] = guard.used
    stages["apply"] = client.stats.total - mark - guard.used
    mark = client.stats.total
    if execution.skipped_changed:
        # Not sent, so not checked: they are reported as skipped, and not converged.
        unsent = {(item.action, item.id) for item in execution.skipped_changed}
        changes = [c for c in changes if (c.action, c.id) not in unsent]

    journal.event("stage", name="verify")
    if execution.aborted is not None:
        # Nothing more can be sent (bad credentials, no budget): report what is known.
        verification = Verification(converged=False)
    else:
        try:
            verification = await verify_convergence(changes, desired, fetch_touched, replan)
        except JcstateError as exc:
            # The writes are done: the report must survive a check that could not run.
            verification = Verification(converged=False, error=convergence_error(exc))
            journal.event("warning", message=f"convergence check failed: {verification.error}")
    stages["verify"] = client.stats.total - mark

    report = build_report(
        execution,
        skipped=skipped,
        verification=verification,
        requests=_stats_dict(client),
        requests_by_stage=stages,
        duration_s=time.monotonic() - started,
        skipped_stale=skipped_stale,
    )
    journal.event(
        "finished",
        summary=report.summary,
        converged=report.converged,
        remaining=len(report.remaining),
        requests=dict(report.requests),
        convergence_error=report.convergence_error,
    )
    return report

"""`--changed-since REF`, shared by plan and apply: the changed set and how to plan it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import click

from jcstate.errors import JcstateError

if TYPE_CHECKING:
    from jcstate.core.changeset import ChangedSince, ChangeSet
    from jcstate.core.model import Project
    from jcstate.core.plan import PlanOptions
    from jcstate.remote.client import JustCallClient
    from jcstate.remote.listing import ProgressFactory
    from jcstate.remote.pipeline import PlanRun

F = TypeVar("F", bound=Callable[..., object])


def changed_since_option(func: F) -> F:
    return click.option(
        "--changed-since",
        "changed_since",
        metavar="REF",
        help="Plan only the contacts whose declaration changed since the merge base of REF "
        "and HEAD (git; uncommitted files count), e.g. origin/main. Contacts outside that "
        "set are not read (jcstate drift still checks them).",
    )(func)


@dataclass(frozen=True)
class ChangedScope:
    """The changed set (None when the scope had to widen) and what the plan says of it."""

    record: ChangedSince
    changes: ChangeSet | None
    base_declared: int
    seconds: float


def check_changed_since(changed_since: str | None, targets: tuple[str, ...]) -> None:
    if changed_since is not None and targets:
        raise JcstateError(
            "--changed-since cannot be combined with --target: both pick the contacts to "
            "plan; use one of them"
        )


def changed_scope(project: Project, ref: str, *, use_cache: bool = True) -> ChangedScope:
    """Load the base from git and diff it against the working tree (no request)."""
    from jcstate.core.changeset import changed_since_record, compute_changeset, widen_reason
    from jcstate.project.gitbase import current_contacts, load_base

    started = time.perf_counter()
    base = load_base(project, ref, use_cache=use_cache)
    declared = len(project.desired.contacts)
    if base.problem is not None:
        widened: str | None = f"the project at {ref} does not load ({base.problem})"
    else:
        widened = widen_reason(base.config, project.config, ref)
    if widened is not None:
        record = changed_since_record(ref, base.commit, None, declared, widened=widened)
        return ChangedScope(record, None, base.declared, time.perf_counter() - started)
    changes = compute_changeset(base.contacts, current_contacts(project, base))
    record = changed_since_record(ref, base.commit, changes, declared)
    return ChangedScope(record, changes, base.declared, time.perf_counter() - started)


async def plan_scope(
    project: Project,
    scope: ChangedScope,
    client: JustCallClient,
    options: PlanOptions,
    *,
    refresh: str,
    progress: ProgressFactory | None,
    parse_seconds: float | None = None,
) -> PlanRun:
    """The plan of the changed set, or of everything with a full refresh when it widened."""
    from jcstate.remote.changed import make_changed_plan
    from jcstate.remote.pipeline import make_plan

    if scope.changes is None:
        run = await make_plan(
            project,
            client,
            options,
            refresh="full",
            progress=progress,
            parse_seconds=parse_seconds,
        )
    else:
        run = await make_changed_plan(
            project.desired,
            scope.changes,
            client,
            options,
            base_declared=scope.base_declared,
            refresh=refresh,
            concurrency=project.config.api.concurrency,
            progress=progress,
            parse_seconds=parse_seconds,
        )
    run.timings["git"] = scope.seconds
    return run

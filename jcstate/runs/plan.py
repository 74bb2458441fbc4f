"""A plan run: the options, the `--changed-since` scope, and the plan whatever the refresh.

`plan_project(project, client, options, refresh=..., scope=...)` fetches what the
plan needs and computes it: the full listing or per-phone lookups
(`jcstate.remote.pipeline`), or only the contacts changed since a ref
(`jcstate.remote.changed`), or everything with a full refresh when that scope had
to widen. The rules of the project are checked on the result.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jcstate.core.changeset import ChangedSince, ChangeSet
from jcstate.core.model import Project
from jcstate.errors import JcstateError

if TYPE_CHECKING:  # the HTTP side is imported when a plan is made, not for changed_scope
    from jcstate.core.plan import PlanOptions
    from jcstate.remote.client import JustCallClient
    from jcstate.remote.listing import ProgressFactory
    from jcstate.remote.pipeline import PlanRun


def target_phones(targets: Sequence[str], region: str) -> frozenset[str] | None:
    """`--target` values as E.164 (numbers without +country use the project's region)."""
    from jcstate.core.normalize import normalize_phone

    if not targets:
        return None
    phones: set[str] = set()
    for raw in targets:
        try:
            phones.add(normalize_phone(raw, region))
        except ValueError as exc:
            raise JcstateError(f"--target {raw!r}: {exc}") from None
    return frozenset(phones)


def plan_options(
    project: Project,
    *,
    prune: bool = False,
    targets: Sequence[str] = (),
    batch_size: int | None = None,
) -> PlanOptions:
    """The plan's options: `--prune`, `--target` (parsed), the project's rate limit."""
    from jcstate.remote.pipeline import options_for

    options = options_for(
        project, prune=prune, targets=target_phones(targets, project.config.default_region)
    )
    if batch_size is not None:
        options = dataclasses.replace(options, bulk_batch_size=batch_size)
    return options


@dataclass(frozen=True)
class ChangedScope:
    """The changed set (None when the scope had to widen) and what the plan says of it."""

    record: ChangedSince
    changes: ChangeSet | None
    base_declared: int
    seconds: float


def changed_scope(
    project: Project, ref: str | None, *, use_cache: bool = True
) -> ChangedScope | None:
    """`--changed-since REF`: load the base from git and diff it against the working tree
    (no request). None without a ref: the plan covers what the options say."""
    if ref is None:
        return None
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


async def plan_project(
    project: Project,
    client: JustCallClient,
    options: PlanOptions,
    *,
    refresh: str = "auto",
    scope: ChangedScope | None = None,
    progress: ProgressFactory | None = None,
    parse_seconds: float | None = None,
    check_rules: bool = True,
) -> PlanRun:
    """The plan of the project (of the changed set with `scope`), and the account it saw.

    A scope that widened plans everything with a full refresh. With `check_rules`
    the plan carries the project's rule violations. `run.changed_since` says what
    `--changed-since` planned (None without it); `run.timings` has parse (when
    given), git (with a scope), fetch and diff.
    """
    from jcstate.remote.changed import make_changed_plan
    from jcstate.remote.pipeline import make_plan
    from jcstate.runs.rules import with_rules_run

    if scope is not None and scope.changes is not None:
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
    else:
        run = await make_plan(
            project,
            client,
            options,
            refresh="full" if scope is not None else refresh,
            progress=progress,
            parse_seconds=parse_seconds,
        )
    if scope is not None:
        run.timings["git"] = scope.seconds
        run = dataclasses.replace(run, changed_since=scope.record)
    return with_rules_run(project, run) if check_rules else run

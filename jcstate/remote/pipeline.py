"""Load the remote state and compute the plan: the shared path of plan, apply and drift.

`make_plan(project, client, options, refresh=..., progress=...) -> PlanRun`
fetches what the plan needs (the full listing, or per-phone lookups when
that is cheaper and nothing is pruned), then calls the pure `compute_plan`.
Timings (seconds) are kept per stage: parse (given by the caller, who loaded
the project), fetch and diff; the CLI adds render.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from jcstate.core.changeset import ChangedSince
from jcstate.core.model import DesiredContact, Project, RemoteState
from jcstate.core.plan import Plan, PlanOptions, compute_plan, with_reads
from jcstate.errors import NotFoundError
from jcstate.remote.client import JustCallClient
from jcstate.remote.listing import ProgressFactory, build_state, fetch_remote


@dataclass(frozen=True)
class PlanRun:
    plan: Plan
    remote: RemoteState
    timings: dict[str, float] = field(default_factory=dict)
    #: what `--changed-since` planned (None: the plan covers what its options say)
    changed_since: ChangedSince | None = None


def options_for(
    project: Project,
    *,
    prune: bool = False,
    targets: frozenset[str] | None = None,
) -> PlanOptions:
    """Plan options with the project's rate limit (for the cost estimate)."""
    rate = project.config.api.rate_limit
    return PlanOptions(
        prune=prune,
        targets=targets,
        per_minute=rate.per_minute if rate is not None else None,
        per_hour=rate.per_hour if rate is not None else None,
    )


def wanted_phones(project: Project, options: PlanOptions) -> list[str] | None:
    """The phones a targeted refresh looks up: the targets, else every declared phone.

    None (list everything) when nothing is declared: the plan then reports how
    many remote contacts are not declared.
    """
    if options.targets is not None:
        return sorted(options.targets)
    # In no order: lookups are sent in the order of their normalised phones, and a
    # listing needs only their number (sorting 100,000 phones cost 0.03 s).
    phones = list({contact.phone for contact in project.desired.contacts})
    return phones or None


async def add_pinned(
    client: JustCallClient, contacts: Iterable[DesiredContact], state: RemoteState
) -> RemoteState:
    """A per-phone view misses id-pinned contacts whose phone changes: fetch them by id.

    Without this, a pinned contact moving to a new phone would look absent
    and turn into a create.
    """
    if state.complete:
        return state
    have = {contact.id for contact in state.contacts}
    found = list(state.contacts)
    for contact in contacts:
        if contact.id is None or contact.id in have:
            continue
        try:
            found.append(await client.get_contact(contact.id))
        except NotFoundError:
            continue
        have.add(contact.id)
    return dataclasses.replace(build_state(found, complete=False), total=state.total)


async def make_plan(
    project: Project,
    client: JustCallClient,
    options: PlanOptions,
    refresh: str = "auto",
    progress: ProgressFactory | None = None,
    *,
    parse_seconds: float | None = None,
) -> PlanRun:
    """Fetch the remote state the plan needs and compute the plan."""

    async def fetch() -> RemoteState:
        remote = await fetch_remote(
            client,
            phones=wanted_phones(project, options),
            refresh=refresh,
            prune=options.prune,
            concurrency=project.config.api.concurrency,
            progress=progress,
        )
        return await add_pinned(client, project.desired.contacts, remote)

    return await timed_plan(
        fetch(),
        lambda remote: compute_plan(project.desired, remote, options),
        parse_seconds,
        client,
    )


async def timed_plan(
    fetch: Awaitable[RemoteState],
    diff: Callable[[RemoteState], Plan],
    parse_seconds: float | None = None,
    client: JustCallClient | None = None,
) -> PlanRun:
    """Await the remote state, then plan against it; each phase timed (`--timings`).

    With `client`, the requests the fetch sent are the plan's cost of reading
    (an apply reads as much again): they go into its `Cost:` estimate.
    """
    timings: dict[str, float] = {}
    if parse_seconds is not None:
        timings["parse"] = parse_seconds
    sent = client.stats.total if client is not None else 0
    started = time.perf_counter()
    remote = await fetch
    timings["fetch"] = time.perf_counter() - started
    started = time.perf_counter()
    plan = diff(remote)
    if client is not None:
        plan = dataclasses.replace(plan, cost=with_reads(plan.cost, client.stats.total - sent))
    timings["diff"] = time.perf_counter() - started
    return PlanRun(plan=plan, remote=remote, timings=timings)

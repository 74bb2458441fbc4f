"""Refresh only a changed set (`--changed-since REF`), then plan it.

`fetch_changed` reads the remote contacts of the set: per-phone lookups, and
by id for pinned contacts, unless a full listing takes fewer requests (the
`auto` rule). Lookups cost one request per contact; a listing costs
ceil(N/100) pages. N is not known before a request is spent, so the rule
first compares against the pages the declared contacts alone would fill (an
account holds at least the contacts applied before): when the lookups take
no more requests than that, they are sent directly and no page is spent
deciding. Only a larger set reads page 1, which then is the listing's own
first page whenever the listing wins. Automatic garbage collection is
paused while the set is read, as for a listing (`listing.collections_paused`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from contextlib import nullcontext

from jcstate.core.changeset import ChangeSet, plan_changed
from jcstate.core.model import DesiredState, RemoteContact, RemoteState
from jcstate.core.normalize import try_normalize_phone
from jcstate.core.plan import PlanOptions
from jcstate.errors import JcstateError, NotFoundError
from jcstate.remote.client import MAX_PER_PAGE, ContactPage, JustCallClient
from jcstate.remote.listing import (
    REFRESH_MODES,
    ProgressFactory,
    build_state,
    list_all,
    page_count,
    pausing_collections,
    read_pages,
)
from jcstate.remote.listing import (
    _first_error as first_error,
)
from jcstate.remote.pipeline import PlanRun, add_pinned, timed_plan


def lookup_requests(changes: ChangeSet) -> int:
    """Requests a targeted refresh of the set takes: one per phone, pinned ones by id."""
    contacts = (*changes.current, *changes.removed)
    pinned_phones = {c.phone for c in contacts if c.id is not None}
    phones = {c.phone for c in contacts if c.id is None} - pinned_phones
    return len(phones) + len({c.id for c in contacts if c.id is not None})


async def _targeted(
    client: JustCallClient, changes: ChangeSet, concurrency: int
) -> list[RemoteContact]:
    contacts = (*changes.current, *changes.removed)
    pins = {c.id: c.phone for c in contacts if c.id is not None}
    phones = {c.phone for c in contacts if c.id is None} - set(pins.values())
    slot = asyncio.Semaphore(max(1, concurrency))

    async def pinned(contact_id: int, phone: str) -> list[RemoteContact]:
        try:
            async with slot:
                found = await client.get_contact(contact_id)
        except NotFoundError:
            # The pin is gone: the plan matches by phone instead.
            return await client.find_by_phone(phone, slot=slot)
        if found.phone == phone:
            return [found]
        # A phone move: who holds the new phone matters to the plan too.
        return [found, *await client.find_by_phone(phone, slot=slot)]

    jobs = [client.find_by_phone(p, slot=slot) for p in sorted(phones)]
    jobs += [pinned(i, p) for i, p in sorted(pins.items())]
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(job) for job in jobs]
    except BaseExceptionGroup as failed:
        raise first_error(failed) from None
    return [contact for task in tasks for contact in task.result()]


@pausing_collections
async def fetch_changed(
    client: JustCallClient,
    changes: ChangeSet,
    *,
    declared: int,
    refresh: str = "auto",
    concurrency: int = 4,
    progress: ProgressFactory | None = None,
) -> RemoteState:
    """The remote contacts of the changed set (or the full listing when that is cheaper)."""
    if refresh not in REFRESH_MODES:
        raise JcstateError(
            f"unknown refresh mode {refresh!r}: use one of {', '.join(REFRESH_MODES)}"
        )
    if changes.size == 0:
        return build_state((), complete=False)
    if refresh == "full":
        return await list_all(client, concurrency=concurrency, progress=progress)
    lookups = lookup_requests(changes)
    if refresh == "targeted" or lookups <= math.ceil(declared / MAX_PER_PAGE):
        found = await _targeted(client, changes, concurrency)
        by_id = {contact.id: contact for contact in found}
        return build_state(by_id.values(), complete=False)
    # More lookups than the declared contacts fill pages: page 1 says how many
    # pages the account takes, and is the listing's own first page if it wins.
    first = await client.list_page(1, MAX_PER_PAGE)
    if first.total is None:
        found = await _targeted(client, changes, concurrency)
        return build_state({c.id: c for c in found}.values(), complete=False)
    pages = page_count(first.total, first.per_page)
    # The contacts the change adds are most likely new to the account: a listing
    # does not find them, so each costs a lookup after it (see below).
    if lookups <= pages - 1 + len(changes.added):
        found = await _targeted(client, changes, concurrency)
        by_id = {contact.id: contact for contact in found}
        return dataclasses.replace(build_state(by_id.values(), complete=False), total=first.total)
    return await _listed(client, changes, first, pages, concurrency, progress)


async def _listed(
    client: JustCallClient,
    changes: ChangeSet,
    first: ContactPage,
    pages: int,
    concurrency: int,
    progress: ProgressFactory | None,
) -> RemoteState:
    """The changed set read from one pass over the listing, then its misses by phone.

    The pass is not bracketed as a full listing is (`list_all`): only the
    changed set is planned from it, never a delete of what it does not hold.
    A contact of the set that it did not find (new, or one that slipped
    between pages while the account changed) is looked up by phone after
    the pass, so every contact of the set is read exactly; pinned ones by
    id. Cost: the pages, plus one lookup per contact of the set not found.
    """
    with progress(pages) if progress is not None else nullcontext() as bar:
        if bar is not None:
            bar.update(1)
        rest = await read_pages(
            client,
            range(2, pages + 1),
            max(1, first.per_page),
            concurrency=concurrency,
            on_page=(lambda: bar.update(1)) if bar is not None else None,
        )
    region = client.settings.region
    by_id = {c.id: c for page in (first, *rest) for c in page.contacts}
    held = {try_normalize_phone(c.phone, region) for c in by_id.values()}
    missing = sorted(
        {
            c.phone
            for c in (*changes.current, *changes.removed)
            if c.id is None and c.phone not in held
        }
    )
    if missing:
        slot = asyncio.Semaphore(max(1, concurrency))
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(client.find_by_phone(p, slot=slot)) for p in missing]
        except BaseExceptionGroup as failed:
            raise first_error(failed) from None
        for task in tasks:
            by_id.update((c.id, c) for c in task.result())
    state = dataclasses.replace(build_state(by_id.values(), complete=False), total=first.total)
    return await add_pinned(client, (*changes.current, *changes.removed), state)


async def make_changed_plan(
    desired: DesiredState,
    changes: ChangeSet,
    client: JustCallClient,
    options: PlanOptions,
    *,
    base_declared: int,
    refresh: str = "auto",
    concurrency: int = 4,
    progress: ProgressFactory | None = None,
    parse_seconds: float | None = None,
) -> PlanRun:
    """Fetch what the changed set needs and plan only it."""
    fetch = fetch_changed(
        client,
        changes,
        declared=len(desired.contacts),
        refresh=refresh,
        concurrency=concurrency,
        progress=progress,
    )
    return await timed_plan(
        fetch,
        lambda remote: plan_changed(desired, changes, remote, options, base_declared=base_declared),
        parse_seconds,
        client,
    )

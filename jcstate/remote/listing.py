"""Fetch the remote state: a verified full listing, or per-phone lookups.

A full listing is complete or there is no result: a failed page aborts the
whole listing, and repeated ids or a count that differs from the reported
`total` raise `IncompleteListingError`. A partial view must never become
creates or deletes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Coroutine, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol, TypeVar

from jcstate.core.model import Conflict, RemoteContact, RemoteState
from jcstate.core.normalize import try_normalize_phone
from jcstate.errors import IncompleteListingError, JcstateError
from jcstate.remote.client import MAX_PER_PAGE, ContactPage, JustCallClient

REFRESH_MODES = ("auto", "full", "targeted")


class Progress(Protocol):
    """What a listing reports its pages to (a click progress bar, for one)."""

    def update(self, n_steps: int) -> None: ...


#: Given the number of pages, a context holding the Progress to report to (or None).
#: The caller decides whether and how progress is shown: nothing here prints.
ProgressFactory = Callable[[int], AbstractContextManager[Progress | None]]

T = TypeVar("T")


def find_conflicts(contacts: Iterable[RemoteContact]) -> tuple[Conflict, ...]:
    """Phones held by more than one remote contact, with their ids (lowest first)."""
    listed = list(contacts)
    counts = Counter(contact.phone for contact in listed)
    shared = {phone for phone, count in counts.items() if count > 1}
    if not shared:
        return ()
    ids_by_phone: dict[str, list[int]] = defaultdict(list)
    for contact in listed:
        if contact.phone in shared:
            ids_by_phone[contact.phone].append(contact.id)
    return tuple(
        Conflict(phone=phone, ids=tuple(sorted(ids))) for phone, ids in sorted(ids_by_phone.items())
    )


def build_state(contacts: Iterable[RemoteContact], *, complete: bool) -> RemoteState:
    ordered = tuple(sorted(contacts, key=lambda contact: contact.id))
    return RemoteState(contacts=ordered, complete=complete, conflicts=find_conflicts(ordered))


def check_listing(pages: Sequence[ContactPage], total: int | None) -> list[RemoteContact]:
    """All contacts of a listing, or IncompleteListingError if it is not provably complete."""
    contacts = [contact for page in pages for contact in page.contacts]
    seen: set[int] = set()
    repeated: list[int] = []
    for contact in contacts:
        if contact.id in seen:
            repeated.append(contact.id)
        seen.add(contact.id)
    if repeated:
        shown = ", ".join(str(contact_id) for contact_id in sorted(set(repeated))[:10])
        raise IncompleteListingError(
            f"the contact listing is inconsistent: ids repeated across pages ({shown}); "
            "contacts may have changed during the listing, run again"
        )
    if total is not None and len(contacts) != total:
        raise IncompleteListingError(
            f"the contact listing is inconsistent: the API reported {total} contacts "
            f"but {len(pages)} pages held {len(contacts)}; "
            "contacts may have changed during the listing, run again"
        )
    return contacts


Job = Callable[[asyncio.Semaphore], Coroutine[Any, Any, T]]


async def _run_all(jobs: Sequence[Job[T]], concurrency: int) -> list[T]:
    """Run every job; the first failure cancels the rest.

    Each job gets the shared slot semaphore, which the client holds only while
    a request is on the wire: at most `concurrency` requests are in flight,
    and parsing one page overlaps the requests for the next ones.
    """
    slot = asyncio.Semaphore(max(1, concurrency))
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(job(slot)) for job in jobs]
    except BaseExceptionGroup as group_error:
        raise _first_error(group_error) from None
    return [task.result() for task in tasks]


def _first_error(group_error: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error to report from a failed task group (a jcstate error when there is one)."""
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group_error]
    while pending:
        current = pending.pop(0)
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        else:
            leaves.append(current)
    for leaf in leaves:
        if isinstance(leaf, JcstateError):
            return leaf
    return leaves[0]


async def list_all(
    client: JustCallClient, *, concurrency: int = 4, progress: ProgressFactory | None = None
) -> RemoteState:
    """The full listing, verified: pages in parallel when `total` is known, else in order."""
    first = await client.list_page(1, MAX_PER_PAGE)
    return await _list_rest(client, first, concurrency=concurrency, progress=progress)


async def _list_rest(
    client: JustCallClient,
    first: ContactPage,
    *,
    concurrency: int,
    progress: ProgressFactory | None,
) -> RemoteState:
    per_page = max(1, first.per_page)
    if first.total is not None:
        page_count = max(1, math.ceil(first.total / per_page))
        with progress(page_count) if progress is not None else nullcontext() as bar:

            def fetch(number: int) -> Job[ContactPage]:
                async def job(slot: asyncio.Semaphore) -> ContactPage:
                    page = await client.list_page(number, per_page, slot=slot)
                    if bar is not None:
                        bar.update(1)
                    return page

                return job

            if bar is not None:
                bar.update(1)
            rest = await _run_all([fetch(n) for n in range(2, page_count + 1)], concurrency)
        contacts = check_listing([first, *rest], first.total)
        return build_state(contacts, complete=True)

    # No total: follow pages until a short or empty one; repeated ids catch a server
    # that ignores `page`.
    pages = [first]
    seen = {contact.id for contact in first.contacts}
    current = first
    while len(current.contacts) >= per_page:
        current = await client.list_page(current.page + 1, per_page)
        pages.append(current)
        # Checked page by page: a server that ignores `page` would otherwise never end.
        ids = {contact.id for contact in current.contacts}
        if ids & seen or len(ids) != len(current.contacts):
            check_listing(pages, None)
        seen |= ids
    return build_state(check_listing(pages, None), complete=True)


async def lookup_phones(
    client: JustCallClient, phones: Iterable[str], *, concurrency: int = 4
) -> RemoteState:
    """The remote contacts of the given phones (one `?phone=` request each)."""
    region = client.settings.region
    wanted = sorted({try_normalize_phone(phone, region) for phone in phones})

    def lookup(phone: str) -> Job[list[RemoteContact]]:
        async def job(slot: asyncio.Semaphore) -> list[RemoteContact]:
            return await client.find_by_phone(phone, slot=slot)

        return job

    results = await _run_all([lookup(phone) for phone in wanted], concurrency)
    by_id = {contact.id: contact for found in results for contact in found}
    return build_state(by_id.values(), complete=False)


async def fetch_remote(
    client: JustCallClient,
    *,
    phones: Sequence[str] | None = None,
    refresh: str = "auto",
    prune: bool = False,
    concurrency: int = 4,
    progress: ProgressFactory | None = None,
) -> RemoteState:
    """The remote state: complete (full listing) or targeted (per-phone lookups), or raises.

    `refresh`: `full` lists everything; `targeted` looks up `phones` one by
    one (never with `prune`: pruning needs the full listing); `auto` looks
    the phones up when that costs fewer requests than the listing and
    `prune` is off, and lists everything otherwise.
    """
    if refresh not in REFRESH_MODES:
        raise JcstateError(
            f"unknown refresh mode {refresh!r}: use one of {', '.join(REFRESH_MODES)}"
        )
    if refresh == "targeted":
        if prune:
            raise JcstateError(
                "--refresh targeted cannot be combined with --prune: pruning needs the full listing"
            )
        if phones is None:
            raise JcstateError("--refresh targeted needs the declared phones to look up")
        return await lookup_phones(client, phones, concurrency=concurrency)
    if refresh == "full" or prune or phones is None:
        return await list_all(client, concurrency=concurrency, progress=progress)

    # auto: page 1 tells how many pages a listing would take.
    first = await client.list_page(1, MAX_PER_PAGE)
    if first.total is not None:
        page_count = math.ceil(first.total / max(1, first.per_page))
        region = client.settings.region
        if len({try_normalize_phone(phone, region) for phone in phones}) < page_count:
            found = await lookup_phones(client, phones, concurrency=concurrency)
            return dataclasses.replace(found, total=first.total)
    return await _list_rest(client, first, concurrency=concurrency, progress=progress)

"""Fetch the remote state: a verified full listing, or per-phone lookups.

A full listing is complete or there is no result: a failed page aborts the
whole listing, and repeated ids or a count that differs from the reported
`total` raise `IncompleteListingError`. A partial view must never become
creates or deletes.

A listing reads at most `ClientSettings.max_contacts` contacts
(`JCSTATE_MAX_CONTACTS`, 1,000,000 by default): a `total` above it stops the
listing after page 1, and so does reading more contacts than that (pages
without a `total` that never end, pages holding more than they say). Pages
are requested by a fixed number of workers, so nothing is allocated in
proportion to a number the server sends.

While a listing (or a set of lookups) is read, CPython's automatic garbage
collection is paused (`collections_paused`): the contacts read pile up as
long-lived objects, and every automatic collection walks the ones not yet
promoted again (at 100,000 contacts: about 500 collections, 0.07 s of a 1 s
listing, and four full collections took 0.45 s before those were held back).
Reference counting still frees everything a request that succeeds at once
leaves; what it cannot free are the reference cycles of a retried one
(tenacity's retry state, the failure and its traceback), so a listing runs
one collection of the young generations every `COLLECT_EVERY` requests, and
one more when the reading ends: each contact is walked once, and cycles
never pile up, however many requests fail.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import gc
import operator
from collections import Counter, defaultdict
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, ParamSpec, Protocol, TypeVar

from jcstate.core.model import Conflict, RemoteContact, RemoteState
from jcstate.core.normalize import try_normalize_phone
from jcstate.errors import (
    AccountChangedError,
    IncompleteListingError,
    JcstateError,
    ListingTooLargeError,
)
from jcstate.remote.client import MAX_CONTACTS_ENV, MAX_PER_PAGE, ContactPage, JustCallClient

REFRESH_MODES = ("auto", "full", "targeted")


class Progress(Protocol):
    """What a listing reports its pages to (a click progress bar, for one)."""

    def update(self, n_steps: int) -> None: ...


#: Given the number of pages, a context holding the Progress to report to (or None).
#: The caller decides whether and how progress is shown: nothing here prints.
ProgressFactory = Callable[[int], AbstractContextManager[Progress | None]]

T = TypeVar("T")
P = ParamSpec("P")


#: While contacts are read, a collection of the young generations after this many requests.
COLLECT_EVERY = 256


@contextmanager
def collections_paused() -> Iterator[None]:
    """No automatic garbage collection inside; afterwards, one collection of the
    young generations (so what the reading left in cycles is freed now) and the
    collector as it was. Nested uses leave both to the outermost."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.collect(1)
            gc.enable()


def collect_now_and_then(requests: int) -> None:
    """Inside `collections_paused`, after every `COLLECT_EVERY`-th request of a reading:
    one collection of the young generations."""
    if requests % COLLECT_EVERY == 0 and not gc.isenabled():
        gc.collect(1)


def pausing_collections(
    read: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    """`read` (a coroutine function reading many contacts) runs in `collections_paused`."""

    @functools.wraps(read)
    async def paused(*args: P.args, **kwargs: P.kwargs) -> T:
        with collections_paused():
            return await read(*args, **kwargs)

    return paused


def find_conflicts(contacts: Iterable[RemoteContact]) -> tuple[Conflict, ...]:
    """Phones held by more than one remote contact, with their ids (lowest first)."""
    listed = list(contacts)
    phones = list(map(_phone_of, listed))
    if len(set(phones)) == len(phones):
        # The common case, no phone shared: a set is a few times cheaper than counting.
        return ()
    shared = {phone for phone, count in Counter(phones).items() if count > 1}
    ids_by_phone: dict[str, list[int]] = defaultdict(list)
    for contact in listed:
        if contact.phone in shared:
            ids_by_phone[contact.phone].append(contact.id)
    return tuple(
        Conflict(phone=phone, ids=tuple(sorted(ids))) for phone, ids in sorted(ids_by_phone.items())
    )


_id_of = operator.attrgetter("id")
_phone_of = operator.attrgetter("phone")


def build_state(contacts: Iterable[RemoteContact], *, complete: bool) -> RemoteState:
    ordered = tuple(sorted(contacts, key=_id_of))
    return RemoteState(contacts=ordered, complete=complete, conflicts=find_conflicts(ordered))


def check_listing(pages: Sequence[ContactPage], total: int | None) -> list[RemoteContact]:
    """All contacts of a listing, or IncompleteListingError if it is not provably complete."""
    contacts = [contact for page in pages for contact in page.contacts]
    ids = list(map(_id_of, contacts))
    if len(set(ids)) != len(ids):
        repeated = [contact_id for contact_id, count in Counter(ids).items() if count > 1]
        shown = ", ".join(str(contact_id) for contact_id in sorted(repeated)[:10])
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


def page_count(total: int, per_page: int) -> int:
    """Pages of `per_page` that hold `total` contacts, at least 1 (integers only: a
    total too large for a float must not raise OverflowError). (Pure.)"""
    return max(1, -(-total // max(1, per_page)))


class Ceiling:
    """Counts the contacts a listing has read; more than `limit` is an error naming it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.read = 0

    def check_total(self, total: int | None) -> None:
        if total is not None and total > self.limit:
            raise ListingTooLargeError(
                f"the API reports {total} contacts, more than a listing reads "
                f"(at most {self.limit:,}; {MAX_CONTACTS_ENV} raises the ceiling); "
                "nothing was changed"
            )

    def add(self, page: ContactPage) -> None:
        self.read += len(page.contacts)
        if self.read > self.limit:
            raise ListingTooLargeError(
                f"the listing holds more than {self.limit:,} contacts, the most a listing "
                f"reads ({MAX_CONTACTS_ENV} raises the ceiling); nothing was changed"
            )


Job = Callable[[asyncio.Semaphore], Coroutine[Any, Any, T]]


async def _run_all(jobs: Iterable[Job[T]], concurrency: int) -> list[T]:
    """Run every job, in order of their results; the first failure cancels the rest.

    Each job gets the shared slot semaphore, which the client holds only while
    a request is on the wire: at most `concurrency` requests are in flight,
    and parsing one page overlaps the requests for the next ones. Jobs are
    taken from `jobs` by twice as many workers as slots, so a long (or
    endless) iterable of jobs is never materialised.
    """
    slot = asyncio.Semaphore(max(1, concurrency))
    results: dict[int, T] = {}
    pending: Iterator[tuple[int, Job[T]]] = enumerate(jobs)

    async def worker() -> None:
        for index, job in pending:
            results[index] = await job(slot)
            collect_now_and_then(index + 1)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(2 * max(1, concurrency)):
                group.create_task(worker())
    except BaseExceptionGroup as group_error:
        raise _first_error(group_error) from None
    return [results[index] for index in range(len(results))]


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


@pausing_collections
async def read_pages(
    client: JustCallClient,
    numbers: Sequence[int],
    per_page: int,
    *,
    concurrency: int = 4,
    on_page: Callable[[], None] | None = None,
) -> list[ContactPage]:
    """The given listing pages, in parallel, unverified: a caller that needs
    completeness uses `list_all`, which brackets the pages (see `_list_once`)."""

    ceiling = Ceiling(client.settings.max_contacts)

    def fetch(number: int) -> Job[ContactPage]:
        async def job(slot: asyncio.Semaphore) -> ContactPage:
            page = await client.list_page(number, per_page, slot=slot)
            ceiling.add(page)
            if on_page is not None:
                on_page()
            return page

        return job

    return await _run_all(map(fetch, numbers), concurrency)


#: How many times a listing is read in full before an account that keeps changing is an error.
MAX_LISTING_ATTEMPTS = 3
#: Seconds to wait before reading again, times the attempt number.
RELIST_PAUSE_S = 0.5
ACCOUNT_CHANGED = "the account changed while it was being read; nothing was changed"


@pausing_collections
async def list_all(
    client: JustCallClient, *, concurrency: int = 4, progress: ProgressFactory | None = None
) -> RemoteState:
    """The full listing, verified: pages in parallel when `total` is known, else in order."""
    first = await client.list_page(1, MAX_PER_PAGE)
    return await _list_rest(client, first, concurrency=concurrency, progress=progress)


def listing_cost(pages: int) -> int:
    """Requests a verified listing of `pages` pages takes after page 1 (pure)."""
    return 0 if pages <= 1 else pages + 1


def held_still(before: ContactPage, after: ContactPage, total: int | None) -> bool:
    """True when the last page read before the other pages equals the one read after them.

    The account lists in id order and a new contact gets a higher id than
    any before it, so a contact created in between (and still there) shows
    on the last page read after; one deleted without a create lowers the
    total. Either way the two reads differ. (Pure.)
    """
    ids_before = [contact.id for contact in before.contacts]
    ids_after = [contact.id for contact in after.contacts]
    return before.total == total and after.total == total and ids_before == ids_after


async def _list_rest(
    client: JustCallClient,
    first: ContactPage,
    *,
    concurrency: int,
    progress: ProgressFactory | None,
) -> RemoteState:
    """Read the listing again while the account changes under it, up to MAX_LISTING_ATTEMPTS."""
    for attempt in range(1, MAX_LISTING_ATTEMPTS + 1):
        if attempt > 1:
            await asyncio.sleep(RELIST_PAUSE_S * (attempt - 1))
            first = await client.list_page(1, MAX_PER_PAGE)
        state = await _list_once(client, first, concurrency=concurrency, progress=progress)
        if state is not None:
            return state
    raise AccountChangedError(ACCOUNT_CHANGED)


async def _list_once(
    client: JustCallClient,
    first: ContactPage,
    *,
    concurrency: int,
    progress: ProgressFactory | None,
) -> RemoteState | None:
    """One full listing; None when the account changed while it was read.

    With a `total`, one page is one answer and needs no check. Longer
    listings are bracketed: the last page is read first, then every other
    page (page 1 again among them) in parallel, then the last page once
    more. If both reads of the last page agree (see `held_still`), no
    contact was created or deleted since the first of them, so every page
    belongs to the same account state. Cost: two requests more than the
    pages.
    """
    per_page = max(1, first.per_page)
    ceiling = Ceiling(client.settings.max_contacts)
    if first.total is None:
        return await _list_without_total(client, first, per_page, ceiling)
    ceiling.check_total(first.total)
    pages = page_count(first.total, per_page)
    if pages == 1:
        ceiling.add(first)
        return build_state(check_listing([first], first.total), complete=True)
    with progress(pages) if progress is not None else nullcontext() as bar:
        if bar is not None:
            bar.update(1)
        before = await client.list_page(pages, per_page)
        ceiling.add(before)
        if bar is not None:
            bar.update(1)
        if before.total != first.total:
            return None

        def fetch(number: int) -> Job[ContactPage]:
            async def job(slot: asyncio.Semaphore) -> ContactPage:
                page = await client.list_page(number, per_page, slot=slot)
                ceiling.add(page)
                if bar is not None and number != 1:
                    bar.update(1)
                return page

            return job

        middle = await _run_all(map(fetch, range(1, pages)), concurrency)
        after = await client.list_page(pages, per_page)
    if not held_still(before, after, first.total):
        return None
    contacts = check_listing([*middle, after], first.total)
    return build_state(contacts, complete=True)


async def _list_without_total(
    client: JustCallClient, first: ContactPage, per_page: int, ceiling: Ceiling
) -> RemoteState:
    # No total: follow pages until a short or empty one; repeated ids catch a server
    # that ignores `page`, the ceiling one that always has a next page. Without a
    # total a delete cannot be told from the end.
    ceiling.add(first)
    pages = [first]
    seen = {contact.id for contact in first.contacts}
    current = first
    while len(current.contacts) >= per_page:
        current = await client.list_page(current.page + 1, per_page)
        ceiling.add(current)
        pages.append(current)
        collect_now_and_then(len(pages))
        # Checked page by page: a server that ignores `page` would otherwise never end.
        ids = {contact.id for contact in current.contacts}
        if ids & seen or len(ids) != len(current.contacts):
            check_listing(pages, None)
        seen |= ids
    return build_state(check_listing(pages, None), complete=True)


@pausing_collections
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


def _distinct_phones(phones: Iterable[str], region: str, *, up_to: int) -> int:
    """How many distinct phones (normalised) there are, counted up to `up_to` at most:
    choosing between lookups and a listing needs no more. (Pure.)"""
    seen: set[str] = set()
    for phone in phones:
        if len(seen) >= up_to:
            break
        seen.add(try_normalize_phone(phone, region))
    return len(seen)


@pausing_collections
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
        cost = listing_cost(page_count(first.total, first.per_page))
        if _distinct_phones(phones, client.settings.region, up_to=cost) < cost:
            found = await lookup_phones(client, phones, concurrency=concurrency)
            return dataclasses.replace(found, total=first.total)
    return await _list_rest(client, first, concurrency=concurrency, progress=progress)

"""Read each write's target again just before the write (the shell of jcstate.core.recheck).

The plan was made from a view of the account; the reviewer approved it
minutes (or, behind a rate limit, hours) before the last write goes out.
`Recheck.verify(change)` is called by the executor immediately before each
PUT and DELETE, inside the request slot the write will use, and says
whether the target is still what the plan was made from.

How it reads, within min(w, ceil(N/100) + 2) requests for w writes in an
account of N contacts:

- when w <= ceil(N/100) + 2: one GET by id per write, right before it;
- otherwise the listing's pages, each read once, lazily, just before the
  first write whose target it holds (the executor sends a phase's writes in
  id order, deletes from the highest id down, so a delete never moves a
  contact that is still to be read onto a page already read). A later
  phase reads its pages afresh while the budget allows. A target a page
  does not settle (someone else moved the listing) is read by id with what
  is left of the budget; with nothing left it is not written.

Nothing here can see a change made after the read and before the write:
the API has no conditional write.
"""

from __future__ import annotations

import asyncio
import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

from jcstate.core.model import DesiredState, RemoteContact, RemoteState
from jcstate.core.plan import Action, Change
from jcstate.core.recheck import (
    CHANGED_AFTER_PLAN,
    PAGE_SIZE,
    expected_page,
    reads_by_id,
    recheck_budget,
    recheck_verdict,
)
from jcstate.errors import NotFoundError
from jcstate.remote.client import JustCallClient

UNREADABLE = (
    f"{CHANGED_AFTER_PLAN}: the listing moved and it could not be re-read within "
    "the re-check budget"
)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the re-read says about one write."""

    #: why the write must not be sent (None: send it)
    skip: str | None = None
    #: a delete whose target is gone already: nothing to send, the goal holds
    gone: bool = False


def account_size(view: RemoteState | None) -> int | None:
    if view is None:
        return None
    if view.complete:
        return len(view.contacts)
    return view.total


class Recheck:
    """The re-reads of one apply's writes, and their count (`used`, at most `budget`)."""

    def __init__(
        self,
        client: JustCallClient,
        desired: DesiredState,
        view: RemoteState | None,
        changes: Sequence[Change],
    ) -> None:
        self.client = client
        self.desired = desired
        writes = sum(1 for c in changes if c.action is not Action.CREATE and c.id is not None)
        size = account_size(view)
        self.writes = writes
        self.budget = recheck_budget(writes, size)
        self.by_id = reads_by_id(writes, size)
        self.used = 0
        self._before = {c.id: c for c in view.contacts} if view is not None else {}
        self._ids = sorted(self._before) if view is not None and view.complete else None
        self._page_count = max(1, math.ceil((size or 0) / PAGE_SIZE))
        self._removed: list[int] = []
        self._lock = asyncio.Lock()
        self._reset_pages()

    def _reset_pages(self) -> None:
        self._seen: dict[int, RemoteContact] = {}
        #: id ranges a page read settled: an id inside one that the page lacked is gone
        self._covered: list[tuple[int, float]] = []
        self._read_pages: set[int] = set()

    # -- ordering and phases (called by the executor) -------------------------

    def order(self, phase: Sequence[Change]) -> list[int]:
        """The order to send a phase's independent writes in (indexes into `phase`)."""
        indexes = list(range(len(phase)))
        if self.by_id:
            return indexes
        # Deletes from the highest id down: a delete moves only the contacts after it.
        return sorted(indexes, key=lambda i: -(phase[i].id or 0))

    def begin_phase(self, phase: Sequence[Change]) -> None:
        """A new run of writes: read its pages afresh when the budget still allows."""
        if self.by_id or not self._read_pages:
            return
        pages = {self._page_for(c.id) for c in phase if c.id is not None}
        needed = len(pages) if None not in pages else self._page_count
        if self.budget - self.used >= needed:
            self._reset_pages()

    def deleted(self, contact_id: int) -> None:
        bisect.insort(self._removed, contact_id)
        self._seen.pop(contact_id, None)

    # -- the check -------------------------------------------------------------

    async def verify(self, change: Change) -> Verdict:
        """Read `change`'s target again; say whether the write may be sent."""
        if change.action is Action.CREATE or change.id is None:
            return Verdict()
        settled, now = await self._read(change.id)
        if not settled:
            return Verdict(skip=UNREADABLE)
        if now is None and change.action is Action.DELETE:
            return Verdict(gone=True)
        reason = recheck_verdict(change, self._before.get(change.id), now, self.desired)
        return Verdict(skip=reason)

    async def _read(self, contact_id: int) -> tuple[bool, RemoteContact | None]:
        if self.by_id:
            return True, await self._get(contact_id)
        async with self._lock:
            while True:
                if contact_id in self._seen:
                    return True, self._seen[contact_id]
                if any(low <= contact_id <= high for low, high in self._covered):
                    return True, None
                page = self._next_page(contact_id)
                if page is None or self.used >= self.budget:
                    break
                await self._read_page(page)
            if self.used >= self.budget:
                return False, None
            return True, await self._get(contact_id)

    def _page_for(self, contact_id: int) -> int | None:
        if self._ids is None:
            return None
        return expected_page(contact_id, self._ids, self._removed)

    def _next_page(self, contact_id: int) -> int | None:
        """The page to read for `contact_id`; None: no page would settle it (read by id)."""
        expected = self._page_for(contact_id)
        if expected is not None:
            return None if expected in self._read_pages else expected
        unread = [n for n in range(1, self._page_count + 1) if n not in self._read_pages]
        return unread[0] if unread else None

    async def _read_page(self, number: int) -> None:
        self.used += 1
        self._read_pages.add(number)
        page = await self.client.list_page(number, PAGE_SIZE)
        contacts = page.contacts
        for contact in contacts:
            self._seen[contact.id] = contact
        # The listing is in id order: page 1 starts at the lowest id, a short page ends it.
        low = 0 if number == 1 else min((c.id for c in contacts), default=None)
        high: float | None = max((c.id for c in contacts), default=None)
        if len(contacts) < max(1, page.per_page):
            high = math.inf
        if low is not None and high is not None:
            self._covered.append((low, high))

    async def _get(self, contact_id: int) -> RemoteContact | None:
        self.used += 1
        try:
            return await self.client.get_contact(contact_id)
        except NotFoundError:
            return None

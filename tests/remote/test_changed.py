"""fetch_changed: a changed set costs min(k lookups, ceil(N/100) pages) requests, no more."""

from __future__ import annotations

import gc
import math
from typing import Any

import httpx
import pytest
import respx

from jcstate.core.changeset import ChangeSet
from jcstate.core.model import DesiredContact
from jcstate.remote.changed import fetch_changed
from tests.support.client import BASE_URL, FakeClock, contact_json, ok, page_answer, run

N = 1000  # 10 pages


def stored() -> list[dict[str, Any]]:
    return [contact_json(n) for n in range(1, N + 1)]


def declared(n: int, **extra: Any) -> DesiredContact:
    return DesiredContact(
        phone=f"+1415555{n:04d}", fields={"first_name": "X"}, custom_fields={}, **extra
    )


def serve(mock: respx.MockRouter, contacts: list[dict[str, Any]]) -> None:
    def listing(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if "phone" in params:
            found = [c for c in contacts if c["phone"] == params["phone"]]
            return ok(found, page=1, per_page=100, total=len(found))
        return page_answer(contacts, int(params["page"]), int(params["per_page"]), len(contacts))

    def by_id(request: httpx.Request) -> httpx.Response:
        wanted = int(request.url.path.rsplit("/", 1)[1])
        found = [c for c in contacts if c["id"] == wanted]
        if not found:
            return httpx.Response(404, json={"status": "error", "message": "not found"})
        return ok(found[0])

    mock.get("/v2/contacts").mock(side_effect=listing)
    mock.get(url__regex=r"/v2/contacts/\d+$").mock(side_effect=by_id)


@pytest.mark.parametrize("k", [1, 5, 10, 11, 50, 300])
def test_requests_are_the_lower_bound(k: int) -> None:
    changes = ChangeSet(changed=tuple(declared(n) for n in range(1, k + 1)))
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        serve(mock, stored())
        state, client = run(
            FakeClock(), lambda c: fetch_changed(c, changes, declared=N, concurrency=2)
        )
    assert client.stats.total == min(k, math.ceil(N / 100))
    found = {contact.phone for contact in state.contacts}
    assert {c.phone for c in changes.current} <= found
    # A listing read for the changed set only is never taken as the whole account.
    assert state.complete is False


def test_a_contact_of_the_set_the_listing_missed_is_looked_up_by_phone() -> None:
    """A contact that slipped between pages (the account changed) is read exactly."""
    contacts = stored()
    slipped = contacts[500]

    def listing(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if "phone" in params:
            found = [c for c in contacts if c["phone"] == params["phone"]]
            return ok(found, page=1, per_page=100, total=len(found))
        shown = [c for c in contacts if c is not slipped]
        page = page_answer(shown, int(params["page"]), int(params["per_page"]), len(contacts))
        return page

    changes = ChangeSet(changed=(*(declared(n) for n in range(1, 50)), declared(501)))
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        mock.get("/v2/contacts").mock(side_effect=listing)
        state, client = run(
            FakeClock(), lambda c: fetch_changed(c, changes, declared=N, concurrency=2)
        )
    assert slipped["phone"] == "+14155550501"
    assert "+14155550501" in {contact.phone for contact in state.contacts}
    assert client.stats.total == math.ceil(N / 100) + 1


def test_added_contacts_count_as_lookups_after_a_listing() -> None:
    """New contacts are not in any listing: with many of them, lookups are cheaper."""
    new = tuple(declared(n) for n in range(2001, 2020))
    changes = ChangeSet(added=new)
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        serve(mock, stored())
        state, client = run(
            FakeClock(), lambda c: fetch_changed(c, changes, declared=N, concurrency=2)
        )
    # declared=N says 10 pages; 19 lookups > 10, so page 1 is read to learn the
    # account's size; a listing would cost 9 pages more plus the 19 lookups.
    assert client.stats.total == 1 + 19
    assert state.contacts == ()


def test_pins_are_read_by_id_and_a_lost_pin_by_phone() -> None:
    pinned = declared(7, id=7)
    moved = DesiredContact(phone="+14155559999", fields={}, custom_fields={}, id=8)
    lost = declared(9, id=4242)
    changes = ChangeSet(changed=(pinned, moved), removed=(lost,))
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        serve(mock, stored())
        state, client = run(FakeClock(), lambda c: fetch_changed(c, changes, declared=N))
    # 7: by id; 8: by id, then its new phone; 4242: by id (404), then its phone.
    assert client.stats.total == 5
    assert {contact.id for contact in state.contacts} == {7, 8, 9}


def test_an_empty_set_reads_nothing() -> None:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        serve(mock, stored())
        state, client = run(FakeClock(), lambda c: fetch_changed(c, ChangeSet(), declared=N))
    assert client.stats.total == 0 and state.contacts == ()


@pytest.mark.parametrize("k", [5, 300], ids=["lookups", "listing"])
def test_automatic_collection_is_paused_while_the_set_is_read(k: int) -> None:
    """Like a full listing, reading a changed set piles up contacts: see test_listing."""
    contacts = stored()
    seen: list[bool] = []

    def listing(request: httpx.Request) -> httpx.Response:
        seen.append(gc.isenabled())
        params = request.url.params
        if "phone" in params:
            found = [c for c in contacts if c["phone"] == params["phone"]]
            return ok(found, page=1, per_page=100, total=len(found))
        return page_answer(contacts, int(params["page"]), int(params["per_page"]), len(contacts))

    changes = ChangeSet(changed=tuple(declared(n) for n in range(1, k + 1)))
    assert gc.isenabled()
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        mock.get("/v2/contacts").mock(side_effect=listing)
        run(FakeClock(), lambda c: fetch_changed(c, changes, declared=N, concurrency=2))
    assert seen == [False] * len(seen) != []
    assert gc.isenabled()

"""fetch_remote: complete listings or errors, conflicts, targeted refresh."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import weakref
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from jcstate.commands._options import listing_progress
from jcstate.core.model import Conflict, RemoteState
from jcstate.core.normalize import try_normalize_phone
from jcstate.errors import IncompleteListingError, JcstateError, ProtocolError, ServerError
from jcstate.remote import listing
from jcstate.remote.client import JustCallClient
from jcstate.remote.listing import fetch_remote
from tests.support.client import (
    BASE_URL,
    FakeClock,
    contact_json,
    make_client,
    ok,
    page_answer,
    run,
)


def stored(count: int) -> list[dict[str, Any]]:
    return [contact_json(n) for n in range(1, count + 1)]


def listing_route(
    mock: respx.MockRouter, contacts: list[dict[str, Any]], *, with_total: bool = True
) -> respx.Route:
    def answer(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if "phone" in params:
            found = [c for c in contacts if c["phone"] == params["phone"]]
            return ok(found, page=1, per_page=100, total=len(found))
        page = int(params["page"])
        return page_answer(
            contacts, page, int(params["per_page"]), len(contacts) if with_total else None
        )

    return mock.get("/v2/contacts").mock(side_effect=answer)


def fetch(**options: Any) -> tuple[RemoteState, JustCallClient]:
    return run(FakeClock(), lambda client: fetch_remote(client, **options))


def pages_requested(route: respx.Route) -> list[int]:
    return sorted(int(call.request.url.params["page"]) for call in route.calls)


@pytest.mark.parametrize("with_total", [True, False])
def test_full_listing_returns_exactly_the_stored_contacts(with_total: bool) -> None:
    contacts = stored(1234)
    with respx.mock(base_url=BASE_URL) as mock:
        route = listing_route(mock, contacts, with_total=with_total)
        state, client = fetch(refresh="full")
    assert state.complete
    assert [c.id for c in state.contacts] == list(range(1, 1235))
    assert state.conflicts == ()
    if with_total:
        # page 1, the last page, every other page (page 1 again), the last page again
        assert pages_requested(route) == [1, 1, *range(2, 13), 13, 13]
        assert client.stats.get == 15
    else:
        assert pages_requested(route) == list(range(1, 14))
        assert client.stats.get == 13


def test_listing_without_total_stops_at_an_empty_page() -> None:
    with respx.mock(base_url=BASE_URL) as mock:
        route = listing_route(mock, stored(200), with_total=False)
        state, _ = fetch(refresh="full")
    assert len(state.contacts) == 200
    assert pages_requested(route) == [1, 2, 3]


def test_empty_account_is_one_request() -> None:
    with respx.mock(base_url=BASE_URL) as mock:
        route = listing_route(mock, [])
        state, _ = fetch(refresh="full")
    assert state.contacts == () and state.complete
    assert route.call_count == 1


def test_pages_are_fetched_concurrently_within_the_bound() -> None:
    contacts = stored(2000)
    active = 0
    peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.001)
        active -= 1
        page = int(request.url.params["page"])
        return page_answer(contacts, page, 100, len(contacts))

    async def main() -> RemoteState:
        transport = httpx.MockTransport(handler)
        async with make_client(FakeClock(), transport=transport) as client:
            return await fetch_remote(client, refresh="full", concurrency=3)

    state = asyncio.run(main())
    assert len(state.contacts) == 2000
    assert peak == 3


def test_a_failed_page_aborts_the_listing() -> None:
    contacts = stored(500)

    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        if page == 4:
            return httpx.Response(500, json={"status": "error", "message": "db down"})
        return page_answer(contacts, page, 100, 500)

    with respx.mock(base_url=BASE_URL) as mock:
        mock.get("/v2/contacts").mock(side_effect=answer)
        with pytest.raises(ServerError, match=r"page=4.*db down"):
            fetch(refresh="full")


def test_a_page_answered_with_html_is_an_error_not_a_short_state() -> None:
    contacts = stored(300)

    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        if page == 2:
            return httpx.Response(200, text="<html>maintenance</html>")
        return page_answer(contacts, page, 100, 300)

    with respx.mock(base_url=BASE_URL) as mock:
        mock.get("/v2/contacts").mock(side_effect=answer)
        with pytest.raises(ProtocolError, match=r"GET /v2/contacts\?page=2"):
            fetch(refresh="full")


def test_a_count_that_differs_from_total_is_incomplete() -> None:
    contacts = stored(250)

    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        return page_answer(contacts, page, 100, 260)

    with respx.mock(base_url=BASE_URL) as mock:
        mock.get("/v2/contacts").mock(side_effect=answer)
        with pytest.raises(IncompleteListingError, match=r"reported 260 contacts.*held 250"):
            fetch(refresh="full")


def test_repeated_ids_across_pages_are_incomplete() -> None:
    contacts = stored(300)
    # a contact deleted during the listing shifts page 3 by one: id 200 appears twice
    shifted = [*contacts[:200], contacts[199], *contacts[200:299]]

    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        return page_answer(shifted, page, 100, 300)

    with respx.mock(base_url=BASE_URL) as mock:
        mock.get("/v2/contacts").mock(side_effect=answer)
        with pytest.raises(IncompleteListingError, match=r"repeated.*200"):
            fetch(refresh="full")


def test_a_server_ignoring_page_without_total_is_caught() -> None:
    contacts = stored(100)
    with respx.mock(base_url=BASE_URL) as mock:
        mock.get("/v2/contacts").mock(
            side_effect=lambda request: page_answer(contacts, 1, 100, None)
        )
        with pytest.raises(IncompleteListingError, match="repeated"):
            fetch(refresh="full")


def test_remote_duplicates_are_conflicts_and_all_contacts_are_kept() -> None:
    contacts = [
        contact_json(5, "+14155550100"),
        contact_json(2, "(415) 555-0100"),
        contact_json(9, "+14155550199"),
    ]
    with respx.mock(base_url=BASE_URL) as mock:
        listing_route(mock, contacts)
        state, _ = fetch(refresh="full")
    assert [c.id for c in state.contacts] == [2, 5, 9]
    assert state.conflicts == (Conflict(phone="+14155550100", ids=(2, 5)),)


def test_auto_refresh_looks_few_phones_up_one_by_one() -> None:
    contacts = stored(1000)  # 10 pages
    wanted = [contacts[10]["phone"], contacts[500]["phone"], "+14155559999", contacts[10]["phone"]]
    with respx.mock(base_url=BASE_URL) as mock:
        route = listing_route(mock, contacts)
        state, client = fetch(phones=wanted)
    assert not state.complete
    assert state.total == 1000  # from page 1: the plan tells the user what it did not count
    assert [c.id for c in state.contacts] == [11, 501]
    lookups = [call.request.url.params.get("phone") for call in route.calls]
    # page 1 to learn the size, then one lookup per distinct phone
    assert lookups.count(None) == 1
    assert sorted(p for p in lookups if p) == sorted(set(wanted))
    assert client.stats.get == 4


def test_auto_refresh_lists_everything_when_that_is_cheaper() -> None:
    contacts = stored(300)  # 3 pages
    wanted = [c["phone"] for c in contacts[:5]]
    with respx.mock(base_url=BASE_URL) as mock:
        route = listing_route(mock, contacts)
        state, _ = fetch(phones=wanted)
    assert state.complete and len(state.contacts) == 300
    assert pages_requested(route) == [1, 1, 2, 3, 3]


def test_prune_always_lists_everything() -> None:
    contacts = stored(1000)
    with respx.mock(base_url=BASE_URL) as mock:
        route = listing_route(mock, contacts)
        state, _ = fetch(phones=[contacts[0]["phone"]], prune=True)
    assert state.complete and len(state.contacts) == 1000
    assert route.call_count == 12


def test_targeted_refresh_finds_remote_duplicates_of_a_declared_phone() -> None:
    contacts = [contact_json(4, "+14155550100"), contact_json(3, "+14155550100")]
    with respx.mock(base_url=BASE_URL) as mock:
        listing_route(mock, contacts)
        state, _ = fetch(phones=["+14155550100"], refresh="targeted")
    assert state.conflicts == (Conflict(phone="+14155550100", ids=(3, 4)),)
    assert not state.complete


def test_a_failed_lookup_aborts_a_targeted_refresh() -> None:
    with respx.mock(base_url=BASE_URL) as mock:
        mock.get("/v2/contacts").mock(return_value=httpx.Response(200, text="<html/>"))
        with pytest.raises(ProtocolError):
            fetch(phones=["+14155550100", "+14155550101"], refresh="targeted")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"refresh": "targeted", "prune": True, "phones": ["+14155550100"]}, "--prune"),
        ({"refresh": "sometimes"}, "unknown refresh mode"),
        ({"refresh": "targeted"}, "needs the declared phones"),
    ],
)
def test_invalid_refresh_options_are_errors_before_any_request(
    options: dict[str, Any], message: str
) -> None:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        route = mock.get("/v2/contacts").mock(return_value=ok([]))
        with pytest.raises(JcstateError, match=message):
            fetch(**options)
    assert route.call_count == 0


def test_no_progress_bar_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    assert listing_progress() is None
    with respx.mock(base_url=BASE_URL) as mock:
        listing_route(mock, stored(1000))
        state, _ = fetch(refresh="full", progress=listing_progress())
    assert len(state.contacts) == 1000
    assert capsys.readouterr().err == ""


def test_a_listing_reports_every_page_to_the_progress_it_is_given() -> None:
    reported: list[int] = []

    class Recorder:
        def update(self, n_steps: int) -> None:
            reported.append(n_steps)

    @contextlib.contextmanager
    def progress(pages: int) -> Iterator[Recorder]:
        reported.append(-pages)
        yield Recorder()

    with respx.mock(base_url=BASE_URL) as mock:
        listing_route(mock, stored(1000))
        fetch(refresh="full", progress=progress)
    assert reported[0] == -10
    assert sum(reported[1:]) == 10


# -- the collector ------------------------------------------------------------
# A listing keeps every contact it reads; CPython's automatic full collections
# would walk all of them again and again while they pile up (four full
# collections cost 0.45 s of a 1.9 s listing of 100,000). They are held back
# while pages are read (young collections go on, freeing the cycles each
# request leaves) and the thresholds are restored afterwards, however the
# listing ends.


def collector_during(answer: Any, **options: Any) -> tuple[list[bool], BaseException | None]:
    """Whether automatic garbage collection was on at each request, and the listing's error."""
    seen: list[bool] = []

    def recording(request: httpx.Request) -> httpx.Response:
        seen.append(gc.isenabled())
        response: httpx.Response = answer(request)
        return response

    error: BaseException | None = None
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        mock.get("/v2/contacts").mock(side_effect=recording)
        try:
            fetch(**options)
        except JcstateError as exc:
            error = exc
    return seen, error


def serving(contacts: list[dict[str, Any]]) -> Any:
    def answer(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if "phone" in params:
            found = [c for c in contacts if c["phone"] == params["phone"]]
            return ok(found, page=1, per_page=100, total=len(found))
        return page_answer(contacts, int(params["page"]), 100, len(contacts))

    return answer


@contextlib.contextmanager
def collector(enabled: bool) -> Iterator[None]:
    was_enabled = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        yield
    finally:
        (gc.enable if was_enabled else gc.disable)()


@pytest.mark.parametrize(
    "options",
    [
        {"refresh": "full"},
        {"refresh": "auto", "phones": ["+14155550001"]},
        {"refresh": "targeted", "phones": ["+14155550001", "+14155550002"]},
    ],
    ids=["full", "auto", "targeted"],
)
def test_automatic_collection_is_paused_while_pages_are_read(options: dict[str, Any]) -> None:
    thresholds = gc.get_threshold()
    with collector(enabled=True):
        seen, error = collector_during(serving(stored(500)), **options)
        assert error is None
        assert seen == [False] * len(seen) != []
        assert gc.isenabled()
    assert gc.get_threshold() == thresholds


def test_the_collector_is_restored_after_a_failed_listing() -> None:
    contacts = stored(500)

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.params["page"] == "3":
            return httpx.Response(200, text="<html/>")
        return page_answer(contacts, int(request.url.params["page"]), 100, 500)

    with collector(enabled=True):
        seen, error = collector_during(answer, refresh="full")
        assert isinstance(error, ProtocolError)
        assert seen == [False] * len(seen) != []
        assert gc.isenabled()


def test_a_collector_paused_by_the_caller_stays_paused() -> None:
    with collector(enabled=False):
        seen, error = collector_during(serving(stored(500)), refresh="full")
        assert error is None and seen == [False] * len(seen)
        assert not gc.isenabled()


class Cycle:
    """An object only the cycle collector can free (it refers to itself)."""

    def __init__(self) -> None:
        self.me = self


@pytest.mark.parametrize(
    ("with_total", "requests"), [(True, 32), (False, 31)], ids=["parallel", "page-after-page"]
)
def test_reference_cycles_left_by_requests_are_freed_while_a_long_listing_goes_on(
    monkeypatch: pytest.MonkeyPatch, with_total: bool, requests: int
) -> None:
    """Reference counting cannot free a cycle (a retried request leaves some): with the
    collector paused, the listing itself collects every COLLECT_EVERY requests and once
    at its end."""
    monkeypatch.setattr(listing, "COLLECT_EVERY", 4)
    contacts = stored(3000)
    made: list[weakref.ref[Cycle]] = []
    alive_at_request: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        alive_at_request.append(sum(ref() is not None for ref in made))
        made.append(weakref.ref(Cycle()))
        total = len(contacts) if with_total else None
        return page_answer(contacts, int(request.url.params["page"]), 100, total)

    with collector(enabled=True):
        seen, error = collector_during(answer, refresh="full")
        assert error is None and len(seen) == requests
        # never more than the requests since the last collection, and those in flight
        assert max(alive_at_request) <= 4 + 2 * 4 + 2
        assert all(ref() is None for ref in made)


def test_auto_refresh_normalises_only_the_phones_it_needs_to_choose_the_listing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Deciding between lookups and a listing needs to know only whether the distinct
    phones reach the listing's cost; a plan of 100,000 contacts does not read them all."""
    contacts = stored(1000)  # 10 pages: a listing costs 11 more requests after page 1
    normalised: list[str] = []

    def counting(phone: str, region: str = "US") -> str:
        normalised.append(phone)
        return try_normalize_phone(phone, region)

    monkeypatch.setattr(listing, "try_normalize_phone", counting)
    wanted = [c["phone"] for c in contacts[:500]]
    with respx.mock(base_url=BASE_URL) as mock:
        route = listing_route(mock, contacts)
        state, _ = fetch(phones=wanted)
    assert state.complete and len(state.contacts) == 1000
    assert route.call_count == 12
    assert len(normalised) == 11

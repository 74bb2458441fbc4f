"""A listing is complete only if the account held still while it was read.

A fake account answers the listing from its current contacts and lets a
test change them between requests, as another client would.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
import respx

from jcstate.errors import AccountChangedError
from jcstate.remote import listing
from jcstate.remote.listing import ACCOUNT_CHANGED, fetch_remote
from tests.support.client import BASE_URL, FakeClock, contact_json, page_answer, run


class Account:
    """Contacts in id order; `on_request(n)` runs after the n-th listing request is answered."""

    def __init__(self, count: int, on_request: Callable[[Account, int], None]) -> None:
        self.contacts = [contact_json(n) for n in range(1, count + 1)]
        self.next_id = count + 1
        self.requests = 0
        self.on_request = on_request

    def delete_first_and_create(self) -> None:
        self.contacts.pop(0)
        self.contacts.append(contact_json(self.next_id))
        self.next_id += 1

    def answer(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        response = page_answer(
            self.contacts, int(params["page"]), int(params["per_page"]), len(self.contacts)
        )
        self.requests += 1
        self.on_request(self, self.requests)
        return response


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listing, "RELIST_PAUSE_S", 0.0)


def list_account(account: Account) -> list[int]:
    with respx.mock(base_url=BASE_URL) as mock:
        mock.get("/v2/contacts").mock(side_effect=account.answer)
        state, _ = run(FakeClock(), lambda client: fetch_remote(client, refresh="full"))
    assert state.complete
    return [contact.id for contact in state.contacts]


def once_after(request_number: int) -> Callable[[Account, int], None]:
    def change(account: Account, number: int) -> None:
        if number == request_number:
            account.delete_first_and_create()

    return change


@pytest.mark.parametrize("after_request", [1, 2, 3, 4, 5])
def test_a_delete_and_a_create_during_the_listing_never_lose_a_contact(
    after_request: int,
) -> None:
    # 350 contacts, 4 pages. The total stays 350; every page after the change shifts by one.
    account = Account(350, once_after(after_request))
    ids = list_account(account)
    assert ids == [contact["id"] for contact in account.contacts]  # as the account is now
    assert ids == list(range(2, 352))


def test_the_shifted_listing_is_read_again_at_a_cost_of_one_more_pass() -> None:
    account = Account(350, once_after(3))  # during the middle pages: the first pass is void
    list_account(account)
    pages = 4
    assert account.requests == 2 * (pages + 2)  # two passes of pages + 2 requests


def test_a_listing_that_holds_still_costs_two_requests_more_than_its_pages() -> None:
    account = Account(350, lambda account, number: None)
    assert list_account(account) == list(range(1, 351))
    assert account.requests == 4 + 2


def test_one_page_needs_no_second_read() -> None:
    account = Account(80, lambda account, number: None)
    assert len(list_account(account)) == 80
    assert account.requests == 1


def test_an_account_that_never_holds_still_is_an_error_naming_it() -> None:
    account = Account(350, lambda account, number: account.delete_first_and_create())
    with pytest.raises(AccountChangedError) as failed:
        list_account(account)
    assert str(failed.value) == ACCOUNT_CHANGED
    assert str(failed.value) == ("the account changed while it was being read; nothing was changed")
    assert account.requests <= listing.MAX_LISTING_ATTEMPTS * 6 + 2


def test_a_pure_delete_lowers_the_total_and_is_caught() -> None:
    def delete_once(account: Account, number: int) -> None:
        if number == 2:
            account.contacts.pop(0)

    account = Account(350, delete_once)
    assert list_account(account) == list(range(2, 351))


def test_a_pure_create_shows_on_the_last_page_and_is_caught() -> None:
    def create_once(account: Account, number: int) -> None:
        if number == 4:
            account.contacts.append(contact_json(999))

    account = Account(350, create_once)
    assert list_account(account)[-1] == 999


def test_an_edit_that_moves_nothing_does_not_cost_a_relisting() -> None:
    def edit(account: Account, number: int) -> None:
        if number == 2:
            account.contacts[200] = {**account.contacts[200], "first_name": "Edited"}

    account = Account(350, edit)
    list_account(account)
    assert account.requests == 6

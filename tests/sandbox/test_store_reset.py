"""Emptying a sandbox store gives what a new file gives: the tests share one served sandbox.

Each test process serves one sandbox and empties it before each test that asks
for `sandbox_server` (tests/conftest.py): these tests hold that an emptied
store, and the server process reading it, cannot be told from new ones.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from jcstate.sandbox.seeddata import generated_contact
from jcstate.sandbox.store import ContactFilters, ContactStore
from jcstate.sandbox.validation import validate_contact
from tests.support.sandbox_server import SandboxServer, empty_sandbox, start_sandbox

NOW = "2026-01-02T03:04:05Z"


def store_at(path: Path) -> ContactStore:
    return ContactStore(path, clock=lambda: NOW)


def new(index: int, **fields: Any) -> Any:
    return validate_contact({**generated_contact(index), **fields}, partial=False)


def story(store: ContactStore) -> list[Any]:
    """The same writes and reads, recording everything the store answers."""
    seen: list[Any] = [store.count(), store.last_id(), store.list_page(ContactFilters(), 1, 10)]
    seen.append(store.create(new(1)))
    seen.append(store.bulk_upsert([new(2), new(3), new(1, company="Bulk")]))
    seen.append(store.update(2, validate_contact({"first_name": "Ed"}, partial=True)))
    seen.append(store.delete(3))
    seen.append(store.create(new(4)))
    seen.append(store.list_page(ContactFilters(), 1, 10))
    seen.append(store.list_page(ContactFilters(company="bulk"), 1, 10))
    seen.append(store.list_page_json(ContactFilters(), 1, 2))
    seen.extend([store.count(), store.last_id(), store.get(1), store.get(3)])
    return seen


def test_an_emptied_store_answers_as_a_new_file_does(tmp_path: Path) -> None:
    fresh = store_at(tmp_path / "fresh.db")
    used = store_at(tmp_path / "used.db")
    used.seed(30)
    story(used)  # ids, updates and deletions that the reset must forget
    for contact_id in (5, 6, 7):
        used.delete(contact_id)

    used.reset()

    assert story(used) == story(fresh)


def test_a_server_reading_the_same_file_sees_the_emptied_store(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    server, tests = store_at(path), store_at(path)

    def listed() -> list[int]:
        rows, total = server.list_page(ContactFilters(), 1, 10)
        assert total == len(rows)
        return [row[0] for row in rows]

    # One test creates and deletes a contact; the server has listed the result.
    tests.create(new(1))
    tests.delete(1)
    assert listed() == []
    tests.reset()
    # The next test creates one contact: id 1 again, as in a new file, after as many
    # inserts and deletions as before the reset; the server lists it.
    assert tests.create(new(2))[0] == 1
    assert listed() == [1]
    tests.reset()
    assert listed() == []
    tests.create(new(3))
    tests.create(new(4))
    tests.delete(1)
    assert listed() == [2]


def conversation(server: SandboxServer) -> list[Any]:
    """Requests a test might make first, with every answer minus its timestamps."""

    def answer(response: httpx.Response) -> Any:
        def strip(value: Any) -> Any:
            if isinstance(value, dict):
                skip = ("created_at", "updated_at")
                return {k: strip(v) for k, v in value.items() if k not in skip}
            if isinstance(value, list):
                return [strip(v) for v in value]
            return value

        return response.status_code, strip(response.json())

    with httpx.Client(base_url=server.url, headers=server.auth_headers, timeout=30) as http:
        calls: list[Callable[[], httpx.Response]] = [
            lambda: http.get("/v2/contacts"),
            lambda: http.post("/v2/contacts", json=generated_contact(1)),
            lambda: http.post(
                "/v2/contacts/bulk", json={"contacts": [generated_contact(i) for i in (2, 3)]}
            ),
            lambda: http.delete("/v2/contacts/2"),
            lambda: http.put("/v2/contacts/3", json={"first_name": "Ed"}),
            lambda: http.get("/v2/contacts", params={"per_page": 2}),
            lambda: http.get("/v2/contacts/2"),
        ]
        return [answer(call()) for call in calls]


def test_the_served_sandbox_emptied_between_tests_answers_as_a_new_one(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    # What an earlier test may have left behind.
    with httpx.Client(
        base_url=sandbox_server.url, headers=sandbox_server.auth_headers, timeout=30
    ) as http:
        bulk = {"contacts": [generated_contact(i) for i in range(40, 60)]}
        http.post("/v2/contacts/bulk", json=bulk).raise_for_status()
        http.delete("/v2/contacts/3").raise_for_status()
        assert http.get("/v2/contacts").json()["total"] == 19

    empty_sandbox(sandbox_server)

    with start_sandbox(tmp_path / "new.db") as new_server:
        expected = conversation(new_server)
    assert conversation(sandbox_server) == expected

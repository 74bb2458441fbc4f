"""Another client changes the account while jcstate lists it (the sandbox's --churn-after).

The sandbox deletes the contact with the lowest id and creates a new one
after a listing request: the total holds while every later page shifts by
one, so a contact slips between pages.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_apply_e2e import jcstate, people, write_project
from tests.support.sandbox_server import SandboxServer, start_sandbox

ACCOUNT_CHANGED = "the account changed while it was being read; nothing was changed"


def fill(server: SandboxServer, count: int) -> list[dict[str, object]]:
    """`count` contacts stored with bulk writes (no listing request, so no churn)."""
    contacts = people(range(count))
    with httpx.Client(base_url=server.url, headers=server.auth_headers, timeout=60) as http:
        http.post("/v2/contacts/bulk", json={"contacts": contacts}).raise_for_status()
    return contacts


@pytest.fixture
def churn_once(tmp_path: Path) -> Iterator[SandboxServer]:
    with start_sandbox(tmp_path / "s.db", "--churn-after", "0", "--churn-limit", "1") as server:
        yield server


@pytest.fixture
def churn_always(tmp_path: Path) -> Iterator[SandboxServer]:
    with start_sandbox(tmp_path / "s.db", "--churn-after", "0") as server:
        yield server


def test_a_delete_and_a_create_during_plan_prune_make_no_bogus_creates(
    tmp_path: Path, churn_once: SandboxServer
) -> None:
    root = tmp_path / "project"
    contacts = fill(churn_once, 250)  # 3 pages of 100
    write_project(root, contacts)

    result = jcstate(root, churn_once, "plan", "--prune", "--format", "json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    changes = plan["changes"]
    # The lowest id really was deleted (declared: it is created again) and the new
    # contact really exists (not declared: pruned). Nothing else: no contact that
    # existed the whole time shows as a create.
    creates = [c["phone"] for c in changes if c["action"] == "create"]
    deletes = [c for c in changes if c["action"] == "delete"]
    assert creates == [contacts[0]["phone"]]
    assert len(deletes) == 1
    assert deletes[0]["phone"] not in {c["phone"] for c in contacts}
    assert plan["summary"]["update"] == 0 and plan["summary"]["unchanged"] == 249


def test_an_account_that_never_holds_still_stops_the_plan(
    tmp_path: Path, churn_always: SandboxServer
) -> None:
    root = tmp_path / "project"
    write_project(root, fill(churn_always, 250))
    result = jcstate(root, churn_always, "plan", "--prune")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == f"Error: {ACCOUNT_CHANGED}"
    assert result.stdout == ""

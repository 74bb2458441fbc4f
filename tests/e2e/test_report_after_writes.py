"""After writes, the apply report is printed and journaled even if the check after fails."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from jcstate.execute.journal import read_journal
from tests.e2e.test_apply_e2e import jcstate, people, remote_contacts, write_project
from tests.e2e.test_listing_consistency import fill
from tests.support.sandbox_server import SandboxServer, start_sandbox

#: `apply --prune`'s own listing of 3 pages takes 5 requests (see remote/listing.py);
#: from the 6th on, the account changes after every listing request.
LISTING_REQUESTS_BEFORE_WRITES = 5


@pytest.fixture
def changing_after_the_plan(tmp_path: Path) -> Iterator[SandboxServer]:
    after = str(LISTING_REQUESTS_BEFORE_WRITES)
    with start_sandbox(tmp_path / "s.db", "--churn-after", after) as server:
        yield server


def test_a_failed_convergence_check_still_prints_and_journals_the_report(
    tmp_path: Path, changing_after_the_plan: SandboxServer
) -> None:
    server = changing_after_the_plan
    root = tmp_path / "project"
    stored = fill(server, 300)
    write_project(root, [*stored[:250], *people(range(300, 304))], max_delete_percent=100)

    result = jcstate(root, server, "apply", "--prune", "--auto-approve", "--format", "json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["summary"] == {
        "created": 4,
        "updated": 0,
        "deleted": 50,
        "failed": 0,
        "skipped": 0,
    }
    assert report["converged"] is False
    assert report["convergence_error"] == (
        "the account changed while it was being read, so the result could not be checked"
    )
    assert "nothing was changed" not in (result.stdout + result.stderr).lower()
    # The writes really happened (the sandbox's own churn deleted a few more).
    assert len(remote_contacts(server)) < 300

    (journal,) = sorted((root / ".jcstate" / "journal").glob("*.jsonl"))
    finished = read_journal(journal)[-1]
    assert finished["event"] == "finished"
    assert finished["summary"]["created"] == 4 and finished["summary"]["deleted"] == 50
    assert finished["converged"] is False
    assert finished["convergence_error"] == report["convergence_error"]


def test_the_text_report_says_the_check_could_not_be_made(
    tmp_path: Path, changing_after_the_plan: SandboxServer
) -> None:
    server = changing_after_the_plan
    root = tmp_path / "project"
    stored = fill(server, 300)
    write_project(root, stored[:250], max_delete_percent=100)
    result = jcstate(root, server, "apply", "--prune", "--auto-approve")
    assert result.returncode == 1
    assert "Apply finished with errors: 0 created, 0 updated, 50 deleted" in result.stdout
    assert "Not checked: the convergence check after the writes failed" in result.stdout
    assert "Converged: not known." in result.stdout
    assert "nothing was changed" not in (result.stdout + result.stderr).lower()

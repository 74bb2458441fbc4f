"""`jcstate apply` end to end: the CLI against `jcstate sandbox serve` over HTTP.

The CLI runs in process (tests/support/cli.py), and as a subprocess where stdin
is a terminal.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import httpx

from jcstate.sandbox.seeddata import generated_contact
from tests.support.cli import run_jcstate
from tests.support.sandbox_server import SandboxServer
from tests.support.scenario import write_contact_parts

CUSTOM_FIELDS = """\
custom_fields:
  lead_source: {type: enum, values: [Website, Referral, Event]}
  plan_tier: {type: enum, values: [Free, Pro, Enterprise, Premium]}
  seats: {type: integer}
"""
NOT_A_TERMINAL = (
    "refusing to apply without confirmation: stdin is not a terminal; pass --auto-approve"
)


def write_project(
    root: Path,
    contacts: Sequence[dict[str, Any]],
    *,
    max_delete_percent: float = 10,
    max_update_percent: float = 30,
    protected: Sequence[str] = (),
    files: int = 2,
) -> None:
    """A project of `contacts` split over `files` contacts files (the API URL comes from env)."""
    root.mkdir(parents=True, exist_ok=True)
    protected_yaml = json.dumps(list(protected))
    (root / "jcstate.yaml").write_text(
        "version: 1\n"
        "api: {url: 'https://api.justcall.io'}\n"
        "default_region: US\n"
        'contacts: ["contacts/*.yaml"]\n'
        f"{CUSTOM_FIELDS}"
        "safety:\n"
        f"  max_delete_percent: {max_delete_percent}\n"
        f"  max_update_percent: {max_update_percent}\n"
        "  min_existing: 10\n"
        f"  protected: {protected_yaml}\n"
    )
    write_contact_parts(root, contacts, files)


def people(indexes: Iterable[int]) -> list[dict[str, Any]]:
    return [generated_contact(i, custom_fields=True) for i in indexes]


def jcstate(
    root: Path,
    server: SandboxServer,
    *args: str,
    stdin: Any = subprocess.DEVNULL,
    timeout: float = 180,
) -> subprocess.CompletedProcess[str]:
    """jcstate in this process (tests/support/cli.py); in a real one when stdin is a terminal."""
    env = {**os.environ, **server.env, "NO_COLOR": "1"}
    if stdin is subprocess.DEVNULL:
        return run_jcstate(["-C", str(root), *args], env=env)
    return subprocess.run(
        [sys.executable, "-m", "jcstate", "-C", str(root), *args],
        stdin=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def apply_json(
    root: Path, server: SandboxServer, *args: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    result = jcstate(root, server, "apply", "--auto-approve", "--format", "json", *args)
    assert result.stdout, result.stderr
    return result, json.loads(result.stdout)


def remote_contacts(server: SandboxServer) -> list[dict[str, Any]]:
    """Every stored contact, listed with plain httpx (retrying injected 5xx answers)."""
    contacts: list[dict[str, Any]] = []
    with httpx.Client(base_url=server.url, headers=server.auth_headers, timeout=30) as http:
        page = 1
        while True:
            for _attempt in range(20):
                response = http.get("/v2/contacts", params={"page": page, "per_page": 100})
                if response.status_code < 500:
                    break
            response.raise_for_status()
            data = response.json()["data"]
            contacts.extend(data)
            if len(data) < 100:
                return contacts
            page += 1


def remote_by_phone(server: SandboxServer) -> dict[str, dict[str, Any]]:
    contacts = remote_contacts(server)
    counts = Counter(c["phone"] for c in contacts)
    duplicates = [phone for phone, count in counts.items() if count > 1]
    assert not duplicates, f"duplicate phones: {duplicates[:5]}"
    return {c["phone"]: c for c in contacts}


def test_full_lifecycle(tmp_path: Path, sandbox_server: SandboxServer) -> None:
    root = tmp_path / "project"
    declared = people(range(2000))
    write_project(root, declared)

    result, report = apply_json(root, sandbox_server)
    assert result.returncode == 0, result.stderr
    assert report["summary"] == {
        "created": 2000,
        "updated": 0,
        "deleted": 0,
        "failed": 0,
        "skipped": 0,
    }
    assert report["requests"]["bulk"] == 1  # 2,000 creates in one bulk request
    assert report["converged"] is True
    assert "Plan: 2000 to create" in result.stderr  # the plan went to stderr, not the JSON
    assert len(remote_by_phone(sandbox_server)) == 2000

    # update 50, change a custom field, clear a field with null, prune 10
    for index in range(50):
        declared[index]["last_name"] = f"Renamed{index}"
    tier = declared[60]["custom_fields"]["plan_tier"]
    declared[60]["custom_fields"]["plan_tier"] = "Premium" if tier != "Premium" else "Free"
    declared[61]["email"] = None
    pruned = [c["phone"] for c in declared[-10:]]
    write_project(root, declared[:-10])

    result, report = apply_json(root, sandbox_server, "--prune")
    assert result.returncode == 0, result.stderr
    assert report["summary"] == {
        "created": 0,
        "updated": 52,
        "deleted": 10,
        "failed": 0,
        "skipped": 0,
    }
    assert (report["requests"]["put"], report["requests"]["delete"]) == (52, 10)
    assert report["requests"]["bulk"] == 0
    assert report["converged"] is True

    remote = remote_by_phone(sandbox_server)
    assert len(remote) == 1990
    assert not set(pruned) & set(remote)
    assert remote[declared[0]["phone"]]["last_name"] == "Renamed0"
    assert remote[declared[60]["phone"]]["custom_fields"]["plan_tier"] != tier
    assert not remote[declared[61]["phone"]].get("email")
    assert remote[declared[61]["phone"]]["first_name"] == declared[61]["first_name"]

    journals = sorted((root / ".jcstate" / "journal").glob("*.jsonl"))
    assert len(journals) == 2  # one per apply that changed something
    text = journals[-1].read_text()
    assert sandbox_server.api_key not in text and sandbox_server.api_secret not in text
    assert '"event":"finished"' in text


def test_prune_guard_threshold_force_and_protected(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    root = tmp_path / "project"
    declared = people(range(40))
    protected = declared[0]["phone"]
    write_project(root, declared, protected=[protected])
    first = jcstate(root, sandbox_server, "apply", "--auto-approve")
    assert first.returncode == 0, first.stderr
    assert "Apply complete: 40 created, 0 updated, 0 deleted, 0 failed, 0 skipped." in first.stdout

    write_project(root, declared[5:], protected=[protected])  # 5 of 40 no longer declared
    without_prune = jcstate(root, sandbox_server, "apply", "--auto-approve")
    assert without_prune.returncode == 0
    assert without_prune.stdout.strip().endswith("No changes.")
    assert len(remote_by_phone(sandbox_server)) == 40

    # 4 deletes of 40 (the protected phone stays) = 10% is allowed; lower the bar to trip it.
    write_project(root, declared[5:], protected=[protected], max_delete_percent=5)
    refused = jcstate(root, sandbox_server, "apply", "--auto-approve", "--prune")
    assert refused.returncode == 1
    assert "refusing to apply an unsafe plan (pass --force to apply it anyway)" in refused.stderr
    assert (
        "  - 4 deletes would remove 10.0% of the 40 in-scope remote contacts "
        "(safety.max_delete_percent: 5)" in refused.stderr
    )
    assert len(remote_by_phone(sandbox_server)) == 40

    forced = jcstate(
        root, sandbox_server, "apply", "--auto-approve", "--prune", "--force", "--format", "json"
    )
    assert forced.returncode == 0, forced.stderr
    assert json.loads(forced.stdout)["summary"]["deleted"] == 4
    remote = remote_by_phone(sandbox_server)
    assert len(remote) == 36
    assert protected in remote  # protected phones are never deleted


def _apply_on_a_terminal(root: Path, server: SandboxServer, answer: str) -> tuple[int, str]:
    leader, follower = pty.openpty()
    try:
        os.write(leader, answer.encode() + b"\n")
        result = jcstate(root, server, "apply", stdin=follower)
    finally:
        os.close(leader)
        os.close(follower)
    return result.returncode, result.stdout + result.stderr


def test_confirmation_needs_a_terminal_and_the_literal_yes(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    root = tmp_path / "project"
    write_project(root, people(range(3)))
    result = jcstate(root, sandbox_server, "apply")  # stdin is /dev/null: not a terminal
    assert result.returncode == 1
    assert f"Error: {NOT_A_TERMINAL}" in result.stderr
    assert remote_contacts(sandbox_server) == []

    code, output = _apply_on_a_terminal(root, sandbox_server, "y")
    assert code == 1
    assert "Only 'yes' will be accepted to approve." in output
    assert "apply cancelled" in output
    assert remote_contacts(sandbox_server) == []

    code, output = _apply_on_a_terminal(root, sandbox_server, "yes")
    assert code == 0, output
    assert "Apply complete: 3 created" in output
    assert len(remote_contacts(sandbox_server)) == 3


def test_stale_saved_plan_is_refused_and_skip_stale_applies_the_rest(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    root = tmp_path / "project"
    declared = people(range(20))
    write_project(root, declared)
    assert jcstate(root, sandbox_server, "apply", "--auto-approve").returncode == 0

    for index in (1, 2, 3):
        declared[index]["last_name"] = f"Planned{index}"
    write_project(root, declared)
    plan_file = tmp_path / "reviewed.plan.json"
    planned = jcstate(root, sandbox_server, "plan", "--out", str(plan_file))
    assert planned.returncode == 0, planned.stderr

    # Someone edits contact 2 in the JustCall UI after the review.
    stale_phone = declared[2]["phone"]
    stale = remote_by_phone(sandbox_server)[stale_phone]
    with httpx.Client(base_url=sandbox_server.url, headers=sandbox_server.auth_headers) as http:
        http.put(f"/v2/contacts/{stale['id']}", json={"company": "Edited In UI"}).raise_for_status()

    refused = jcstate(root, sandbox_server, "apply", str(plan_file))
    assert refused.returncode == 1
    assert "1 contact changed since the plan was made:" in refused.stderr
    assert f"{stale_phone} (id {stale['id']}): changed since the plan" in refused.stderr
    remote = remote_by_phone(sandbox_server)
    # Refused means nothing was applied, not even the contacts that did not change.
    assert [remote[declared[i]["phone"]]["last_name"] for i in (1, 3)] == [
        generated_contact(1)["last_name"],
        generated_contact(3)["last_name"],
    ]

    result = jcstate(
        root, sandbox_server, "apply", str(plan_file), "--skip-stale", "--format", "json"
    )
    # The rest is applied, but the stale contact still differs: not converged, exit 1.
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["converged"] is False
    assert report["skipped_stale"] == 1
    assert report["summary"] == {
        "created": 0,
        "updated": 2,
        "deleted": 0,
        "failed": 0,
        "skipped": 1,
    }
    skipped = [item for item in report["items"] if item["outcome"] == "skipped"]
    assert skipped == [
        {
            "action": "update",
            "phone": stale_phone,
            "id": stale["id"],
            "outcome": "skipped",
            "message": "changed since the plan",
        }
    ]
    remote = remote_by_phone(sandbox_server)
    assert remote[declared[1]["phone"]]["last_name"] == "Planned1"
    assert remote[stale_phone]["company"] == "Edited In UI"
    assert remote[stale_phone]["last_name"] == generated_contact(2)["last_name"]

    # The files change after the plan: the plan no longer describes them.
    declared[5]["first_name"] = "Other"
    write_project(root, declared)
    different = jcstate(root, sandbox_server, "apply", str(plan_file))
    assert different.returncode == 1
    assert "this plan was made from different files" in different.stderr
    # It names them: the one contacts file that changed, not jcstate.yaml.
    named = re.search(r"different files \(changed: ([^)]*)\)", different.stderr)
    assert named is not None, different.stderr
    assert re.fullmatch(r"contacts/[\w.-]+\.yaml", named[1]), named[1]

"""`jcstate apply PLANFILE` with a hand-edited plan file, on the served sandbox.

The attacker edits the JSON, adds or changes entries and recomputes their
fingerprints with jcstate's own hashing code; apply must refuse what the
files do not justify, before it sends anything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from jcstate.core.model import fingerprint
from jcstate.core.plan import Action, Change
from jcstate.core.planjson import change_to_dict
from jcstate.remote.client import parse_contact
from tests.e2e.test_apply_e2e import jcstate, people, remote_by_phone, write_project
from tests.support.sandbox_server import SandboxServer


def stored(server: SandboxServer, phone: str) -> dict[str, Any]:
    return remote_by_phone(server)[phone]


def forged_delete(raw: dict[str, Any]) -> dict[str, Any]:
    contact = parse_contact(raw)
    change = Change(Action.DELETE, contact.phone, contact.id, {}, fingerprint=fingerprint(contact))
    return change_to_dict(change)


def add_entries(plan_file: Path, *entries: dict[str, Any], **top: Any) -> None:
    """Edit the plan file as an attacker would: entries, summary and fingerprints agree."""
    data = json.loads(plan_file.read_text())
    plan = data["plan"]
    plan["changes"].extend(entries)
    for entry in entries:
        plan["summary"][entry["action"]] += 1
        if entry["id"] is not None:
            data["fingerprints"][str(entry["id"])] = entry["fingerprint"]
    plan.update(top)
    plan_file.write_text(json.dumps(data))


def snapshot(server: SandboxServer) -> dict[str, dict[str, Any]]:
    return remote_by_phone(server)


def test_forged_deletes_and_a_retargeted_update_are_refused_and_nothing_is_sent(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    root = tmp_path / "project"
    declared = people(range(12))
    guarded = declared[11]["phone"]
    write_project(root, declared, protected=[guarded])
    assert jcstate(root, sandbox_server, "apply", "--auto-approve").returncode == 0
    # The protected phone and one more are no longer declared; one contact gets an edit.
    declared[0]["last_name"] = "Reviewed"
    write_project(root, declared[:10], protected=[guarded])
    plan_file = tmp_path / "reviewed.plan.json"
    planned = jcstate(root, sandbox_server, "plan", "--out", str(plan_file))  # no --prune
    assert planned.returncode == 0, planned.stderr
    assert "Plan: 0 to create, 1 to update, 0 to delete" in planned.stdout

    undeclared = declared[10]["phone"]
    still_declared = declared[5]["phone"]
    data = json.loads(plan_file.read_text())
    (update,) = data["plan"]["changes"]
    victim = stored(sandbox_server, declared[3]["phone"])
    update["id"] = victim["id"]
    update["fingerprint"] = fingerprint(parse_contact(victim))
    data["fingerprints"] = {str(victim["id"]): update["fingerprint"]}
    plan_file.write_text(json.dumps(data))
    add_entries(
        plan_file,
        forged_delete(stored(sandbox_server, guarded)),
        forged_delete(stored(sandbox_server, still_declared)),
        forged_delete(stored(sandbox_server, undeclared)),
    )
    before = snapshot(sandbox_server)

    refused = jcstate(root, sandbox_server, "apply", str(plan_file))
    assert refused.returncode == 1, refused.stdout
    message = refused.stderr
    assert "refusing the plan file: 4 entries that the files do not justify" in message
    assert "nothing was changed" in message
    ids = {phone: before[phone]["id"] for phone in (guarded, still_declared, undeclared)}
    assert f"delete {guarded} (id {ids[guarded]}): the plan was made without --prune" in message
    assert (
        f"delete {still_declared} (id {ids[still_declared]}): the plan was made without --prune"
        in message
    )
    assert (
        f"update {declared[0]['phone']} (id {victim['id']}): id {victim['id']} does not belong "
        f"to {declared[0]['phone']}" in message
    )
    assert "Traceback" not in message
    assert snapshot(sandbox_server) == before
    # --skip-stale and --force do not let a forged entry through either.
    again = jcstate(root, sandbox_server, "apply", str(plan_file), "--skip-stale", "--force")
    assert again.returncode == 1
    assert snapshot(sandbox_server) == before


def test_forged_deletes_in_a_prune_plan_name_why(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    root = tmp_path / "project"
    declared = people(range(12))
    guarded = declared[11]["phone"]
    write_project(root, declared, protected=[guarded])
    assert jcstate(root, sandbox_server, "apply", "--auto-approve").returncode == 0
    write_project(root, declared[:11], protected=[guarded])
    plan_file = tmp_path / "prune.plan.json"
    planned = jcstate(root, sandbox_server, "plan", "--prune", "--out", str(plan_file))
    assert planned.returncode == 0, planned.stderr
    assert "0 to delete" in planned.stdout  # the protected phone is kept

    add_entries(
        plan_file,
        forged_delete(stored(sandbox_server, guarded)),
        forged_delete(stored(sandbox_server, declared[2]["phone"])),
    )
    before = snapshot(sandbox_server)
    refused = jcstate(root, sandbox_server, "apply", str(plan_file))
    assert refused.returncode == 1
    assert (
        f"delete {guarded} (id {before[guarded]['id']}): the phone is protected "
        "(safety.protected)" in refused.stderr
    )
    assert (
        f"delete {declared[2]['phone']} (id {before[declared[2]['phone']]['id']}): "
        "the contact is declared in the files" in refused.stderr
    )
    assert snapshot(sandbox_server) == before


def test_safe_true_in_the_file_still_needs_force_for_a_50_percent_delete(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    root = tmp_path / "project"
    declared = people(range(20))
    write_project(root, declared)
    assert jcstate(root, sandbox_server, "apply", "--auto-approve").returncode == 0
    write_project(root, declared[:10])
    plan_file = tmp_path / "half.plan.json"
    planned = jcstate(root, sandbox_server, "plan", "--prune", "--out", str(plan_file))
    assert planned.returncode == 0, planned.stderr
    data = json.loads(plan_file.read_text())
    assert data["plan"]["safe"] is False
    data["plan"]["safe"] = True
    data["plan"]["unsafe_reasons"] = []
    plan_file.write_text(json.dumps(data))

    refused = jcstate(root, sandbox_server, "apply", str(plan_file))
    assert refused.returncode == 1
    assert "refusing to apply an unsafe plan (pass --force to apply it anyway)" in refused.stderr
    assert "10 deletes would remove 50.0% of the 20 in-scope remote contacts" in refused.stderr
    assert len(remote_by_phone(sandbox_server)) == 20

    forced = jcstate(root, sandbox_server, "apply", str(plan_file), "--force", "--format", "json")
    assert forced.returncode == 0, forced.stderr
    assert json.loads(forced.stdout)["summary"]["deleted"] == 10
    assert len(remote_by_phone(sandbox_server)) == 10


def test_an_untouched_saved_plan_still_applies(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    root = tmp_path / "project"
    declared = people(range(15))
    write_project(root, declared)
    with httpx.Client(base_url=sandbox_server.url, headers=sandbox_server.auth_headers) as http:
        http.post(
            "/v2/contacts/bulk", json={"contacts": [{"phone": "+14155550199"}]}
        ).raise_for_status()
    plan_file = tmp_path / "plan.json"
    assert jcstate(root, sandbox_server, "plan", "--prune", "--out", str(plan_file)).returncode == 0
    result = jcstate(root, sandbox_server, "apply", str(plan_file), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["summary"] == {
        "created": 15,
        "updated": 0,
        "deleted": 1,
        "failed": 0,
        "skipped": 0,
    }

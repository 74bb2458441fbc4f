"""`jcstate drift` end to end: the CLI (in process) against `jcstate sandbox serve` over HTTP."""

from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from jcstate.project.yamlio import render_contacts_file
from jcstate.sandbox.seeddata import generated_contact
from tests.support.cli import run_jcstate
from tests.support.sandbox_server import SandboxServer

COUNT = 12


def jcstate(
    project: Path, server: SandboxServer, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_jcstate(
        args, cwd=project, env={**os.environ, "NO_COLOR": "1", **server.env, **(env or {})}
    )


def api(server: SandboxServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=server.auth_headers, timeout=30)


def remote_ids(server: SandboxServer) -> dict[str, int]:
    with api(server) as client:
        data = client.get("/v2/contacts", params={"per_page": 100}).json()["data"]
    return {item["phone"]: int(item["id"]) for item in data}


@pytest.fixture
def project(tmp_path: Path, sandbox_server: SandboxServer) -> Path:
    """A project declaring COUNT contacts, all of them created remotely as declared."""
    contacts = [generated_contact(i, custom_fields=True) for i in range(COUNT)]
    with api(sandbox_server) as client:
        answer = client.post("/v2/contacts/bulk", json={"contacts": contacts})
        assert answer.status_code == 200, answer.text
    root = tmp_path / "project"
    (root / "contacts").mkdir(parents=True)
    (root / "jcstate.yaml").write_text(
        "version: 1\n"
        "api: {url: 'https://api.justcall.io'}  # JCSTATE_API_URL points at the sandbox\n"
        'contacts: ["contacts/*.yaml"]\n'
        "custom_fields:\n"
        "  lead_source: {type: enum, values: [Website, Referral, Event]}\n"
        "  plan_tier: {type: enum, values: [Free, Pro, Enterprise, Premium]}\n"
        "  seats: {type: integer}\n"
    )
    text = render_contacts_file(contacts)
    (root / "contacts" / "team.yaml").write_text("# The team, kept by hand.\n" + text)
    return root


def drift_remote(server: SandboxServer) -> dict[str, Any]:
    """Edits made "in the JustCall UI": one changed, one new contact with an undeclared key."""
    ids = remote_ids(server)
    changed = generated_contact(0)["phone"]
    with api(server) as client:
        answer = client.put(
            f"/v2/contacts/{ids[changed]}",
            json={"email": "new.address@example.com", "custom_fields": {"seats": 99}},
        )
        assert answer.status_code == 200, answer.text
        extra = {
            "phone": "+13125550177",
            "first_name": "Dana",
            "last_name": "Ortiz",
            "custom_fields": {"seats": 3, "nickname": "Dee"},
        }
        answer = client.post("/v2/contacts", json=extra)
        assert answer.status_code in (200, 201), answer.text
    return {"changed": changed, "unmanaged": extra["phone"]}


def test_in_sync_exits_0(project: Path, sandbox_server: SandboxServer) -> None:
    result = jcstate(project, sandbox_server, "drift")
    assert result.returncode == 0, result.stderr
    assert "In sync" in result.stdout
    assert result.stdout.rstrip().endswith(
        "Drift: 0 changed, 0 missing, 0 unmanaged, 0 undeclared custom fields."
    )


def test_drift_sections_and_exit_code_2(project: Path, sandbox_server: SandboxServer) -> None:
    edits = drift_remote(sandbox_server)
    gone = generated_contact(1)["phone"]
    with api(sandbox_server) as client:
        assert client.delete(f"/v2/contacts/{remote_ids(sandbox_server)[gone]}").status_code in (
            200,
            204,
        )

    result = jcstate(project, sandbox_server, "drift", "--format", "json")
    assert result.returncode == 2, result.stderr
    report = json.loads(result.stdout)
    assert report["in_sync"] is False
    (changed,) = report["changed"]
    assert changed["phone"] == edits["changed"]
    assert changed["when"]
    assert {(f["field"], f["declared"], f["remote"]) for f in changed["fields"]} == {
        ("email", generated_contact(0)["email"], "new.address@example.com"),
        ("custom_fields.seats", 1, 99),
    }
    assert [m["phone"] for m in report["missing"]] == [gone]
    assert [u["phone"] for u in report["unmanaged"]] == [edits["unmanaged"]]
    assert report["undeclared_custom_fields"] == [{"key": "nickname", "contacts": 1}]
    assert report["coverage_percent"] == math.floor(1000 * (COUNT - 1) / COUNT) / 10

    markdown = jcstate(project, sandbox_server, "drift", "--format", "markdown")
    assert markdown.returncode == 2
    assert "### Changed remotely (1)" in markdown.stdout
    assert f"| `{edits['changed']}` | `email` |" in markdown.stdout

    masked = jcstate(project, sandbox_server, "drift", "--mask-pii")
    assert masked.returncode == 2
    assert edits["changed"] not in masked.stdout
    assert "new.address@example.com" not in masked.stdout
    assert "n•••@example.com" in masked.stdout


def test_mask_pii_refuses_json_silently(project: Path, sandbox_server: SandboxServer) -> None:
    refused = jcstate(project, sandbox_server, "drift", "--format", "json", "--mask-pii")
    assert refused.returncode == 1
    assert "--mask-pii-json" in refused.stderr
    masked = jcstate(
        project, sandbox_server, "drift", "--format", "json", "--mask-pii", "--mask-pii-json"
    )
    assert masked.returncode == 0
    assert json.loads(masked.stdout)["in_sync"] is True


def test_adopt_then_plan_shows_no_changes(project: Path, sandbox_server: SandboxServer) -> None:
    edits = drift_remote(sandbox_server)
    before = (project / "contacts" / "team.yaml").read_text()

    adopted = jcstate(
        project, sandbox_server, "drift", "--adopt", "--adopt-unmanaged", "contacts/adopted.yaml"
    )
    assert adopted.returncode == 2, adopted.stderr
    assert "Adopted 2 remote values into 1 contact." in adopted.stderr
    after = (project / "contacts" / "team.yaml").read_text()
    assert after.startswith("# The team, kept by hand.\n")
    assert "new.address@example.com" in after
    assert len(after.splitlines()) == len(before.splitlines())
    assert edits["unmanaged"] in (project / "contacts" / "adopted.yaml").read_text()

    plan = jcstate(project, sandbox_server, "plan", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "Plan: 0 to create, 0 to update, 0 to delete" in plan.stdout
    # Only the undeclared custom key is left, as a report: adopt never declares keys.
    again = jcstate(project, sandbox_server, "drift", "--format", "json")
    report = json.loads(again.stdout)
    assert (report["changed"], report["missing"], report["unmanaged"]) == ([], [], [])
    assert report["undeclared_custom_fields"] == [{"key": "nickname", "contacts": 1}]


def test_errors_exit_1(project: Path, sandbox_server: SandboxServer) -> None:
    denied = jcstate(project, sandbox_server, "drift", env={"JUSTCALL_API_SECRET": "wrong"})
    assert denied.returncode == 1
    assert denied.stderr.startswith("Error: ")
    assert "wrong" not in denied.stderr


GENERATED_HEADER = (
    "# Generated by `jcstate import hubspot` from sources.hubspot in jcstate.yaml.\n"
    "# Do not edit by hand: change the source and run `jcstate import hubspot` again.\n"
)


def _split_generated(project: Path, count: int) -> Path:
    """Move the first `count` contacts of team.yaml into a file `jcstate import` generated."""
    contacts = [generated_contact(i, custom_fields=True) for i in range(COUNT)]
    (project / "contacts" / "team.yaml").write_text(
        "# The team, kept by hand.\n" + render_contacts_file(contacts[count:])
    )
    hubspot = project / "contacts" / "hubspot.yaml"
    hubspot.write_text(GENERATED_HEADER + render_contacts_file(contacts[:count]))
    return hubspot


def test_adopt_never_writes_a_generated_file(project: Path, sandbox_server: SandboxServer) -> None:
    hubspot = _split_generated(project, 1)
    before = hubspot.read_bytes()
    generated_phone = generated_contact(0)["phone"]
    hand_phone = generated_contact(5)["phone"]
    ids = remote_ids(sandbox_server)
    with api(sandbox_server) as client:
        for phone in (generated_phone, hand_phone):
            answer = client.put(f"/v2/contacts/{ids[phone]}", json={"last_name": "Edited"})
            assert answer.status_code == 200, answer.text

    adopted = jcstate(project, sandbox_server, "drift", "--adopt")
    assert adopted.returncode == 2, adopted.stderr
    assert hubspot.read_bytes() == before
    assert (
        f"{generated_phone} is generated by source hubspot: change it in the source"
        in adopted.stderr
    )
    # The rest of the adoption is done.
    assert "Adopted 1 remote value into 1 contact." in adopted.stderr
    assert "last_name: Edited" in (project / "contacts" / "team.yaml").read_text()


def test_adopt_deletes_removes_the_entries_and_keeps_the_comments(
    project: Path, sandbox_server: SandboxServer
) -> None:
    hubspot = _split_generated(project, 1)
    team = project / "contacts" / "team.yaml"
    text = team.read_text()
    gone = generated_contact(3)["phone"]
    # A comment above the contact that goes, and one above the next contact.
    text = text.replace(f'  - phone: "{gone}"', f'  # about to go\n  - phone: "{gone}"')
    nxt = generated_contact(4)["phone"]
    text = text.replace(f'  - phone: "{nxt}"', f'  # the next one\n  - phone: "{nxt}"')
    team.write_text(text)
    generated_gone = generated_contact(0)["phone"]
    ids = remote_ids(sandbox_server)
    with api(sandbox_server) as client:
        for phone in (gone, generated_gone):
            assert client.delete(f"/v2/contacts/{ids[phone]}").status_code in (200, 204)
    before = hubspot.read_bytes()

    plain = jcstate(project, sandbox_server, "drift", "--adopt")
    assert plain.returncode == 2
    assert gone in team.read_text(), "--adopt alone leaves deletions to --adopt-deletes"

    adopted = jcstate(project, sandbox_server, "drift", "--adopt-deletes")
    assert adopted.returncode == 2, adopted.stderr
    after = team.read_text()
    assert gone not in after
    assert after.startswith("# The team, kept by hand.\n")
    assert "# about to go" in after and "# the next one" in after
    assert "Removed 1 contact deleted in JustCall." in adopted.stderr
    assert (
        f"{generated_gone} is generated by source hubspot: change it in the source"
        in adopted.stderr
    )
    assert hubspot.read_bytes() == before

    plan = jcstate(project, sandbox_server, "plan", "--target", gone)
    assert "0 to create" in plan.stdout, plan.stdout + plan.stderr


def test_adopt_unmanaged_never_appends_to_a_generated_file(
    project: Path, sandbox_server: SandboxServer
) -> None:
    hubspot = _split_generated(project, 1)
    before = hubspot.read_bytes()
    drift_remote(sandbox_server)
    refused = jcstate(
        project, sandbox_server, "drift", "--adopt-unmanaged", "contacts/hubspot.yaml"
    )
    assert refused.returncode == 1
    assert "contacts/hubspot.yaml is generated by source hubspot" in refused.stderr
    assert hubspot.read_bytes() == before

"""`jcstate export --pins` writes each contact's `id:`; the project then plans no changes.

The troubleshooting section says to pin ids before changing a phone: with
`--pins`, an export is already pinned, and a phone edited in git is an update
of the same contact.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import httpx

from jcstate.sandbox.seeddata import generated_contact
from tests.support.cli import run_jcstate
from tests.support.sandbox_server import SandboxServer

COUNT = 6


def run(cwd: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("JUSTCALL_", "JCSTATE_"))}
    return run_jcstate(args, cwd=cwd, env={**base, "NO_COLOR": "1", **env})


def _seed(server: SandboxServer) -> dict[str, int]:
    contacts = [generated_contact(i) for i in range(COUNT)]
    with httpx.Client(base_url=server.url, headers=server.auth_headers, timeout=30) as client:
        assert client.post("/v2/contacts/bulk", json={"contacts": contacts}).status_code == 200
        data = client.get("/v2/contacts", params={"per_page": 100}).json()["data"]
    return {item["phone"]: int(item["id"]) for item in data}


def test_export_pins_writes_the_ids_and_a_phone_change_is_an_update(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    ids = _seed(sandbox_server)
    env = sandbox_server.env
    assert run(tmp_path, "init", "proj", env=env).returncode == 0
    project = tmp_path / "proj"
    (project / "contacts" / "example.yaml").unlink()

    exported = run(project, "export", "--pins", env=env)
    assert exported.returncode == 0, exported.stderr
    text = (project / "contacts" / "exported.yaml").read_text()
    pins = dict(re.findall(r'- id: (\d+)\n    phone: "(\+\d+)"', text))
    assert {phone: int(pin) for pin, phone in pins.items()} == ids
    plan = run(project, "plan", "--detailed-exitcode", env=env)
    assert plan.returncode == 0, plan.stdout + plan.stderr

    # A phone changed in git is an update of the pinned contact, not a delete and a create.
    first = generated_contact(0)["phone"]
    (project / "contacts" / "exported.yaml").write_text(text.replace(first, "+14155550197"))
    moved = run(project, "plan", env=env)
    assert "0 to create, 1 to update, 0 to delete" in moved.stdout, moved.stdout + moved.stderr


def test_a_pin_that_takes_a_contact_another_entry_declares_is_an_error_naming_both(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    ids = _seed(sandbox_server)
    env = sandbox_server.env
    assert run(tmp_path, "init", "proj", env=env).returncode == 0
    project = tmp_path / "proj"
    (project / "contacts" / "example.yaml").unlink()
    assert run(project, "export", env=env).returncode == 0
    taken = generated_contact(1)["phone"]
    (project / "contacts" / "new.yaml").write_text(
        f'version: 1\ncontacts:\n  - id: {ids[taken]}\n    phone: "+14155550197"\n'
    )
    plan = run(project, "plan", env=env)
    assert plan.returncode == 1
    assert "contacts/new.yaml:3" in plan.stderr
    assert "contacts/exported.yaml:" in plan.stderr
    assert f"`id: {ids[taken]}` takes over the remote contact" in plan.stderr
    assert "Traceback" not in plan.stderr


def test_export_with_api_url_says_next_only_what_is_true(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    _seed(sandbox_server)
    credentials = {k: v for k, v in sandbox_server.env.items() if k != "JCSTATE_API_URL"}
    assert run(tmp_path, "init", "proj", env=credentials).returncode == 0
    project = tmp_path / "proj"
    (project / "contacts" / "example.yaml").unlink()
    exported = run(project, "export", "--api-url", sandbox_server.url, env=credentials)
    assert exported.returncode == 0, exported.stderr
    assert "Next: `jcstate plan` should show no changes." not in exported.stdout
    assert f"Next: `jcstate plan --api-url {sandbox_server.url}` should show no changes" in (
        exported.stdout
    )
    assert "api.url" in exported.stdout
    # What it says is true: the plain plan reads the embedded sandbox, the other the server.
    with_url = run(project, "plan", "--api-url", sandbox_server.url, env=credentials)
    assert "0 to create, 0 to update, 0 to delete" in with_url.stdout, with_url.stderr
    plain = run(project, "plan", env=credentials)
    assert f"{COUNT} to create" in plain.stdout


def test_export_says_plain_plan_when_it_reads_the_same_account(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    _seed(sandbox_server)
    assert run(tmp_path, "init", "proj", env=sandbox_server.env).returncode == 0
    project = tmp_path / "proj"
    (project / "contacts" / "example.yaml").unlink()
    exported = run(project, "export", env=sandbox_server.env)
    assert "Next: `jcstate plan` should show no changes." in exported.stdout

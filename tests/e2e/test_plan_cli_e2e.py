"""`jcstate plan` end to end: the CLI as a subprocess against `jcstate sandbox serve` (HTTP)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.sandbox_server import SandboxServer

CONFIG = """\
version: 1
api: {url: 'https://api.justcall.io'}
default_region: US
contacts: ["contacts/*.yaml"]
custom_fields:
  plan_tier: {type: enum, values: [Free, Pro, Enterprise, Premium]}
  seats: {type: integer}
"""
CONTACTS = """\
version: 1
contacts:
  - phone: "+1 415 555 0101"
    first_name: Jordan
    custom_fields: {plan_tier: Enterprise, seats: 12}
  - phone: "+1 415 555 0102"
    first_name: Sam
    email: null
  - phone: "+1 415 555 0103"
    first_name: Ana
"""


def run_plan(project: Path, server: SandboxServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **server.env, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "jcstate", "-C", str(project), "plan", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_plan_against_the_served_sandbox(tmp_path: Path, sandbox_server: SandboxServer) -> None:
    project = tmp_path / "project"
    (project / "contacts").mkdir(parents=True)
    (project / "jcstate.yaml").write_text(CONFIG)
    (project / "contacts" / "team.yaml").write_text(CONTACTS)
    seeded = httpx.post(
        f"{sandbox_server.url}/v2/contacts/bulk",
        headers=sandbox_server.auth_headers,
        json={
            "contacts": [
                {
                    "phone": "+14155550101",
                    "first_name": "Jordan",
                    "custom_fields": {"plan_tier": "Pro", "seats": 12},
                },
                {"phone": "+14155550102", "first_name": "Sam", "email": "SAM@example.com"},
                {"phone": "+14155550199", "first_name": "Extra"},
            ]
        },
        timeout=30,
    )
    assert seeded.status_code == 200, seeded.text

    out = tmp_path / "plan.json"
    done = run_plan(
        project, sandbox_server, "--format", "json", "--detailed-exitcode", "--out", str(out)
    )
    assert done.returncode == 2, done.stderr
    data = json.loads(done.stdout)
    assert data["summary"] == {"create": 1, "update": 2, "delete": 0, "unchanged": 0}
    patches = {c["phone"]: c.get("patch") for c in data["changes"] if c["action"] == "update"}
    assert patches == {
        "+14155550101": {"custom_fields": {"plan_tier": "Enterprise"}},
        "+14155550102": {"email": None},
    }
    assert data["not_declared"] == 1

    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    saved = json.loads(out.read_text())
    assert saved["api_url"] == sandbox_server.url
    assert sandbox_server.api_secret not in out.read_text()

    text = run_plan(project, sandbox_server, "--prune", "--refresh", "full")
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[-1] == (
        "Plan: 1 to create, 2 to update, 1 to delete, 0 unchanged."
    )

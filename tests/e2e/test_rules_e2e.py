"""`rules:` end to end: the CLI (in process) against `jcstate sandbox serve` (real HTTP).

plan and apply (fresh and saved, forged or not), `--force-rule`, import with
`--skip-invalid`, and drift of remote contacts that break a contact rule.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx

from tests.support.cli import run_jcstate
from tests.support.sandbox_server import SandboxServer

CONFIG = """\
version: 1
api: {url: 'https://api.justcall.io'}
default_region: US
contacts: ["contacts/*.yaml"]
custom_fields:
  plan_tier: {type: enum, values: [Free, Pro, Enterprise]}
safety: {max_delete_percent: 100}
rules:
  - name: enterprise-has-email
    when: has(contact.custom_fields.plan_tier) && contact.custom_fields.plan_tier == "Enterprise"
    require: has(contact.email) && contact.email != ""
    message: an Enterprise contact needs an e-mail address
  - name: keep-enterprise
    on: plan
    require: '!plan.deletes.exists(d, d.before.custom_fields.plan_tier == "Enterprise")'
    message: never delete an Enterprise contact
"""
CONTACTS = """\
version: 1
contacts:
  - phone: "+14155550101"
    email: a@example.com
    custom_fields: {plan_tier: Enterprise}
"""


def jcstate(project: Path, server: SandboxServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **server.env, "NO_COLOR": "1"}
    return run_jcstate(args, cwd=project, env=env)


def seed(server: SandboxServer, contacts: list[dict[str, Any]]) -> None:
    done = httpx.post(
        f"{server.url}/v2/contacts/bulk",
        headers=server.auth_headers,
        json={"contacts": contacts},
        timeout=30,
    )
    assert done.status_code == 200, done.text


def remote_phones(server: SandboxServer) -> set[str]:
    listing = httpx.get(
        f"{server.url}/v2/contacts", params={"per_page": 100}, headers=server.auth_headers
    ).json()
    return {contact["phone"] for contact in listing["data"]}


def make_project(tmp_path: Path, config: str = CONFIG, contacts: str = CONTACTS) -> Path:
    project = tmp_path / "project"
    (project / "contacts").mkdir(parents=True)
    (project / "jcstate.yaml").write_text(config)
    (project / "contacts" / "team.yaml").write_text(contacts)
    return project


def test_apply_refuses_to_delete_an_enterprise_contact_unless_forced(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    project = make_project(tmp_path)
    seed(
        sandbox_server,
        [
            {
                "phone": "+14155550101",
                "email": "a@example.com",
                "custom_fields": {"plan_tier": "Enterprise"},
            },
            {
                "phone": "+14155550199",
                "first_name": "Big",
                "custom_fields": {"plan_tier": "Enterprise"},
            },
            {
                "phone": "+14155550198",
                "first_name": "Small",
                "custom_fields": {"plan_tier": "Free"},
            },
        ],
    )
    plan = jcstate(project, sandbox_server, "plan", "--prune")
    assert plan.returncode == 0, plan.stderr
    assert plan.stdout.startswith(
        "Rules: 1 rule error\n"
        "  plan: error: never delete an Enterprise contact "
        "(rule keep-enterprise, jcstate.yaml:13)\n"
    )
    markdown = jcstate(project, sandbox_server, "plan", "--prune", "--format", "markdown")
    assert "> - plan\\: error\\: never delete an Enterprise contact" in markdown.stdout

    refused = jcstate(project, sandbox_server, "apply", "--prune", "--auto-approve")
    assert refused.returncode == 1
    assert "pass --force-rule keep-enterprise to apply it anyway" in refused.stderr
    assert remote_phones(sandbox_server) == {"+14155550101", "+14155550199", "+14155550198"}

    # A saved plan whose violations were deleted from the file is still refused.
    plan_file = tmp_path / "plan.json"
    saved = jcstate(project, sandbox_server, "plan", "--prune", "--out", str(plan_file))
    assert saved.returncode == 0, saved.stderr
    forged = json.loads(plan_file.read_text())
    del forged["plan"]["rule_violations"]
    plan_file.write_text(json.dumps(forged))
    refused = jcstate(project, sandbox_server, "apply", str(plan_file), "--auto-approve")
    assert refused.returncode == 1
    assert "never delete an Enterprise contact" in refused.stderr
    assert remote_phones(sandbox_server) == {"+14155550101", "+14155550199", "+14155550198"}

    forced = jcstate(
        project,
        sandbox_server,
        "apply",
        str(plan_file),
        "--auto-approve",
        "--force-rule",
        "keep-enterprise",
    )
    assert forced.returncode == 0, forced.stderr
    assert remote_phones(sandbox_server) == {"+14155550101"}


def test_drift_reports_a_remote_contact_that_breaks_a_contact_rule(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    project = make_project(tmp_path)
    assert jcstate(project, sandbox_server, "apply", "--auto-approve").returncode == 0
    in_sync = jcstate(project, sandbox_server, "drift")
    assert in_sync.returncode == 0, in_sync.stdout
    assert "Rules:" not in in_sync.stdout
    # Someone adds an Enterprise contact without an e-mail address in JustCall.
    seed(sandbox_server, [{"phone": "+14155550177", "custom_fields": {"plan_tier": "Enterprise"}}])
    drift = jcstate(project, sandbox_server, "drift")
    assert drift.returncode == 2
    assert (
        "Rules: 1 rule error in remote contacts in scope\n"
        "  +14155550177: error: an Enterprise contact needs an e-mail address "
        "(rule enterprise-has-email, jcstate.yaml:9)\n"
    ) in drift.stdout
    data = json.loads(jcstate(project, sandbox_server, "drift", "--format", "json").stdout)
    assert [(v["phone"], v["rule"]) for v in data["rule_violations"]] == [
        ("+14155550177", "enterprise-has-email")
    ]


IMPORT_SOURCE = """\
sources:
  crm:
    kind: csv
    path: crm.csv
    map:
      phone: Phone
      email: Email
      custom_fields.plan_tier: Tier
    into: contacts/crm.yaml
"""
CSV = """\
Phone,Email,Tier
+14155550111,one@example.com,Enterprise
+14155550112,,Enterprise
+14155550113,,Free
"""


def test_import_skips_a_row_that_breaks_an_error_rule_and_applies_the_rest(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    project = make_project(tmp_path, CONFIG + IMPORT_SOURCE)
    (project / "crm.csv").write_text(CSV)
    strict = jcstate(project, sandbox_server, "import")
    assert strict.returncode == 1
    assert (
        "crm:row 3: an Enterprise contact needs an e-mail address "
        "(rule enterprise-has-email, jcstate.yaml:9)"
    ) in strict.stderr
    assert not (project / "contacts" / "crm.yaml").exists()

    skipping = jcstate(project, sandbox_server, "import", "--skip-invalid")
    assert skipping.returncode == 0, skipping.stderr
    assert "skipped crm:row 3: an Enterprise contact needs an e-mail address" in skipping.stderr
    assert "1 skipped as invalid" in skipping.stdout
    written = (project / "contacts" / "crm.yaml").read_text()
    assert "+14155550111" in written and "+14155550113" in written
    assert "+14155550112" not in written

    assert jcstate(project, sandbox_server, "validate").returncode == 0
    applied = jcstate(project, sandbox_server, "apply", "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    assert remote_phones(sandbox_server) == {"+14155550101", "+14155550111", "+14155550113"}

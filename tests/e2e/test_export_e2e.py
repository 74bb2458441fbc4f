"""`jcstate export` end to end: init -> export -> plan against `jcstate sandbox serve`."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from jcstate.project.config import load_project
from jcstate.sandbox.seeddata import generated_contact
from tests.support.cli import run_jcstate
from tests.support.sandbox_server import SandboxServer, start_sandbox

SEEDED = 5000


def run(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_jcstate(args, cwd=cwd, env={**os.environ, "NO_COLOR": "1", **(env or {})})


@pytest.fixture(scope="module")
def seeded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """A served sandbox holding SEEDED generated contacts with custom fields (read-only here)."""
    db = tmp_path_factory.mktemp("export-sandbox") / "sandbox.db"
    seed = run(
        db.parent, "sandbox", "seed", "--db", str(db), "--count", str(SEEDED), "--custom-fields"
    )
    assert seed.returncode == 0, seed.stderr
    with start_sandbox(db) as server:
        yield server


@pytest.fixture
def fresh_project(tmp_path: Path, seeded_server: SandboxServer) -> Path:
    """`jcstate init`, pointed at the served sandbox through JCSTATE_API_URL."""
    created = run(tmp_path, "init", "accounts")
    assert created.returncode == 0, created.stderr
    return tmp_path / "accounts"


def test_onboarding_init_export_plan_shows_zero_changes(
    fresh_project: Path, seeded_server: SandboxServer
) -> None:
    env = seeded_server.env
    # The example contacts of `init` are declarations too: export will not duplicate them.
    refused = run(fresh_project, "export", env=env)
    assert refused.returncode == 1
    assert "contacts/example.yaml" in refused.stderr

    (fresh_project / "contacts" / "example.yaml").unlink()
    exported = run(fresh_project, "export", env=env)
    assert exported.returncode == 0, exported.stderr
    assert f"Exported {SEEDED} contacts to contacts/exported.yaml." in exported.stdout
    assert "plan_tier (string)" in exported.stdout

    config = (fresh_project / "jcstate.yaml").read_text()
    assert "# The jcstate project file." in config  # init's comments survive
    assert "plan_tier: {type: string}" in config
    assert "lead_source: {type: enum, values: [Website, Referral, Event]}" in config

    text = (fresh_project / "contacts" / "exported.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=../schemas/contacts.schema.json\n")
    phones = [line.split('"')[1] for line in text.splitlines() if line.startswith("  - phone:")]
    assert len(phones) == SEEDED
    assert phones == sorted(phones)
    assert all(phone.startswith("+") for phone in phones)
    first = generated_contact(0, custom_fields=True)
    project = load_project(fresh_project)
    declared = {c.phone: c for c in project.desired.contacts}[first["phone"]]
    assert declared.custom_fields == first["custom_fields"]

    plan = run(fresh_project, "plan", "--detailed-exitcode", env=env)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert f"Plan: 0 to create, 0 to update, 0 to delete, {SEEDED} unchanged." in plan.stdout

    again = run(fresh_project, "export", env=env)
    assert again.returncode == 1
    assert "refusing to overwrite contacts/exported.yaml" in again.stderr
    forced = run(fresh_project, "export", "--force", env=env)
    assert forced.returncode == 0, forced.stderr
    assert (fresh_project / "contacts" / "exported.yaml").read_text() == text


@pytest.mark.slow
def test_split_by_company_into_another_directory(
    fresh_project: Path, seeded_server: SandboxServer
) -> None:
    env = seeded_server.env
    # --force next to the example contacts: export only what is not declared yet.
    exported = run(
        fresh_project, "export", "--out", "crm", "--split-by", "company", "--force", env=env
    )
    assert exported.returncode == 0, exported.stderr
    files = sorted(p.name for p in (fresh_project / "crm").glob("*.yaml"))
    assert "acme-corp.yaml" in files and len(files) == 50
    acme = (fresh_project / "crm" / "acme-corp.yaml").read_text()
    assert "defaults:\n  company: Acme Corp\n" in acme
    assert '"crm/*.yaml"' in (fresh_project / "jcstate.yaml").read_text()

    plan = run(fresh_project, "plan", env=env)
    assert plan.returncode == 0, plan.stderr
    # Only init's two example contacts remain to be created.
    assert f"Plan: 2 to create, 0 to update, 0 to delete, {SEEDED} unchanged." in plan.stdout
    drift = run(fresh_project, "drift", env=env)
    assert drift.returncode == 2
    assert "Drift: 0 changed, 2 missing, 0 unmanaged, 0 undeclared custom fields." in drift.stdout
    assert f"Coverage: 100.0% ({SEEDED} of {SEEDED}" in drift.stdout

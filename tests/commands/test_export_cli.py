"""`jcstate export` through CliRunner, in a project `jcstate init` wrote (embedded sandbox)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from jcstate.cli import cli


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("JCSTATE_API_URL", "JUSTCALL_API_KEY", "JUSTCALL_API_SECRET", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(cli, ["init", "proj"]).exit_code == 0
    root = tmp_path / "proj"
    monkeypatch.chdir(root)
    return root


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize("remote", ["empty", "applied"])
def test_export_out_elsewhere_leaves_a_project_that_plans(fresh: Path, remote: str) -> None:
    if remote == "applied":
        assert run("apply", "--auto-approve").exit_code == 0
    os.remove(fresh / "contacts" / "example.yaml")
    exported = run("export", "--out", "crm")
    assert exported.exit_code == 0, exported.output
    assert "Next: `jcstate plan` should show no changes." in exported.stdout
    assert (
        "Removed the contacts glob 'contacts/*.yaml' from jcstate.yaml: it matches no file"
        in exported.stdout
    )
    planned = run("plan", "--detailed-exitcode")
    assert planned.exit_code == 0, planned.output
    assert "Plan: 0 to create, 0 to update, 0 to delete" in planned.stdout
    assert '"crm/*.yaml"' in (fresh / "jcstate.yaml").read_text()


def test_export_into_the_contacts_folder_keeps_the_glob(fresh: Path) -> None:
    assert run("apply", "--auto-approve").exit_code == 0
    os.remove(fresh / "contacts" / "example.yaml")
    before = (fresh / "jcstate.yaml").read_text()
    exported = run("export")
    assert exported.exit_code == 0, exported.output
    assert (fresh / "jcstate.yaml").read_text() == before
    assert "Exported 2 contacts to contacts/exported.yaml." in exported.stdout
    assert run("plan", "--detailed-exitcode").exit_code == 0


def test_every_glob_that_would_match_nothing_is_removed_and_said(fresh: Path) -> None:
    config = fresh / "jcstate.yaml"
    config.write_text(
        config.read_text().replace(
            'contacts: ["contacts/*.yaml"]', 'contacts: ["contacts/*.yaml", "more/*.yaml"]'
        )
    )
    os.remove(fresh / "contacts" / "example.yaml")
    exported = run("export")
    assert exported.exit_code == 0, exported.output
    assert "Removed the contacts glob 'more/*.yaml' from jcstate.yaml" in exported.stdout
    assert 'contacts: ["contacts/*.yaml"]' in config.read_text()
    assert run("plan", "--detailed-exitcode").exit_code == 0

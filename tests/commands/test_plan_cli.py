"""`jcstate plan` through click against the in-process sandbox (sandbox://, a real SQLite file)."""

from __future__ import annotations

import json
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from jcstate.cli import cli
from jcstate.execute.planfile import load_plan
from jcstate.project.config import load_project
from jcstate.sandbox.store import ContactStore

CONFIG = """\
version: 1
api:
  url: sandbox://remote.db
  rate_limit: {per_minute: 60}
default_region: US
contacts: ["contacts/*.yaml"]
custom_fields:
  plan_tier: {type: enum, values: [Free, Pro, Premium]}
  seats: {type: integer}
safety:
  max_delete_percent: 40
  max_update_percent: 100
  min_existing: 2
"""

CONTACTS = """\
version: 1
defaults: {company: Acme Corp}
contacts:
  - phone: "+1 415 555 0101"
    first_name: Jordan
    email: jordan@example.com
    custom_fields: {plan_tier: Pro, seats: 12}
  - phone: "(415) 555-0102"
    first_name: Sam
  - phone: "+14155550103"
    first_name: New
"""


def make_project(tmp_path: Path, remote: Sequence[Mapping[str, Any]]) -> Path:
    (tmp_path / "contacts").mkdir()
    (tmp_path / "jcstate.yaml").write_text(CONFIG)
    (tmp_path / "contacts" / "team.yaml").write_text(CONTACTS)
    store = ContactStore(tmp_path / "remote.db")
    try:
        store.insert_rows(remote)
    finally:
        store.close()
    return tmp_path


REMOTE: list[dict[str, Any]] = [
    # formatting differences only: no change
    {
        "phone": "+14155550101",
        "first_name": " Jordan ",
        "email": "Jordan@Example.com",
        "company": "Acme Corp",
        "custom_fields": {"plan_tier": "Pro", "seats": "12", "zodiac": "Leo"},
    },
    # company differs: an update
    {"phone": "+14155550102", "first_name": "Sam", "company": "Initech"},
    # not declared
    {"phone": "+14155550199", "first_name": "Extra"},
]


def plan(project: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--no-color", "-C", str(project), "plan", *args])


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("JCSTATE_API_URL", raising=False)
    return make_project(tmp_path, REMOTE)


def test_text_plan_shows_changes_and_ends_with_the_summary(project: Path) -> None:
    result = plan(project)
    assert result.exit_code == 0, result.output
    lines = result.stdout.rstrip("\n").splitlines()
    assert lines[-1] == "Plan: 1 to create, 1 to update, 0 to delete, 1 unchanged."
    # An apply lists the account again (1 page), re-checks the PUT's target, writes, and
    # checks convergence: the reads count as much as the writes against the rate limit.
    assert lines[-2] == (
        "Cost: 5 requests to apply: 3 reads (1 to list or look up, 1 to re-check, "
        "1 to check convergence) and 2 writes (1 bulk request, 1 PUT, 0 DELETEs); "
        "about 5 s at the configured rate limit."
    )
    assert '      company: "Initech" -> "Acme Corp"' in result.stdout
    assert "  + +14155550103" in result.stdout
    assert "1 remote contact is not declared (use --prune to delete it)" in result.stdout
    assert "Undeclared remote custom fields (left untouched): zodiac" in result.stdout


def test_detailed_exitcode(project: Path, tmp_path: Path) -> None:
    assert plan(project, "--detailed-exitcode").exit_code == 2
    # Only the unchanged contact: no changes, exit 0 even with --detailed-exitcode.
    result = plan(project, "--detailed-exitcode", "--target", "+14155550101")
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith("0 to create, 0 to update, 0 to delete, 1 unchanged.")


def test_json_output_is_the_documented_form(project: Path) -> None:
    result = plan(project, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["format_version"] == 1
    assert data["summary"] == {"create": 1, "update": 1, "delete": 0, "unchanged": 1}
    update = next(c for c in data["changes"] if c["action"] == "update")
    assert update["phone"] == "+14155550102" and isinstance(update["id"], int)
    assert update["patch"] == {"company": "Acme Corp"}
    assert data["not_declared"] == 1


def test_markdown_output(project: Path) -> None:
    result = plan(project, "--format", "markdown")
    assert result.exit_code == 0
    assert "| ✏️ Update | 1 |" in result.stdout
    assert "<details><summary><b>Create</b> (1)</summary>" in result.stdout


def test_target_is_normalised_with_the_default_region(project: Path) -> None:
    result = plan(project, "--target", "(415) 555-0102", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [(c["action"], c["phone"]) for c in data["changes"]] == [("update", "+14155550102")]


def test_bad_target_is_an_error(project: Path) -> None:
    result = plan(project, "--target", "12")
    assert result.exit_code == 1
    assert "Error: --target '12'" in result.stderr


@pytest.mark.parametrize("refresh", ["full", "targeted", "auto"])
def test_refresh_modes_give_the_same_plan(project: Path, refresh: str) -> None:
    result = plan(project, "--refresh", refresh, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["summary"] == {"create": 1, "update": 1, "delete": 0, "unchanged": 1}


def test_prune_deletes_undeclared_and_checks_thresholds(project: Path) -> None:
    result = plan(project, "--prune")
    assert result.exit_code == 0, result.output
    assert "  - +14155550199  (id 3)" in result.stdout
    assert "1 to delete" in result.stdout.splitlines()[-1]
    # 1 of 3 in-scope contacts is 33.3%, under the 40% limit
    assert "UNSAFE" not in result.stdout


def test_prune_with_targeted_refresh_is_refused(project: Path) -> None:
    result = plan(project, "--prune", "--refresh", "targeted")
    assert result.exit_code == 1
    assert "--prune" in result.stderr


def test_out_writes_a_private_plan_file(project: Path) -> None:
    out = project / "plan.json"
    result = plan(project, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    saved = load_plan(out)
    assert saved.config_digest == load_project(project).digest
    assert saved.api_url == "sandbox://remote.db"
    assert saved.plan.summary["update"] == 1
    assert "sandbox-secret" not in out.read_text()
    assert f"jcstate apply {out}" in result.stderr


def test_mask_pii(project: Path) -> None:
    result = plan(project, "--mask-pii")
    assert result.exit_code == 0
    assert "+14155550103" not in result.stdout and "+1•••••0103" in result.stdout


def test_mask_pii_json_needs_its_own_flag(project: Path) -> None:
    refused = plan(project, "--mask-pii", "--format", "json")
    assert refused.exit_code == 1
    assert "--mask-pii-json" in refused.stderr
    masked = plan(project, "--mask-pii", "--mask-pii-json", "--format", "json")
    assert masked.exit_code == 0
    assert "+1•••••0103" in json.loads(masked.stdout)["changes"][0]["phone"]


def test_timings_go_to_stderr(project: Path) -> None:
    result = plan(project, "--timings", "--format", "json")
    json.loads(result.stdout)  # stdout stays a clean document
    (line,) = [ln for ln in result.stderr.splitlines() if ln.startswith("Timings:")]
    assert all(stage in line for stage in ("parse", "fetch", "diff", "render"))


def test_no_project_is_an_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["-C", str(tmp_path), "plan"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")


def test_pinned_phone_change_is_an_update_with_targeted_refresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JCSTATE_API_URL", raising=False)
    project = make_project(tmp_path, REMOTE)
    (project / "contacts" / "team.yaml").write_text(
        "version: 1\ncontacts:\n  - id: 2\n    phone: '+14155550109'\n    first_name: Sam\n"
    )
    for refresh in ("targeted", "full"):
        result = plan(project, "--refresh", refresh, "--format", "json")
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert [(c["action"], c["id"], c.get("patch")) for c in data["changes"]] == [
            ("update", 2, {"phone": "+14155550109"})
        ], refresh


def test_a_target_no_declared_contact_has_is_warned_about(project: Path) -> None:
    result = plan(project, "--target", "+14155550177")
    assert result.exit_code == 0, result.output
    assert (
        "Warning: --target +14155550177 matches no declared contact; "
        "nothing can be planned for it" in result.stderr
    )
    assert "Warning" not in result.stdout
    # A declared target, in any spelling, is not warned about.
    declared = plan(project, "--target", "(415) 555-0102")
    assert "Warning" not in declared.stderr

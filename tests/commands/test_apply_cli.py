"""`jcstate apply` through click's CliRunner on a sandbox:// project (in process, no port)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from jcstate.cli import cli
from jcstate.project.yamlio import render_contacts_file
from jcstate.sandbox.seeddata import generated_contact


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("JCSTATE_API_URL", "JUSTCALL_API_KEY", "JUSTCALL_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "project"
    (root / "contacts").mkdir(parents=True)
    (root / "jcstate.yaml").write_text(
        "version: 1\napi: {url: 'sandbox://.jcstate/sandbox.db'}\ncontacts: [\"contacts/*.yaml\"]\n"
    )
    entries = [
        {k: v for k, v in generated_contact(i).items() if k != "custom_fields"} for i in range(4)
    ]
    (root / "contacts" / "people.yaml").write_text(render_contacts_file(entries))
    return root


def run(root: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["-C", str(root), *args], catch_exceptions=False)


def test_json_report_is_the_only_thing_on_stdout(project: Path) -> None:
    result = run(project, "apply", "--auto-approve", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["summary"]["created"] == 4
    assert report["converged"] is True
    assert "Plan: 4 to create" in result.stderr

    again = run(project, "apply", "--auto-approve", "--format", "json")
    assert again.exit_code == 0
    assert again.stderr.strip().endswith("No changes.")
    empty = json.loads(again.stdout)
    assert empty["summary"] == {"created": 0, "updated": 0, "deleted": 0, "failed": 0, "skipped": 0}
    assert empty["requests"]["bulk"] == 0
    assert empty["converged"] is True


def test_without_a_terminal_apply_refuses_instead_of_waiting(project: Path) -> None:
    result = run(project, "apply")
    assert result.exit_code == 1
    assert result.stderr.endswith(
        "Error: refusing to apply without confirmation: stdin is not a terminal; "
        "pass --auto-approve\n"
    )
    assert not (project / ".jcstate" / "journal").exists()  # nothing was started


@pytest.mark.parametrize(
    "extra", [["--prune"], ["--target", "+14155550100"], ["--refresh", "full"]]
)
def test_a_saved_plan_carries_its_own_choices(project: Path, extra: list[str]) -> None:
    plan_file = project / "p.json"
    assert run(project, "plan", "--out", str(plan_file)).exit_code == 0
    result = run(project, "apply", str(plan_file), *extra)
    assert result.exit_code == 1
    assert "a saved plan already carries its choices" in result.stderr


def test_a_saved_plan_for_another_api_is_refused(project: Path, tmp_path: Path) -> None:
    plan_file = project / "p.json"
    assert run(project, "plan", "--out", str(plan_file)).exit_code == 0
    other = tmp_path / "other.db"
    result = run(project, "apply", str(plan_file), "--api-url", f"sandbox://{other}")
    assert result.exit_code == 1
    assert "this plan was made for sandbox://.jcstate/sandbox.db" in result.stderr
    assert not other.exists()


def test_a_saved_plan_applies_without_a_question(project: Path) -> None:
    plan_file = project / "p.json"
    assert run(project, "plan", "--out", str(plan_file)).exit_code == 0
    result = run(project, "apply", str(plan_file))
    assert result.exit_code == 0, result.output
    assert "Apply complete: 4 created, 0 updated, 0 deleted, 0 failed, 0 skipped." in result.stdout
    # Applying it twice: every create is now "already as declared", nothing is duplicated.
    again = run(project, "apply", str(plan_file), "--format", "json")
    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)
    assert report["summary"]["skipped"] == 4
    assert report["requests"]["bulk"] == 0
    assert {item["message"] for item in report["items"]} == {
        "already as declared (applied earlier)"
    }


@pytest.mark.parametrize("in_the_way", [".jcstate", ".jcstate/journal"])
@pytest.mark.parametrize("own_sandbox", [False, True])
def test_a_file_where_the_state_directory_goes_is_a_clean_error(
    project: Path, tmp_path: Path, in_the_way: str, own_sandbox: bool
) -> None:
    sandbox = tmp_path / "elsewhere.db"
    url = ["--api-url", f"sandbox://{sandbox}"] if own_sandbox else []
    if in_the_way == ".jcstate/journal":
        (project / ".jcstate").mkdir()
    (project / in_the_way).write_text("not a directory\n")
    result = run(project, "apply", "--auto-approve", *url)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    blocked = project / in_the_way
    assert f"Error: {blocked} is not a directory" in result.stderr
    assert "remove or rename it" in result.stderr
    # Nothing was written to the API: the same plan is still pending.
    (project / in_the_way).unlink()
    again = run(project, "plan", *url)
    assert "Plan: 4 to create" in again.output, again.output


def test_a_deeply_nested_plan_file_is_a_clean_error(project: Path) -> None:
    plan_file = project / "deep.json"
    plan_file.write_text("[" * 200_000 + "]" * 200_000)
    result = run(project, "apply", str(plan_file))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {plan_file}: ")
    assert "Traceback" not in result.output


def test_ctrl_c_at_the_prompt_ends_its_line_before_interrupted(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import click

    def interrupted_prompt(text: str, **options: object) -> str:
        # What click.prompt does on Ctrl-C: the prompt is on screen, then Abort.
        click.echo(f"{text}: ", nl=False, err=True)
        raise click.Abort

    monkeypatch.setattr("jcstate.commands.apply._stdin_is_terminal", lambda: True)
    monkeypatch.setattr(click, "prompt", interrupted_prompt)
    result = run(project, "apply")
    assert result.exit_code == 130
    assert result.stderr.endswith("  Enter a value: \nInterrupted.\n")
    assert not (project / ".jcstate" / "journal").exists()  # nothing was started


def test_apply_help_lists_its_exit_codes() -> None:
    result = CliRunner().invoke(cli, ["apply", "--help"])
    assert result.exit_code == 0
    assert "Exit codes:" in result.output
    for line in ("0    applied and converged", "130  interrupted", "--skip-stale"):
        assert line in result.output
    assert "--max-outage SECONDS" in result.output


def test_skip_stale_that_skipped_a_contact_is_not_converged(project: Path) -> None:
    assert run(project, "apply", "--auto-approve").exit_code == 0
    people = project / "contacts" / "people.yaml"
    people.write_text(people.read_text().replace("first_name: ", "first_name: New", 2))
    plan_file = project / "p.json"
    assert run(project, "plan", "--out", str(plan_file)).exit_code == 0
    # Someone edits the first planned contact after the review (straight in the sandbox).
    with sqlite3.connect(project / ".jcstate" / "sandbox.db") as db:
        db.execute("UPDATE contacts SET company = 'Edited elsewhere' WHERE id = 1")

    result = run(project, "apply", str(plan_file), "--skip-stale")
    assert result.exit_code == 1
    assert "Converged: yes." not in result.stdout
    assert "Converged: no." in result.stdout
    assert "1 contact was skipped as stale" in result.stdout
    result = run(project, "apply", str(plan_file), "--skip-stale", "--format", "json")
    report = json.loads(result.stdout)
    assert report["converged"] is False
    assert report["skipped_stale"] == 1

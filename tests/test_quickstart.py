"""examples/quickstart, the README's first command, and `--mask-pii` on its contacts."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import phonenumbers
import pytest
from click.testing import CliRunner

from jcstate.cli import cli
from tests.support.doc_commands import (
    CLEAN_ENV,
    QUICKSTART,
    REPO_ROOT,
    DocShell,
    load_yaml,
    make_start_state,
    readme_blocks,
)

README = REPO_ROOT / "README.md"


def _contacts() -> list[dict[str, object]]:
    return [
        contact
        for path in sorted((QUICKSTART / "contacts").glob("*.yaml"))
        for contact in load_yaml(path)["contacts"]
    ]


def _first_command() -> str:
    first_block = readme_blocks(README)[0]
    return first_block.lines[0].text


def test_quickstart_is_a_realistic_small_project() -> None:
    config = load_yaml(QUICKSTART / "jcstate.yaml")
    files = sorted((QUICKSTART / "contacts").glob("*.yaml"))
    assert len(files) == 2
    assert len(_contacts()) == 20
    types = {spec["type"] for spec in config["custom_fields"].values()}
    assert {"enum", "integer", "date", "number", "boolean"} <= types
    assert config["ownership"] == {"field": "managed_by", "value": "sales-ops"}
    assert config["api"]["url"].startswith("sandbox://")
    assert all(load_yaml(path).get("defaults") for path in files)
    result = CliRunner().invoke(cli, ["-C", str(QUICKSTART), "validate"], env=CLEAN_ENV)
    assert result.exit_code == 0
    assert "OK: 20 contacts in 2 files" in result.output


def test_readme_first_command_applies_the_quickstart_and_shows_the_plan(tmp_path: Path) -> None:
    command = _first_command()
    assert re.search(r"cd examples/quickstart && \S*jcstate plan && \S*jcstate apply", command)
    make_start_state("fresh", tmp_path / "examples" / "quickstart")
    shell = DocShell(cwd=tmp_path)
    shell.run_line(readme_blocks(README)[0].lines[0])
    plan, apply = shell.outcomes
    assert plan.command == "jcstate plan"
    assert plan.stdout.rstrip().endswith(
        "Plan: 20 to create, 0 to update, 0 to delete, 0 unchanged."
    )
    assert "+ +14155559876  # contacts/customers.yaml:12" in plan.stdout
    assert "Apply complete: 20 created, 0 updated, 0 deleted, 0 failed, 0 skipped." in apply.stdout
    # Run again: everything is in place.
    again = CliRunner().invoke(
        cli, ["-C", str(tmp_path / "examples" / "quickstart"), "plan"], env=CLEAN_ENV
    )
    assert "Plan: 0 to create, 0 to update, 0 to delete, 20 unchanged." in again.stdout


# -- --mask-pii ---------------------------------------------------------------------------


def _phone_spellings() -> set[str]:
    """Every way a quickstart phone could show up unmasked."""
    spellings: set[str] = set()
    for contact in _contacts():
        written = str(contact["phone"])
        number = phonenumbers.parse(written, "US")
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        spellings |= {written, e164, e164[1:], national, re.sub(r"\D", "", national)}
    return spellings


def _emails() -> set[str]:
    emails = {str(contact["email"]) for contact in _contacts()}
    return emails | {email.lower() for email in emails}


def _assert_masked(text: str) -> None:
    assert "•••" in text
    leaked_phones = sorted(s for s in _phone_spellings() if s in text)
    leaked_emails = sorted(e for e in _emails() if e in text)
    assert not leaked_phones and not leaked_emails, (leaked_phones, leaked_emails)


def _run(project: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["-C", str(project), *args], env=CLEAN_ENV)
    return result.exit_code, result.stdout


@pytest.fixture(scope="module")
def states(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("mask")
    # Drifted: Jordan's seats edited remotely, and the partners file dropped from
    # git, so its 8 contacts are unmanaged (listed with e-mails and names).
    drifted = make_start_state("applied", root / "drifted")
    (drifted / "contacts" / "partners.yaml").unlink()
    return {"fresh": make_start_state("fresh", root / "fresh"), "drifted": drifted}


@pytest.mark.parametrize("output_format", ["text", "markdown"])
def test_plan_mask_pii_hides_every_phone_and_email(
    states: dict[str, Path], output_format: str
) -> None:
    code, unmasked = _run(states["fresh"], "plan", "--format", output_format)
    assert code == 0
    assert "+14155559876" in unmasked and "jordan@example.com" in unmasked  # the control
    code, masked = _run(states["fresh"], "plan", "--format", output_format, "--mask-pii")
    assert code == 0
    _assert_masked(masked)
    assert "+1•••••9876" in masked and "j•••@example.com" in masked
    assert "Plan: 20 to create, 0 to update, 0 to delete, 0 unchanged." in masked


@pytest.mark.parametrize("output_format", ["text", "markdown"])
def test_drift_mask_pii_hides_every_phone_and_email(
    states: dict[str, Path], output_format: str
) -> None:
    code, unmasked = _run(states["drifted"], "drift", "--format", output_format)
    assert code == 2
    assert "+442079460958" in unmasked and "oliver@northwind.example" in unmasked
    assert "+14155559876" in unmasked
    code, masked = _run(states["drifted"], "drift", "--format", output_format, "--mask-pii")
    assert code == 2
    _assert_masked(masked)
    assert "+44•••••0958" in masked


@pytest.mark.parametrize("command", ["plan", "drift"])
def test_json_is_masked_only_when_asked_explicitly(states: dict[str, Path], command: str) -> None:
    project = states["fresh"] if command == "plan" else states["drifted"]
    code, _ = _run(project, command, "--format", "json", "--mask-pii")
    assert code == 1
    code, masked = _run(project, command, "--format", "json", "--mask-pii", "--mask-pii-json")
    assert code in {0, 2}
    json.loads(masked)
    _assert_masked(masked)


@pytest.mark.slow
def test_readme_first_command_literally_from_a_fresh_checkout(tmp_path: Path) -> None:
    """The first command, run by bash in a copy of the checkout with a new virtualenv.

    Needs the package index (it installs jcstate's dependencies) and about a minute.
    """
    checkout = tmp_path / "checkout"
    shutil.copytree(
        REPO_ROOT,
        checkout,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", ".jcstate", "*cache*", "__pycache__", "*.egg-info", "dist", "build"
        ),
    )
    completed = subprocess.run(
        ["bash", "-c", _first_command()],
        cwd=checkout,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "Plan: 20 to create, 0 to update, 0 to delete, 0 unchanged." in completed.stdout
    assert "Apply complete: 20 created" in completed.stdout


def test_quickstart_files_are_deliberately_not_canonical_and_the_docs_say_so(
    tmp_path: Path,
) -> None:
    """The quickstart teaches that phones may be written as people write them; `fmt`
    would rewrite them as E.164, so `fmt --check` fails there, as the docs say."""
    project = make_start_state("fresh", tmp_path / "quickstart")
    result = CliRunner().invoke(cli, ["-C", str(project), "fmt", "--check"], env=CLEAN_ENV)
    assert result.exit_code == 1
    assert "2 of 2 files would be reformatted" in result.stderr
    written = [str(contact["phone"]) for contact in _contacts()]
    assert any(not phone.startswith("+") for phone in written)  # the teaching example
    commands_page = REPO_ROOT / "docs" / "guide" / "commands.md"
    fmt_section = commands_page.read_text(encoding="utf-8").split(
        "## `jcstate fmt [--check] [--diff] [FILE ...]`"
    )[1]
    fmt_section = fmt_section.split("\n## ")[0]
    assert "`jcstate fmt --check`" in fmt_section
    assert "in `examples/quickstart` lists both files and exits 1" in " ".join(fmt_section.split())

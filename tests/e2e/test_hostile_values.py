"""Remote data cannot forge the review surface: the CLI against a hostile API on loopback.

The server (tests/support/hostile_server.py) serves names, e-mail addresses,
companies, custom-field keys and values, phones, error messages and a
`Location` header made to forge a pull-request comment, a drift issue, a
terminal and a CI log. Every output must show them as data.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.hostile_server import (
    BIDI_OVERRIDE,
    C1_CSI,
    DETAILS_KEY,
    IDN_EMAILS,
    MENTION_NAME,
    NEWLINE_PHONE,
    OSC_TITLE,
    WORKFLOW_LAST_NAME,
    HostileServer,
    hostile_server,
)
from tests.support.review_surface import markdown_problems, text_problems

CONFIG = """\
version: 1
api: {url: 'https://api.justcall.io'}
default_region: US
contacts: ["contacts/*.yaml"]
"""
CONTACTS = """\
version: 1
contacts:
  - phone: "+1 415 555 0101"
    first_name: Jordan
    last_name: Lee
    company: Acme
"""


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with hostile_server() as running:
        yield running


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "contacts").mkdir(parents=True)
    (root / "jcstate.yaml").write_text(CONFIG)
    (root / "contacts" / "team.yaml").write_text(CONTACTS)
    return root


def jcstate(project: Path, server: HostileServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jcstate", "-C", str(project), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, **server.env, "NO_COLOR": "1"},
        timeout=120,
    )


def assert_text_safe(result: subprocess.CompletedProcess[str]) -> None:
    for stream, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        problems = text_problems(text)
        assert not problems, f"{stream}: {problems}\n{text}"


# --- markdown -------------------------------------------------------------------


def test_the_plan_comment_shows_remote_values_literally(
    project: Path, server: HostileServer, tmp_path: Path
) -> None:
    planfile = tmp_path / "plan.json"
    result = jcstate(
        project, server, "plan", "--prune", "--format", "markdown", "--out", str(planfile)
    )
    assert result.returncode == 0, result.stderr
    # Two sections (update, delete): two <details>, whatever the values.
    assert markdown_problems(result.stdout, own_details=2) == []
    # The values are there, as text the reader can see.
    assert "Approve me" in result.stdout and "onerror" in result.stdout
    shown = jcstate(project, server, "show", str(planfile), "--format", "markdown")
    assert shown.returncode == 0, shown.stderr
    assert markdown_problems(shown.stdout, own_details=2) == []


def test_the_drift_issue_shows_remote_values_literally(
    project: Path, server: HostileServer
) -> None:
    result = jcstate(project, server, "drift", "--format", "markdown")
    assert result.returncode == 2, result.stderr
    assert markdown_problems(result.stdout) == []
    # One table row per unmanaged contact: a line break in a phone or a company
    # did not add rows, a pipe did not add cells.
    unmanaged = result.stdout.split("### Unmanaged", 1)[1].split("###", 1)[0]
    rows = [line for line in unmanaged.splitlines() if line.startswith("|")]
    assert len(rows) == 2 + 2, unmanaged


# --- text, the CI log, errors ------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("plan", "--prune"),
        ("drift",),
        ("apply", "--auto-approve"),
        ("plan", "--prune", "--mask-pii"),
        ("drift", "--mask-pii"),
    ],
    ids=" ".join,
)
def test_text_output_holds_no_control_character_and_no_workflow_command(
    project: Path, server: HostileServer, args: tuple[str, ...]
) -> None:
    result = jcstate(project, server, *args)
    assert result.returncode in (0, 1, 2), result.stderr
    assert result.stdout
    assert_text_safe(result)
    # Shown, escaped: the reader still sees what the account holds.
    assert "\\x1b]0;TITLE" in result.stdout or "\\u001b]0;TITLE" in result.stdout


def test_the_plan_shown_from_a_plan_file_is_as_safe(
    project: Path, server: HostileServer, tmp_path: Path
) -> None:
    planfile = tmp_path / "plan.json"
    assert jcstate(project, server, "plan", "--prune", "--out", str(planfile)).returncode == 0
    shown = jcstate(project, server, "show", str(planfile))
    assert shown.returncode == 0, shown.stderr
    assert_text_safe(shown)


@pytest.mark.parametrize("mode", ["error", "redirect"])
def test_a_hostile_error_message_or_location_is_shown_escaped(
    project: Path, server: HostileServer, mode: str
) -> None:
    server.mode = mode
    result = jcstate(project, server, "-v", "plan")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert_text_safe(result)
    # One error line, still naming the request and quoting the server, escaped.
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    assert "GET /v2/contacts" in errors[0]
    assert ("\\x1b]0;TITLE" in errors[0]) if mode == "error" else ("\\u202e" in errors[0])


# --- JSON -------------------------------------------------------------------------


def test_json_documents_escape_control_characters_and_load_back(
    project: Path, server: HostileServer, tmp_path: Path
) -> None:
    planfile = tmp_path / "plan.json"
    plan = jcstate(project, server, "plan", "--prune", "--format", "json", "--out", str(planfile))
    assert plan.returncode == 0, plan.stderr
    shown = jcstate(project, server, "show", str(planfile), "--format", "json")
    drift = jcstate(project, server, "drift", "--format", "json")
    apply = jcstate(project, server, "apply", "--auto-approve", "--format", "json")
    for result in (plan, shown, drift, apply):
        assert text_problems(result.stdout) == [], result.stdout
    loaded = json.loads(plan.stdout)
    assert json.loads(shown.stdout) == loaded
    # The values load back exactly as the server sent them.
    assert DETAILS_KEY in loaded["undeclared_custom_fields"]
    deleted = [c for c in loaded["changes"] if c["action"] == "delete"]
    assert NEWLINE_PHONE.strip() in [c["phone"] for c in deleted]
    first_names = {
        item["old"]
        for c in loaded["changes"]
        for item in c["fields"]
        if item["field"] == "first_name"
    }
    assert MENTION_NAME in first_names
    last_names = {
        item["old"]
        for c in loaded["changes"]
        for item in c["fields"]
        if item["field"] == "last_name"
    }
    assert WORKFLOW_LAST_NAME in last_names
    assert any(C1_CSI in name and BIDI_OVERRIDE in name for name in last_names)
    report = json.loads(drift.stdout)
    assert DETAILS_KEY in [k["key"] for k in report["undeclared_custom_fields"]]
    remote = {item["field"]: item["remote"] for item in report["changed"][0]["fields"]}
    assert remote["company"].startswith(OSC_TITLE)


# --- --mask-pii -------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("plan", "--prune", "--mask-pii"),
        ("plan", "--prune", "--mask-pii", "--format", "markdown"),
        ("drift", "--mask-pii"),
        ("drift", "--mask-pii", "--format", "markdown"),
    ],
    ids=" ".join,
)
def test_mask_pii_masks_internationalised_addresses(
    project: Path, server: HostileServer, args: tuple[str, ...]
) -> None:
    result = jcstate(project, server, *args)
    assert result.returncode in (0, 2), result.stderr
    for email in IDN_EMAILS:
        local = email.split("@")[0]
        assert local not in result.stdout, result.stdout
    assert "j•••@example.com" in result.stdout and "m•••@exämple.de" in result.stdout

"""`api.url: sandbox://PATH` from a branch keeps the sandbox database inside the project.

A branch may commit `.jcstate` (or the database file) as a symlink: jcstate
would create the folder and SQLite open the database through it, writing a
file outside the project. The real command must refuse, naming jcstate.yaml's
line, and leave the outside file as it was. A database the user names with
`--api-url` is the user's choice and may be anywhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CONFIG = 'version: 1\napi:\n  url: "sandbox://.jcstate/sandbox.db"\ncontacts: ["contacts/*.yaml"]\n'


def project(root: Path) -> Path:
    (root / "contacts").mkdir(parents=True)
    (root / "jcstate.yaml").write_text(CONFIG)
    (root / "contacts" / "a.yaml").write_text('version: 1\ncontacts:\n  - phone: "+14155550100"\n')
    return root


def jcstate(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUSTCALL_", "JCSTATE_"))}
    return subprocess.run(
        [sys.executable, "-m", "jcstate", "-C", str(root), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env={**env, "NO_COLOR": "1"},
        timeout=120,
    )


@pytest.mark.parametrize("link", [".jcstate", ".jcstate/sandbox.db"])
def test_a_committed_link_out_of_the_project_is_refused_and_nothing_outside_changes(
    tmp_path: Path, link: str
) -> None:
    root = project(tmp_path / "project")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "sandbox.db").write_bytes(b"not a database: precious")
    (root / link).parent.mkdir(exist_ok=True)
    (root / link).symlink_to(outside if link == ".jcstate" else outside / "sandbox.db")
    for command in (["validate"], ["plan"]):
        result = jcstate(root, *command)
        assert result.returncode == 1, result.stdout + result.stderr
        output = result.stdout + result.stderr
        assert "Traceback" not in output
        assert "jcstate.yaml:3:8: api.url 'sandbox://.jcstate/sandbox.db': " in output
        assert f"{link} is a symbolic link that leads out of the project" in output
    assert sorted(p.name for p in outside.iterdir()) == ["sandbox.db"]
    assert (outside / "sandbox.db").read_bytes() == b"not a database: precious"


def test_a_database_the_user_names_with_api_url_may_be_anywhere(tmp_path: Path) -> None:
    root = project(tmp_path / "project")
    elsewhere = tmp_path / "elsewhere" / "mine.db"
    elsewhere.parent.mkdir()
    result = jcstate(root, "plan", "--api-url", f"sandbox://{elsewhere}")
    assert result.returncode == 0, result.stderr
    assert "+14155550100" in result.stdout
    assert elsewhere.is_file()

"""The git side of `--changed-since`: glob matching like the loader, blob ids like git."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from jcstate.project.config import expand_globs
from jcstate.project.gitbase import blob_id, fetch_hint, glob_matches

FILES = (
    "contacts/a.yaml",
    "contacts/b.yml",
    "contacts/.hidden.yaml",
    "contacts/team/c.yaml",
    "contacts/team/deep/d.yaml",
    "contacts/.git-like/e.yaml",
    "other/f.yaml",
    "top.yaml",
)


@pytest.mark.parametrize(
    "pattern",
    [
        "contacts/*.yaml",
        "contacts/*.y*ml",
        "contacts/**/*.yaml",
        "**/*.yaml",
        "contacts/**",
        "contacts/.*.yaml",
        "contacts/team/?.yaml",
        "contacts/[ab].*",
        "*.yaml",
    ],
)
def test_glob_matches_select_what_the_loader_selects(tmp_path: Path, pattern: str) -> None:
    for name in FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("version: 1\n")
    loaded, _ = expand_globs(tmp_path, [pattern], tmp_path / "jcstate.yaml")
    expected = sorted(path.relative_to(tmp_path).as_posix() for path in loaded)
    assert sorted(name for name in FILES if glob_matches(pattern, name)) == expected


def test_blob_id_is_what_git_computes(tmp_path: Path) -> None:
    data = "version: 1\ncontacts: []\n# ünïcode\n".encode()
    (tmp_path / "f.yaml").write_bytes(data)
    done = subprocess.run(
        ["git", "hash-object", str(tmp_path / "f.yaml")], capture_output=True, text=True
    )
    assert done.returncode == 0
    assert blob_id(data) == done.stdout.strip()


def test_fetch_hint_names_the_remote_and_branch() -> None:
    assert fetch_hint("origin/main") == "git fetch origin main"
    assert fetch_hint("upstream/release/2.x") == "git fetch upstream release/2.x"
    assert fetch_hint("deadbeef") == "git fetch origin main"

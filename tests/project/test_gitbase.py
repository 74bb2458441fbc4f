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


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def test_the_base_of_a_changed_file_is_parsed_once_then_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jcstate.project import gitbase
    from jcstate.project.config import load_project

    root = tmp_path / "repo"
    (root / "contacts").mkdir(parents=True)
    (root / "jcstate.yaml").write_text('version: 1\ncontacts: ["contacts/*.yaml"]\n')
    for name, number in (("a", 100), ("b", 200)):
        (root / "contacts" / f"{name}.yaml").write_text(
            f'version: 1\ncontacts:\n  - phone: "+1415555{number:04d}"\n    first_name: Ann\n'
        )
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "base")
    (root / "contacts" / "b.yaml").write_text(
        'version: 1\ncontacts:\n  - phone: "+14155550200"\n    first_name: Bea\n'
    )
    project = load_project(root, cwd=root)
    parsed: list[bytes] = []
    real = gitbase.parse_canonical  # type: ignore[attr-defined]

    def counting(raw: bytes, *args: object) -> object:
        parsed.append(raw)
        return real(raw, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(gitbase, "parse_canonical", counting)
    first = gitbase.load_base(project, "HEAD", cwd=root)
    assert len(parsed) == 1 and b"Ann" in parsed[0]  # only b.yaml differs from the tree
    second = gitbase.load_base(project, "HEAD", cwd=root)
    assert len(parsed) == 1
    assert second.contacts == first.contacts
    assert [c.fields["first_name"] for c in second.contacts] == ["Ann"]
    gitbase.load_base(project, "HEAD", cwd=root, use_cache=False)
    assert len(parsed) == 2


def test_the_base_costs_four_git_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One `rev-parse` (top folder, shallow or not, HEAD and REF), `merge-base`,
    `ls-tree` and `cat-file --batch`: each git start costs milliseconds."""
    import os
    import shutil
    import stat

    from jcstate.project import gitbase
    from jcstate.project.config import load_project

    root = tmp_path / "repo"
    (root / "contacts").mkdir(parents=True)
    (root / "jcstate.yaml").write_text('version: 1\ncontacts: ["contacts/*.yaml"]\n')
    (root / "contacts" / "a.yaml").write_text(
        'version: 1\ncontacts:\n  - phone: "+14155550100"\n    first_name: Ann\n'
    )
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "base")
    (root / "contacts" / "a.yaml").write_text(
        'version: 1\ncontacts:\n  - phone: "+14155550100"\n    first_name: Bea\n'
    )
    project = load_project(root, cwd=root, use_cache=False)
    real_git = shutil.which("git")
    assert real_git is not None
    log = tmp_path / "git.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "git"
    wrapper.write_text(f'#!/bin/sh\necho "$1" >> "{log}"\nexec "{real_git}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    base = gitbase.load_base(project, "HEAD", cwd=root, use_cache=False)
    assert [c.fields["first_name"] for c in base.contacts] == ["Ann"]
    assert log.read_text().split() == ["rev-parse", "merge-base", "ls-tree", "cat-file"]

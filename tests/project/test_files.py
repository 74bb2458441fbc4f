"""The one file writer: no write follows a link out of the project.

A branch may commit any name as a symlink (git keeps a symlink even where
.gitignore names the folder), so each test commits one where jcstate writes
and checks that the file outside the project is untouched.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from jcstate.cli import cli
from jcstate.errors import OutsideProjectError
from jcstate.execute.journal import Journal
from jcstate.execute.lock import acquire
from jcstate.project.files import write_file, write_files

VICTIM_TEXT = "precious\n"


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file outside the project that nothing may change."""
    path = tmp_path / "outside" / "victim.txt"
    path.parent.mkdir()
    path.write_text(VICTIM_TEXT)
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    return path


def test_writes_whole_file_with_private_mode_and_no_temporary_left(root: Path) -> None:
    target = root / "contacts" / "a.yaml"
    write_file(target, "version: 1\n", root=root)
    assert target.read_text() == "version: 1\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.yaml"]


def test_keep_mode_keeps_an_existing_files_mode(root: Path) -> None:
    target = root / "a.yaml"
    target.write_text("old\n")
    target.chmod(0o640)
    write_file(target, "new\n", root=root, keep_mode=True)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_a_target_linking_out_of_the_project_is_refused(root: Path, victim: Path) -> None:
    (root / "a.yaml").symlink_to(victim)
    with pytest.raises(OutsideProjectError, match=r"a\.yaml is a symbolic link that leads out"):
        write_file(root / "a.yaml", "evil\n", root=root)
    assert victim.read_text() == VICTIM_TEXT


def test_a_folder_linking_out_of_the_project_is_refused(root: Path, victim: Path) -> None:
    (root / "contacts").symlink_to(victim.parent)
    with pytest.raises(OutsideProjectError, match="contacts is a symbolic link"):
        write_file(root / "contacts" / "victim.txt", "evil\n", root=root)
    with pytest.raises(OutsideProjectError):
        write_file(root / "contacts" / "sub" / "new.yaml", "evil\n", root=root)
    assert victim.read_text() == VICTIM_TEXT
    assert sorted(p.name for p in victim.parent.iterdir()) == ["victim.txt"]


def test_one_refused_file_writes_none_of_the_others(root: Path, victim: Path) -> None:
    (root / "b.yaml").symlink_to(victim)
    with pytest.raises(OutsideProjectError):
        write_files({root / "a.yaml": "a\n", root / "b.yaml": "b\n"}, root=root)
    assert not (root / "a.yaml").exists()


def test_a_link_inside_the_project_is_written_through(root: Path) -> None:
    (root / "real.yaml").write_text("old\n")
    (root / "link.yaml").symlink_to("real.yaml")
    write_file(root / "link.yaml", "new\n", root=root)
    assert (root / "link.yaml").is_symlink()
    assert (root / "real.yaml").read_text() == "new\n"


def test_a_path_the_user_names_outside_the_project_is_written(root: Path, tmp_path: Path) -> None:
    target = tmp_path / "plans" / "plan.json"
    write_file(target, "{}\n", root=root)
    assert target.read_text() == "{}\n"


def _fmt_project(root: Path) -> None:
    (root / "jcstate.yaml").write_text(
        'version: 1\napi: {url: "sandbox://.jcstate/sandbox.db"}\ncontacts: ["contacts/*.yaml"]\n'
    )
    (root / "contacts").mkdir()
    # Not canonical (first_name before phone), so fmt rewrites it.
    (root / "contacts" / "a.yaml").write_text(
        'version: 1\ncontacts:\n  - first_name: Ann\n    phone: "+14155550101"\n'
    )


def test_fmt_never_writes_through_a_committed_link_at_its_old_temporary_name(
    root: Path, victim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fmt_project(root)
    (root / "contacts" / ".a.yaml.jcstate-fmt").symlink_to(victim)
    monkeypatch.chdir(root)
    result = CliRunner().invoke(cli, ["fmt"])
    assert result.exit_code == 0, result.output
    assert victim.read_text() == VICTIM_TEXT
    formatted = root / "contacts" / "a.yaml"
    assert not formatted.is_symlink()
    assert formatted.read_text().index("phone") < formatted.read_text().index("first_name")


def test_fmt_refuses_a_contacts_file_linking_out_of_the_project(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fmt_project(root)
    outside = tmp_path / "outside.yaml"
    (root / "contacts" / "a.yaml").rename(outside)
    (root / "contacts" / "a.yaml").symlink_to(outside)
    before = outside.read_text()
    monkeypatch.chdir(root)
    result = CliRunner().invoke(cli, ["fmt"])
    assert result.exit_code == 1
    assert "leads out of the project" in result.output
    assert "Traceback" not in result.output
    assert outside.read_text() == before


def test_lock_refuses_a_committed_symlink_and_leaves_its_target(root: Path, victim: Path) -> None:
    (root / ".jcstate").mkdir()
    os.symlink(victim, root / ".jcstate" / "lock")
    with pytest.raises(OutsideProjectError, match="lock"):
        acquire(root)
    assert victim.read_text() == VICTIM_TEXT


def test_lock_refuses_a_state_folder_linking_out(root: Path, victim: Path) -> None:
    (root / ".jcstate").symlink_to(victim.parent)
    with pytest.raises(OutsideProjectError, match=r"\.jcstate is a symbolic link"):
        acquire(root)
    assert sorted(p.name for p in victim.parent.iterdir()) == ["victim.txt"]


def test_lock_must_be_a_regular_file(root: Path) -> None:
    (root / ".jcstate").mkdir()
    os.mkfifo(root / ".jcstate" / "lock")
    with pytest.raises(OutsideProjectError, match="not a regular file"):
        acquire(root)


def test_journal_refuses_a_journal_folder_linking_out(root: Path, victim: Path) -> None:
    (root / ".jcstate").mkdir()
    (root / ".jcstate" / "journal").symlink_to(victim.parent)
    with pytest.raises(OutsideProjectError, match="journal is a symbolic link"):
        Journal.create(root)
    assert sorted(p.name for p in victim.parent.iterdir()) == ["victim.txt"]


def test_journal_is_a_private_regular_file(root: Path) -> None:
    with Journal.create(root) as journal:
        journal.event("start")
    assert stat.S_IMODE(journal.path.stat().st_mode) == 0o600
    assert not journal.path.is_symlink()


def test_plan_out_refuses_a_committed_link_out_of_the_project(
    tmp_path: Path, victim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(cli, ["init", "proj"]).exit_code == 0
    project = tmp_path / "proj"
    (project / "plan.json").symlink_to(victim)
    monkeypatch.chdir(project)
    result = CliRunner().invoke(cli, ["plan", "--out", "plan.json"])
    assert result.exit_code == 1
    assert "plan.json is a symbolic link that leads out of the project" in result.output
    assert victim.read_text() == VICTIM_TEXT
    assert (project / "plan.json").is_symlink()


def test_dot_dot_after_a_link_never_leaves_the_project(root: Path, victim: Path) -> None:
    """`..` is read as written (the folder above `link` in the project), never as the
    system would resolve it after following `link` out of the project."""
    (root / "contacts").mkdir()
    deep = victim.parent / "deep"
    deep.mkdir()
    (root / "contacts" / "link").symlink_to(deep)
    write_file(root / "contacts" / "link" / ".." / "victim.txt", "mine\n", root=root)
    assert victim.read_text() == VICTIM_TEXT
    assert (root / "contacts" / "victim.txt").read_text() == "mine\n"

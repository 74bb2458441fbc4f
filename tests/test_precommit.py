"""The pre-commit hooks in `.pre-commit-hooks.yaml`: jcstate-validate and jcstate-fmt.

Fast tests run each hook's entry the way pre-commit does (from the repository
root, no file names); the slow test runs the real `pre-commit try-repo` on a
temporary git repository (it installs jcstate into a hook environment, which
takes about a minute and needs the package index).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.doc_commands import QUICKSTART, REPO_ROOT, load_yaml, option_problems

HOOKS_FILE = REPO_ROOT / ".pre-commit-hooks.yaml"
HOOKS: dict[str, dict[str, Any]] = {hook["id"]: hook for hook in load_yaml(HOOKS_FILE)}
JCSTATE = Path(sys.executable).parent / "jcstate"


def test_manifest_is_valid_for_pre_commit() -> None:
    clientlib = pytest.importorskip("pre_commit.clientlib")
    manifest = clientlib.load_manifest(str(HOOKS_FILE))
    assert {hook["id"] for hook in manifest} == {"jcstate-validate", "jcstate-fmt"}


@pytest.mark.parametrize("hook_id", ["jcstate-validate", "jcstate-fmt"])
def test_hook_entry_is_a_real_jcstate_command(hook_id: str) -> None:
    hook = HOOKS[hook_id]
    words = shlex.split(hook["entry"]) + list(hook.get("args", []))
    assert words[0] == "jcstate"
    assert not option_problems(words[1:])
    # validate checks the whole project; fmt formats the staged files pre-commit names.
    assert hook["pass_filenames"] is (hook_id == "jcstate-fmt")
    assert hook["language"] == "python"


@pytest.mark.parametrize("hook_id", ["jcstate-validate", "jcstate-fmt"])
@pytest.mark.parametrize(
    ("path", "runs"),
    [
        ("jcstate.yaml", True),
        ("contacts/customers.yaml", True),
        ("crm/contacts/partners.yml", True),
        ("README.md", False),
        ("src/app.py", False),
        (".github/workflows/ci.yml", False),
    ],
)
def test_hook_runs_for_the_project_files_only(hook_id: str, path: str, runs: bool) -> None:
    assert bool(re.search(HOOKS[hook_id]["files"], path)) is runs


def _run_entry(
    hook_id: str, cwd: Path, staged: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """The hook as pre-commit runs it: `entry args... [staged files]` from the repository root."""
    hook = HOOKS[hook_id]
    if not staged and hook["pass_filenames"]:
        staged = tuple(
            path.relative_to(cwd).as_posix()
            for path in sorted(cwd.rglob("*.y*ml"))
            if re.search(hook["files"], path.relative_to(cwd).as_posix())
        )
    words = shlex.split(hook["entry"]) + list(hook.get("args", [])) + list(staged)
    assert words[0] == "jcstate"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUSTCALL_", "JCSTATE_"))}
    return subprocess.run(
        [str(JCSTATE), *words[1:]],
        cwd=cwd,
        env={**env, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The quickstart, with one phone written the way people type it (fmt rewrites it)."""
    copy = tmp_path / "repo"
    shutil.copytree(QUICKSTART, copy, ignore=shutil.ignore_patterns(".jcstate"))
    customers = copy / "contacts" / "customers.yaml"
    text = customers.read_text(encoding="utf-8")
    assert '"+16465550199"' in text
    customers.write_text(text.replace('"+16465550199"', '"(646) 555-0199"'), encoding="utf-8")
    return copy


def _break_an_email(project: Path) -> int:
    """Write an invalid e-mail; return its line number."""
    customers = project / "contacts" / "customers.yaml"
    lines = customers.read_text(encoding="utf-8").splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines, 1) if "sam.chen@example.com" in line)
    lines[number - 1] = lines[number - 1].replace("sam.chen@example.com", "sam.chen@")
    customers.write_text("".join(lines), encoding="utf-8")
    return number


def test_validate_hook_passes_then_names_the_bad_line(project: Path) -> None:
    assert _run_entry("jcstate-validate", project).returncode == 0
    line = _break_an_email(project)
    failed = _run_entry("jcstate-validate", project)
    assert failed.returncode == 1
    assert f"contacts/customers.yaml:{line}:" in failed.stdout + failed.stderr


def test_fmt_hook_rewrites_once_then_is_stable(project: Path) -> None:
    before = {p.name: p.read_text(encoding="utf-8") for p in (project / "contacts").glob("*")}
    first = _run_entry("jcstate-fmt", project)
    assert first.returncode == 0, first.stderr
    after = {p.name: p.read_text(encoding="utf-8") for p in (project / "contacts").glob("*")}
    assert after != before
    assert '"+16465550199"' in after["customers.yaml"]
    assert "(646) 555-0199" not in after["customers.yaml"]
    assert "# the main switchboard: protected from deletion" in after["customers.yaml"]
    second = _run_entry("jcstate-fmt", project)
    assert second.returncode == 0
    assert {p.name: p.read_text(encoding="utf-8") for p in (project / "contacts").glob("*")} == (
        after
    )


def test_fmt_hook_formats_only_the_staged_files(project: Path) -> None:
    customers = project / "contacts" / "customers.yaml"
    partners = project / "contacts" / "partners.yaml"
    customers_before = customers.read_text(encoding="utf-8")
    assert '"+1 604 555 0175"' in partners.read_text(encoding="utf-8")
    result = _run_entry("jcstate-fmt", project, ("contacts/partners.yaml",))
    assert result.returncode == 0, result.stderr
    assert "1 of 1 file reformatted" in result.stderr
    assert '"+16045550175"' in partners.read_text(encoding="utf-8")
    assert customers.read_text(encoding="utf-8") == customers_before  # not staged


def test_fmt_hook_refuses_an_invalid_project_and_changes_nothing(project: Path) -> None:
    _break_an_email(project)
    before = (project / "contacts" / "partners.yaml").read_text(encoding="utf-8")
    result = _run_entry("jcstate-fmt", project)
    assert result.returncode == 1
    assert (project / "contacts" / "partners.yaml").read_text(encoding="utf-8") == before


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.mark.slow
def test_pre_commit_try_repo(tmp_path: Path, project: Path) -> None:
    """`pre-commit try-repo` with both hooks on a temporary git repository."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    pre_commit = Path(sys.executable).parent / "pre-commit"
    if not pre_commit.exists():
        pytest.skip("pre-commit is not installed (pip install -e '.[dev]')")
    # A committed snapshot of this checkout, so every run reuses one hook environment.
    hooks_repo = tmp_path / "hooks-repo"
    shutil.copytree(
        REPO_ROOT,
        hooks_repo,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv",
            ".jcstate",
            ".mypy_cache",
            ".pytest_cache",
            ".ruff_cache",
            ".hypothesis",
            "__pycache__",
            "*.egg-info",
            "dist",
            "build",
        ),
    )
    _git(hooks_repo, "init", "-q")
    _git(hooks_repo, "add", ".")
    _git(hooks_repo, "commit", "-q", "-m", "snapshot")
    _git(project, "init", "-q")
    _git(project, "add", ".")
    _git(project, "commit", "-q", "-m", "contacts")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("JUSTCALL_", "JCSTATE_"))},
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "NO_COLOR": "1",
    }

    def try_repo() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(pre_commit), "try-repo", str(hooks_repo), "--ref", "HEAD", "--all-files"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )

    first = try_repo()
    assert re.search(r"jcstate validate\.+Passed", first.stdout), first.stdout + first.stderr
    assert re.search(r"jcstate fmt\.+Failed", first.stdout), first.stdout
    assert "files were modified by this hook" in first.stdout
    second = try_repo()
    assert second.returncode == 0, second.stdout + second.stderr
    line = _break_an_email(project)
    third = try_repo()
    assert third.returncode == 1
    assert re.search(r"jcstate validate\.+Failed", third.stdout)
    assert f"contacts/customers.yaml:{line}:" in third.stdout

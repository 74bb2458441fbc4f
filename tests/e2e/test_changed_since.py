"""`--changed-since REF` and `jcstate show`, end to end.

A real git repository in a temporary folder (git init, commit, branch), the
CLI in process (tests/support/cli.py), and `jcstate sandbox serve` over HTTP. Requests are
counted from the `-v` request log (`jcstate: GET /v2/contacts... -> 200`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from jcstate.project.yamlio import render_contacts_file
from jcstate.sandbox.seeddata import generated_contact
from jcstate.sandbox.store import ContactStore
from tests.support.cli import run_jcstate
from tests.support.sandbox_server import SandboxServer

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}
CONFIG = """\
version: 1
api: {url: 'https://api.justcall.io'}  # JCSTATE_API_URL points at the sandbox
default_region: US
contacts: ["contacts/*.yaml"]
"""
REQUEST = re.compile(r"^jcstate: (GET|POST|PUT|DELETE) (\S+) -> ", re.MULTILINE)
CHANGED_LINE = re.compile(r"^Changed since .*$", re.MULTILINE)


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=repo,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def jcstate(
    project: Path, server: SandboxServer | None, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("JUSTCALL_", "JCSTATE_"))}
    return run_jcstate(
        args,
        cwd=project,
        env={**base, "NO_COLOR": "1", **(server.env if server else {}), **(env or {})},
    )


def requests(stderr: str, method: str = "GET") -> list[str]:
    return [path for verb, path in REQUEST.findall(stderr) if verb == method]


def changed_line(stdout: str) -> str:
    found = CHANGED_LINE.findall(stdout)
    assert len(found) == 1, stdout
    return str(found[0])


def write_contacts(path: Path, entries: Sequence[dict[str, Any]], **defaults: Any) -> None:
    path.write_text(render_contacts_file(entries, defaults or None))


def make_repo(root: Path, files: dict[str, list[dict[str, Any]]], config: str = CONFIG) -> str:
    """A repository on branch main holding the project, then a branch `pr` checked out."""
    (root / "contacts").mkdir(parents=True)
    (root / "jcstate.yaml").write_text(config)
    for name, entries in files.items():
        write_contacts(root / "contacts" / name, entries)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "contacts")
    git(root, "checkout", "-q", "-b", "pr")
    return git(root, "rev-parse", "HEAD")


def commit_all(root: Path, message: str = "change") -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


def contacts(start: int, count: int) -> list[dict[str, Any]]:
    return [generated_contact(i) for i in range(start, start + count)]


def api(server: SandboxServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=server.auth_headers, timeout=60)


def remote_by_phone(server: SandboxServer) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    with api(server) as client:
        page = 1
        while True:
            data = client.get("/v2/contacts", params={"page": page, "per_page": 100}).json()
            for item in data["data"]:
                found[item["phone"]] = item
            if len(data["data"]) < 100:
                return found
            page += 1


@pytest.fixture
def seeded(sandbox_server: SandboxServer) -> SandboxServer:
    """The served sandbox holding generated contacts 0..4999 (one transaction, no API calls)."""
    store = ContactStore(sandbox_server.db_path)
    try:
        store.seed(5000)
    finally:
        store.close()
    return sandbox_server


def big_project(root: Path) -> str:
    """5,000 contacts in 5 files, declared exactly as the seeded sandbox holds them."""
    return make_repo(root, {f"part{n}.yaml": contacts(n * 1000, 1000) for n in range(5)})


def test_three_of_5000_changed_plans_exactly_those_with_three_gets(
    tmp_path: Path, seeded: SandboxServer
) -> None:
    root = tmp_path / "repo"
    base = big_project(root)
    entries = contacts(0, 1000)
    for index in (3, 500, 999):
        entries[index]["first_name"] = "Renamed"
    write_contacts(root / "contacts" / "part0.yaml", entries)  # uncommitted: it counts
    # Drift on a contact nobody touched in git: not read, so not reported.
    untouched = generated_contact(2500)
    with api(seeded) as client:
        held = client.get("/v2/contacts", params={"phone": untouched["phone"]}).json()["data"][0]
        assert client.put(f"/v2/contacts/{held['id']}", json={"last_name": "Drifted"}).is_success

    done = jcstate(root, seeded, "-v", "plan", "--changed-since", "main", "--format", "json")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert sorted(c["phone"] for c in plan["changes"]) == sorted(
        entries[i]["phone"] for i in (3, 500, 999)
    )
    assert {c["action"] for c in plan["changes"]} == {"update"}
    assert len(requests(done.stderr)) <= 3, done.stderr
    assert requests(done.stderr, "PUT") == []
    assert plan["changed_since"]["ref"] == "main"
    assert plan["changed_since"]["commit"] == base
    assert plan["changed_since"]["contacts"] == 3
    assert plan["changed_since"]["not_read"] == 4997

    text = jcstate(root, seeded, "plan", "--changed-since", "main")
    assert text.returncode == 0, text.stderr
    assert changed_line(text.stdout) == (
        f"Changed since main ({base[:7]}): 3 contacts; 4,997 declared contacts were read "
        "from the files, not fetched (drift there is reported by jcstate drift)."
    )
    assert untouched["phone"] not in text.stdout
    assert (
        text.stdout.splitlines()[-1] == "Plan: 0 to create, 3 to update, 0 to delete, 0 unchanged."
    )

    # The full plan does see the drift: it was only not read.
    full = jcstate(root, seeded, "plan", "--format", "json")
    assert untouched["phone"] in {c["phone"] for c in json.loads(full.stdout)["changes"]}


def test_moved_reordered_and_reformatted_contacts_are_no_change(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    root = tmp_path / "repo"
    make_repo(root, {"a.yaml": contacts(0, 6), "b.yaml": contacts(6, 6)})
    a, b = contacts(0, 6), contacts(6, 6)
    moved = a.pop(2)
    b.append(moved)
    b.reverse()
    for entry in a:  # "+12122000100" written as "(212) 200-0100"
        digits = entry["phone"][2:]
        entry["phone"] = f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    write_contacts(root / "contacts" / "a.yaml", a)
    text = render_contacts_file(b).replace("contacts:\n", "# reviewed\ncontacts:   # all of them\n")
    (root / "contacts" / "b.yaml").write_text(text)
    commit_all(root)

    done = jcstate(root, sandbox_server, "-v", "plan", "--changed-since", "main")
    assert done.returncode == 0, done.stderr
    assert requests(done.stderr) == []
    assert "Changed since main (" in done.stdout
    assert ": 0 contacts; 12 declared contacts were read from the files, not fetched" in done.stdout
    assert (
        done.stdout.splitlines()[-1] == "Plan: 0 to create, 0 to update, 0 to delete, 0 unchanged."
    )


def test_a_defaults_change_touches_only_that_files_affected_contacts(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    root = tmp_path / "repo"
    plain = [{"phone": c["phone"], "first_name": c["first_name"]} for c in contacts(0, 8)]
    own = {**plain[3], "company": "Own Co"}
    make_repo(root, {"a.yaml": [*plain[:3], own], "b.yaml": plain[4:]})
    write_contacts(root / "contacts" / "a.yaml", [*plain[:3], own], company="Acme Corp")
    commit_all(root)

    done = jcstate(root, sandbox_server, "plan", "--changed-since", "main", "--format", "json")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["changed_since"]["contacts"] == 3
    assert sorted(c["phone"] for c in plan["changes"]) == sorted(c["phone"] for c in plain[:3])
    assert all(c["action"] == "create" for c in plan["changes"])


def test_a_removed_contact_is_deleted_only_with_prune_and_a_protected_one_never(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    declared = contacts(0, 20)
    extra = generated_contact(50)  # remote, never declared: no --changed-since names it
    with api(sandbox_server) as client:
        answer = client.post("/v2/contacts/bulk", json={"contacts": [*declared, extra]})
        assert answer.status_code == 200, answer.text
    gone, kept = declared[4], declared[7]
    config = CONFIG + f'safety:\n  protected: ["{kept["phone"]}"]\n'
    root = tmp_path / "repo"
    make_repo(root, {"a.yaml": declared}, config)
    write_contacts(root / "contacts" / "a.yaml", [c for c in declared if c not in (gone, kept)])
    commit_all(root)

    without = jcstate(root, sandbox_server, "plan", "--changed-since", "main")
    assert without.returncode == 0, without.stderr
    assert "deleted only with --prune" in without.stdout
    assert f"{gone['phone']} (id " in without.stdout
    assert without.stdout.splitlines()[-1].startswith("Plan: 0 to create, 0 to update, 0 to delete")

    pruned = jcstate(
        root, sandbox_server, "plan", "--changed-since", "main", "--prune", "--format", "json"
    )
    assert pruned.returncode == 0, pruned.stderr
    plan = json.loads(pruned.stdout)
    assert [(c["action"], c["phone"]) for c in plan["changes"]] == [("delete", gone["phone"])]
    assert any(kept["phone"] in w and "protected" in w for w in plan["warnings"])
    assert plan["safe"] is True

    applied = jcstate(
        root, sandbox_server, "apply", "--changed-since", "main", "--prune", "--auto-approve"
    )
    assert applied.returncode == 0, applied.stderr + applied.stdout
    remote = remote_by_phone(sandbox_server)
    assert gone["phone"] not in remote
    assert kept["phone"] in remote and extra["phone"] in remote
    assert len(remote) == 20


def test_an_ownership_change_falls_back_to_the_full_refresh(
    tmp_path: Path, seeded: SandboxServer
) -> None:
    root = tmp_path / "repo"
    base = big_project(root)
    (root / "jcstate.yaml").write_text(CONFIG + "ownership: {field: managed_by, value: ops}\n")
    done = jcstate(root, seeded, "-v", "plan", "--changed-since", "main", "--format", "text")
    assert done.returncode == 0, done.stderr
    line = changed_line(done.stdout)
    assert line.startswith(f"Changed since main ({base[:7]}): ownership changed")
    assert "full refresh" in line
    # the whole listing, verified: 50 pages of 100, and the last page read before and after
    assert len(requests(done.stderr)) == 52
    # Every declared contact was planned: adopting them all (the marker is new).
    assert "5000 to update" in done.stdout.splitlines()[-1]


def test_a_ref_without_jcstate_yaml_falls_back_too(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "README").write_text("x\n")
    git(root, "init", "-q", "-b", "main")
    commit_all(root, "empty")
    (root / "contacts").mkdir()
    (root / "jcstate.yaml").write_text(CONFIG)
    write_contacts(root / "contacts" / "a.yaml", contacts(0, 2))
    done = jcstate(root, sandbox_server, "plan", "--changed-since", "main")
    assert done.returncode == 0, done.stderr
    assert "jcstate.yaml did not exist at main" in changed_line(done.stdout)
    assert (
        done.stdout.splitlines()[-1] == "Plan: 2 to create, 0 to update, 0 to delete, 0 unchanged."
    )


def test_errors_say_what_to_do(tmp_path: Path, sandbox_server: SandboxServer) -> None:
    plain = tmp_path / "plain"
    (plain / "contacts").mkdir(parents=True)
    (plain / "jcstate.yaml").write_text(CONFIG)
    write_contacts(plain / "contacts" / "a.yaml", contacts(0, 2))
    done = jcstate(plain, sandbox_server, "plan", "--changed-since", "main")
    assert done.returncode == 1
    assert "not inside a git repository" in done.stderr

    root = tmp_path / "repo"
    make_repo(root, {"a.yaml": contacts(0, 2)})
    done = jcstate(root, sandbox_server, "plan", "--changed-since", "origin/develop")
    assert done.returncode == 1
    assert "unknown git ref 'origin/develop'" in done.stderr
    assert "git fetch origin develop" in done.stderr

    done = jcstate(
        root, sandbox_server, "plan", "--changed-since", "main", "--target", "+12122000100"
    )
    assert done.returncode == 1
    assert "--changed-since cannot be combined with --target" in done.stderr
    done = jcstate(
        root, sandbox_server, "apply", "--changed-since", "main", "--target", "+12122000100"
    )
    assert done.returncode == 1
    assert "--changed-since cannot be combined with --target" in done.stderr

    # A shallow clone of a branch whose merge base with main was not fetched.
    git(root, "checkout", "-q", "main")
    write_contacts(root / "contacts" / "a.yaml", contacts(0, 3))
    commit_all(root, "main moves on")
    git(root, "checkout", "-q", "pr")
    write_contacts(root / "contacts" / "a.yaml", contacts(0, 1))
    commit_all(root, "pr change")
    shallow = tmp_path / "shallow"
    url = root.as_uri()
    git(tmp_path, "clone", "-q", "--depth", "1", "--branch", "pr", url, str(shallow))
    git(shallow, "fetch", "-q", "--depth", "1", "origin", "main:refs/remotes/origin/main")
    done = jcstate(shallow, sandbox_server, "plan", "--changed-since", "origin/main")
    assert done.returncode == 1
    assert "shallow" in done.stderr
    assert "fetch-depth: 0" in done.stderr


@pytest.mark.parametrize("output_format", ["text", "markdown", "json"])
def test_show_prints_exactly_what_plan_printed(
    tmp_path: Path, sandbox_server: SandboxServer, output_format: str
) -> None:
    declared = contacts(0, 6)
    with api(sandbox_server) as client:
        assert client.post("/v2/contacts/bulk", json={"contacts": declared[:5]}).is_success
    root = tmp_path / "repo"
    make_repo(root, {"a.yaml": declared[:5]})
    changed = [dict(c) for c in declared]
    changed[1]["email"] = None
    changed[2]["last_name"] = "Ng"
    write_contacts(root / "contacts" / "a.yaml", [c for i, c in enumerate(changed) if i != 4])
    out = tmp_path / "plan.json"
    planned = jcstate(
        root,
        sandbox_server,
        "plan",
        "--changed-since",
        "main",
        "--format",
        output_format,
        "--out",
        str(out),
    )
    assert planned.returncode == 0, planned.stderr
    if output_format == "json":
        assert json.loads(planned.stdout)["changed_since"]["contacts"] == 4
    elif output_format == "markdown":
        # jcstate's own line holds the ref a user typed: escaped as markdown text.
        assert "Changed since main \\(" in planned.stdout
    else:
        assert "Changed since main (" in planned.stdout
    # No credentials, and an API nobody answers: show must not need either.
    shown = jcstate(
        tmp_path,
        None,
        "show",
        str(out),
        "--format",
        output_format,
        env={"JCSTATE_API_URL": "http://127.0.0.1:9"},
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == planned.stdout
    assert json.loads(out.read_text())["changed_since"]["ref"] == "main"


def test_show_of_a_plain_plan_matches_too(tmp_path: Path, sandbox_server: SandboxServer) -> None:
    root = tmp_path / "repo"
    make_repo(root, {"a.yaml": contacts(0, 3)})
    out = tmp_path / "plan.json"
    planned = jcstate(root, sandbox_server, "plan", "--format", "markdown", "--out", str(out))
    assert planned.returncode == 0, planned.stderr
    shown = jcstate(tmp_path, None, "show", str(out), "--format", "markdown", "--mask-pii")
    assert shown.returncode == 0, shown.stderr
    assert "Changed since" not in shown.stdout
    plain = jcstate(tmp_path, None, "show", str(out), "--format", "markdown")
    assert plain.stdout == planned.stdout
    assert contacts(0, 1)[0]["phone"] not in shown.stdout


def test_apply_changed_since_then_a_full_plan_has_no_changes_for_them(
    tmp_path: Path, seeded: SandboxServer
) -> None:
    root = tmp_path / "repo"
    big_project(root)
    entries = contacts(1000, 1000)
    entries[10]["company"] = "New Co"
    entries[20]["email"] = None
    added = generated_contact(7000)
    write_contacts(root / "contacts" / "part1.yaml", [*entries, added])
    commit_all(root)

    applied = jcstate(
        root, seeded, "-v", "apply", "--changed-since", "main", "--auto-approve", "--format", "json"
    )
    assert applied.returncode == 0, applied.stderr
    report = json.loads(applied.stdout)
    assert report["converged"] is True
    assert len(requests(applied.stderr)) < 20, applied.stderr

    full = jcstate(root, seeded, "plan", "--format", "json")
    assert full.returncode == 0, full.stderr
    plan = json.loads(full.stdout)
    assert plan["changes"] == []
    assert plan["summary"]["unchanged"] == 5001


def test_a_project_in_a_subfolder_of_the_repository(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    repo = tmp_path / "repo"
    root = repo / "crm"
    root.mkdir(parents=True)
    (repo / "README").write_text("the crm project lives in crm/\n")
    make_repo(root, {"a.yaml": contacts(0, 3), "b.yaml": contacts(3, 3)})
    # make_repo ran `git init` in crm/: start over with the repository one level up.
    shutil.rmtree(root / ".git")
    git(repo, "init", "-q", "-b", "main")
    commit_all(repo, "crm contacts")
    git(repo, "checkout", "-q", "-b", "pr")
    entries = contacts(3, 3)
    entries[1]["last_name"] = "Other"
    write_contacts(root / "contacts" / "b.yaml", entries)

    done = jcstate(repo, sandbox_server, "-C", "crm", "plan", "--changed-since", "main")
    assert done.returncode == 0, done.stderr
    assert ": 1 contact; 5 declared contacts were read from the files, not fetched" in changed_line(
        done.stdout
    )
    assert (
        done.stdout.splitlines()[-1] == "Plan: 1 to create, 0 to update, 0 to delete, 0 unchanged."
    )

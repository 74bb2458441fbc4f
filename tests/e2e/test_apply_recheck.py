"""A contact changed in JustCall after the plan is never written (issue 21, first half).

The account is changed by a second client between the plan and the writes:
at the `yes` prompt (driven on a pseudo-terminal), and in the middle of a
slow, rate-limited `--auto-approve` or `apply PLANFILE`, triggered by the
first PUT that jcstate logs with -v. A changed target (phone moved, ownership
marker removed, phone made protected, fields edited) is skipped and reported
per contact; the rest is applied; the run ends `Converged: no.` with exit 1.
The re-checks cost at most min(w, ceil(N/100) + 2) requests.
"""

from __future__ import annotations

import json
import math
import os
import pty
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from jcstate.sandbox.seeddata import generated_contact
from tests.e2e.test_apply_e2e import CUSTOM_FIELDS, jcstate, people, remote_contacts
from tests.support.sandbox_server import SandboxServer, start_sandbox
from tests.support.scenario import write_contact_parts

MARKER = "managed_by"
OWNER = "sales-ops"
#: a phone no declared or stored contact holds, listed in safety.protected
PROTECTED = generated_contact(999)["phone"]
#: the number another person gets when a contact's phone is moved at the prompt
OTHER_PERSON = generated_contact(998)["phone"]
#: a -v request line (the first one after a prompt shares the prompt's line)
ANYWHERE = re.compile(r"jcstate: (GET|POST|PUT|DELETE) (\S+) -> ")
CHANGED = "changed in JustCall after the plan"


def write_project(root: Path, contacts: Sequence[dict[str, Any]], *, concurrency: int = 4) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "jcstate.yaml").write_text(
        "version: 1\n"
        f"api: {{url: 'https://api.justcall.io', concurrency: {concurrency}}}\n"
        "default_region: US\n"
        'contacts: ["contacts/*.yaml"]\n'
        f"{CUSTOM_FIELDS}"
        f"ownership: {{field: {MARKER}, value: {OWNER}}}\n"
        "safety:\n"
        "  max_delete_percent: 100\n"
        "  max_update_percent: 100\n"
        "  min_existing: 10\n"
        f"  protected: [{json.dumps(PROTECTED)}]\n"
    )
    for old in (root / "contacts").glob("*.yaml") if (root / "contacts").exists() else ():
        old.unlink()
    write_contact_parts(root, contacts, 1)


def by_phone(server: SandboxServer) -> dict[str, dict[str, Any]]:
    return {c["phone"]: c for c in remote_contacts(server)}


def by_id(server: SandboxServer) -> dict[int, dict[str, Any]]:
    return {c["id"]: c for c in remote_contacts(server)}


def put(server: SandboxServer, contact_id: int, body: dict[str, Any]) -> None:
    """Another client (the JustCall UI, a colleague) edits a contact."""
    with httpx.Client(base_url=server.url, headers=server.auth_headers, timeout=30) as http:
        for _attempt in range(50):
            response = http.put(f"/v2/contacts/{contact_id}", json=body)
            if response.status_code != 429:
                break
        response.raise_for_status()


def skipped_line(contact: dict[str, Any], what: str) -> str:
    return f"skipped: {contact['phone']} (id {contact['id']}) {CHANGED}: {what}"


def bound(writes: int, contacts: int) -> int:
    return min(writes, math.ceil(contacts / 100) + 2)


class Running:
    """A jcstate subprocess whose stderr is read line by line as it runs."""

    def __init__(self, root: Path, server: SandboxServer, *args: str, stdin: Any) -> None:
        env = {**os.environ, **server.env, "NO_COLOR": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jcstate", "-C", str(root), *args],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.stderr: list[str] = []
        self._watchers: list[tuple[Callable[[str], bool], threading.Event]] = []
        self._lock = threading.Lock()
        assert self.process.stderr is not None
        self._reader = threading.Thread(target=self._pump, args=(self.process.stderr,))
        self._reader.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            with self._lock:
                self.stderr.append(line)
                for matches, event in self._watchers:
                    if matches(line):
                        event.set()

    def wait_for(self, matches: Callable[[str], bool], timeout: float = 120) -> None:
        event = threading.Event()
        with self._lock:
            self._watchers.append((matches, event))
            if any(matches(line) for line in self.stderr):
                event.set()
        assert event.wait(timeout), "".join(self.stderr)

    def finish(self, timeout: float = 180) -> tuple[int, str, str]:
        # Not communicate(): it would read stderr too, in competition with the reader.
        assert self.process.stdout is not None
        stdout = self.process.stdout.read()
        self.process.wait(timeout)
        self._reader.join(timeout)
        return self.process.returncode, stdout, "".join(self.stderr)


def first_put(line: str) -> bool:
    return line.startswith("jcstate: PUT ")


def test_a_contact_changed_at_the_prompt_is_not_written_and_is_reported(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    root = tmp_path / "project"
    declared = people(range(12))
    write_project(root, declared)
    assert jcstate(root, sandbox_server, "apply", "--auto-approve").returncode == 0
    stored = by_phone(sandbox_server)
    c = [stored[d["phone"]] for d in declared]
    assert all(contact["custom_fields"][MARKER] == OWNER for contact in c)

    # The reviewed change: three updates, three deletes (9, 10, 11 are no longer declared).
    for index in (0, 1, 2):
        declared[index]["first_name"] = f"Reviewed{index}"
    write_project(root, declared[:9])

    leader, follower = pty.openpty()
    try:
        run = Running(root, sandbox_server, "-v", "apply", "--prune", stdin=follower)
        run.wait_for(lambda line: "Only 'yes' will be accepted" in line)
        plan_text = "".join(run.stderr) + ""
        # While the reviewer reads the plan, someone else works in JustCall.
        put(sandbox_server, c[1]["id"], {"phone": OTHER_PERSON})  # another person now
        put(sandbox_server, c[2]["id"], {"last_name": "EditedInTheUI"})
        put(sandbox_server, c[9]["id"], {"phone": PROTECTED})  # now the protected phone
        put(sandbox_server, c[10]["id"], {"custom_fields": {MARKER: None}})  # out of scope
        os.write(leader, b"yes\n")
        code, stdout, stderr = run.finish()
    finally:
        os.close(leader)
        os.close(follower)
    output = stdout + stderr
    assert "Plan: 0 to create, 3 to update, 3 to delete" in output, plan_text

    assert code == 1, output
    assert skipped_line(c[1], f"phone {c[1]['phone']} -> {OTHER_PERSON}") in stdout
    assert skipped_line(c[2], f"last_name {c[2]['last_name']} -> EditedInTheUI") in stdout
    assert skipped_line(c[9], f"phone {c[9]['phone']} -> {PROTECTED}") in stdout
    assert skipped_line(c[10], f"custom_fields.{MARKER} {OWNER} -> (empty)") in stdout
    assert "Converged: no." in stdout
    assert "run `jcstate plan` again" in stdout
    assert "Apply finished with errors: 0 created, 1 updated, 1 deleted, 0 failed, 4 skipped." in (
        stdout
    )

    now = by_id(sandbox_server)
    assert now[c[0]["id"]]["first_name"] == "Reviewed0"  # untouched targets were written
    assert now[c[1]["id"]]["first_name"] == c[1]["first_name"]  # not the other person
    assert now[c[1]["id"]]["phone"] == OTHER_PERSON
    assert now[c[2]["id"]]["first_name"] == c[2]["first_name"]
    assert now[c[2]["id"]]["last_name"] == "EditedInTheUI"
    assert c[9]["id"] in now and now[c[9]["id"]]["phone"] == PROTECTED  # protected: kept
    assert c[10]["id"] in now  # left the ownership scope: kept
    assert c[11]["id"] not in now  # unchanged since the plan: deleted

    # The re-check: 6 writes in an account of 12 contacts (1 page): one page per phase.
    # (the first request line after the prompt may share the prompt's line)
    after_prompt = stderr.split("Only 'yes' will be accepted", 1)[1]
    gets = [path for verb, path in ANYWHERE.findall(after_prompt) if verb == "GET"]
    listing_reads = [p for p in gets if p.startswith("/v2/contacts?")]
    assert len(listing_reads) == 3  # 2 re-check pages + the convergence check's listing
    assert len(listing_reads) - 1 <= bound(6, 12)


def _slow_server(tmp_path: Path) -> Any:
    """The sandbox answering every request after 300 ms, under a per-minute rate limit."""
    return start_sandbox(
        tmp_path / "slow.db", "--latency-ms", "300", "--rate-limit-per-minute", "600"
    )


def test_auto_approve_with_a_slow_sandbox_rechecks_each_write_close_to_it(
    tmp_path: Path,
) -> None:
    root = tmp_path / "project"
    declared = people(range(250))  # 3 listing pages: up to 5 re-check reads
    with _slow_server(tmp_path) as server:
        write_project(root, declared, concurrency=1)
        assert jcstate(root, server, "apply", "--auto-approve").returncode == 0
        stored = by_phone(server)
        c = [stored[d["phone"]] for d in declared]
        for index in range(4):
            declared[index]["first_name"] = f"Reviewed{index}"
        write_project(root, declared[:249], concurrency=1)  # and 249 is pruned, last

        run = Running(
            root,
            server,
            "-v",
            "apply",
            "--prune",
            "--auto-approve",
            "--format",
            "json",
            stdin=subprocess.DEVNULL,
        )
        # The writes are queued behind the slow answers; the delete comes last. After
        # the first PUT, the contact to delete is taken into the protected phone.
        run.wait_for(first_put)
        put(server, c[249]["id"], {"phone": PROTECTED})
        code, stdout, stderr = run.finish()
        report = json.loads(stdout)
        now = by_id(server)

    assert code == 1, stderr
    assert report["converged"] is False
    assert report["summary"]["updated"] == 4
    assert report["skipped_changed"] == [
        {
            "action": "delete",
            "phone": c[249]["phone"],
            "id": c[249]["id"],
            "message": f"{CHANGED}: phone {c[249]['phone']} -> {PROTECTED}",
        }
    ]
    assert c[249]["id"] in now
    assert "1 contact changed in JustCall after the plan and was not written" in stderr
    assert "run `jcstate plan` again" in stderr
    # Five writes, each re-read by id just before it is sent: 5 <= min(5, 3 + 2).
    assert report["requests_by_stage"]["recheck"] == 5 == bound(5, 250)
    lines = ANYWHERE.findall(stderr)
    writes = [i for i, (verb, _) in enumerate(lines) if verb in ("PUT", "DELETE")]
    for index in writes:
        _verb, path = lines[index]
        assert lines[index - 1] == ("GET", path), lines  # the read right before the write
    assert ("GET", f"/v2/contacts/{c[249]['id']}") in lines, stderr
    assert ("DELETE", f"/v2/contacts/{c[249]['id']}") not in lines


@pytest.mark.parametrize("change", ["marker", "fields"])
def test_apply_planfile_rechecks_after_its_rederivation(tmp_path: Path, change: str) -> None:
    root = tmp_path / "project"
    declared = people(range(12))
    with _slow_server(tmp_path) as server:
        write_project(root, declared, concurrency=1)
        assert jcstate(root, server, "apply", "--auto-approve").returncode == 0
        stored = by_phone(server)
        c = [stored[d["phone"]] for d in declared]
        for index in range(6):
            declared[index]["first_name"] = f"Reviewed{index}"
        write_project(root, declared[:10], concurrency=1)  # 10 and 11 are pruned
        plan_file = tmp_path / "reviewed.plan.json"
        planned = jcstate(root, server, "plan", "--prune", "--out", str(plan_file))
        assert planned.returncode == 0, planned.stderr

        run = Running(root, server, "-v", "apply", str(plan_file), stdin=subprocess.DEVNULL)
        run.wait_for(first_put)  # the plan file was re-derived; the writes have begun
        if change == "marker":
            put(server, c[10]["id"], {"custom_fields": {MARKER: None}})
            what = f"custom_fields.{MARKER} {OWNER} -> (empty)"
        else:
            put(server, c[10]["id"], {"email": "someone.else@example.com"})
            what = f"email {c[10]['email']} -> someone.else@example.com"
        code, stdout, stderr = run.finish()
        now = by_id(server)

    assert code == 1, stdout + stderr
    assert skipped_line(c[10], what) in stdout
    assert "Converged: no." in stdout
    assert c[10]["id"] in now
    assert c[11]["id"] not in now
    assert all(now[c[i]["id"]]["first_name"] == f"Reviewed{i}" for i in range(6))

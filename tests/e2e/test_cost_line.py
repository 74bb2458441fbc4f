"""The `Cost:` line counts the reads as well as the writes, so its time can be trusted.

A plan that lists 3 pages must not print `Cost: no API requests.`, and the
requests an apply sends (its listing, the re-checks of what it writes, the
writes, the convergence check) must be what the plan said, give or take the
re-check estimate.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import httpx

from jcstate.project.yamlio import render_contacts_file
from jcstate.sandbox.seeddata import generated_contact
from tests.support.cli import run_jcstate
from tests.support.sandbox_server import SandboxServer

COUNT = 250  # 3 listing pages
REQUEST = re.compile(r"^jcstate: (GET|POST|PUT|DELETE) \S+ -> ", re.MULTILINE)
COST = re.compile(
    r"^Cost: (\d+) requests? to apply: (\d+) reads? \((\d+) to list or look up, "
    r"(\d+) to re-check, (\d+) to check convergence\) and (\d+) writes?",
    re.MULTILINE,
)


def run(project: Path, server: SandboxServer, *args: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("JUSTCALL_", "JCSTATE_"))}
    return run_jcstate(args, cwd=project, env={**base, "NO_COLOR": "1", **server.env})


def test_the_cost_line_counts_reads_and_writes(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    contacts = [generated_contact(i) for i in range(COUNT)]
    with httpx.Client(
        base_url=sandbox_server.url, headers=sandbox_server.auth_headers, timeout=30
    ) as client:
        assert client.post("/v2/contacts/bulk", json={"contacts": contacts}).status_code == 200
    project = tmp_path / "project"
    (project / "contacts").mkdir(parents=True)
    (project / "jcstate.yaml").write_text(
        "version: 1\napi: {url: 'https://api.justcall.io'}\ncontacts: [\"contacts/*.yaml\"]\n"
    )
    (project / "contacts" / "all.yaml").write_text(render_contacts_file(contacts))

    quiet = run(project, sandbox_server, "plan", "-v")
    listed = len(REQUEST.findall(quiet.stderr))
    assert listed >= 3
    assert "no API requests" not in quiet.stdout
    (line,) = COST.findall(quiet.stdout)
    assert int(line[2]) == listed and int(line[5]) == 0, quiet.stdout

    edited = [dict(c, last_name="Changed") if i < 3 else c for i, c in enumerate(contacts)]
    (project / "contacts" / "all.yaml").write_text(render_contacts_file(edited))
    planned = run(project, sandbox_server, "plan", "-v")
    (line,) = COST.findall(planned.stdout)
    total, reads, listing, rechecks, convergence, writes = map(int, line)
    assert listing == len(REQUEST.findall(planned.stderr))
    # The convergence check: page 1 (to learn the size), then the 3 phones looked up.
    assert writes == 3 and rechecks == 3 and convergence == 1 + 3
    assert reads == listing + rechecks + convergence and total == reads + writes

    applied = run(project, sandbox_server, "apply", "--auto-approve", "-v")
    assert applied.returncode == 0, applied.stderr
    sent = len(REQUEST.findall(applied.stderr))
    assert sent == total, (sent, total)

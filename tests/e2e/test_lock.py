"""Two runs on one project: `apply` and `drift --adopt` take `.jcstate/lock`."""

from __future__ import annotations

import time
from pathlib import Path

from tests.e2e.test_apply_e2e import jcstate, people, remote_contacts, write_project
from tests.execute.test_lock import holder
from tests.support.sandbox_server import SandboxServer


def test_apply_and_drift_adopt_refuse_while_another_run_holds_the_lock(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    root = tmp_path / "project"
    write_project(root, people(range(3)))
    with holder(root) as other:
        started = time.monotonic()
        refused = jcstate(root, sandbox_server, "apply", "--auto-approve")
        assert time.monotonic() - started < 20
        assert refused.returncode == 1
        assert (
            f"another jcstate run (pid {other.pid}) holds .jcstate/lock; "
            "wait for it or use --lock-timeout SECONDS"
        ) in refused.stderr
        assert "Traceback" not in refused.stderr
        assert remote_contacts(sandbox_server) == []

        adopt = jcstate(root, sandbox_server, "drift", "--adopt")
        assert adopt.returncode == 1
        assert f"(pid {other.pid}) holds .jcstate/lock" in adopt.stderr
        # Read-only drift needs no lock.
        assert jcstate(root, sandbox_server, "drift").returncode == 2

    assert jcstate(root, sandbox_server, "apply", "--auto-approve").returncode == 0
    assert len(remote_contacts(sandbox_server)) == 3


def test_lock_timeout_waits_for_the_other_run(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    root = tmp_path / "project"
    write_project(root, people(range(3)))
    with holder(root, hold_s=2.0):
        result = jcstate(root, sandbox_server, "apply", "--auto-approve", "--lock-timeout", "60")
    assert result.returncode == 0, result.stderr
    assert len(remote_contacts(sandbox_server)) == 3

"""A plan with nothing to change loads neither deepdiff nor the sandbox's modules.

Start-up is part of what every plan costs (at 100,000 contacts the whole plan
is meant to take its fetch plus at most a second). deepdiff names the changed
attributes of an update, so a plan that finds none never needs it; the
sandbox's modules serve `sandbox://` URLs only. Each case runs the real
`jcstate plan` in a fresh interpreter against the sandbox served on loopback
and lists what `sys.modules` holds after it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jcstate.sandbox.seeddata import generated_contact
from tests.support.sandbox_server import SandboxServer, start_sandbox
from tests.support.scenario import jcstate_env, write_project

CONTACTS = 30

_PROBE = """
import json, sys
from jcstate.cli import cli
try:
    cli.main(args=sys.argv[1:], prog_name="jcstate")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
loaded = {"deepdiff": "deepdiff" in sys.modules,
          "sandbox": any(n.startswith("jcstate.sandbox") for n in sys.modules)}
print(json.dumps({"code": code, "loaded": loaded}))
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    db = tmp_path_factory.mktemp("plan-imports") / "sandbox.db"
    seed = [sys.executable, "-m", "jcstate", "sandbox", "seed", "--db", str(db)]
    subprocess.run([*seed, "--count", str(CONTACTS)], check=True, capture_output=True)
    with start_sandbox(db) as served:
        yield served


def _plan(server: SandboxServer, root: Path) -> tuple[str, dict[str, Any]]:
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE, "-C", str(root), "plan", "--no-cache"],
        env=jcstate_env(server.url, server.api_key, server.api_secret),
        capture_output=True,
        text=True,
        timeout=120,
    )
    shown, _, last = completed.stdout.rstrip("\n").rpartition("\n")
    return shown, json.loads(last)


def test_a_plan_with_no_change_loads_neither(server: SandboxServer, tmp_path: Path) -> None:
    write_project(tmp_path, [generated_contact(i) for i in range(CONTACTS)])
    shown, outcome = _plan(server, tmp_path)
    assert "0 to create, 0 to update" in shown
    assert outcome["loaded"] == {"deepdiff": False, "sandbox": False}


def test_a_plan_with_an_update_loads_deepdiff(server: SandboxServer, tmp_path: Path) -> None:
    """The probe can fail: an update is named by deepdiff."""
    contacts = [generated_contact(i) for i in range(CONTACTS)]
    contacts[3] = {**contacts[3], "company": "Renamed Ltd"}
    write_project(tmp_path, contacts)
    shown, outcome = _plan(server, tmp_path)
    assert "1 to update" in shown
    assert outcome["loaded"]["deepdiff"] is True

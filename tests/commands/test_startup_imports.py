"""`jcstate --help` and `jcstate plan --help` start without the heavy libraries.

The command modules defer their imports of pydantic (the models), deepdiff
(the plan engine) and FastAPI (the sandbox) to the code that runs a command,
so asking for help, the first thing a newcomer types, answers at once. Each
case runs in a fresh interpreter (a test process has them all imported
already) and lists what `sys.modules` holds after the help was printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("deepdiff", "pydantic", "fastapi")

_PROBE = """
import json, sys
from jcstate.cli import cli
try:
    cli.main(args=sys.argv[1:], prog_name="jcstate")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
heavy = sorted(name for name in sys.modules if name.split(".")[0] in {heavy!r})
print(json.dumps({{"code": code, "heavy": sorted(set(n.split(".")[0] for n in heavy))}}))
"""


def _loaded_after(*args: str, cwd: Path | None = None) -> tuple[str, dict[str, object]]:
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE.format(heavy=set(HEAVY)), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=cwd,
    )
    help_text, _, last = completed.stdout.rstrip("\n").rpartition("\n")
    return help_text, json.loads(last)


@pytest.mark.parametrize("args", [("--help",), ("plan", "--help")], ids=" ".join)
def test_help_loads_neither_deepdiff_pydantic_nor_fastapi(args: tuple[str, ...]) -> None:
    help_text, outcome = _loaded_after(*args)
    assert outcome["code"] == 0
    assert "Usage: jcstate" in help_text
    assert outcome["heavy"] == [], f"jcstate {' '.join(args)} imported {outcome['heavy']}"


def test_the_probe_sees_a_heavy_import() -> None:
    """The check can fail: a command that runs (schema) does load pydantic."""
    _, outcome = _loaded_after("schema")
    assert outcome["code"] == 0
    heavy = outcome["heavy"]
    assert isinstance(heavy, list) and "pydantic" in heavy


def test_validate_does_not_load_the_plan_engine(tmp_path: Path) -> None:
    """`validate` (and the pre-commit check) reads the project; deepdiff is for plans only."""
    (tmp_path / "jcstate.yaml").write_text(
        'version: 1\napi: {url: "sandbox://x.db"}\ncontacts: ["contacts/*.yaml"]\n',
        encoding="utf-8",
    )
    (tmp_path / "contacts").mkdir()
    (tmp_path / "contacts" / "a.yaml").write_text(
        'version: 1\ncontacts:\n  - phone: "+12125550143"\n    first_name: Ada\n',
        encoding="utf-8",
    )
    text, outcome = _loaded_after("validate", cwd=tmp_path)
    assert outcome["code"] == 0, text
    assert "OK: 1 contact" in text
    heavy = outcome["heavy"]
    assert isinstance(heavy, list) and "deepdiff" not in heavy


def test_validate_without_rules_does_not_load_the_rules_engine(tmp_path: Path) -> None:
    """The CEL engine is for `rules:`; a project without any does not pay for its start."""
    (tmp_path / "jcstate.yaml").write_text(
        'version: 1\napi: {url: "sandbox://x.db"}\ncontacts: ["contacts/*.yaml"]\n',
        encoding="utf-8",
    )
    (tmp_path / "contacts").mkdir()
    (tmp_path / "contacts" / "a.yaml").write_text(
        'version: 1\ncontacts:\n  - phone: "+12125550143"\n', encoding="utf-8"
    )
    probe = _PROBE.replace("{heavy!r}", "{{'cel_expr_python'}}")
    completed = subprocess.run(
        [sys.executable, "-c", probe.format(), "validate"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=tmp_path,
    )
    text, _, last = completed.stdout.rstrip("\n").rpartition("\n")
    assert "OK: 1 contact" in text
    assert json.loads(last)["heavy"] == []


_LOCAL_CHANGED = """
import json, sys
from pathlib import Path
from jcstate.project.config import load_project
from jcstate.runs.plan import changed_scope
root = Path(sys.argv[1])
project = load_project(root, cwd=root)
scope = changed_scope(project, "HEAD")
assert scope is not None and scope.changes is not None, scope
heavy = {"deepdiff", "httpx", "tenacity"}
loaded = {n.split(".")[0] for n in sys.modules} & heavy
if "jcstate.core.plan" in sys.modules:
    loaded.add("plan engine")
print(json.dumps({"changed": len(scope.changes.changed), "heavy": sorted(loaded)}))
"""


def test_the_local_part_of_changed_since_loads_no_http_client_nor_diff_engine(
    tmp_path: Path,
) -> None:
    """`plan --changed-since`: the project, the base from git and the changed set come
    before any request; the HTTP client (httpx, tenacity), deepdiff and the plan engine
    (`jcstate.core.plan`) wait for it."""
    (tmp_path / "jcstate.yaml").write_text(
        'version: 1\napi: {url: "sandbox://x.db"}\ncontacts: ["contacts/*.yaml"]\n',
        encoding="utf-8",
    )
    (tmp_path / "contacts").mkdir()
    contacts = tmp_path / "contacts" / "a.yaml"
    contacts.write_text(
        'version: 1\ncontacts:\n  - phone: "+12125550143"\n    first_name: Ada\n',
        encoding="utf-8",
    )
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(tmp_path)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "contacts"], check=True)
    contacts.write_text(contacts.read_text(encoding="utf-8").replace("Ada", "Grace"))
    completed = subprocess.run(
        [sys.executable, "-c", _LOCAL_CHANGED, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "JCSTATE_NO_CACHE": "1"},
    )
    outcome = json.loads(completed.stdout.strip().rpartition("\n")[2])
    assert outcome["changed"] == 1
    assert outcome["heavy"] == [], f"the local part of --changed-since imported {outcome['heavy']}"

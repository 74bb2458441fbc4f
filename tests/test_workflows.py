"""The GitHub kit: example workflows and the composite action.

Every file parses; every jcstate step names a real command, real options and
real action inputs/outputs (checked against the click objects and action.yml);
the action's run script is executed with bash and the real jcstate; the
github-script snippets (sticky PR comment, drift issue) run under node against
a fake GitHub API.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.support.doc_commands import (
    REPO_ROOT,
    load_yaml,
    make_start_state,
    option_problems,
    uses_jcstate_action,
    workflow_steps,
)
from tests.support.sandbox_server import SandboxServer

ACTION_PATH = REPO_ROOT / ".github" / "actions" / "jcstate" / "action.yml"
WORKFLOWS = sorted((REPO_ROOT / "examples" / "github").glob("*.yml")) + sorted(
    (REPO_ROOT / ".github" / "workflows").glob("*.yml")
)
YAML_FILES = [*WORKFLOWS, ACTION_PATH, REPO_ROOT / ".pre-commit-hooks.yaml"]
ACTION = load_yaml(ACTION_PATH)
#: Paths jcstate itself writes that a workflow may upload (apply's journal).
JCSTATE_WRITES = {".jcstate/journal/"}


def _id(path: Path) -> str:
    return path.relative_to(REPO_ROOT).as_posix()


def _steps(path: Path) -> list[Mapping[str, Any]]:
    return [step for _, step in workflow_steps(load_yaml(path))]


@pytest.mark.parametrize("path", YAML_FILES, ids=_id)
def test_every_file_parses_safe_and_round_trip(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    safe = YAML(typ="safe").load(text)
    assert safe, f"{_id(path)} is empty"
    assert YAML().load(text) == safe


def test_the_kit_is_complete() -> None:
    names = {path.name for path in WORKFLOWS}
    assert {"pr-plan.yml", "apply-on-merge.yml", "drift-nightly.yml"} <= names
    assert set(ACTION["inputs"]) >= {"command", "args", "python-version", "version"}
    assert set(ACTION["outputs"]) >= {"exit-code", "output-file"}
    assert ACTION["runs"]["using"] == "composite"


@pytest.mark.parametrize("path", WORKFLOWS, ids=_id)
def test_workflow_shape(path: Path) -> None:
    document = load_yaml(path)
    # YAML 1.1 readers turn a bare `on:` into True; GitHub reads it as the key "on".
    assert "on" in document and "jobs" in document, _id(path)
    for job_id, job in document["jobs"].items():
        assert "runs-on" in job, f"{_id(path)}: job {job_id} has no runs-on"
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), f"{_id(path)}: {step}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=_id)
def test_jcstate_steps_use_real_commands_options_and_inputs(path: Path) -> None:
    steps = [step for step in _steps(path) if uses_jcstate_action(step)]
    if path.parent.name == "github":  # the examples; the repo's own CI need not use jcstate
        assert steps, f"{_id(path)} has no jcstate step"
    for step in steps:
        inputs = step.get("with") or {}
        unknown = set(inputs) - set(ACTION["inputs"])
        assert not unknown, f"{_id(path)}: {step.get('name')}: no action input {unknown}"
        required = {name for name, spec in ACTION["inputs"].items() if spec.get("required")}
        assert required <= set(inputs), f"{_id(path)}: {step.get('name')}: missing {required}"
        # GitHub expands `${{ ... }}` before the action splits the words.
        expanded = re.sub(r"\$\{\{[^}]*\}\}", "EXPR", str(inputs.get("args", "")))
        args = [str(inputs["command"]), *expanded.split()]
        problems = option_problems(args)
        assert not problems, f"{_id(path)}: {step.get('name')}: " + "; ".join(problems)
        # The action points at this repository's action directory.
        uses = str(step["uses"])
        action_dir = uses.split("@", 1)[0].split("/", 2)[2]
        assert (REPO_ROOT / action_dir / "action.yml").is_file(), uses


@pytest.mark.parametrize("path", WORKFLOWS, ids=_id)
def test_step_outputs_referenced_exist(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    steps = {str(step["id"]): step for step in _steps(path) if "id" in step}
    references = re.findall(r"steps\.([\w-]+)\.outputs\.([\w-]+)", text)
    for step_id, output in references:
        assert step_id in steps, f"{_id(path)}: no step with id {step_id}"
        assert uses_jcstate_action(steps[step_id]), f"{_id(path)}: {step_id}"
        assert output in ACTION["outputs"], f"{_id(path)}: the action has no output {output}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=_id)
def test_uploaded_paths_are_written_by_earlier_steps(path: Path) -> None:
    written: set[str] = set(JCSTATE_WRITES)
    for step in _steps(path):
        inputs = step.get("with") or {}
        if uses_jcstate_action(step) and inputs.get("output-file"):
            written.add(str(inputs["output-file"]))
        if str(step.get("uses", "")).startswith("actions/upload-artifact@"):
            for line in str(inputs["path"]).split():
                if "${{" not in line:
                    assert line in written, f"{_id(path)}: nothing writes {line}"


def test_apply_writes_the_journal_the_apply_workflow_uploads(tmp_path: Path) -> None:
    project = make_start_state("applied", tmp_path / "project")
    journals = list((project / ".jcstate" / "journal").glob("*.jsonl"))
    assert journals, "apply wrote no .jcstate/journal/*.jsonl"


# -- the action's run script, executed -------------------------------------------------


def _run_step_script() -> str:
    (step,) = [step for step in ACTION["runs"]["steps"] if step.get("id") == "run"]
    assert step["shell"] == "bash"
    return str(step["run"])


def _run_action(
    project: Path,
    tmp_path: Path,
    command: str,
    args: str,
    output_file: str = "",
    base_ref: str = "",
    env: Mapping[str, str] | None = None,
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    github_output = tmp_path / f"github-output-{len(list(tmp_path.iterdir()))}"
    github_output.write_text("")
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir(exist_ok=True)
    jcstate_bin = Path(sys.executable).parent
    assert (jcstate_bin / "jcstate").exists(), "jcstate is not installed beside python"
    step_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("JUSTCALL_", "JCSTATE_"))},
        **(env or {}),
        "PATH": f"{jcstate_bin}{os.pathsep}{os.environ['PATH']}",
        "JCSTATE_COMMAND": command,
        "JCSTATE_ARGS": args,
        "JCSTATE_OUTPUT_FILE": output_file,
        "JCSTATE_BASE_REF": base_ref,
        "NO_COLOR": "1",
        "RUNNER_TEMP": str(runner_temp),
        "GITHUB_OUTPUT": str(github_output),
    }
    # GitHub runs `bash --noprofile --norc -eo pipefail {0}` for `shell: bash`.
    completed = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", _run_step_script()],
        cwd=project,
        env=step_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    outputs = dict(
        line.split("=", 1) for line in github_output.read_text().splitlines() if "=" in line
    )
    return completed, outputs


@pytest.fixture(scope="module")
def applied_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_start_state("applied", tmp_path_factory.mktemp("action") / "project")


def test_action_treats_changes_as_a_result_and_saves_stdout(
    applied_project: Path, tmp_path: Path
) -> None:
    completed, outputs = _run_action(
        applied_project, tmp_path, "plan", "--format markdown --detailed-exitcode --mask-pii"
    )
    assert completed.returncode == 0, completed.stderr
    assert outputs["exit-code"] == "2"
    document = Path(outputs["output-file"]).read_text(encoding="utf-8")
    assert "Plan: 0 to create, 1 to update, 0 to delete, 19 unchanged." in document
    assert "+1•••••9876" in document and "+14155559876" not in document
    assert document in completed.stdout  # also shown in the log


def test_action_output_files_are_distinct_or_as_asked(
    applied_project: Path, tmp_path: Path
) -> None:
    _, first = _run_action(applied_project, tmp_path, "validate", "")
    _, second = _run_action(applied_project, tmp_path, "validate", "")
    assert first["output-file"] != second["output-file"]
    _, named = _run_action(applied_project, tmp_path, "validate", "", "validate.txt")
    assert named["output-file"] == str(applied_project / "validate.txt")
    assert "OK: 20 contacts in 2 files" in (applied_project / "validate.txt").read_text()


def test_action_fails_the_step_on_errors_with_annotations(tmp_path: Path) -> None:
    project = make_start_state("fresh", tmp_path / "project")
    customers = project / "contacts" / "customers.yaml"
    customers.write_text(
        customers.read_text().replace("email: sam.chen@example.com", "email: not-an-email")
    )
    completed, outputs = _run_action(project, tmp_path, "validate", "--format github")
    assert completed.returncode == 1
    assert outputs["exit-code"] == "1"
    assert re.search(r"^::error file=contacts/customers\.yaml,line=\d+", completed.stdout, re.M)


# -- the github-script snippets, under node ---------------------------------------------

NODE = shutil.which("node")
HARNESS = """
const fs = require('fs');
const state = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const calls = [];
const record = (name, result) => async (args) => { calls.push([name, args]); return result; };
const github = {
  paginate: async (method, args) => method(args),
  rest: { issues: {
    listComments: async () => state.comments || [],
    listForRepo: async () => state.issues || [],
    createComment: record('createComment', {}),
    updateComment: record('updateComment', {}),
    create: record('create', {}),
    update: record('update', {}),
  } },
};
const context = {
  repo: { owner: 'acme', repo: 'contacts' },
  issue: { number: 7 },
  sha: 'f00dfeed0000000000000000000000000000cafe',
  payload: { pull_request: { head: { sha: '1234567890abcdef1234567890abcdef12345678' } } },
  serverUrl: 'https://github.com',
  runId: 42,
};
(async () => {
SCRIPT
})().then(() => console.log(JSON.stringify(calls)), (e) => { console.error(e); process.exit(1); });
"""


def _script(workflow: str) -> str:
    (step,) = [
        step
        for step in _steps(REPO_ROOT / "examples" / "github" / workflow)
        if str(step.get("uses", "")).startswith("actions/github-script@")
    ]
    return str(step["with"]["script"])


def _run_script(
    workflow: str, tmp_path: Path, env: Mapping[str, str], state: Mapping[str, Any]
) -> list[tuple[str, dict[str, Any]]]:
    if NODE is None:
        pytest.skip("node is not installed")
    harness = tmp_path / "harness.js"
    harness.write_text(HARNESS.replace("SCRIPT", _script(workflow)), encoding="utf-8")
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps(state), encoding="utf-8")
    completed = subprocess.run(
        [NODE, str(harness), str(state_file)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    return [(name, args) for name, args in json.loads(completed.stdout)]


def _plan_env(tmp_path: Path, text: str, exit_code: str) -> dict[str, str]:
    plan = tmp_path / "plan.md"
    plan.write_text(text, encoding="utf-8")
    return {"PLAN_FILE": str(plan), "PLAN_EXIT_CODE": exit_code}


def test_pr_comment_is_created_once_then_updated(tmp_path: Path) -> None:
    env = _plan_env(tmp_path, "**Plan: 1 to create, 0 to update, 0 to delete.**\n", "2")
    calls = _run_script("pr-plan.yml", tmp_path, env, {"comments": []})
    assert [name for name, _ in calls] == ["createComment"]
    body = calls[0][1]["body"]
    assert body.startswith("<!-- jcstate-plan -->")
    assert "(changes) for 1234567" in body and "Plan: 1 to create" in body
    assert "jcstate-plan` artifact" in body

    existing = [
        {"id": 1, "body": "LGTM"},
        {"id": 99, "body": body},
    ]
    env = _plan_env(tmp_path, "**Plan: 0 to create, 0 to update, 0 to delete.**\n", "0")
    calls = _run_script("pr-plan.yml", tmp_path, env, {"comments": existing})
    assert [name for name, _ in calls] == ["updateComment"]
    assert calls[0][1]["comment_id"] == 99
    assert "(no changes)" in calls[0][1]["body"]


def test_pr_comment_of_a_huge_plan_is_cut_with_a_note(tmp_path: Path) -> None:
    env = _plan_env(tmp_path, "x" * 70_000, "2")
    calls = _run_script("pr-plan.yml", tmp_path, env, {"comments": []})
    body = calls[0][1]["body"]
    assert len(body) <= 65_536
    assert "_Plan cut to fit a comment._" in body


def _drift_env(tmp_path: Path, exit_code: str) -> dict[str, str]:
    report = tmp_path / "drift.md"
    report.write_text("### jcstate drift\n\n1 changed\n", encoding="utf-8")
    return {"REPORT_FILE": str(report), "DRIFT_EXIT_CODE": exit_code}


def test_drift_opens_one_issue_then_updates_it_then_closes_it(tmp_path: Path) -> None:
    pull_request = {"number": 3, "pull_request": {}}
    calls = _run_script(
        "drift-nightly.yml", tmp_path, _drift_env(tmp_path, "2"), {"issues": [pull_request]}
    )
    assert [name for name, _ in calls] == ["create"]
    assert calls[0][1]["labels"] == ["jcstate-drift"]
    assert "1 changed" in calls[0][1]["body"]

    open_issue = {"number": 12}
    calls = _run_script(
        "drift-nightly.yml", tmp_path, _drift_env(tmp_path, "2"), {"issues": [open_issue]}
    )
    assert [(name, args["issue_number"]) for name, args in calls] == [("update", 12)]

    calls = _run_script(
        "drift-nightly.yml", tmp_path, _drift_env(tmp_path, "0"), {"issues": [open_issue]}
    )
    assert [name for name, _ in calls] == ["createComment", "update"]
    assert calls[1][1] == {
        "owner": "acme",
        "repo": "contacts",
        "issue_number": 12,
        "state": "closed",
    }


def test_action_installs_jcstate_once_per_job(tmp_path: Path) -> None:
    (step,) = [s for s in ACTION["runs"]["steps"] if s.get("name") == "Install jcstate"]
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    calls = tmp_path / "pip-calls"
    fake_python = fake_bin / "python"
    fake_python.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    fake_python.chmod(0o755)
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()

    def install(version: str, python_version: str = "3.12") -> None:
        env = {
            "PATH": f"{fake_bin}{os.pathsep}{os.environ['PATH']}",
            "RUNNER_TEMP": str(runner_temp),
            "JCSTATE_VERSION": version,
            "JCSTATE_SOURCE": "/checkout/action/../../..",
            "JCSTATE_PYTHON": python_version,
        }
        subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", str(step["run"])],
            env=env,
            check=True,
            timeout=30,
        )

    install("")
    install("")
    install("0.1.0")
    install("", "3.13")
    assert calls.read_text().splitlines() == [
        "-m pip install --quiet /checkout/action/../../..",
        "-m pip install --quiet jcstate==0.1.0",
        "-m pip install --quiet /checkout/action/../../..",
    ]


# -- --changed-since: plan once per push, apply what the push changed --------------------


def _jcstate_steps(workflow: str) -> list[Mapping[str, Any]]:
    return [
        step
        for step in _steps(REPO_ROOT / "examples" / "github" / workflow)
        if uses_jcstate_action(step)
    ]


def _checkout(workflow: str) -> Mapping[str, Any]:
    (step,) = [
        step
        for step in _steps(REPO_ROOT / "examples" / "github" / workflow)
        if str(step.get("uses", "")).startswith("actions/checkout@")
    ]
    return step


def test_pr_plan_asks_the_api_once_and_renders_with_show() -> None:
    steps = _jcstate_steps("pr-plan.yml")
    plans = [s for s in steps if s["with"]["command"] in ("plan", "apply", "drift", "export")]
    assert len(plans) == 1, "the PR workflow must plan exactly once per push"
    args = str(plans[0]["with"]["args"])
    assert "--changed-since origin/${{ github.base_ref }}" in args
    planfile = args.split("--out", 1)[1].split()[0]
    shows = [s for s in steps if s["with"]["command"] == "show"]
    assert {str(s["with"]["args"]).split()[0] for s in shows} == {planfile}
    formats = {
        "markdown" if "--format markdown" in str(s["with"]["args"]) else "text" for s in shows
    }
    assert formats == {"markdown", "text"}
    assert all("env" not in s for s in shows), "show needs no credentials"
    assert _checkout("pr-plan.yml")["with"]["fetch-depth"] == 0


def test_apply_on_merge_applies_what_the_push_changed() -> None:
    (step,) = _jcstate_steps("apply-on-merge.yml")
    assert step["with"]["command"] == "apply"
    assert step["with"]["base-ref"] == "${{ github.event.before }}"
    assert _checkout("apply-on-merge.yml")["with"]["fetch-depth"] == 0


def test_nightly_drift_stays_a_full_listing() -> None:
    for step in _jcstate_steps("drift-nightly.yml"):
        assert "base-ref" not in step["with"]
        assert "--changed-since" not in str(step["with"].get("args", ""))


def _git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_action_base_ref_narrows_and_falls_back_to_a_full_run(tmp_path: Path) -> None:
    project = make_start_state("applied", tmp_path / "project")
    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "contacts")
    base = _git(project, "rev-parse", "HEAD")

    def plan(base_ref: str) -> tuple[subprocess.CompletedProcess[str], str]:
        completed, outputs = _run_action(
            project, tmp_path, "plan", "--refresh full", base_ref=base_ref
        )
        assert completed.returncode == 0, completed.stderr
        return completed, Path(outputs["output-file"]).read_text(encoding="utf-8")

    completed, document = plan(base)
    assert f"Changed since {base} ({base[:7]}): 0 contacts" in document
    for unavailable in ("0" * 40, "f" * 40):
        completed, document = plan(unavailable)
        assert "Changed since" not in document
        assert "::notice::jcstate:" in completed.stdout and "a full plan" in completed.stdout
    completed, document = plan("")
    assert "Changed since" not in document and "::notice::" not in completed.stdout


# -- import-nightly.yml --------------------------------------------------------------------

IMPORT_NIGHTLY = REPO_ROOT / "examples" / "github" / "import-nightly.yml"


def _plan_line(path: Path) -> list[str]:
    (line,) = [
        line.strip()
        for step in _steps(path)
        for line in str(step.get("run", "")).splitlines()
        if line.strip().startswith("jcstate plan")
    ]
    return line.split(">", 1)[0].split()


def test_import_nightly_opens_one_pull_request_and_never_applies() -> None:
    document = load_yaml(IMPORT_NIGHTLY)
    assert "schedule" in document["on"]
    steps = _steps(IMPORT_NIGHTLY)
    jcstate_steps = [step for step in steps if uses_jcstate_action(step)]
    commands = [(step["with"]["command"], step["with"].get("args", "")) for step in jcstate_steps]
    # --skip-invalid: one bad row in the CRM must not stop the nightly job.
    assert commands == [("import", "--check --skip-invalid"), ("import", "--skip-invalid")]
    # Only when the check says a file would change (exit code 2) is anything imported or proposed.
    for step in steps[2:]:
        assert step.get("if") == "steps.check.outputs.exit-code == '2'", step
    (pull_request,) = [
        step
        for step in steps
        if str(step.get("uses", "")).startswith("peter-evans/create-pull-request@")
    ]
    # One fixed branch: a second night updates the same pull request instead of opening one.
    assert pull_request["with"]["branch"] == "jcstate/import"
    assert "${{" not in pull_request["with"]["branch"]
    # Never applies, and gives JustCall credentials only to the (read-only) plan.
    text = IMPORT_NIGHTLY.read_text(encoding="utf-8")
    assert "jcstate apply" not in text and "command: apply" not in text
    for step in steps:
        env = step.get("env") or {}
        if any(name.startswith("JUSTCALL_") for name in env):
            assert "jcstate plan" in str(step.get("run", "")), step.get("name")
    assert document["permissions"] == {"contents": "write", "pull-requests": "write"}


def test_import_nightly_plans_only_the_changed_contacts() -> None:
    args = _plan_line(IMPORT_NIGHTLY)
    assert args[:4] == ["jcstate", "plan", "--changed-since", '"$BASE_REF"']
    (plan_step,) = [
        step for step in _steps(IMPORT_NIGHTLY) if "jcstate plan" in str(step.get("run"))
    ]
    assert plan_step["env"]["BASE_REF"] == "origin/main"
    from jcstate.commands.plan import command as plan_command

    if not any("--changed-since" in param.opts for param in plan_command.params):
        pytest.skip("jcstate plan has no --changed-since option in this tree yet")
    problems = option_problems(["plan", "--changed-since", "origin/main", *args[4:]])
    assert not problems, problems


@pytest.mark.parametrize(
    "name", ["pr-plan.yml", "apply-on-merge.yml", "drift-nightly.yml"], ids=str
)
def test_workflows_restore_the_meaning_cache_before_jcstate_runs(name: str) -> None:
    steps = _steps(REPO_ROOT / "examples" / "github" / name)
    uses = [str(step.get("uses", "")) for step in steps]
    cache = next(i for i, used in enumerate(uses) if used.startswith("actions/cache@"))
    first_jcstate = next(i for i, step in enumerate(steps) if uses_jcstate_action(step))
    assert cache < first_jcstate
    assert steps[cache]["with"]["path"] == "~/.cache/jcstate"


def test_action_fails_the_step_on_a_typo_in_args(applied_project: Path, tmp_path: Path) -> None:
    # A usage error is 1, never the 2 that a workflow reads as "drift" or "changes".
    completed, outputs = _run_action(applied_project, tmp_path, "drift", "--formt markdown")
    assert completed.returncode == 1
    assert outputs["exit-code"] == "1"
    assert "--formt" in completed.stderr
    assert Path(outputs["output-file"]).read_text(encoding="utf-8") == ""


# -- the shipped workflows, end to end: a reviewed delete happens ----------------------------

EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")
STEP_EXIT_CODE = re.compile(r"^steps\.([\w-]+)\.outputs\.exit-code == '(\d+)'$")


def _run_workflow(
    workflow: str,
    project: Path,
    tmp_path: Path,
    expressions: Mapping[str, str],
    env: Mapping[str, str],
) -> dict[str, dict[str, str]]:
    """Run the workflow's jcstate steps in order, as GitHub would (their `if:` too).

    `${{ ... }}` in `args` and `base-ref` is replaced from `expressions`; each
    step must stay green. Returns each step's outputs by its id (or name).
    """
    outputs: dict[str, dict[str, str]] = {}
    for step in _jcstate_steps(workflow):
        condition = step.get("if")
        if condition is not None:
            match = STEP_EXIT_CODE.match(str(condition))
            assert match, f"{workflow}: cannot evaluate if: {condition}"
            if outputs[match[1]]["exit-code"] != match[2]:
                continue
        inputs = step["with"]

        def expand(value: object) -> str:
            return EXPRESSION.sub(lambda m: expressions[m[1]], str(value or ""))

        completed, step_outputs = _run_action(
            project,
            tmp_path,
            str(inputs["command"]),
            expand(inputs.get("args")),
            str(inputs.get("output-file", "")),
            expand(inputs.get("base-ref")),
            env=env,
        )
        assert completed.returncode == 0, f"{workflow}: {step.get('name')}: {completed.stderr}"
        outputs[str(step.get("id", step.get("name")))] = step_outputs
    return outputs


REMOVED_PHONE = "+14155558765"  # Sam Chen, in contacts/customers.yaml of the quickstart
SAM_CHEN = """\
  - phone: "(415) 555-8765"
    first_name: Sam
    last_name: Chen
    email: sam.chen@example.com
    custom_fields: {lead_source: Referral, plan_tier: Pro, seats: 15}
"""


def _remote_phones(server: SandboxServer) -> set[str]:
    import httpx

    answer = httpx.get(
        f"{server.url}/v2/contacts", params={"per_page": 100}, headers=server.auth_headers
    )
    answer.raise_for_status()
    return {str(contact["phone"]) for contact in answer.json()["data"]}


def test_a_contact_removed_in_a_reviewed_pull_request_is_deleted_on_merge(
    sandbox_server: SandboxServer, tmp_path: Path
) -> None:
    project = tmp_path / "contacts-repo"
    shutil.copytree(REPO_ROOT / "examples" / "quickstart", project)
    shutil.rmtree(project / ".jcstate", ignore_errors=True)
    config = project / "jcstate.yaml"
    config.write_text(
        config.read_text().replace("sandbox://.jcstate/sandbox.db", "https://api.justcall.io")
    )
    (project / ".gitignore").write_text(".jcstate/\n")
    env = sandbox_server.env  # JCSTATE_API_URL: the served sandbox instead of api.justcall.io
    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "contacts")

    # The first push of main: no commit before it, so a full apply (and no prune).
    _run_workflow("apply-on-merge.yml", project, tmp_path, {"github.event.before": "0" * 40}, env)
    assert len(_remote_phones(sandbox_server)) == 20

    # A pull request removes Sam Chen.
    _git(project, "checkout", "-q", "-b", "remove-sam")
    customers = project / "contacts" / "customers.yaml"
    assert SAM_CHEN in customers.read_text()
    customers.write_text(customers.read_text().replace(SAM_CHEN, ""))
    _git(project, "commit", "-q", "-am", "Sam Chen left")
    _git(project, "update-ref", "refs/remotes/origin/main", "main")

    plan = _run_workflow("pr-plan.yml", project, tmp_path, {"github.base_ref": "main"}, env)
    assert plan["plan"]["exit-code"] == "2"
    comment = Path(plan["comment"]["output-file"]).read_text(encoding="utf-8")
    assert "0 to create, 0 to update, 1 to delete" in comment
    assert "+1•••••8765" in comment and "deleted only with --prune" not in comment
    assert REMOVED_PHONE in _remote_phones(sandbox_server), "a plan never writes"
    if NODE is not None:  # the sticky comment the reviewers read
        env_comment = {"PLAN_FILE": plan["comment"]["output-file"], "PLAN_EXIT_CODE": "2"}
        calls = _run_script("pr-plan.yml", tmp_path, env_comment, {"comments": []})
        assert [name for name, _ in calls] == ["createComment"]
        assert "1 to delete" in calls[0][1]["body"] and "+1•••••8765" in calls[0][1]["body"]

    # The merge: apply-on-merge with the commit before the push.
    _git(project, "checkout", "-q", "main")
    before = _git(project, "rev-parse", "HEAD")
    _git(project, "merge", "-q", "--no-ff", "-m", "Merge remove-sam", "remove-sam")
    applied = _run_workflow(
        "apply-on-merge.yml", project, tmp_path, {"github.event.before": before}, env
    )
    assert applied["apply"]["exit-code"] == "0"
    report = json.loads((project / "jcstate-apply-report.json").read_text(encoding="utf-8"))
    assert report["summary"]["deleted"] == 1, report["summary"]
    assert REMOVED_PHONE not in _remote_phones(sandbox_server)
    assert len(_remote_phones(sandbox_server)) == 19

    # The next nightly drift finds nothing: the loop is closed.
    drift = _run_workflow("drift-nightly.yml", project, tmp_path, {}, env)
    assert drift["drift"]["exit-code"] == "0"
    if NODE is not None:  # the open drift issue is closed by this run
        calls = _run_script(
            "drift-nightly.yml",
            tmp_path,
            {"REPORT_FILE": drift["drift"]["output-file"], "DRIFT_EXIT_CODE": "0"},
            {"issues": [{"number": 12}]},
        )
        assert [name for name, _ in calls] == ["createComment", "update"]
        assert calls[1][1]["state"] == "closed"


def test_action_never_prunes_in_the_full_run_of_its_fallback(
    applied_project: Path, tmp_path: Path
) -> None:
    completed, outputs = _run_action(
        applied_project, tmp_path, "plan", "--prune --detailed-exitcode", base_ref="0" * 40
    )
    assert completed.returncode == 0, completed.stderr
    assert "a full plan without --prune (no delete was reviewed)" in completed.stdout
    document = Path(outputs["output-file"]).read_text(encoding="utf-8")
    assert "Changed since" not in document and "Plan: 0 to create, 1 to update" in document


# -- the kit a user copies ------------------------------------------------------------------


def _commands_the_workflows_use() -> set[str]:
    used: set[str] = set()
    for path in WORKFLOWS:
        for step in _steps(path):
            if uses_jcstate_action(step):
                used.add(str(step["with"]["command"]))
            for line in str(step.get("run", "")).splitlines():
                words = line.split()
                if len(words) > 1 and words[0] == "jcstate":
                    used.add(words[1])
    return used


def test_the_action_and_the_readme_list_every_command_the_workflows_use() -> None:
    used = _commands_the_workflows_use()
    assert "import" in used
    description = str(ACTION["inputs"]["command"]["description"])
    recipes = (REPO_ROOT / "docs" / "guide" / "ci-recipes.md").read_text(encoding="utf-8")
    (row,) = [line for line in recipes.splitlines() if line.startswith("| `command` |")]
    for command in sorted(used):
        assert re.search(rf"\b{command}\b", description), f"action.yml: {command} missing"
        assert f"`{command}`" in row, f"the action's input table: {command} missing"


def _pyproject_version() -> str:
    import tomllib

    with (REPO_ROOT / "pyproject.toml").open("rb") as handle:
        return str(tomllib.load(handle)["project"]["version"])


def test_license_changelog_and_one_version_matching_a_tag() -> None:
    version = _pyproject_version()
    license_text = (REPO_ROOT / "LICENSE").read_text(encoding="utf-8")
    assert license_text.startswith("MIT License\n")
    assert "Copyright (c) 2026 the jcstate authors" in license_text
    reported = subprocess.run(
        [sys.executable, "-m", "jcstate", "--version"], capture_output=True, text=True, timeout=60
    )
    assert reported.stdout.strip() == f"jcstate, version {version}"
    changelog = (REPO_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    releases = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", changelog, re.MULTILINE)
    assert releases and releases[0] == version, releases
    assert f"tag `v{version}`" in changelog
    # The pre-commit example names that tag.
    recipes = (REPO_ROOT / "docs" / "guide" / "ci-recipes.md").read_text(encoding="utf-8")
    revs = re.findall(r"^\s+rev: (\S+)", recipes, re.MULTILINE)
    assert revs == [f"v{version}"], revs


def test_readme_states_the_coverage_floor_that_ci_enforces() -> None:
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    floors = re.findall(r"--cov-fail-under=(\d+)", ci)
    assert len(floors) == 1, floors
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert f"branch coverage of at least {floors[0]}%" in readme


def test_readme_says_how_long_the_tests_take() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    head = readme.split("## What it is", 1)[0]
    assert "# 2. Install the development tools and run the tests" in head
    assert "about 4 minutes on 2 cores" in head

"""`rules:` through the CLI on a sandbox:// project (in process, no port): validate, plan,
show and apply, each format, the exit codes, `--force-rule`, and forged saved plans."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from jcstate.cli import cli

CONFIG = """\
version: 1
api: {url: 'sandbox://.jcstate/sandbox.db'}
contacts: ["contacts/*.yaml"]
custom_fields:
  plan_tier: {type: enum, values: [Free, Pro, Enterprise]}
  renewal_on: {type: date}
rules:
  - name: enterprise-has-email
    when: has(contact.custom_fields.plan_tier) && contact.custom_fields.plan_tier == "Enterprise"
    require: has(contact.email) && contact.email != ""
    message: an Enterprise contact needs an e-mail address
  - name: enterprise-renewal
    when: has(contact.custom_fields.plan_tier) && contact.custom_fields.plan_tier == "Enterprise"
    require: has(contact.custom_fields.renewal_on)
    message: an Enterprise contact needs a renewal date
    level: warning
  - name: small-creates
    on: plan
    require: plan.creates.size() <= 2
    message: create at most 2 contacts in one change
"""
GOOD = """\
version: 1
contacts:
  - phone: "+14155550101"
    email: a@example.com
    custom_fields: {plan_tier: Enterprise, renewal_on: 2027-01-01}
  - phone: "+14155550102"
    custom_fields: {plan_tier: Free}
"""
NO_RENEWAL = """\
version: 1
contacts:
  - phone: "+14155550101"
    email: a@example.com
    custom_fields: {plan_tier: Enterprise}
"""
NO_EMAIL = """\
version: 1
defaults: {email: null}
contacts:
  - phone: "+14155550101"
    custom_fields: {plan_tier: Enterprise, renewal_on: 2027-01-01}
"""


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("JCSTATE_API_URL", "JUSTCALL_API_KEY", "JUSTCALL_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    project = tmp_path / "project"
    (project / "contacts").mkdir(parents=True)
    (project / "jcstate.yaml").write_text(CONFIG)
    monkeypatch.chdir(project)
    return project


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def write(root: Path, text: str) -> None:
    (root / "contacts" / "a.yaml").write_text(text)


def test_validate_passes_when_every_rule_holds(root: Path) -> None:
    write(root, GOOD)
    result = run("validate")
    assert result.exit_code == 0
    assert result.stdout == "OK: 2 contacts in 1 file\n"


def test_validate_prints_a_warning_and_exits_0(root: Path) -> None:
    write(root, NO_RENEWAL)
    result = run("validate")
    assert result.exit_code == 0
    assert result.stdout == (
        "contacts/a.yaml:3:5: warning: an Enterprise contact needs a renewal date "
        "(rule enterprise-renewal, jcstate.yaml:12) [+14155550101]\n"
        "OK: 1 contact in 1 file (1 rule warning)\n"
    )


def test_validate_exits_1_on_an_error_rule_after_defaults_are_merged(root: Path) -> None:
    write(root, NO_EMAIL)
    result = run("validate")
    assert result.exit_code == 1
    assert result.stdout == (
        "contacts/a.yaml:4:5: error: an Enterprise contact needs an e-mail address "
        "(rule enterprise-has-email, jcstate.yaml:8) [+14155550101]\n"
        "1 rule error found\n"
    )


def test_validate_github_annotations_and_json(root: Path) -> None:
    write(
        root,
        'version: 1\ncontacts:\n  - phone: "+14155550101"\n'
        "    custom_fields: {plan_tier: Enterprise}\n",
    )
    result = run("validate", "--format", "github")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith(
        "::error file=contacts/a.yaml,line=3,col=5,title=rule enterprise-has-email::"
        "an Enterprise contact needs an e-mail address (rule enterprise-has-email, jcstate.yaml:8)"
    )
    assert lines[1].startswith(
        "::warning file=contacts/a.yaml,line=3,col=5,title=rule enterprise-renewal::"
    )
    assert lines[2] == "1 rule error and 1 rule warning found"
    data = json.loads(run("validate", "--format", "json").stdout)
    assert data["valid"] is False
    assert [
        (v["rule"], v["level"], v["file"], v["line"], v["rule_at"]) for v in data["rule_violations"]
    ] == [
        ("enterprise-has-email", "error", "contacts/a.yaml", 3, "jcstate.yaml:8"),
        ("enterprise-renewal", "warning", "contacts/a.yaml", 3, "jcstate.yaml:12"),
    ]


def test_a_broken_rule_stops_every_command_before_any_request(root: Path) -> None:
    write(root, GOOD)
    (root / "jcstate.yaml").write_text(
        CONFIG.replace("plan.creates.size() <= 2", "plan.creates.size( <= 2")
    )
    for command in (["validate"], ["plan"], ["apply", "--auto-approve"]):
        result = run(*command)
        assert result.exit_code == 1
        assert "jcstate.yaml:19:33: rule 'small-creates' require: Syntax error" in result.output
    assert not (root / ".jcstate" / "sandbox.db").exists()


def _three_creates(root: Path) -> None:
    write(
        root,
        GOOD + '  - phone: "+14155550103"\n    first_name: Ana\n',
    )


def test_plan_shows_the_violations_at_the_top_in_every_format(root: Path) -> None:
    _three_creates(root)
    text = run("plan")
    assert text.exit_code == 0
    assert text.stdout.startswith(
        "Rules: 1 rule error\n"
        "  plan: error: create at most 2 contacts in one change "
        "(rule small-creates, jcstate.yaml:17)\n"
        "  apply refuses this plan unless each error rule is named: --force-rule NAME\n\n"
        "jcstate will perform the following actions:\n"
    )
    markdown = run("plan", "--format", "markdown").stdout
    assert (
        "> [!CAUTION]\n> **1 rule error**\n"
        "> - plan\\: error\\: create at most 2 contacts" in markdown
    )
    assert markdown.index("rule error") < markdown.index("<details>")
    data = json.loads(run("plan", "--format", "json").stdout)
    assert list(data)[:3] == ["format_version", "summary", "rule_violations"]
    assert data["rule_violations"][0]["rule"] == "small-creates"
    assert data["rule_violations"][0]["rule_at"] == "jcstate.yaml:17"


def test_a_plan_without_rules_has_no_rule_key(root: Path) -> None:
    (root / "jcstate.yaml").write_text(CONFIG.split("rules:")[0])
    write(root, GOOD)
    assert "rule_violations" not in json.loads(run("plan", "--format", "json").stdout)


def test_apply_refuses_an_error_rule_until_force_rule_names_it(root: Path) -> None:
    _three_creates(root)
    refused = run("apply", "--auto-approve")
    assert refused.exit_code == 1
    assert "refusing to apply a plan that breaks the project's rules" in refused.stderr
    assert "--force-rule small-creates" in refused.stderr
    assert run("plan", "--detailed-exitcode").exit_code == 2  # nothing was applied

    unknown = run("apply", "--auto-approve", "--force-rule", "no-such-rule")
    assert unknown.exit_code == 1
    assert "--force-rule no-such-rule: jcstate.yaml has no rule of that name" in unknown.stderr

    forced = run("apply", "--auto-approve", "--force-rule", "small-creates")
    assert forced.exit_code == 0, forced.output
    assert run("plan", "--detailed-exitcode").exit_code == 0


def test_warnings_do_not_block_apply(root: Path) -> None:
    write(root, NO_RENEWAL)
    result = run("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert "warning: an Enterprise contact needs a renewal date" in result.stdout


def test_a_forged_saved_plan_cannot_skip_a_rule(root: Path, tmp_path: Path) -> None:
    _three_creates(root)
    plan_file = tmp_path / "plan.json"
    assert run("plan", "--out", str(plan_file)).exit_code == 0
    saved = json.loads(plan_file.read_text())
    assert saved["plan"]["rule_violations"]
    saved["plan"]["rule_violations"] = []  # "nothing is broken", says the forger
    plan_file.write_text(json.dumps(saved))

    shown = run("show", str(plan_file))
    assert shown.stdout.startswith("Rules: 1 rule error\n")
    refused = run("apply", str(plan_file), "--auto-approve")
    assert refused.exit_code == 1
    assert "--force-rule small-creates" in refused.stderr
    assert run("plan", "--detailed-exitcode").exit_code == 2

    forced = run("apply", str(plan_file), "--auto-approve", "--force-rule", "small-creates")
    assert forced.exit_code == 0, forced.output


def test_show_checks_the_rules_of_the_project_it_finds_not_the_file(
    root: Path, tmp_path: Path
) -> None:
    write(root, GOOD)
    plan_file = tmp_path / "plan.json"
    assert run("plan", "--out", str(plan_file)).exit_code == 0
    assert not run("show", str(plan_file)).stdout.startswith("Rules:")
    # the project's rules got stricter since: show says so
    (root / "jcstate.yaml").write_text(CONFIG.replace("<= 2", "<= 1"))
    assert run("show", str(plan_file)).stdout.startswith("Rules: 1 rule error\n")

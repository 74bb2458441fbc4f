"""`rules:` in jcstate.yaml: each problem of a rule is reported at jcstate.yaml:line:col."""

from __future__ import annotations

from pathlib import Path

import pytest

from jcstate.errors import ConfigError
from jcstate.project.config import load_config_only, load_project
from jcstate.project.schema import json_schema

HEAD = """\
version: 1
custom_fields:
  plan_tier: {type: enum, values: [Free, Enterprise]}
  seats: {type: integer}
rules:
"""
CONTACTS = 'version: 1\ncontacts:\n  - phone: "+14155550101"\n'


def _project(tmp_path: Path, rules: str) -> Path:
    (tmp_path / "contacts").mkdir()
    (tmp_path / "contacts" / "a.yaml").write_text(CONTACTS)
    (tmp_path / "jcstate.yaml").write_text(HEAD + rules)
    return tmp_path


def _errors(tmp_path: Path, rules: str) -> list[str]:
    root = _project(tmp_path, rules)
    with pytest.raises(ConfigError) as caught:
        load_project(root, cwd=root)
    return [str(d) for d in caught.value.diagnostics]


def test_a_valid_rule_loads_with_the_line_of_each_rule(tmp_path: Path) -> None:
    root = _project(
        tmp_path,
        "  - name: a\n    require: contact.phone != ''\n    message: m\n"
        "  - name: b\n    on: plan\n    require: plan.deletes.size() <= 50\n    message: m\n",
    )
    project = load_project(root, cwd=root)
    assert [rule.name for rule in project.config.rules] == ["a", "b"]
    assert [rule.on for rule in project.config.rules] == ["contact", "plan"]
    assert [rule.level for rule in project.config.rules] == ["error", "error"]
    assert project.rule_marks == ((6, 5), (9, 5))


def test_a_syntax_error_is_reported_where_it_is_in_the_file(tmp_path: Path) -> None:
    errors = _errors(tmp_path, "  - name: a\n    require: contact.phone ==\n    message: m\n")
    assert len(errors) == 1
    assert errors[0].startswith("jcstate.yaml:7:30: rule 'a' require: Syntax error")


def test_a_position_inside_a_quoted_expression_counts_the_quote(tmp_path: Path) -> None:
    errors = _errors(
        tmp_path, "  - name: a\n    require: 'contact.emial == \"\"'\n    message: m\n"
    )
    assert errors == [
        "jcstate.yaml:7:23: rule 'a' require: contact has no field 'emial' "
        "(it has: company, custom_fields, email, first_name, id, last_name, phone)"
    ]


def test_a_position_inside_a_block_expression_is_on_its_own_line(tmp_path: Path) -> None:
    rules = (
        "  - name: a\n    require: |\n      has(contact.email) &&\n"
        "        contact.custom_fields.tier == 'x'\n    message: m\n"
    )
    errors = _errors(tmp_path, rules)
    assert errors == [
        "jcstate.yaml:9:31: rule 'a' require: custom field 'tier' is not declared "
        "(declared: plan_tier, seats)"
    ]


def test_unknown_variables_type_errors_and_non_booleans_are_refused(tmp_path: Path) -> None:
    rules = (
        "  - name: a\n    require: contacts.size() > 0\n    message: m\n"
        "  - name: b\n    require: contact.custom_fields.seats > 'many'\n    message: m\n"
        "  - name: c\n    require: contact.phone\n    message: m\n"
        "  - name: d\n    when: size(contact) + 'x'\n    require: true\n    message: m\n"
    )
    errors = _errors(tmp_path, rules)
    assert errors[0].startswith("jcstate.yaml:7:14: rule 'a' require: undeclared reference")
    assert errors[1] == (
        "jcstate.yaml:10:14: rule 'b' require: type error: "
        "No matching overloads found : _>_(int64, string)"
    )
    assert (
        errors[2]
        == "jcstate.yaml:13:14: rule 'c' require: require must give true or false, not string"
    )
    assert errors[3].startswith("jcstate.yaml:16:25: rule 'd' when: found no matching overload")
    assert len(errors) == 4


def test_duplicate_names_unknown_levels_and_kinds_are_refused(tmp_path: Path) -> None:
    rules = (
        "  - name: a\n    require: true\n    message: m\n"
        "  - name: a\n    require: true\n    message: m\n    level: fatal\n    on: row\n"
    )
    errors = _errors(tmp_path, rules)
    assert errors == [
        "jcstate.yaml:12:12: rules[1].level: input should be 'error' or 'warning' (got 'fatal')",
        "jcstate.yaml:13:9: rules[1].on: input should be 'contact' or 'plan' (got 'row')",
    ]
    # once the keys are right, the name is checked too
    (tmp_path / "again").mkdir()
    errors = _errors(
        tmp_path / "again",
        "  - name: a\n    require: true\n    message: m\n  - name: a\n    require: true\n"
        "    message: m\n",
    )
    assert errors == ["jcstate.yaml:9:11: rules[1]: rule name 'a' is already used by rule 1"]


def test_rule_errors_are_reported_by_the_config_only_load_too(tmp_path: Path) -> None:
    root = _project(tmp_path, "  - name: a\n    require: contact.(\n    message: m\n")
    with pytest.raises(ConfigError) as caught:
        load_config_only(root, cwd=root)
    assert str(caught.value.diagnostics[0]).startswith("jcstate.yaml:7:")


def test_the_schema_knows_the_rule_keys() -> None:
    schema = json_schema("project")
    rule = schema["$defs"]["RuleConfig"]
    assert set(rule["properties"]) == {"name", "on", "when", "require", "message", "level"}
    assert rule["properties"]["level"]["enum"] == ["error", "warning"]
    assert rule["properties"]["on"]["enum"] == ["contact", "plan"]
    assert schema["properties"]["rules"]["items"] == {"$ref": "#/$defs/RuleConfig"}


def test_the_documented_rules_are_valid_and_do_what_they_say(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "docs" / "guide" / "rules.md").read_text(
        encoding="utf-8"
    )
    section = readme[readme.index("# Rules: your team's own checks") :]
    block = section[section.index("```yaml\n") + 8 : section.index("```\n", 8)]
    (tmp_path / "contacts").mkdir()
    (tmp_path / "jcstate.yaml").write_text("version: 1\n" + block)
    (tmp_path / "contacts" / "a.yaml").write_text(
        "version: 1\ncontacts:\n"
        '  - phone: "+14155550101"\n    company: Acme\n'
        "    custom_fields: {relationship: Customer, plan_tier: Enterprise}\n"
        '  - phone: "+14155550102"\n'
        "    custom_fields: {relationship: Partner, lead_source: Website}\n"
    )
    project = load_project(tmp_path, cwd=tmp_path)
    from jcstate.core.rules import check_contacts, project_rules

    found = check_contacts(project_rules(project), project.desired.contacts)
    assert [(v.rule, v.level, v.phone) for v in found] == [
        ("enterprise-has-email-and-renewal", "error", "+14155550101"),
        ("partners-use-the-partner-source", "warning", "+14155550102"),
    ]
    assert len(project.config.rules) == 5

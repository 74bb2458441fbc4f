"""`sources:` in jcstate.yaml: positioned errors from validate, and the JSON Schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from jcstate.project.schema import json_schema
from tests.project.sources.conftest import PROJECT, Run, set_project


def _broken(old: str, new: str) -> str:
    assert old in PROJECT
    return PROJECT.replace(old, new)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "kind: csv",
            "kind: xlsx",
            "jcstate.yaml:11:11: sources.crm: kind: input should be 'csv', 'jsonl' or 'sql' "
            "(got 'xlsx')",
        ),
        (
            '      phone: "Phone Number"\n',
            "",
            "jcstate.yaml:14:7: sources.crm.map: missing required field 'phone' "
            "(the column of the phone number)",
        ),
        (
            "custom_fields.seats: Seats",
            "custom_fields.seat: Seats",
            "jcstate.yaml:20:7: sources.crm.map: undeclared custom field 'seat' (did you mean "
            "'custom_fields.seats'?): declare it under custom_fields in jcstate.yaml",
        ),
        (
            "      email: Email\n",
            "      e_mail: Email\n",
            "jcstate.yaml:17:7: sources.crm.map: unknown field 'e_mail' (did you mean 'email'?)",
        ),
        (
            "custom_fields.lead_source: {web",
            "custom_fields.tier: {web",
            "jcstate.yaml:22:7: sources.crm.values: 'custom_fields.tier' is not a field of map",
        ),
        (
            "into: contacts/crm.yaml",
            "into: generated/crm.yaml",
            "jcstate.yaml:24:11: sources.crm.into: generated/crm.yaml is not matched by any "
            "contacts glob, so validate and plan would not read it (add it to contacts: in "
            "jcstate.yaml)",
        ),
        (
            "    path: exports/crm.csv\n",
            "    path: exports/crm.csv\n    query: SELECT 1\n",
            "jcstate.yaml:13:5: sources.crm: query is only for kind sql",
        ),
        (
            "kind: csv",
            "kind: sql",
            "jcstate.yaml:12:5: sources.crm: path is only for kind csv or jsonl",
        ),
        (
            "    into: contacts/crm.yaml\n",
            "",
            "jcstate.yaml:11:5: sources.crm: missing required field 'into'",
        ),
        (
            "path: exports/crm.csv",
            "path: ../exports/crm.csv",
            "jcstate.yaml:12:11: sources.crm.path: '../exports/crm.csv' leaves the project: "
            "write it relative to jcstate.yaml, without a leading / or ..",
        ),
        (
            "path: exports/crm.csv",
            "path: /etc/passwd",
            "jcstate.yaml:12:11: sources.crm.path: '/etc/passwd' leaves the project: "
            "write it relative to jcstate.yaml, without a leading / or ..",
        ),
        (
            "into: contacts/crm.yaml",
            "into: contacts/../../x.yaml",
            "jcstate.yaml:24:11: sources.crm.into: 'contacts/../../x.yaml' must be a contacts "
            "file inside the project",
        ),
        (
            "  crm:\n",
            '  "crm\\n":\n',
            "jcstate.yaml:10:3: source name 'crm\\n': use letters, digits, '-', "
            "'_' or '.' (it is how `jcstate import NAME` picks it)",
        ),
    ],
    ids=[
        "kind",
        "no-phone",
        "undeclared-custom",
        "unknown-field",
        "values-not-mapped",
        "into-not-globbed",
        "query-on-csv",
        "path-on-sql",
        "no-into",
        "path-climbs-out",
        "path-absolute",
        "into-climbs-out",
        "name-with-line-break",
    ],
)
def test_validate_names_the_line_of_a_bad_source(
    project: Path, run: Run, old: str, new: str, expected: str
) -> None:
    set_project(project, _broken(old, new))
    (project / "contacts" / "hand.yaml").write_text("version: 1\ncontacts: []\n")
    result = run("validate")
    assert result.exit_code == 1
    assert expected in result.stdout.splitlines(), result.stdout
    # import reads the same checks
    imported = run("import")
    assert imported.exit_code == 1
    assert expected in imported.stderr


def test_two_sources_cannot_own_one_file(project: Path, run: Run) -> None:
    text = PROJECT + (
        "  other:\n    kind: jsonl\n    path: x.jsonl\n    map: {phone: p}\n"
        "    into: ./contacts/crm.yaml\n"
    )
    set_project(project, text)
    result = run("import")
    assert result.exit_code == 1
    assert (
        "jcstate.yaml:29:11: sources.other.into: contacts/crm.yaml is already the file of "
        "source 'crm'"
    ) in result.stderr


def test_two_spellings_of_one_file_are_one_file(project: Path, run: Run) -> None:
    text = PROJECT + (
        "  other:\n    kind: jsonl\n    path: x.jsonl\n    map: {phone: p}\n"
        "    into: contacts/./crm.yaml\n"
    )
    set_project(project, text)
    result = run("validate")
    assert result.exit_code == 1
    assert (
        "jcstate.yaml:29:11: sources.other.into: contacts/crm.yaml is already the file of "
        "source 'crm'"
    ) in result.stdout


def test_the_project_schema_knows_the_source_keys() -> None:
    schema = json_schema("project")
    assert schema["properties"]["sources"]["additionalProperties"] == {
        "$ref": "#/$defs/SourceConfig"
    }
    source = schema["$defs"]["SourceConfig"]
    assert set(source["properties"]) == {
        "kind",
        "path",
        "encoding",
        "delimiter",
        "url",
        "query",
        "map",
        "values",
        "skip_if",
        "into",
    }
    assert source["properties"]["kind"]["enum"] == ["csv", "jsonl", "sql"]
    assert set(source["required"]) == {"kind", "map", "into"}
    assert source["additionalProperties"] is False

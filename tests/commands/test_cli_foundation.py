"""init, validate, fmt and schema through the real CLI (click's CliRunner)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from jcstate.cli import cli


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    assert run("init", "proj").exit_code == 0
    return tmp_path / "proj"


def test_init_writes_a_project_that_validates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("init", "proj")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "created proj/jcstate.yaml",
        "created proj/contacts/example.yaml",
        "created proj/schemas/jcstate.schema.json",
        "created proj/schemas/contacts.schema.json",
        "created proj/.gitignore",
        "Next: cd proj && jcstate validate && jcstate plan",
    ]
    config = (tmp_path / "proj" / "jcstate.yaml").read_text()
    assert "url: sandbox://.jcstate/sandbox.db" in config
    assert config.startswith("# yaml-language-server: $schema=schemas/jcstate.schema.json\n")
    example = (tmp_path / "proj" / "contacts" / "example.yaml").read_text()
    assert example.startswith("# yaml-language-server: $schema=../schemas/contacts.schema.json\n")
    assert (tmp_path / "proj" / ".gitignore").read_text().splitlines()[-1] == ".jcstate/"
    validated = run("-C", "proj", "validate")
    assert (validated.exit_code, validated.stdout) == (0, "OK: 2 contacts in 1 file\n")


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "contacts").mkdir()
    (tmp_path / "contacts" / "example.yaml").write_text("mine\n")
    result = run("init", str(tmp_path))
    assert result.exit_code == 1
    assert "contacts/example.yaml already exists" in result.stderr
    assert (tmp_path / "contacts" / "example.yaml").read_text() == "mine\n"
    assert not (tmp_path / "jcstate.yaml").exists()
    assert not (tmp_path / ".gitignore").exists()


def test_init_adds_to_an_existing_gitignore_once(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / ".gitignore").write_text("node_modules")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / ".gitignore").write_text("/.jcstate/\n")
    assert run("init", str(tmp_path / "a")).exit_code == 0
    assert run("init", str(tmp_path / "b")).exit_code == 0
    assert (tmp_path / "a" / ".gitignore").read_text() == "node_modules\n.jcstate/\n"
    assert (tmp_path / "b" / ".gitignore").read_text() == "/.jcstate/\n"


def test_init_schemas_match_the_schema_command(project: Path) -> None:
    for kind, name in (("project", "jcstate"), ("contacts", "contacts")):
        written = json.loads((project / "schemas" / f"{name}.schema.json").read_text())
        assert written == json.loads(run("schema", "--kind", kind).stdout)


def test_schema_describes_the_files(project: Path) -> None:
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    from jcstate.project.yamlio import parse_fast

    contacts_schema = json.loads(run("schema", "--kind", "contacts").stdout)
    project_schema = json.loads(run("schema").stdout)
    example = parse_fast((project / "contacts" / "example.yaml").read_bytes()).data
    config = parse_fast((project / "jcstate.yaml").read_bytes()).data
    assert jsonschema_rs.validator_for(contacts_schema).is_valid(example)
    assert jsonschema_rs.validator_for(project_schema).is_valid(config)
    typo = {"version": 1, "contacts": [{"phone": "+14155550100", "frist_name": "x"}]}
    assert not jsonschema_rs.validator_for(contacts_schema).is_valid(typo)
    assert not jsonschema_rs.validator_for(project_schema).is_valid({**config, "version": 2})


def break_example(project: Path) -> None:
    path = project / "contacts" / "example.yaml"
    path.write_text(path.read_text().replace("first_name: Sam", "frist_name: Sam"))


def test_validate_text_json_and_github(project: Path) -> None:
    ok = run("-C", str(project), "validate", "--format", "json")
    assert ok.exit_code == 0
    assert json.loads(ok.stdout) == {"valid": True, "errors": [], "contacts": 2, "files": 1}
    break_example(project)
    text = run("-C", str(project), "validate")
    assert text.exit_code == 1
    line = (
        "proj/contacts/example.yaml:16:5: unknown field 'frist_name' (did you mean 'first_name'?)"
    )
    assert text.stdout == f"{line}\n1 error found\n"
    as_json = json.loads(run("-C", str(project), "validate", "--format", "json").stdout)
    assert as_json == {
        "valid": False,
        "errors": [
            {
                "file": "proj/contacts/example.yaml",
                "line": 16,
                "col": 5,
                "message": "unknown field 'frist_name' (did you mean 'first_name'?)",
            }
        ],
    }
    github = run("-C", str(project), "validate", "--format", "github")
    assert github.exit_code == 1
    assert github.stdout.splitlines()[0] == (
        "::error file=proj/contacts/example.yaml,line=16,col=5::"
        "unknown field 'frist_name' (did you mean 'first_name'?)"
    )


def test_github_annotations_escape_what_would_break_them() -> None:
    from jcstate.commands.validate import github_annotation
    from jcstate.errors import Diagnostic

    annotation = github_annotation(Diagnostic("a,b:c.yaml", 3, 4, "100% bad\nreally"))
    assert annotation == "::error file=a%2Cb%3Ac.yaml,line=3,col=4::100%25 bad%0Areally"


def test_validate_without_a_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("validate")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no jcstate.yaml in ")


MESSY = """\
# Sales team
contacts:
  - first_name: 'Jordan'   # preferred name
    phone: (415) 200-0101
    custom_fields: {seats: 3, lead_source: Website}
  # the second one
  - phone: '+1 415-200-0102'
version: 1
"""


def test_fmt_check_lists_files_and_changes_nothing(project: Path) -> None:
    messy = project / "contacts" / "messy.yaml"
    messy.write_text(MESSY)
    result = run("-C", str(project), "fmt", "--check")
    assert result.exit_code == 1
    assert result.stdout == "proj/contacts/messy.yaml\n"
    assert "1 of 2 files would be reformatted" in result.stderr
    assert messy.read_text() == MESSY


def test_fmt_rewrites_in_canonical_form_keeping_comments(project: Path) -> None:
    messy = project / "contacts" / "messy.yaml"
    messy.write_text(MESSY)
    example_before = (project / "contacts" / "example.yaml").read_text()
    result = run("-C", str(project), "fmt")
    assert result.exit_code == 0
    assert result.stdout == "formatted proj/contacts/messy.yaml\n"
    assert messy.read_text() == (
        "# Sales team\n"
        "version: 1\n"
        "contacts:\n"
        '  - phone: "+14152000101"\n'
        "    first_name: Jordan     # preferred name\n"  # comment keeps its column
        "    custom_fields: {lead_source: Website, seats: 3}\n"
        "  # the second one\n"
        '  - phone: "+14152000102"\n'
    )
    assert (project / "contacts" / "example.yaml").read_text() == example_before
    assert run("-C", str(project), "fmt", "--check").exit_code == 0


def test_fmt_refuses_an_invalid_project(project: Path) -> None:
    break_example(project)
    messy = project / "contacts" / "messy.yaml"
    messy.write_text(MESSY)
    result = run("-C", str(project), "fmt")
    assert result.exit_code == 1
    assert "unknown field 'frist_name'" in result.stderr
    assert messy.read_text() == MESSY

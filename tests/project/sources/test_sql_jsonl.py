"""SQL and JSON Lines sources, `${ENV}` expansion, and that a password is never shown."""

from __future__ import annotations

import json
import socket
import sqlite3
from pathlib import Path

import pytest

from jcstate.errors import SourceError
from jcstate.project.sources.readers import expand_env
from tests.project.sources.conftest import Run, set_project

SQL_PROJECT = """\
version: 1
api: {url: "sandbox://.jcstate/sandbox.db"}
contacts: ["contacts/*.yaml"]
custom_fields:
  seats: {type: integer}
  vip: {type: boolean}
  renewal_on: {type: date}
sources:
  db:
    kind: sql
    url: "URL"
    query: >
      SELECT p.phone, p.first, c.name AS company, p.seats, p.vip, p.renewal
      FROM people p LEFT JOIN companies c ON c.id = p.company_id ORDER BY p.id
    map:
      phone: phone
      first_name: first
      company: company
      custom_fields.seats: seats
      custom_fields.vip: vip
      custom_fields.renewal_on: renewal
    into: contacts/db.yaml
"""


def make_db(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.executescript(
            """
            CREATE TABLE companies (id INTEGER PRIMARY KEY, name TEXT);
            CREATE TABLE people (id INTEGER PRIMARY KEY, phone TEXT, first TEXT,
                                 company_id INTEGER, seats INTEGER, vip INTEGER, renewal TEXT);
            INSERT INTO companies VALUES (1, 'Acme Corp'), (2, 'Globex');
            INSERT INTO people VALUES (1, '(415) 555-9876', 'Jordan', 1, 12, 1, '2026-01-31');
            INSERT INTO people VALUES (2, '4155550123', 'Sam', 2, NULL, 0, NULL);
            INSERT INTO people VALUES (3, '+442079460018', NULL, NULL, 3, NULL, NULL);
            """
        )


def test_sqlite_join_with_the_path_from_the_environment(project: Path, run: Run) -> None:
    make_db(project / "crm.db")
    set_project(project, SQL_PROJECT.replace("URL", "sqlite:///${CRM_DB}"))
    missing = run("import", env={"CRM_DB": None})
    assert missing.exit_code == 1
    assert (
        "sources.db.url uses ${CRM_DB}, but the environment variable is not set" in missing.stderr
    )
    # A relative SQLite path is relative to jcstate.yaml, like a CSV's path.
    result = run("import", env={"CRM_DB": "crm.db"})
    assert result.exit_code == 0, result.output
    assert "db -> contacts/db.yaml: 3 rows read, 3 written" in result.stdout
    text = (project / "contacts" / "db.yaml").read_text()
    assert text.split("contacts:\n", 1)[1] == (
        '  - phone: "+14155550123"\n'
        "    first_name: Sam\n"
        "    company: Globex\n"
        "    custom_fields:\n"
        "      vip: false\n"
        '  - phone: "+14155559876"\n'
        "    first_name: Jordan\n"
        "    company: Acme Corp\n"
        "    custom_fields:\n"
        "      renewal_on: 2026-01-31\n"
        "      seats: 12\n"
        "      vip: true\n"
        '  - phone: "+442079460018"\n'
        "    custom_fields:\n"
        "      seats: 3\n"
    )
    assert run("validate").exit_code == 0


def test_a_query_error_is_exit_1_with_the_driver_message(project: Path, run: Run) -> None:
    make_db(project / "crm.db")
    set_project(
        project,
        SQL_PROJECT.replace("FROM people p", "FROM nobody p").replace("URL", "sqlite:///crm.db"),
    )
    result = run("import")
    assert result.exit_code == 1
    assert "db: cannot read sqlite:///" in result.stderr
    assert "no such table: nobody" in result.stderr


def test_expand_env_encodes_inside_a_url_and_keeps_a_whole_url() -> None:
    env = {"PW": "p@ss/w:rd", "URL": "sqlite:///x.db"}
    assert (
        expand_env("postgresql://u:${PW}@h/db", env, "u") == "postgresql://u:p%40ss%2Fw%3Ard@h/db"
    )
    assert expand_env("${URL}", env, "u") == "sqlite:///x.db"
    assert expand_env("no variables", env, "u") == "no variables"
    with pytest.raises(SourceError, match=r"sources.x.url uses \$\{NOPE\}"):
        expand_env("a${NOPE}b", env, "sources.x.url")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("output_format", ["text", "json"])
def test_the_password_never_appears_even_when_the_connection_fails(
    project: Path, run: Run, output_format: str
) -> None:
    pytest.importorskip("psycopg")
    password = "s3cret-P@ss/word"
    url = f"postgresql+psycopg://app:${{DB_PASSWORD}}@127.0.0.1:{_closed_port()}/crm"
    set_project(project, SQL_PROJECT.replace("URL", url))
    result = run("import", "--format", output_format, env={"DB_PASSWORD": password})
    assert result.exit_code == 1
    output = result.stdout + result.stderr
    assert "db: cannot read postgresql+psycopg://app:***@127.0.0.1:" in output
    for shown in (password, "s3cret", "P%40ss", "P@ss"):
        assert shown not in output


def test_jsonl_typed_values_and_a_bad_line(project: Path, run: Run) -> None:
    set_project(
        project,
        SQL_PROJECT.replace("kind: sql", "kind: jsonl")
        .replace('    url: "URL"\n', "    path: dump.jsonl\n")
        .split("    query: >")[0]
        + "    map: {phone: phone, first_name: name, custom_fields.seats: seats}\n"
        "    into: contacts/db.yaml\n",
    )
    lines = [
        json.dumps({"phone": 4155559876, "name": "Jordan", "seats": 5}),
        "",
        json.dumps({"phone": "+1 415 555 0123", "name": "Sam", "seats": "6", "extra": [1]}),
        '{"phone": "+1 415 555 0124", "name": ',
        json.dumps({"phone": "+1 415 555 0125", "name": {"first": "X"}}),
    ]
    (project / "dump.jsonl").write_text("\n".join(lines) + "\n")
    result = run("import")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:2] == [
        "db:row 4: not valid JSON: Expecting value (column 38)",
        'db:row 5, column "name": first_name: expected text, got a mapping',
    ]
    (project / "dump.jsonl").write_text("\n".join(lines[:3]) + "\n")
    assert run("import").exit_code == 0
    text = (project / "contacts" / "db.yaml").read_text()
    assert '"+14155559876"\n    first_name: Jordan\n    custom_fields:\n      seats: 5' in text
    assert "seats: 6" in text


def test_a_jsonl_file_behind_a_link_out_of_the_project_is_not_read(
    project: Path, run: Run, tmp_path: Path
) -> None:
    set_project(
        project,
        SQL_PROJECT.replace("kind: sql", "kind: jsonl")
        .replace('    url: "URL"\n', "    path: dump.jsonl\n")
        .split("    query: >")[0]
        + "    map: {phone: phone}\n    into: contacts/db.yaml\n",
    )
    secret = tmp_path / "elsewhere.jsonl"
    secret.write_text(json.dumps({"phone": "+14155559876"}) + "\n")
    (project / "dump.jsonl").symlink_to(secret)
    result = run("import")
    assert result.exit_code == 1
    assert "Error: db: refusing to read dump.jsonl (sources.db.path): dump.jsonl is a " in (
        result.stderr
    )
    assert not (project / "contacts" / "db.yaml").exists()

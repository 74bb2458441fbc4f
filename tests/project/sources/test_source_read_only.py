"""A source is read, never changed: one reading statement, a read-only connection,
every expanded variable hidden, text encodings only."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from jcstate.project.sources.config import query_problem
from jcstate.project.sources.readers import read_only_engine
from tests.project.sources.conftest import HEADER, Run, set_project
from tests.project.sources.test_sql_jsonl import SQL_PROJECT, make_db

QUERY_LINE = "SELECT p.phone, p.first, c.name AS company, p.seats, p.vip, p.renewal\n      FROM people p LEFT JOIN companies c ON c.id = p.company_id ORDER BY p.id\n"  # noqa: E501


def _with_query(query: str) -> str:
    text = SQL_PROJECT.replace("URL", "sqlite:///crm.db")
    assert QUERY_LINE in text
    return text.replace(QUERY_LINE, query + "\n")


def _people(db: Path) -> list[tuple[str, str | None]]:
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT phone, first FROM people ORDER BY id").fetchall()


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("DROP TABLE people", "it is DROP"),
        ("UPDATE people SET first = 'x' RETURNING phone, first", "it is UPDATE"),
        ("DELETE FROM people RETURNING *", "it is DELETE"),
        ("SELECT phone FROM people; DROP TABLE people", "it has 2 statements"),
        ("WITH d AS (DELETE FROM people RETURNING *) SELECT * FROM d", "it holds DELETE"),
        ("SELECT * INTO copy FROM people", "it holds INTO"),
        ("SELECT * FROM people FOR UPDATE", "it holds UPDATE"),
        ("PRAGMA writable_schema = 1", "it is PRAGMA"),
    ],
)
def test_a_query_that_is_not_one_read_is_refused_before_connecting(
    project: Path, run: Run, query: str, problem: str
) -> None:
    make_db(project / "crm.db")
    before = _people(project / "crm.db")
    set_project(project, _with_query(query))
    expected = (
        "jcstate.yaml:12:12: sources.db.query: must be one statement that reads "
        f"(SELECT, or WITH ... SELECT); {problem}"
    )
    validated = run("validate")
    assert validated.exit_code == 1
    assert expected in validated.stdout
    imported = run("import")
    assert imported.exit_code == 1
    assert expected in imported.stderr
    assert "Traceback" not in imported.output
    assert _people(project / "crm.db") == before
    assert not (project / "contacts" / "db.yaml").exists()


@pytest.mark.parametrize(
    "query",
    [
        "SELECT phone, first FROM people",
        "select phone, first from people;",
        "WITH named AS (SELECT phone, first FROM people) SELECT * FROM named",
        "SELECT phone, first FROM people WHERE first <> 'DROP TABLE people; UPDATE x'",
        'SELECT phone, first AS "update" FROM people -- DELETE FROM people',
    ],
)
def test_one_reading_statement_is_accepted(query: str) -> None:
    assert query_problem(query) is None


def test_the_sqlite_connection_itself_cannot_write(tmp_path: Path) -> None:
    make_db(tmp_path / "crm.db")
    before = _people(tmp_path / "crm.db")
    engine = read_only_engine(make_url(f"sqlite:///{tmp_path / 'crm.db'}"))
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM people").scalar() == 3
            with pytest.raises(OperationalError, match="readonly"):
                connection.exec_driver_sql("DELETE FROM people")
    finally:
        engine.dispose()
    memory = read_only_engine(make_url("sqlite://"))
    try:
        with memory.connect() as connection, pytest.raises(OperationalError):
            connection.exec_driver_sql("CREATE TABLE t (x)")
    finally:
        memory.dispose()
    assert _people(tmp_path / "crm.db") == before


def test_a_missing_sqlite_file_is_an_error_and_is_not_created(project: Path, run: Run) -> None:
    set_project(project, SQL_PROJECT.replace("URL", "sqlite:///missing.db"))
    result = run("import")
    assert result.exit_code == 1
    assert "db: cannot read sqlite:///" in result.stderr
    assert "unable to open database file" in result.stderr
    assert not (project / "missing.db").exists()


def test_every_expanded_variable_is_hidden_in_messages(project: Path, run: Run) -> None:
    secret = "sk-live-0123456789abcdef"
    set_project(project, SQL_PROJECT.replace("URL", "sqlite:///nodir/${JUSTCALL_API_SECRET}.db"))
    result = run("import", env={"JUSTCALL_API_SECRET": secret})
    assert result.exit_code == 1
    assert "cannot read sqlite:///" in result.stderr
    assert "nodir/${JUSTCALL_API_SECRET}.db" in result.stderr
    assert secret not in result.output
    assert "sk-live" not in result.output


def test_a_whole_url_from_a_variable_is_shown_as_the_variable(project: Path, run: Run) -> None:
    set_project(project, SQL_PROJECT.replace("URL", "${CRM_URL}"))
    result = run("import", env={"CRM_URL": "sqlite:///hidden-place/crm.db"})
    assert result.exit_code == 1
    assert "db: cannot read ${CRM_URL}:" in result.stderr
    assert "hidden-place" not in result.output


@pytest.mark.parametrize("encoding", ["base64", "rot13", "zlib_codec", "hex", "no-such-codec"])
def test_only_a_text_encoding_is_accepted(project: Path, run: Run, encoding: str) -> None:
    text = (project / "jcstate.yaml").read_text()
    text = text.replace("path: exports/crm.csv", f"path: exports/crm.csv\n    encoding: {encoding}")
    (project / "jcstate.yaml").write_text(text)
    expected = (
        f"jcstate.yaml:13:15: sources.crm.encoding: unknown encoding {encoding!r} "
        "(e.g. utf-8, cp1252)"
    )
    for command in ("validate", "import"):
        result = run(command)
        assert result.exit_code == 1
        assert expected in result.output
        assert "Traceback" not in result.output


def test_utf16_without_a_bom_is_an_error_not_a_traceback(project: Path, run: Run) -> None:
    text = (project / "jcstate.yaml").read_text()
    (project / "jcstate.yaml").write_text(
        text.replace("path: exports/crm.csv", "path: exports/crm.csv\n    encoding: utf_16")
    )
    (project / "exports" / "crm.csv").write_bytes((HEADER + "\r\n").encode("utf-8"))
    result = run("import")
    assert result.exit_code == 1
    assert "crm.csv: cannot be read as utf_16 text from row 1 on" in result.stderr
    assert "Traceback" not in result.output


def test_a_decoding_error_names_its_row(project: Path, run: Run) -> None:
    good = [f"{n},Ann,Lee,,415555{n:04d},,,," for n in range(1000, 1400)]
    rows = [*good[:300], "9,Zo\xe9,,,4155550123,,,,", *good[300:]]
    (project / "exports" / "crm.csv").write_bytes(
        ("\r\n".join([HEADER, *rows]) + "\r\n").encode("cp1252")
    )
    result = run("import")
    assert result.exit_code == 1
    assert "crm.csv: row 302: not valid utf-8 text (set sources.crm.encoding, e.g. cp1252)" in (
        result.stderr
    )

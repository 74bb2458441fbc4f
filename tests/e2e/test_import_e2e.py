"""`jcstate import` end to end: a HubSpot CSV export and a SQLite join, each imported and
applied to `jcstate sandbox serve`; a PostgreSQL server when one is installed.

The loop a nightly job runs: import -> (git diff, plan) -> apply. A second
import of the same data changes no byte; one changed CRM row is one contact in
the git diff and one PUT in the plan.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.sandbox_server import SandboxServer

PROJECT = """\
version: 1
api: {url: "https://api.justcall.io"}   # JCSTATE_API_URL points at the served sandbox
default_region: US
contacts: ["contacts/*.yaml"]
custom_fields:
  lead_status: {type: enum, values: [New, Open, In progress, Connected, Unqualified]}
  lead_source: {type: enum, values: [Website, Referral, Event]}
  seats: {type: integer}
sources:
"""

HUBSPOT_SOURCE = """\
  hubspot:
    kind: csv
    path: exports/hubspot-contacts.csv
    map:
      phone: "Phone Number"
      first_name: "First Name"
      last_name: "Last Name"
      email: Email
      company: "Company Name"
      custom_fields.lead_status: "Lead Status"
      custom_fields.lead_source: "Original Source"
    values:
      custom_fields.lead_status: {NEW: New, OPEN: Open, IN_PROGRESS: In progress,
                                  CONNECTED: Connected, UNQUALIFIED: Unqualified}
      custom_fields.lead_source: {Organic Search: Website, Direct Traffic: Website,
                                  Referrals: Referral, Offline Sources: Event}
    skip_if: {Unsubscribed: ["true"]}
    into: contacts/hubspot.yaml
"""

HUBSPOT_HEADER = (
    '"Record ID","First Name","Last Name","Email","Phone Number","Company Name",'
    '"Lead Status","Original Source","Unsubscribed","Create Date","Notes"'
)
HUBSPOT_ROWS = [
    '101,Jordan,Lee,Jordan.Lee@Example.com,(415) 555-0101,"Acme, Inc.",NEW,Organic Search,'
    'false,2024-01-05 10:00,"Met at the booth, asked for a demo"',
    "102,Sam,Chen,sam@globex.example,+1 415.555.0102,Globex,OPEN,Referrals,false,"
    '2024-01-06 11:00,"Two lines:\r\nfirst, then second"',
    "103,Ana,Ruiz,,415 555 0103 ,Initech,IN_PROGRESS,Direct Traffic,,2024-01-07 09:30,",
    '104,Bo,Berg,bo@example.org,1-415-555-0104,"Umbrella ""Corp""",CONNECTED,Offline Sources,'
    "false,2024-01-08 12:00,",
    "105,Gone,Away,gone@example.com,(415) 555-0105,Hooli,NEW,Organic Search,true,"
    "2024-01-09 08:00,unsubscribed",
    "106,Eve,Park,eve@example.com,+44 20 7946 0018,Pied Piper,UNQUALIFIED,Referrals,FALSE,"
    "2024-01-10 15:45,",
]

SQLITE_SOURCE = """\
  crm_db:
    kind: sql
    url: "sqlite:///${CRM_DB}"
    query: >
      SELECT p.phone, p.first_name, p.last_name, p.email, c.name AS company, p.seats
      FROM people AS p JOIN companies AS c ON c.id = p.company_id
      WHERE p.active = 1 ORDER BY p.id
    map:
      phone: phone
      first_name: first_name
      last_name: last_name
      email: email
      company: company
      custom_fields.seats: seats
    into: contacts/crm_db.yaml
"""


def jcstate(
    root: Path, server: SandboxServer | None, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "NO_COLOR": "1", **(server.env if server else {}), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "jcstate", *args],
        cwd=root,
        env=full,
        capture_output=True,
        text=True,
        timeout=180,
    )


def git(root: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def write_hubspot(root: Path, rows: list[str]) -> None:
    path = root / "exports" / "hubspot-contacts.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\r\n".join([HUBSPOT_HEADER, *rows]) + "\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))


def plan_json(root: Path, server: SandboxServer) -> dict[str, Any]:
    result = jcstate(root, server, "plan", "--format", "json")
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def changed_lines(diff: str) -> list[str]:
    return [
        line
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def import_apply_and_change_one_row(
    root: Path, server: SandboxServer, env: dict[str, str], edit: Any, generated: str
) -> None:
    """The loop shared by both sources: import, apply, re-import, one change."""
    imported = jcstate(root, server, "import", env=env)
    assert imported.returncode == 0, imported.stderr
    path = root / generated
    (root / ".gitignore").write_text(".jcstate/\n")  # apply's journal, as `jcstate init` writes
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "first import")

    applied = jcstate(root, server, "apply", "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    assert jcstate(root, server, "plan", "--detailed-exitcode").returncode == 0

    first = path.read_bytes()
    again = jcstate(root, server, "import", env=env)
    assert again.returncode == 0, again.stderr
    assert path.read_bytes() == first
    assert git(root, "status", "--porcelain") == ""

    edit()
    changed = jcstate(root, server, "import", env=env)
    assert changed.returncode == 0, changed.stderr
    assert "0 added, 1 changed, 0 removed" in changed.stdout
    diff = git(root, "diff", "--unified=0", "--", generated)
    assert diff.count("\n@@ ") == 1, diff  # one hunk: one contact
    plan = plan_json(root, server)
    assert plan["summary"] == {"create": 0, "update": 1, "delete": 0, "unchanged": 4}
    assert plan["cost"]["put"] == 1 and plan["cost"]["writes"] == 1
    applied = jcstate(root, server, "apply", "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    assert jcstate(root, server, "plan", "--detailed-exitcode").returncode == 0


def test_hubspot_csv_export_imported_and_applied(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    root = tmp_path / "contacts-repo"
    (root / "contacts").mkdir(parents=True)
    (root / "jcstate.yaml").write_text(PROJECT + HUBSPOT_SOURCE)
    write_hubspot(root, HUBSPOT_ROWS)

    checked = jcstate(root, sandbox_server, "import", "--check")
    assert checked.returncode == 2
    assert not (root / "contacts" / "hubspot.yaml").exists()

    def edit() -> None:
        rows = [HUBSPOT_ROWS[0].replace(",Lee,", ",Li,"), *HUBSPOT_ROWS[1:]]
        write_hubspot(root, rows)

    import_apply_and_change_one_row(root, sandbox_server, {}, edit, "contacts/hubspot.yaml")
    diff = changed_lines(git(root, "diff", "--unified=0", "--", "contacts/hubspot.yaml"))
    assert diff == ["-    last_name: Lee", "+    last_name: Li"]
    plan = plan_json(root, sandbox_server)
    assert plan["summary"]["update"] == 0  # applied

    text = (root / "contacts" / "hubspot.yaml").read_text()
    assert text.startswith("# Generated by `jcstate import hubspot`")
    phones = [line.split('"')[1] for line in text.splitlines() if line.startswith("  - phone:")]
    assert phones == [
        "+14155550101",
        "+14155550102",
        "+14155550103",
        "+14155550104",
        "+442079460018",
    ]
    assert "company: Acme, Inc.\n" in text and 'company: Umbrella "Corp"\n' in text
    assert "email: jordan.lee@example.com" in text
    assert "lead_status: In progress" in text and "lead_source: Referral" in text


def make_crm_db(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.executescript(
            """
            CREATE TABLE companies (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
            CREATE TABLE people (
                id INTEGER PRIMARY KEY, phone TEXT, first_name TEXT, last_name TEXT,
                email TEXT, company_id INTEGER REFERENCES companies(id), seats INTEGER,
                active INTEGER NOT NULL DEFAULT 1);
            INSERT INTO companies VALUES (1, 'Acme Corp'), (2, 'Globex'), (3, 'Initech');
            INSERT INTO people VALUES
                (1, '(212) 555-0101', 'Ada', 'Lovelace', 'ada@acme.example', 1, 10, 1),
                (2, '212.555.0102', 'Alan', 'Turing', NULL, 2, 25, 1),
                (3, '+1 212 555 0103', 'Grace', 'Hopper', 'grace@initech.example', 3, NULL, 1),
                (4, '2125550104', 'Edsger', 'Dijkstra', NULL, 1, 5, 1),
                (5, '212-555-0105', 'Barbara', 'Liskov', NULL, 2, 7, 1),
                (6, '212-555-0106', 'Inactive', 'Person', NULL, 2, 1, 0);
            """
        )


def test_sqlite_join_imported_and_applied(tmp_path: Path, sandbox_server: SandboxServer) -> None:
    root = tmp_path / "contacts-repo"
    (root / "contacts").mkdir(parents=True)
    (root / "jcstate.yaml").write_text(PROJECT + SQLITE_SOURCE)
    database = tmp_path / "crm.sqlite"
    make_crm_db(database)
    env = {"CRM_DB": str(database)}

    def edit() -> None:
        with sqlite3.connect(database) as db:
            db.execute("UPDATE people SET seats = 30 WHERE id = 2")

    import_apply_and_change_one_row(root, sandbox_server, env, edit, "contacts/crm_db.yaml")
    diff = changed_lines(git(root, "diff", "--unified=0", "--", "contacts/crm_db.yaml"))
    assert diff == ["-      seats: 25", "+      seats: 30"]


# -- PostgreSQL ---------------------------------------------------------------------------

PG_PASSWORD = "pg-Secret@/42"


@dataclass
class Postgres:
    port: int
    password: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    """A real PostgreSQL server on loopback, with password (scram) authentication."""
    binaries = {name: shutil.which(name) for name in ("postgres", "initdb", "pg_ctl")}
    missing = [name for name, found in binaries.items() if found is None]
    if missing:
        pytest.skip(f"PostgreSQL server binaries not on PATH: {', '.join(missing)}")
    pytest.importorskip("psycopg", reason="the postgres extra (psycopg) is not installed")
    prefix: list[str] = []
    owner: int | None = None
    if os.geteuid() == 0:  # initdb refuses to run as root: run the server as `postgres`
        try:
            owner = pwd.getpwnam("postgres").pw_uid
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run the server as")
        runuser = shutil.which("runuser")
        if runuser is None:
            pytest.skip("running as root and runuser is not installed")
        prefix = [runuser, "-u", "postgres", "--"]
    folder = Path(tempfile.mkdtemp(prefix="jcstate-pg-"))
    data, pwfile, log = folder / "data", folder / "pwfile", folder / "server.log"
    pwfile.write_text(PG_PASSWORD + "\n")
    if owner is not None:
        os.chown(folder, owner, -1)
        os.chown(pwfile, owner, -1)
    port = _free_port()

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=120)

    try:
        run(
            str(binaries["initdb"]),
            "-D",
            str(data),
            "-U",
            "postgres",
            "-A",
            "scram-sha-256",
            f"--pwfile={pwfile}",
        )
        options = f"-k {folder} -p {port} -h 127.0.0.1"
        run(str(binaries["pg_ctl"]), "-D", str(data), "-o", options, "-l", str(log), "-w", "start")
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {exc.stderr.decode(errors='replace')}")
    try:
        import psycopg

        dsn = f"host=127.0.0.1 port={port} user=postgres password={PG_PASSWORD} dbname=postgres"
        with psycopg.connect(dsn) as connection:
            connection.execute(
                "CREATE TABLE accounts (id serial PRIMARY KEY, name text NOT NULL);"
                "CREATE TABLE people (id serial PRIMARY KEY, mobile text, given text,"
                " account_id int REFERENCES accounts(id), seats numeric);"
                "INSERT INTO accounts (name) VALUES ('Acme Corp'), ('Globex');"
                "INSERT INTO people (mobile, given, account_id, seats) VALUES"
                " ('(415) 555-0111', 'Pat', 1, 3), ('+1 415 555 0112', 'Lou', 2, 4.0),"
                " ('415-555-0113', 'Kim', 1, NULL);"
            )
        yield Postgres(port=port, password=PG_PASSWORD)
    finally:
        subprocess.run(
            [*prefix, str(binaries["pg_ctl"]), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(folder, ignore_errors=True)


def test_postgresql_import_with_the_password_from_the_environment(
    tmp_path: Path, postgres: Postgres
) -> None:
    root = tmp_path / "contacts-repo"
    (root / "contacts").mkdir(parents=True)
    source = f"""\
  warehouse:
    kind: sql
    url: "postgresql+psycopg://postgres:${{PG_PASSWORD}}@127.0.0.1:{postgres.port}/postgres"
    query: >
      SELECT p.mobile, p.given, a.name AS account, p.seats
      FROM people p JOIN accounts a ON a.id = p.account_id ORDER BY p.id
    map:
      phone: mobile
      first_name: given
      company: account
      custom_fields.seats: seats
    into: contacts/warehouse.yaml
"""
    (root / "jcstate.yaml").write_text(PROJECT + source)

    wrong = jcstate(root, None, "import", env={"PG_PASSWORD": "not-the-password"})
    assert wrong.returncode == 1
    assert "password authentication failed" in wrong.stderr
    assert f"postgresql+psycopg://postgres:***@127.0.0.1:{postgres.port}/postgres" in (wrong.stderr)
    assert "not-the-password" not in wrong.stdout + wrong.stderr

    result = jcstate(root, None, "import", env={"PG_PASSWORD": postgres.password})
    assert result.returncode == 0, result.stderr
    assert postgres.password not in result.stdout + result.stderr
    assert "warehouse -> contacts/warehouse.yaml: 3 rows read, 3 written" in result.stdout
    text = (root / "contacts" / "warehouse.yaml").read_text()
    assert text.split("contacts:\n", 1)[1] == (
        '  - phone: "+14155550111"\n'
        "    first_name: Pat\n"
        "    company: Acme Corp\n"
        "    custom_fields:\n"
        "      seats: 3\n"
        '  - phone: "+14155550112"\n'
        "    first_name: Lou\n"
        "    company: Globex\n"
        "    custom_fields:\n"
        "      seats: 4\n"
        '  - phone: "+14155550113"\n'
        "    first_name: Kim\n"
        "    company: Acme Corp\n"
    )
    assert jcstate(root, None, "validate").returncode == 0


def _pg_source(port: int, query: str) -> str:
    return f"""\
  warehouse:
    kind: sql
    url: "postgresql+psycopg://postgres:${{PG_PASSWORD}}@127.0.0.1:{port}/postgres"
    query: "{query}"
    map: {{phone: mobile, first_name: given}}
    into: contacts/warehouse.yaml
"""


def _pg_scalar(postgres: Postgres, sql: str) -> Any:
    import psycopg

    dsn = (
        f"host=127.0.0.1 port={postgres.port} user=postgres password={postgres.password} "
        "dbname=postgres"
    )
    with psycopg.connect(dsn) as connection:
        row = connection.execute(sql).fetchone()
        assert row is not None
        return row[0]


def test_postgresql_source_is_never_changed(tmp_path: Path, postgres: Postgres) -> None:
    """A writing statement is refused before connecting; a SELECT that would write anyway
    (nextval advances a sequence) fails inside the read-only transaction."""
    root = tmp_path / "read-only"
    (root / "contacts").mkdir(parents=True)
    env = {"PG_PASSWORD": postgres.password}
    people = _pg_scalar(postgres, "SELECT count(*) FROM people")

    for query, problem in (
        ("DROP TABLE people", "it is DROP"),
        ("UPDATE people SET given = 'x' RETURNING mobile, given", "it is UPDATE"),
        ("WITH d AS (DELETE FROM people RETURNING *) SELECT * FROM d", "it holds DELETE"),
    ):
        (root / "jcstate.yaml").write_text(PROJECT + _pg_source(postgres.port, query))
        refused = jcstate(root, None, "import", env=env)
        assert refused.returncode == 1
        assert "sources.warehouse.query: must be one statement that reads" in refused.stderr
        assert problem in refused.stderr
    assert _pg_scalar(postgres, "SELECT count(*) FROM people") == people
    assert _pg_scalar(postgres, "SELECT min(given) FROM people") == "Kim"

    sequence = _pg_scalar(postgres, "SELECT last_value FROM people_id_seq")
    query = "SELECT mobile, given, nextval('people_id_seq') AS n FROM people"
    (root / "jcstate.yaml").write_text(PROJECT + _pg_source(postgres.port, query))
    writing = jcstate(root, None, "import", env=env)
    assert writing.returncode == 1
    assert "read-only transaction" in writing.stderr
    assert "Traceback" not in writing.stderr
    assert postgres.password not in writing.stdout + writing.stderr
    assert _pg_scalar(postgres, "SELECT last_value FROM people_id_seq") == sequence
    assert not (root / "contacts" / "warehouse.yaml").exists()

"""A project with one CSV source, and a way to run `jcstate` in it (in-process)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from jcstate.cli import cli

PROJECT = """\
version: 1
api: {url: "sandbox://.jcstate/sandbox.db"}
default_region: US
contacts: ["contacts/*.yaml"]
custom_fields:
  lead_source: {type: enum, values: [Website, Referral, Event]}
  seats: {type: integer}
  renewal_on: {type: date}
sources:
  crm:
    kind: csv
    path: exports/crm.csv
    map:
      phone: "Phone Number"
      first_name: "First Name"
      last_name: "Last Name"
      email: Email
      company: "Company Name"
      custom_fields.lead_source: "Lead Status"
      custom_fields.seats: Seats
    values:
      custom_fields.lead_source: {web: Website, "trade show": Event}
    skip_if: {Unsubscribed: ["true", "yes"]}
    into: contacts/crm.yaml
"""

HEADER = '"Record ID","First Name","Last Name","Email","Phone Number","Company Name",' + (
    '"Lead Status","Unsubscribed","Seats"'
)
GOOD_ROWS = [
    '1,Jordan,Lee,Jordan@Example.com,(415) 555-9876,"Acme, Inc.",web,false,10',
    "2,Sam,Chen,sam@example.com,+1 415 555 0123,Globex,trade show,,",
    "3,Gone,Away,,415-555-0199,X,web,Yes,",
]

Run = Callable[..., Result]


def write_csv(project: Path, rows: list[str], *, bom: bool = True) -> None:
    text = "\r\n".join([HEADER, *rows]) + "\r\n"
    path = project / "exports" / "crm.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "contacts").mkdir(parents=True)
    (root / "jcstate.yaml").write_text(PROJECT, encoding="utf-8")
    write_csv(root, GOOD_ROWS)
    return root


def set_project(project: Path, text: str) -> None:
    (project / "jcstate.yaml").write_text(textwrap.dedent(text), encoding="utf-8")


@pytest.fixture
def run(project: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """`jcstate ARGS` in the project directory; stdout and stderr apart."""
    monkeypatch.chdir(project)

    def invoke(*args: str, env: dict[str, str | None] | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), env={"NO_COLOR": "1", **(env or {})})

    return invoke

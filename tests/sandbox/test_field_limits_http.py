"""The sandbox refuses, over HTTP with 422 and a field error, exactly what `validate` refuses.

Both apply `jcstate.core.limits`; these tests hold them to it from the outside:
each value is sent to a served sandbox and written into a contacts file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from jcstate.errors import ConfigError
from jcstate.project.config import load_project
from tests.support.sandbox_server import SandboxServer

#: (contact body, the field the error names). Each is also refused by validate.
REFUSED: list[tuple[dict[str, Any], str]] = [
    ({"first_name": "x" * 10_000}, "first_name"),
    ({"last_name": "a\x00b"}, "last_name"),
    ({"company": "Acme\x1b[31m"}, "company"),
    ({"custom_fields": {"seats": 10**20}}, "custom_fields.seats"),
    ({"custom_fields": {"seats": 2**63}}, "custom_fields.seats"),
    ({"custom_fields": {"nps": float("nan")}}, "custom_fields.nps"),
    ({"custom_fields": {"nps": float("inf")}}, "custom_fields.nps"),
    ({"custom_fields": {"note": "n" * 256}}, "custom_fields.note"),
    ({"custom_fields": {"note": "a\x00b"}}, "custom_fields.note"),
    ({"phone": "+1 415 555 9876 ext. 5"}, "phone"),
]
ACCEPTED: list[dict[str, Any]] = [
    {"first_name": "x" * 255},
    {"custom_fields": {"seats": 2**63 - 1, "nps": 1e20, "note": "line one\n\tline two"}},
]


def post(server: SandboxServer, body: dict[str, Any]) -> httpx.Response:
    contact = {"phone": "+14155550100", **body}
    # allow_nan: send NaN and Infinity as a careless client would (json.loads reads them).
    content = json.dumps(contact, allow_nan=True)
    headers = {**server.auth_headers, "Content-Type": "application/json"}
    return httpx.post(server.url + "/v2/contacts", content=content, headers=headers, timeout=10)


@pytest.mark.parametrize(("body", "field"), REFUSED, ids=[f for _, f in REFUSED])
def test_the_sandbox_refuses_past_the_limits_with_422(
    sandbox_server: SandboxServer, body: dict[str, Any], field: str
) -> None:
    answer = post(sandbox_server, body)
    assert answer.status_code == 422, answer.text
    message = answer.json()["message"]
    assert answer.json()["status"] == "error"
    assert message.startswith(f"{field}: "), message


def test_the_sandbox_accepts_values_within_the_limits(sandbox_server: SandboxServer) -> None:
    for body in ACCEPTED:
        answer = post(sandbox_server, body)
        assert answer.status_code == 200, answer.text


def test_a_bulk_import_reports_each_refused_record(sandbox_server: SandboxServer) -> None:
    records = [{"phone": f"+1415555{n:04d}", **body} for n, (body, _) in enumerate(REFUSED[:4])]
    headers = {**sandbox_server.auth_headers, "Content-Type": "application/json"}
    answer = httpx.post(
        sandbox_server.url + "/v2/contacts/bulk",
        content=json.dumps({"contacts": records}),
        headers=headers,
        timeout=10,
    )
    assert answer.status_code == 200
    assert answer.json()["failed"] == 4
    assert answer.json()["created"] == 0


CONFIG = """\
version: 1
api: {url: "sandbox://.jcstate/sandbox.db"}
contacts: ["contacts/*.yaml"]
custom_fields:
  seats: {type: integer}
  nps: {type: number}
  note: {type: string}
"""


def validate_refuses(tmp_path: Path, body: dict[str, Any]) -> bool:
    """Whether `validate` refuses a contact written with these values (JSON is YAML)."""
    contact = {"phone": "+14155550100", **body}
    text = json.dumps({"version": 1, "contacts": [contact]}, allow_nan=True)
    # YAML spells NaN and infinity .nan and .inf.
    text = text.replace("NaN", ".nan").replace("-Infinity", "-.inf").replace("Infinity", ".inf")
    (tmp_path / "jcstate.yaml").write_text(CONFIG)
    (tmp_path / "contacts").mkdir(exist_ok=True)
    (tmp_path / "contacts" / "a.yaml").write_text(text)
    try:
        load_project(tmp_path, cwd=tmp_path)
    except ConfigError:
        return True
    return False


@pytest.mark.parametrize("body", [b for b, _ in REFUSED], ids=[f for _, f in REFUSED])
def test_validate_refuses_what_the_sandbox_refuses(tmp_path: Path, body: dict[str, Any]) -> None:
    assert validate_refuses(tmp_path, body)


@pytest.mark.parametrize("body", ACCEPTED)
def test_validate_accepts_what_the_sandbox_accepts(tmp_path: Path, body: dict[str, Any]) -> None:
    assert not validate_refuses(tmp_path, body)

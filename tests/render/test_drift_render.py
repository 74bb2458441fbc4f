"""Drift report renderers: golden text, markdown and json; the markdown size limit; masking.

Regenerate the golden files after an intended change with
`UPDATE_GOLDEN=1 python -m pytest tests/render/test_drift_render.py`, and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from jcstate.core.drift import DriftReport, compute_drift
from jcstate.core.model import (
    CustomFieldDef,
    DesiredContact,
    DesiredState,
    Ownership,
    RemoteContact,
    RemoteState,
    SourceRef,
)
from jcstate.render.drift import MARKDOWN_LIMIT, render_json, render_markdown, render_text
from jcstate.render.mask import mask_text
from tests.support.builders import remote

GOLDEN = Path(__file__).parents[1] / "data" / "drift"
OWNER = Ownership(field="managed_by", value="sales-ops")
MARK = {"managed_by": "sales-ops"}


def _remote(id: int, phone: str, custom: dict[str, object], **fields: str) -> RemoteContact:
    return remote(
        id, phone, {**MARK, **custom}, updated_at=f"2026-03-{10 + id:02d}T09:30:00Z", **fields
    )


def drifted_report() -> DriftReport:
    desired = DesiredState(
        contacts=(
            DesiredContact(
                phone="+14155559876",
                fields={"first_name": "Jordan", "email": "jordan@example.com", "company": "Acme"},
                custom_fields={"plan_tier": "Enterprise", "seats": 120},
                source=SourceRef("contacts/customers.yaml", 12),
            ),
            DesiredContact(
                phone="+14155550101",
                fields={"first_name": "Ann"},
                custom_fields={},
                source=SourceRef("contacts/customers.yaml", 20),
            ),
            DesiredContact(
                phone="+12125550143",
                fields={"first_name": "Priya"},
                custom_fields={"plan_tier": "Pro"},
                source=SourceRef("contacts/partners.yaml", 4),
            ),
        ),
        custom_field_defs={
            "plan_tier": CustomFieldDef(type="enum", values=["Free", "Pro", "Enterprise"]),
            "seats": CustomFieldDef(type="integer"),
        },
        ownership=OWNER,
    )
    remote = RemoteState(
        (
            _remote(
                1,
                "+14155559876",
                {"plan_tier": "Pro", "seats": "95", "nickname": "JL"},
                first_name="Jordan",
                email="jordan@acme.example",
                company="Acme | West",
            ),
            _remote(2, "+12125550143", {"plan_tier": "Gold"}, first_name="Priya"),
            _remote(
                3,
                "+16465550199",
                {},
                first_name="Marcus",
                last_name="Webb",
                email="marcus@example.com",
                company="Initech",
            ),
            _remote(4, "+13125550100", {"nickname": "Front"}),
        )
    )
    return compute_drift(desired, remote)


def in_sync_report() -> DriftReport:
    desired = DesiredState(
        contacts=(
            DesiredContact(phone="+14155550101", fields={"first_name": "Ann"}, custom_fields={}),
        )
    )
    return compute_drift(
        desired, RemoteState((RemoteContact(1, "+14155550101", {"first_name": "Ann"}, {}),))
    )


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "render"),
    [
        ("drifted.txt", render_text),
        ("drifted.md", render_markdown),
        ("drifted.json", render_json),
    ],
)
def test_golden_drifted(name: str, render: object) -> None:
    assert callable(render)
    check_golden(name, render(drifted_report()))


@pytest.mark.parametrize(
    ("name", "render"),
    [("in_sync.txt", render_text), ("in_sync.md", render_markdown), ("in_sync.json", render_json)],
)
def test_golden_in_sync(name: str, render: object) -> None:
    assert callable(render)
    check_golden(name, render(in_sync_report()))


def test_text_ends_with_the_stable_summary_line() -> None:
    last = render_text(drifted_report()).rstrip("\n").splitlines()[-1]
    assert last == "Drift: 2 changed, 1 missing, 2 unmanaged, 1 undeclared custom field."


def test_json_has_the_documented_stable_keys() -> None:
    data = json.loads(render_json(drifted_report()))
    assert data["format_version"] == 1
    assert data["in_sync"] is False
    assert data["coverage_percent"] == 50.0
    for section in ("changed", "missing", "unmanaged"):
        assert all("phone" in item for item in data[section])
    assert data["undeclared_custom_fields"] == [{"key": "nickname", "contacts": 2}]
    assert json.loads(render_json(in_sync_report()))["in_sync"] is True


def test_markdown_stays_under_githubs_limit_with_a_note() -> None:
    desired = DesiredState(contacts=())
    remote = RemoteState(
        tuple(
            RemoteContact(
                i,
                f"+1415{i:07d}",
                {"first_name": "Someone", "last_name": "With A Long Name", "email": None},
                {},
            )
            for i in range(1, 5001)
        )
    )
    text = render_markdown(compute_drift(desired, remote))
    assert len(text) <= MARKDOWN_LIMIT
    assert "more rows, left out to fit GitHub's size limit" in text
    assert "| Unmanaged (not declared) | 5000 |" in text


def test_masked_markdown_hides_phones_and_emails() -> None:
    text = render_markdown(drifted_report(), postprocess=mask_text)
    assert "+14155559876" not in text and "jordan@acme.example" not in text
    assert "+1•••••9876" in text and "j•••@acme.example" in text

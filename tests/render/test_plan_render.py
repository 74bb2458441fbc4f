"""Golden files for the plan renderers (text, markdown, json) and their contracts.

Regenerate the golden files after an intended change with
`UPDATE_GOLDEN=1 python -m pytest tests/render/test_plan_render.py`, then review
the diff in git before committing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from jcstate.core.model import (
    CustomFieldDef,
    DesiredContact,
    DesiredState,
    Ownership,
    RemoteState,
    Safety,
)
from jcstate.core.plan import Plan, PlanOptions, compute_plan
from jcstate.core.planjson import plan_from_dict
from jcstate.render.json import render_json
from jcstate.render.markdown import MARKDOWN_LIMIT, render_markdown
from jcstate.render.text import render_text
from tests.support.builders import declared, remote

GOLDEN = Path(__file__).parent / "golden"
DEFS = {
    "lead_source": CustomFieldDef(type="enum", values=["Website", "Referral", "Event"]),
    "plan_tier": CustomFieldDef(type="enum", values=["Free", "Pro", "Enterprise", "Premium"]),
    "seats": CustomFieldDef(type="integer"),
    "managed_by": CustomFieldDef(type="string"),
}
OWN = Ownership(field="managed_by", value="sales-ops")
MARK = {"managed_by": "sales-ops"}


def desired(
    phone: str,
    line: int,
    id: int | None = None,
    custom: Mapping[str, object] | None = None,
    **fields: str | None,
) -> DesiredContact:
    return declared(phone, line, id=id, custom=custom, path="contacts/sales.yaml", **fields)


def busy_plan() -> Plan:
    """Every kind of change, a warning of each kind, unsafe, with a rate limit."""
    state = DesiredState(
        contacts=(
            desired(
                "+14155559876",
                4,
                first_name="Jordan",
                last_name="Lee",
                email="jordan@example.com",
                custom={"lead_source": "Website", "seats": 5},
            ),
            desired(
                "+14155550111",
                11,
                first_name="Sam",
                company="Acme Corp",
                custom={"plan_tier": "Premium", "seats": None},
            ),
            desired("+14155550122", 17, id=40, first_name="Ana"),
            desired("+14155550133", 21, first_name="Ravi", email=None),
            desired("+14155550144", 25, first_name="Kim"),
        ),
        custom_field_defs=DEFS,
        ownership=OWN,
        safety=Safety(
            max_delete_percent=20, max_update_percent=80, min_existing=3, protected=["+14155550100"]
        ),
    )
    state_remote = RemoteState(
        contacts=(
            remote(
                10,
                "+14155550111",
                {**MARK, "plan_tier": "Pro", "seats": "12"},
                first_name="Sam",
                company="Acme",
            ),
            remote(40, "+14155550120", MARK, first_name="Ana"),
            remote(
                41, "+14155550133", {"zodiac": "Leo"}, first_name="Ravi", email="ravi@example.com"
            ),
            remote(42, "+14155550144", MARK, first_name="Kim"),
            remote(43, "+14155550144", MARK, first_name="Kim (old)"),
            remote(50, "+14155550155", MARK, first_name="Gone", email="gone@example.com"),
            remote(51, "+14155550100", MARK, first_name="Front desk"),
        )
    )
    return compute_plan(state, state_remote, PlanOptions(prune=True, per_minute=60, per_hour=3600))


def quiet_plan() -> Plan:
    state = DesiredState(contacts=(desired("+14155550111", 3, first_name="Sam"),))
    state_remote = RemoteState(
        contacts=(remote(10, "+14155550111", first_name="Sam"), remote(11, "+14155550199"))
    )
    return compute_plan(state, state_remote, PlanOptions())


def huge_plan() -> Plan:
    """Far more changes than one PR comment can hold."""
    contacts = tuple(
        desired(
            f"+1415{2_000_000 + i:07d}",
            i + 3,
            first_name=f"Person {i}",
            email=f"person{i}@example.com",
            company="Acme Corp",
        )
        for i in range(3_000)
    )
    state_remote = RemoteState(
        contacts=tuple(
            remote(
                i + 1,
                f"+1415{2_000_000 + i:07d}",
                first_name=f"Person {i}",
                email=f"person{i}@example.com",
                company="Old Corp",
            )
            for i in range(1_500)
        )
    )
    return compute_plan(
        DesiredState(contacts=contacts, safety=Safety(max_update_percent=100)),
        state_remote,
        PlanOptions(),
    )


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


Render = Callable[[Plan], str]


@pytest.mark.parametrize(
    ("name", "make", "render"),
    [
        ("busy.txt", busy_plan, lambda p: render_text(p)),
        ("busy.color.txt", busy_plan, lambda p: render_text(p, color=True)),
        ("busy.masked.txt", busy_plan, lambda p: render_text(p, mask_pii=True)),
        ("busy.md", busy_plan, lambda p: render_markdown(p)),
        ("busy.masked.md", busy_plan, lambda p: render_markdown(p, mask_pii=True)),
        ("busy.json", busy_plan, render_json),
        ("quiet.txt", quiet_plan, lambda p: render_text(p)),
        ("quiet.md", quiet_plan, lambda p: render_markdown(p)),
        ("quiet.json", quiet_plan, render_json),
        ("huge.md", huge_plan, lambda p: render_markdown(p)),
    ],
)
def test_golden(name: str, make: Callable[[], Plan], render: Render) -> None:
    check_golden(name, render(make()))


@pytest.mark.parametrize("make", [busy_plan, quiet_plan, huge_plan])
def test_text_ends_with_the_summary_line(make: Callable[[], Plan]) -> None:
    plan = make()
    lines = render_text(plan).rstrip("\n").splitlines()
    counts = plan.summary
    assert lines[-1] == (
        f"Plan: {counts['create']} to create, {counts['update']} to update, "
        f"{counts['delete']} to delete, {counts['unchanged']} unchanged."
    )
    assert lines[-2].startswith("Cost: ")


def test_text_has_no_colour_codes_unless_asked() -> None:
    assert "\x1b[" not in render_text(busy_plan())
    assert "\x1b[" in render_text(busy_plan(), color=True)


def test_huge_markdown_stays_under_the_limit_and_says_what_it_left_out() -> None:
    plan = huge_plan()
    text = render_markdown(plan)
    assert len(text) < MARKDOWN_LIMIT
    shown = text.count("\n+ +1415") + text.count("\n! +1415")
    left_out = len(plan.changes) - shown
    assert left_out > 0
    assert f"{left_out:,} changes left out" in text or f"{left_out} changes left out" in text


def test_markdown_limit_is_respected_for_small_limits() -> None:
    text = render_markdown(busy_plan(), limit=2_400)
    assert len(text) < 2_400
    assert "left out of this comment" in text


def test_masking_hides_phones_and_emails() -> None:
    for text in (
        render_text(busy_plan(), mask_pii=True),
        render_markdown(busy_plan(), mask_pii=True),
    ):
        assert "+14155559876" not in text and "jordan@example.com" not in text
        assert "+1•••••9876" in text


def test_json_is_the_plan_dict_and_reads_back() -> None:
    plan = busy_plan()
    data = json.loads(render_json(plan))
    assert data["format_version"] == 1
    assert data["safe"] is False and data["unsafe_reasons"]
    assert plan_from_dict(data).changes == plan.changes


def test_the_summary_line_is_bold_in_the_terminals_own_colour() -> None:
    last = render_text(busy_plan(), color=True).rstrip("\n").splitlines()[-1]
    assert last.startswith("\x1b[1mPlan: ")
    assert "\x1b[37m" not in last and "\x1b[97m" not in last  # no white on light terminals

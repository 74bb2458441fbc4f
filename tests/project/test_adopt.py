"""Adopting remote edits into YAML: golden before/after of a commented file, then a clean plan.

The project in tests/data/adopt/project is the "before"; tests/data/adopt/team.after.yaml
is the expected file after `--adopt`. Regenerate it after an intended change with
`UPDATE_GOLDEN=1 python -m pytest tests/project/test_adopt.py` and review the diff.
"""

from __future__ import annotations

import difflib
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from jcstate.core.drift import compute_drift
from jcstate.core.model import Project, RemoteContact, RemoteState
from jcstate.core.plan import Action, PlanOptions, compute_plan
from jcstate.project.adopt import adopt_changed, adopt_unmanaged
from jcstate.project.config import load_project
from tests.support.builders import remote

DATA = Path(__file__).parents[1] / "data" / "adopt"


def contact(id: int, phone: str, custom: dict[str, Any], **fields: str | None) -> RemoteContact:
    return remote(id, phone, custom, updated_at="2026-03-12T14:30:00Z", **fields)


REMOTE = RemoteState(
    (
        contact(
            1001,
            "+14155559876",
            {"plan_tier": "Enterprise", "seats": "130", "renewal_on": "2027-04-01"},
            first_name="Jordan",
            last_name="Lee",
            email="jordan@acme.example",
            company="Acme Corp",
        ),
        contact(
            1002,
            "+14155558765",
            {"plan_tier": "Pro", "seats": 15, "vip": True},
            first_name="Sam",
            last_name="Chen",
            company="Globex",
        ),
        contact(
            1003,
            "+12125550144",
            {"plan_tier": "Pro"},
            first_name="Priya ",
            email="priya@globex.example",
            company="Acme Corp",
        ),
        contact(
            1004,
            "+16465550199",
            {"plan_tier": "Pro"},
            first_name="Marcus",
            last_name="Webb",
            company="Acme Corp",
        ),
        contact(
            1005,
            "+13125550177",
            {"plan_tier": "Free", "seats": "3", "nickname": "Dee"},
            first_name="Dana",
            last_name="Ortiz",
            email="dana@initech.example",
        ),
    )
)


@pytest.fixture
def project_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "project"
    shutil.copytree(DATA / "project", target)
    monkeypatch.chdir(target)
    return target


def load() -> Project:
    return load_project(Path.cwd())


def test_adopt_golden_before_after_keeps_comments(project_dir: Path) -> None:
    before = (project_dir / "contacts" / "team.yaml").read_text()
    project = load()
    result = adopt_changed(project, compute_drift(project.desired, REMOTE))
    after = (project_dir / "contacts" / "team.yaml").read_text()

    golden = DATA / "team.after.yaml"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(after)
    assert after == golden.read_text()
    assert result.files == ["contacts/team.yaml"]
    assert (result.contacts, result.fields) == (3, 8)
    # Every comment line of the original is still there, verbatim.
    comments = [line for line in before.splitlines() if line.lstrip().startswith("#")]
    assert all(line in after.splitlines() for line in comments)
    # jcstate.yaml is not touched by --adopt.
    assert (project_dir / "jcstate.yaml").read_text() == (DATA / "project/jcstate.yaml").read_text()


def test_untouched_lines_keep_their_formatting(project_dir: Path) -> None:
    before = (project_dir / "contacts" / "team.yaml").read_text().splitlines()
    project = load()
    adopt_changed(project, compute_drift(project.desired, REMOTE))
    after = (project_dir / "contacts" / "team.yaml").read_text().splitlines()
    removed = [
        line[1:]
        for line in difflib.unified_diff(before, after, lineterm="", n=0)
        if line.startswith("-") and not line.startswith("---")
    ]
    # Only the lines holding an adopted value changed.
    assert removed == [
        "    email: 'jordan@example.com'  # single-quoted on purpose",
        "    custom_fields: {seats: 120, renewal_on: 2027-03-01}",
        "      vip: false",
        '    phone: "+1 212 555 0143"',
        "    email: null  # must stay empty",
    ]


def test_plan_shows_no_changes_after_adopt(project_dir: Path) -> None:
    project = load()
    report = compute_drift(project.desired, REMOTE)
    assert [item.id for item in report.changed] == [1003, 1002, 1001]
    adopt_changed(project, report)

    reloaded = load()
    plan = compute_plan(reloaded.desired, REMOTE, PlanOptions())
    assert plan.count(Action.UPDATE) == 0
    assert plan.count(Action.CREATE) == 0
    after = compute_drift(reloaded.desired, REMOTE)
    assert after.changed == () and after.missing == ()


def test_value_from_defaults_is_written_on_the_contact(project_dir: Path) -> None:
    project = load()
    adopt_changed(project, compute_drift(project.desired, REMOTE))
    reloaded = load()
    by_phone = {c.phone: c for c in reloaded.desired.contacts}
    assert by_phone["+14155558765"].fields["company"] == "Globex"
    # The siblings still inherit the untouched defaults.
    assert by_phone["+16465550199"].fields["company"] == "Acme Corp"
    assert by_phone["+16465550199"].custom_fields["plan_tier"] == "Pro"
    assert by_phone["+14155559876"].custom_fields["plan_tier"] == "Enterprise"


def test_adopt_unmanaged_appends_and_then_plan_is_clean(project_dir: Path) -> None:
    project = load()
    report = compute_drift(project.desired, REMOTE)
    assert [c.id for c in report.unmanaged] == [1005]
    result = adopt_unmanaged(project, report, Path("contacts/adopted.yaml"))
    assert result.unmanaged_added == 1
    assert any("nickname" in line for line in result.skipped)
    text = (project_dir / "contacts" / "adopted.yaml").read_text()
    assert text == (
        "version: 1\n"
        "contacts:\n"
        '  - phone: "+13125550177"\n'
        "    first_name: Dana\n"
        "    last_name: Ortiz\n"
        "    email: dana@initech.example\n"
        "    custom_fields:\n"
        "      plan_tier: Free\n"
        "      seats: 3\n"
    )
    reloaded = load()
    assert compute_drift(reloaded.desired, REMOTE).unmanaged == ()


def test_adopt_unmanaged_into_a_file_outside_the_globs_adds_a_glob(project_dir: Path) -> None:
    project = load()
    report = compute_drift(project.desired, REMOTE)
    result = adopt_unmanaged(project, report, Path("more/new.yaml"))
    assert "jcstate.yaml" in result.files
    config = (project_dir / "jcstate.yaml").read_text()
    assert 'contacts: ["contacts/*.yaml", "more/*.yaml"]' in config
    assert config.startswith("# Adopt golden project")
    assert [c.phone for c in load().desired.contacts if c.phone == "+13125550177"]


def test_adopt_unmanaged_appends_to_an_existing_file_keeping_it(project_dir: Path) -> None:
    project = load()
    report = compute_drift(project.desired, REMOTE)
    before = (project_dir / "contacts" / "team.yaml").read_text()
    adopt_unmanaged(project, report, Path("contacts/team.yaml"))
    after = (project_dir / "contacts" / "team.yaml").read_text()
    assert after.startswith(before.rstrip("\n"))
    assert after.endswith(
        '  - phone: "+13125550177"\n    first_name: Dana\n'
        "    last_name: Ortiz\n    email: dana@initech.example\n"
        "    custom_fields:\n      plan_tier: Free\n      seats: 3\n"
    )


def test_a_value_cleared_remotely_is_adopted_as_null(project_dir: Path) -> None:
    project = load()
    cleared = RemoteState(
        tuple(
            contact(
                1001,
                "+14155559876",
                {"plan_tier": "Pro", "seats": None, "renewal_on": "2027-03-01"},
                first_name="Jordan",
                last_name="Lee",
                email=None,
                company="Acme Corp",
            )
            if c.id == 1001
            else c
            for c in REMOTE.contacts
        )
    )
    result = adopt_changed(project, compute_drift(project.desired, cleared))
    assert result.skipped == []
    text = (project_dir / "contacts" / "team.yaml").read_text()
    assert "    email: null                  # single-quoted on purpose\n" in text
    assert "    custom_fields: {seats: null, renewal_on: 2027-03-01}\n" in text
    reloaded = load()
    jordan = {c.phone: c for c in reloaded.desired.contacts}["+14155559876"]
    assert jordan.fields["email"] is None and jordan.custom_fields["seats"] is None
    assert not [c for c in compute_drift(reloaded.desired, cleared).changed if c.id == 1001]


def test_values_that_cannot_be_adopted_are_reported_not_written(project_dir: Path) -> None:
    project = load()
    bad = RemoteState(
        tuple(
            contact(1004, c.phone, {"plan_tier": "Gold"}, first_name="Marcus", last_name="Webb")
            if c.id == 1004
            else c
            for c in REMOTE.contacts
        )
    )
    before = (project_dir / "contacts" / "team.yaml").read_text()
    result = adopt_changed(project, compute_drift(project.desired, bad))
    assert any(
        line.startswith("+16465550199: custom_fields.plan_tier not adopted") and "Gold" in line
        for line in result.skipped
    )
    after = (project_dir / "contacts" / "team.yaml").read_text()
    assert "Gold" not in after
    # Marcus's other drift (company cleared remotely) is still adopted.
    assert "    company: null\n" in after and after != before


CANONICAL_TEAM = (
    "version: 1\n"
    "contacts:\n"
    '  - phone: "+14155559876"\n'
    "    first_name: Jordan  # the founder\n"
    "    last_name: Lee\n"
    "    company: Acme Corp\n"
    "    custom_fields:\n"
    "      plan_tier: Pro\n"
    "      seats: 120\n"
    "  # the second one\n"
    '  - phone: "+14155558765"\n'
    "    first_name: Sam\n"
    "    custom_fields:\n"
    "      plan_tier: Pro\n"
    "\n"
    '  - phone: "+16465550199"\n'
    "    first_name: Marcus\n"
)


def _adopted_text(project_dir: Path, *, whole_file: bool, monkeypatch: pytest.MonkeyPatch) -> str:
    from jcstate.project import adopt as adopt_module

    team = project_dir / "contacts" / "team.yaml"
    team.write_text(CANONICAL_TEAM)
    project = load()
    report = compute_drift(project.desired, REMOTE)
    with monkeypatch.context() as patched:
        if whole_file:
            patched.setattr(adopt_module, "split_contacts", lambda _text: None)
        else:

            def refuse(*_args: Any) -> Any:
                raise AssertionError("the whole file was loaded")

            patched.setattr(adopt_module, "load_for_edit", refuse)
        result = adopt_changed(project, report)
    assert result.files == ["contacts/team.yaml"]
    return team.read_text()


def test_a_contact_is_adopted_on_its_own_lines_as_the_whole_file_round_trip_would(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alone = _adopted_text(project_dir, whole_file=False, monkeypatch=monkeypatch)
    whole = _adopted_text(project_dir, whole_file=True, monkeypatch=monkeypatch)
    assert alone == whole
    assert "    first_name: Jordan  # the founder\n" in alone
    assert "  # the second one\n" in alone
    assert alone != CANONICAL_TEAM
    reloaded = load()
    assert compute_drift(reloaded.desired, REMOTE).changed == ()

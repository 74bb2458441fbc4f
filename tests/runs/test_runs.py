"""A plan run and an apply run, called as a command calls them (sandbox:// in-process).

What the user sees and answers goes through the UI the command hands in; these
tests hand in one that records the calls.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from jcstate.core.changeset import ChangedSince
from jcstate.core.model import Project
from jcstate.core.outcome import ItemResult, Outcome
from jcstate.core.plan import Plan
from jcstate.errors import ApplyError
from jcstate.project.config import load_project
from jcstate.remote.client import ClientSettings, JustCallClient, resolve_settings
from jcstate.remote.listing import ProgressFactory
from jcstate.remote.pipeline import PlanRun
from jcstate.runs.apply import ApplyRequest, Tally, apply_project
from jcstate.runs.plan import changed_scope, plan_options, plan_project
from tests.e2e.test_apply_e2e import people, write_project


class Recorder:
    """An ApplyUI that writes nothing and remembers what it was told."""

    listing_progress: ProgressFactory | None = None

    def __init__(self, *, refuse: bool = False) -> None:
        self.calls: list[str] = []
        self.shown: list[Plan] = []
        self.items: list[ItemResult] = []
        self.refuse = refuse

    def no_changes(self, plan: Plan, changed: ChangedSince | None) -> None:
        self.calls.append("no_changes")

    def show_plan(self, plan: Plan, changed: ChangedSince | None) -> None:
        self.calls.append("show_plan")
        self.shown.append(plan)

    def confirm(self) -> None:
        self.calls.append("confirm")
        if self.refuse:
            raise ApplyError("apply cancelled (only 'yes' approves)")

    def start(self, total: int) -> None:
        self.calls.append(f"start {total}")

    def on_item(self, item: ItemResult) -> None:
        self.items.append(item)

    def finish(self) -> None:
        self.calls.append("finish")


def project_of(root: Path, size: int) -> tuple[Project, ClientSettings]:
    write_project(root, people(range(size)))
    project = load_project(root, cwd=root)
    settings = resolve_settings(project, api_url="sandbox://sandbox.db", env={})
    return project, settings


def plan_of(project: Project, settings: ClientSettings, **kwargs: Any) -> PlanRun:
    async def run() -> PlanRun:
        async with JustCallClient(settings) as client:
            return await plan_project(project, client, plan_options(project), **kwargs)

    return asyncio.run(run())


def test_an_apply_run_shows_asks_then_writes_and_reports(tmp_path: Path) -> None:
    project, settings = project_of(tmp_path / "project", 3)
    ui, tally = Recorder(), Tally()

    result = apply_project(project, ApplyRequest(), settings, ui, tally)

    assert ui.calls == ["show_plan", "confirm", "start 3", "finish"]
    assert ui.shown[0].summary["create"] == 3
    assert [item.outcome for item in ui.items] == [Outcome.CREATED] * 3
    assert result.report.ok and result.report.summary["created"] == 3
    assert not result.nothing_to_do
    assert (tally.total, tally.applied, tally.started) == (3, 3, True)
    assert len(list((tmp_path / "project" / ".jcstate" / "journal").glob("*.jsonl"))) == 1

    again, tally = Recorder(), Tally()
    result = apply_project(project, ApplyRequest(), settings, again, tally)
    assert again.calls == ["no_changes"]
    assert result.nothing_to_do and result.report.ok and result.report.items == ()
    assert not tally.started


def test_an_apply_the_user_refuses_sends_nothing_and_frees_the_lock(tmp_path: Path) -> None:
    project, settings = project_of(tmp_path / "project", 2)
    ui = Recorder(refuse=True)

    with pytest.raises(ApplyError, match="apply cancelled"):
        apply_project(project, ApplyRequest(), settings, ui, Tally())

    assert ui.calls == ["show_plan", "confirm"]
    assert plan_of(project, settings).plan.summary["create"] == 2  # nothing was written
    # The lock was released: the next run goes ahead.
    result = apply_project(project, ApplyRequest(), settings, Recorder(), Tally())
    assert result.report.summary["created"] == 2


def test_a_plan_run_is_the_same_plan_whatever_the_refresh(tmp_path: Path) -> None:
    project, settings = project_of(tmp_path / "project", 4)
    full = plan_of(project, settings, refresh="full")
    targeted = plan_of(project, settings, refresh="targeted")
    assert full.plan.changes == targeted.plan.changes
    assert full.plan.summary["create"] == 4
    assert full.remote.complete and not targeted.remote.complete
    assert full.changed_since is None and changed_scope(project, None) is None
    assert {"fetch", "diff"} <= set(full.timings)

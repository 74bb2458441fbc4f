"""Property: a rule that holds never changes what a valid project plans (hypothesis).

For any declared and remote state, a project with rules that hold (written so
that they hold for every contact and plan the strategies make) plans exactly
the changes, verdict and summary of the same project without rules, reports
no violation, and is never refused by apply.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from jcstate.core.model import DesiredState, Project, ProjectConfig, RemoteState, RuleConfig
from jcstate.core.plan import PlanOptions
from jcstate.core.rules import compile_rules
from jcstate.runs.rules import refuse_broken_rules, with_rules
from tests.core.test_plan_properties import DEFS, desired_states, remote_states
from tests.support.plans import plan_of_a_valid_project

HOLDING = [
    RuleConfig(name="e164", require='contact.phone.startsWith("+1")', message="m"),
    RuleConfig(
        name="seats",
        when="has(contact.custom_fields.seats)",
        require="contact.custom_fields.seats >= 0",
        message="m",
        level="warning",
    ),
    RuleConfig(
        name="tier",
        require='!has(contact.custom_fields.tier) || contact.custom_fields.tier in ["Free", "Pro"]',
        message="m",
    ),
    RuleConfig(
        name="bounded",
        on="plan",
        require="plan.creates.size() + plan.updates.size() + plan.deletes.size() <= 100",
        message="m",
    ),
    RuleConfig(
        name="deletes-had-a-phone",
        on="plan",
        require=(
            "plan.deletes.all(d, has(d.before.phone)) && plan.creates.all(c, has(c.after.phone))"
        ),
        message="m",
    ),
]


def _project(desired: DesiredState, rules: list[RuleConfig]) -> Project:
    config = ProjectConfig(version=1, custom_fields=DEFS, rules=rules)
    return Project(
        root=Path("."),
        config_path=Path("jcstate.yaml"),
        config=config,
        contact_files=(),
        desired=desired,
        digest="",
        rule_marks=tuple((i + 1, 5) for i in range(len(rules))),
    )


def test_the_holding_rules_are_valid_rules() -> None:
    assert compile_rules(HOLDING, DEFS) == []


@settings(max_examples=60, deadline=None)
@given(data=st.data(), prune=st.booleans(), ownership=st.booleans())
def test_a_rule_that_holds_never_changes_the_plan(
    data: st.DataObject, prune: bool, ownership: bool
) -> None:
    remote: RemoteState = data.draw(remote_states(ownership))
    desired: DesiredState = data.draw(desired_states(len(remote.contacts), ownership))
    plan = plan_of_a_valid_project(desired, remote, PlanOptions(prune=prune))

    ruled = with_rules(_project(desired, HOLDING), plan, remote.contacts)
    assert ruled.rule_violations == ()
    assert dataclasses.replace(ruled, rule_violations=None) == plan
    refuse_broken_rules(ruled, ())  # never refused

    unruled = with_rules(_project(desired, []), plan, remote.contacts)
    assert unruled == plan

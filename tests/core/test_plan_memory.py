"""What a plan holds in memory (issue 24: any command at 300,000 contacts under 1 GB).

A plan of 300,000 changes is held whole while it is rendered, beside the declared
contacts and the listed account it was computed from. These tests count the bytes
the plan itself adds (tracemalloc, after the contacts exist: no timing), and check
that what it keeps less of reads back exactly as before: the same field changes,
the same JSON, the same plan file.
"""

from __future__ import annotations

import dataclasses
import gc
import tracemalloc
from collections.abc import Callable

from jcstate.core.model import (
    CustomFieldDef,
    DesiredContact,
    DesiredState,
    Ownership,
    RemoteContact,
    RemoteState,
    Safety,
    SourceRef,
)
from jcstate.core.plan import Action, FieldChange, Plan, PlanOptions, compute_plan
from jcstate.core.planjson import plan_from_dict, plan_to_dict
from jcstate.sandbox.seeddata import generated_contact

COUNT = 2_000
STANDARD = ("first_name", "last_name", "email", "company")
DEFS = {
    "lead_source": CustomFieldDef(type="enum", values=["Website", "Referral", "Event"]),
    "plan_tier": CustomFieldDef(type="enum", values=["Free", "Pro", "Enterprise", "Premium"]),
    "seats": CustomFieldDef(type="integer"),
}
NO_LIMITS = Safety(max_delete_percent=100, max_update_percent=100, min_existing=0)


def _declared(index: int) -> DesiredContact:
    raw = generated_contact(index, custom_fields=True)
    return DesiredContact(
        phone=raw["phone"],
        fields={name: raw[name] for name in STANDARD},
        custom_fields=dict(raw["custom_fields"]),
        source=SourceRef("contacts/all.yaml", 3 + 7 * index),
    )


def _listed(index: int) -> RemoteContact:
    raw = generated_contact(index, custom_fields=True)
    return RemoteContact(
        id=index + 1,
        phone=raw["phone"],
        fields={name: raw[name] for name in STANDARD},
        custom_fields=dict(raw["custom_fields"]),
        created_at="2026-01-02T03:04:05Z",
        updated_at=f"2026-02-03T04:05:{index % 60:02d}Z",
    )


def _creates() -> tuple[DesiredState, RemoteState]:
    desired = DesiredState(
        tuple(_declared(i) for i in range(COUNT)), custom_field_defs=DEFS, safety=NO_LIMITS
    )
    return desired, RemoteState(())


def _deletes() -> tuple[DesiredState, RemoteState]:
    desired = DesiredState((_declared(COUNT),), custom_field_defs=DEFS, safety=NO_LIMITS)
    return desired, RemoteState(tuple(_listed(i) for i in range(COUNT + 1)))


def _held_per_change(make: Callable[[], tuple[DesiredState, RemoteState]]) -> float:
    """Bytes the plan keeps alive beyond its inputs, per change."""
    desired, remote = make()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        plan = compute_plan(desired, remote, PlanOptions(prune=True))
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(plan.changes) == COUNT
    return held / COUNT


def test_a_delete_keeps_little_more_than_its_target_and_fingerprint() -> None:
    # It used to keep a field change (and a fresh "custom_fields.KEY" string) for
    # every non-empty field of the contact it deletes: about 1,000 bytes a delete.
    assert _held_per_change(_deletes) < 300


def test_a_create_keeps_little_more_than_its_body() -> None:
    # The body is what is sent; the field changes were a second copy of it (about
    # 1,100 bytes a create in all).
    assert _held_per_change(_creates) < 700


def test_creates_and_deletes_read_their_field_changes_as_before() -> None:
    desired = DesiredState(
        (_declared(1),),
        custom_field_defs=DEFS,
        safety=NO_LIMITS,
        ownership=Ownership(field="managed_by", value="jcstate"),
    )
    listed = _listed(7)
    gone = dataclasses.replace(
        listed,
        fields={**listed.fields, "company": ""},  # an empty value is not a change
        custom_fields={**listed.custom_fields, "managed_by": "jcstate"},  # in scope: marked
    )
    plan = compute_plan(desired, RemoteState((gone,)), PlanOptions(prune=True))
    create, delete = plan.changes
    one, seven = generated_contact(1, custom_fields=True), generated_contact(7, custom_fields=True)
    assert create.action is Action.CREATE
    assert tuple(create.changes) == (
        *(FieldChange(name, None, one[name]) for name in STANDARD),
        FieldChange("custom_fields.lead_source", None, one["custom_fields"]["lead_source"]),
        FieldChange("custom_fields.managed_by", None, "jcstate"),
        FieldChange("custom_fields.plan_tier", None, one["custom_fields"]["plan_tier"]),
        FieldChange("custom_fields.seats", None, one["custom_fields"]["seats"]),
    )
    assert delete.action is Action.DELETE
    assert tuple(delete.changes) == (
        *(FieldChange(name, seven[name], None) for name in STANDARD[:3]),
        FieldChange("custom_fields.lead_source", seven["custom_fields"]["lead_source"], None),
        FieldChange("custom_fields.managed_by", "jcstate", None),
        FieldChange("custom_fields.plan_tier", seven["custom_fields"]["plan_tier"], None),
        FieldChange("custom_fields.seats", seven["custom_fields"]["seats"], None),
    )
    assert len(create.changes) == 8 and create.changes[-1].field == "custom_fields.seats"
    assert create.changes == tuple(create.changes) and delete.changes != create.changes
    assert dict(delete.body) == {}


def test_a_plan_read_back_from_its_json_equals_the_plan() -> None:
    desired, remote = _creates()
    plan = compute_plan(desired, RemoteState((_listed(COUNT + 1),)), PlanOptions(prune=True))
    again = plan_from_dict(plan_to_dict(plan))
    assert again.changes == plan.changes
    assert plan_to_dict(again) == plan_to_dict(plan)
    assert isinstance(again, Plan) and remote.contacts == ()

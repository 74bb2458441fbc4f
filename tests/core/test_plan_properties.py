"""Properties of compute_plan (hypothesis): convergence, normalisation, no prune no delete."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import strategies as st

from jcstate.core.model import (
    CustomFieldDef,
    DesiredContact,
    DesiredState,
    Ownership,
    RemoteContact,
    RemoteState,
    Safety,
)
from jcstate.core.plan import Action, Plan, PlanOptions, compute_plan
from tests.support.plans import plan_of_a_valid_project
from tests.support.properties import example_counts, run_property

DEFS = {
    "tier": CustomFieldDef(type="enum", values=["Free", "Pro"]),
    "seats": CustomFieldDef(type="integer"),
    "score": CustomFieldDef(type="number"),
    "vip": CustomFieldDef(type="boolean"),
    "renewal_on": CustomFieldDef(type="date"),
    "note": CustomFieldDef(type="string"),
}
PHONES = [f"+1415555{n:04d}" for n in range(100, 112)]
OWN = Ownership(field="managed_by", value="ops")
LOOSE = Safety(max_delete_percent=100, max_update_percent=100, min_existing=0)

text = st.sampled_from(["Jordan", "Lee", "Acme Corp", "Sam"])
emails = st.sampled_from(["jordan@example.com", "sam@example.org"])
custom_values: dict[str, st.SearchStrategy[Any]] = {
    "tier": st.sampled_from(["Free", "Pro"]),
    "seats": st.integers(0, 500),
    "score": st.sampled_from([0, 1.5, 2, 99.25]),
    "vip": st.booleans(),
    "renewal_on": st.sampled_from(["2026-01-31", "2027-12-01"]),
    "note": st.sampled_from(["hello", "a b"]),
}


@st.composite
def declared_fields(draw: st.DrawFn) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in ("first_name", "last_name", "company"):
        if draw(st.booleans()):
            out[name] = draw(st.none() | text)
    if draw(st.booleans()):
        out["email"] = draw(st.none() | emails)
    return out


@st.composite
def declared_custom(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(sorted(DEFS)), unique=True, max_size=4))
    return {k: draw(st.none() | custom_values[k]) for k in keys}


@st.composite
def remote_states(draw: st.DrawFn, ownership: bool) -> RemoteState:
    count = draw(st.integers(0, 8))
    contacts = []
    for index in range(count):
        custom = {k: v for k, v in draw(declared_custom()).items() if v is not None}
        if draw(st.booleans()):
            custom["legacy_key"] = "x"
        if ownership and draw(st.booleans()):
            custom[OWN.field] = OWN.value
        fields: dict[str, str | None] = dict.fromkeys(
            ("first_name", "last_name", "email", "company")
        )
        fields.update(draw(declared_fields()))
        contacts.append(
            RemoteContact(
                id=index + 1,
                phone=draw(st.sampled_from(PHONES)),  # duplicates allowed
                fields=fields,
                custom_fields=custom,
            )
        )
    return RemoteState(contacts=tuple(contacts))


@st.composite
def desired_states(draw: st.DrawFn, remote_ids: int, ownership: bool) -> DesiredState:
    phones = draw(st.lists(st.sampled_from(PHONES), unique=True, max_size=8))
    # Pins name existing ids (a pin to a missing id is a user error, tested elsewhere).
    pin_pool = list(range(1, remote_ids + 1))
    pins: list[int] = (
        draw(st.lists(st.sampled_from(pin_pool), unique=True, max_size=len(phones)))
        if pin_pool
        else []
    )
    contacts = []
    for index, phone in enumerate(phones):
        pin = pins[index] if index < len(pins) and draw(st.booleans()) else None
        contacts.append(
            DesiredContact(
                phone=phone,
                fields=draw(declared_fields()),
                custom_fields=draw(declared_custom()),
                id=pin,
            )
        )
    return DesiredState(
        contacts=tuple(contacts),
        custom_field_defs=DEFS,
        ownership=OWN if ownership else None,
        safety=LOOSE,
    )


def apply_to_remote(remote: RemoteState, plan: Plan) -> RemoteState:
    """What the API does with the plan's requests, in order (PUT merges custom keys)."""
    contacts = {c.id: c for c in remote.contacts}
    next_id = max(contacts, default=0) + 1
    for change in plan.changes:
        if change.action is Action.CREATE:
            body = dict(change.body)
            fields = {n: body.get(n) for n in ("first_name", "last_name", "email", "company")}
            contacts[next_id] = RemoteContact(
                id=next_id,
                phone=body["phone"],
                fields=fields,
                custom_fields=dict(body.get("custom_fields", {})),
            )
            next_id += 1
        elif change.action is Action.UPDATE:
            assert change.id is not None
            old = contacts[change.id]
            patch = dict(change.body)
            custom = {**old.custom_fields, **patch.pop("custom_fields", {})}
            phone = patch.pop("phone", old.phone)
            contacts[change.id] = replace(
                old,
                phone=phone,
                fields={**old.fields, **patch},
                custom_fields={k: v for k, v in custom.items() if v is not None},
            )
        else:
            assert change.id is not None
            del contacts[change.id]
    return RemoteState(contacts=tuple(contacts.values()))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[DesiredState, RemoteState, bool]:
    ownership = draw(st.booleans())
    remote = draw(remote_states(ownership))
    desired = draw(desired_states(len(remote.contacts), ownership))
    return desired, remote, draw(st.booleans())


@pytest.mark.parametrize("examples", example_counts(150))
def test_applying_a_plan_converges(examples: int) -> None:
    def check(scenario: tuple[DesiredState, RemoteState, bool]) -> None:
        desired, remote, prune = scenario
        options = PlanOptions(prune=prune)
        plan = plan_of_a_valid_project(desired, remote, options)
        after = apply_to_remote(remote, plan)
        again = compute_plan(desired, after, options)
        assert again.changes == (), again.changes
        assert again.unchanged == len(desired.contacts)

    run_property(check, examples, scenarios())


@pytest.mark.parametrize("examples", example_counts(150))
def test_without_prune_nothing_is_deleted(examples: int) -> None:
    def check(scenario: tuple[DesiredState, RemoteState, bool]) -> None:
        desired, remote, _ = scenario
        plan = plan_of_a_valid_project(desired, remote, PlanOptions(prune=False))
        assert plan.count(Action.DELETE) == 0

    run_property(check, examples, scenarios())


def _reformat(value: Any, key: str, draw: st.DrawFn) -> Any:
    """The same value as an API might send it back: other type, spacing, case."""
    kind = DEFS[key].type
    if kind == "integer":
        return draw(st.sampled_from([value, str(value), f" {value} ", float(value)]))
    if kind == "number":
        return draw(st.sampled_from([value, str(value), float(value)]))
    if kind == "boolean":
        words = ["true", "yes", "1", "on"] if value else ["false", "no", "0", "off"]
        return draw(st.sampled_from([value, *words, *(w.upper() for w in words)]))
    if kind == "date":
        return draw(st.sampled_from([value, f"{value}T00:00:00Z", f" {value} "]))
    return draw(st.sampled_from([value, f"  {value} "]))


@st.composite
def reformatted(draw: st.DrawFn) -> tuple[DesiredState, RemoteState]:
    desired = draw(desired_states(0, False))
    desired = replace(desired, contacts=tuple(replace(c, id=None) for c in desired.contacts))
    contacts = []
    for index, contact in enumerate(desired.contacts):
        fields: dict[str, Any] = {}
        for name, value in contact.fields.items():
            if value is None:
                fields[name] = draw(st.sampled_from([None, "", "   "]))
            elif name == "email":
                fields[name] = draw(st.sampled_from([value, value.upper(), f" {value}"]))
            else:
                fields[name] = draw(st.sampled_from([value, f" {value}  "]))
        custom = {
            key: (
                draw(st.sampled_from([None, ""])) if value is None else _reformat(value, key, draw)
            )
            for key, value in contact.custom_fields.items()
        }
        contacts.append(
            RemoteContact(id=index + 1, phone=contact.phone, fields=fields, custom_fields=custom)
        )
    return desired, RemoteState(contacts=tuple(contacts))


@pytest.mark.parametrize("examples", example_counts(150))
def test_formatting_alone_is_never_a_change(examples: int) -> None:
    def check(scenario: tuple[DesiredState, RemoteState]) -> None:
        desired, remote = scenario
        plan = compute_plan(desired, remote, PlanOptions())
        assert plan.changes == ()
        assert plan.unchanged == len(desired.contacts)

    run_property(check, examples, reformatted())

"""The drift report core: pure, on hand-built desired and remote values."""

from __future__ import annotations

from typing import Any

import pytest

from jcstate.core.drift import compute_drift
from jcstate.core.model import (
    CustomFieldDef,
    DesiredContact,
    DesiredState,
    Ownership,
    RemoteContact,
    RemoteState,
)
from jcstate.errors import IncompleteListingError
from tests.support import builders
from tests.support.builders import declared

DEFS = {
    "plan_tier": CustomFieldDef(type="enum", values=["Free", "Pro", "Enterprise"]),
    "seats": CustomFieldDef(type="integer"),
}


def remote(
    id: int, phone: str, *, custom: dict[str, Any] | None = None, **fields: str | None
) -> RemoteContact:
    return builders.remote(id, phone, custom, updated_at=f"2026-03-1{id % 10}T10:00:00Z", **fields)


def state(*contacts: DesiredContact, ownership: Ownership | None = None) -> DesiredState:
    return DesiredState(contacts=contacts, custom_field_defs=DEFS, ownership=ownership)


def test_identical_states_are_in_sync_with_full_coverage() -> None:
    desired = state(declared("+14155550101", first_name="Ann", custom={"seats": 3}))
    report = compute_drift(
        desired,
        RemoteState((remote(1, "+14155550101", first_name=" Ann ", custom={"seats": "3"}),)),
    )
    assert report.in_sync
    assert report.coverage_percent == 100.0
    assert (report.managed, report.in_scope) == (1, 1)


def test_changed_field_names_declared_and_remote_values_and_when() -> None:
    desired = state(
        declared("+14155550101", 7, email="ann@example.com", custom={"plan_tier": "Pro"})
    )
    remote_state = RemoteState(
        (
            remote(
                4,
                "+14155550101",
                email="Ann@Other.example",
                custom={"plan_tier": "Enterprise"},
            ),
        )
    )
    report = compute_drift(desired, remote_state)
    assert not report.in_sync
    (item,) = report.changed
    assert (item.phone, item.id, item.when) == ("+14155550101", 4, "2026-03-14T10:00:00Z")
    assert str(item.source) == "contacts/team.yaml:7"
    assert [(f.field, f.declared, f.remote) for f in item.fields] == [
        ("email", "ann@example.com", "ann@other.example"),
        ("custom_fields.plan_tier", "Pro", "Enterprise"),
    ]


def test_unmanaged_fields_never_drift() -> None:
    desired = state(declared("+14155550101", first_name="Ann"))
    report = compute_drift(
        desired,
        RemoteState((remote(1, "+14155550101", first_name="Ann", email="x@example.com"),)),
    )
    assert report.in_sync


def test_remote_value_is_typed_by_its_declaration() -> None:
    desired = state(declared("+14155550101", custom={"seats": 3}))
    report = compute_drift(
        desired, RemoteState((remote(1, "+14155550101", custom={"seats": "12"}),))
    )
    (field,) = report.changed[0].fields
    assert field.remote == 12
    assert field.adoptable


def test_remote_value_that_breaks_its_type_is_not_adoptable() -> None:
    desired = state(declared("+14155550101", custom={"plan_tier": "Pro"}))
    report = compute_drift(
        desired, RemoteState((remote(1, "+14155550101", custom={"plan_tier": "Gold"}),))
    )
    (field,) = report.changed[0].fields
    assert field.remote == "Gold"
    assert not field.adoptable
    assert field.note is not None and "Gold" in field.note


def test_missing_and_unmanaged_and_coverage() -> None:
    desired = state(
        declared("+14155550101", first_name="Ann"),
        declared("+14155550102", 9, first_name="Bob"),
    )
    remote_state = RemoteState(
        (
            remote(1, "+14155550101", first_name="Ann"),
            remote(2, "+14155550199", first_name="Zed"),
            remote(3, "+14155550150", first_name="Yan"),
        )
    )
    report = compute_drift(desired, remote_state)
    assert [(m.phone, str(m.source)) for m in report.missing] == [
        ("+14155550102", "contacts/team.yaml:9")
    ]
    assert [c.phone for c in report.unmanaged] == ["+14155550150", "+14155550199"]
    assert (report.managed, report.in_scope) == (1, 3)
    assert report.coverage_percent == 33.3


def test_ownership_limits_unmanaged_to_marked_contacts() -> None:
    owner = Ownership(field="managed_by", value="sales-ops")
    desired = state(declared("+14155550101", first_name="Ann"), ownership=owner)
    remote_state = RemoteState(
        (
            remote(1, "+14155550101", first_name="Ann", custom={"managed_by": "sales-ops"}),
            remote(2, "+14155550102", custom={"managed_by": "sales-ops", "nickname": "B"}),
            remote(3, "+14155550103", custom={"nickname": "C"}),
        )
    )
    report = compute_drift(desired, remote_state)
    assert [c.id for c in report.unmanaged] == [2]
    assert (report.managed, report.in_scope) == (1, 2)
    # The marker is jcstate's own, not an undeclared key; keys of unowned contacts don't count.
    assert [(k.key, k.contacts) for k in report.undeclared_custom_fields] == [("nickname", 1)]


def test_missing_ownership_marker_is_drift_but_not_adoptable() -> None:
    owner = Ownership(field="managed_by", value="sales-ops")
    desired = state(declared("+14155550101", first_name="Ann"), ownership=owner)
    report = compute_drift(desired, RemoteState((remote(1, "+14155550101", first_name="Ann"),)))
    (field,) = report.changed[0].fields
    assert field.field == "custom_fields.managed_by"
    assert not field.adoptable
    # An unmarked contact that a declaration matches is still in scope and managed.
    assert (report.managed, report.in_scope) == (1, 1)


def test_undeclared_custom_keys_are_drift() -> None:
    desired = state(declared("+14155550101", first_name="Ann"))
    remote_state = RemoteState(
        (remote(1, "+14155550101", first_name="Ann", custom={"nickname": "A", "empty": ""}),)
    )
    report = compute_drift(desired, remote_state)
    assert not report.in_sync
    assert [k.key for k in report.undeclared_custom_fields] == ["nickname"]


def test_id_pin_reports_a_remote_phone_change() -> None:
    desired = state(declared("+14155550101", id=5, first_name="Ann"))
    report = compute_drift(desired, RemoteState((remote(5, "+14155550177", first_name="Ann"),)))
    (item,) = report.changed
    assert item.declared_id == 5
    assert [(f.field, f.declared, f.remote) for f in item.fields] == [
        ("phone", "+14155550101", "+14155550177")
    ]
    assert not report.unmanaged and not report.missing


def test_remote_duplicates_match_lowest_id_and_the_other_is_unmanaged() -> None:
    desired = state(declared("+14155550101", first_name="Ann"))
    report = compute_drift(
        desired,
        RemoteState(
            (
                remote(9, "+14155550101", first_name="Ann"),
                remote(3, "+14155550101", first_name="Ann"),
            )
        ),
    )
    assert [c.id for c in report.unmanaged] == [9]
    assert [(c.phone, c.ids) for c in report.conflicts] == [("+14155550101", (3, 9))]


def test_partial_listing_is_refused() -> None:
    with pytest.raises(IncompleteListingError):
        compute_drift(state(), RemoteState((), complete=False))


def test_empty_account_and_no_declarations_is_in_sync() -> None:
    report = compute_drift(state(), RemoteState(()))
    assert report.in_sync
    assert report.coverage_percent == 100.0


def test_coverage_never_rounds_up_to_100_percent() -> None:
    # 3,010 of 3,011 contacts managed is 99.97%: shown as 99.9%, never 100.0%.
    phones = [f"+1415555{index:04d}" for index in range(3011)]
    desired = state(*(declared(phone) for phone in phones[:3010]))
    report = compute_drift(
        desired, RemoteState(tuple(remote(i + 1, phone) for i, phone in enumerate(phones)))
    )
    assert (report.managed, report.in_scope) == (3010, 3011)
    assert report.coverage_percent == 99.9

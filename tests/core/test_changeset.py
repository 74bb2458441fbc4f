"""The changed set of `--changed-since` and its plan: pure values, no git, no HTTP.

The declarations are resolved by the real validator (defaults merged, phones
normalised, custom values typed), as the loaders do for both sides.
"""

from __future__ import annotations

from typing import Any

import pytest

from jcstate.core.changeset import (
    ChangedSince,
    ChangeSet,
    changed_since_from_dict,
    changed_since_record,
    compute_changeset,
    identities,
    plan_changed,
    widen_reason,
)
from jcstate.core.model import (
    DesiredContact,
    DesiredState,
    Ownership,
    ProjectConfig,
    RemoteContact,
    RemoteState,
    Safety,
)
from jcstate.core.plan import Action, PlanOptions
from jcstate.errors import PlanFileError
from jcstate.project.validate import ContactsDoc, build_desired_state, check_contacts
from tests.support import builders

CONFIG: dict[str, Any] = {
    "version": 1,
    "custom_fields": {"seats": {"type": "integer"}, "tier": {"type": "enum", "values": ["A"]}},
}


def resolve(files: dict[str, dict[str, Any]], **config: Any) -> DesiredState:
    parsed = ProjectConfig.model_validate({**CONFIG, **config})
    docs = [ContactsDoc(name, data) for name, data in files.items()]
    contacts, issues = check_contacts(parsed, docs)
    assert issues == []
    return build_desired_state(parsed, contacts)


def doc(*contacts: dict[str, Any], **defaults: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"version": 1, "contacts": list(contacts)}
    if defaults:
        data["defaults"] = defaults
    return data


A = {"phone": "+14155550101", "first_name": "Ann"}
B = {"phone": "+14155550102", "first_name": "Bob", "custom_fields": {"seats": 3}}
C = {"phone": "+14155550103", "first_name": "Cy", "company": "Own"}


def diff(base: DesiredState, current: DesiredState) -> ChangeSet:
    return compute_changeset(base.contacts, current.contacts)


def test_moving_reordering_and_rewriting_phones_change_nothing() -> None:
    base = resolve({"a.yaml": doc(A, B), "b.yaml": doc(C)})
    rewritten = {**A, "phone": "(415) 555-0101"}
    current = resolve({"b.yaml": doc(C, B), "c.yaml": doc(rewritten)})
    assert diff(base, current).size == 0


def test_a_field_change_an_addition_and_a_removal_are_the_changed_set() -> None:
    base = resolve({"a.yaml": doc(A, B, C)})
    new = {"phone": "+14155550104", "first_name": "Di"}
    current = resolve({"a.yaml": doc({**A, "first_name": "Anne"}, C, new)})
    changes = diff(base, current)
    assert [c.phone for c in changes.changed] == ["+14155550101"]
    assert [c.phone for c in changes.added] == ["+14155550104"]
    assert [c.phone for c in changes.removed] == ["+14155550102"]
    assert changes.size == 3


def test_omitted_and_null_are_different_declarations() -> None:
    base = resolve({"a.yaml": doc(A)})
    current = resolve({"a.yaml": doc({**A, "email": None})})
    assert [c.phone for c in diff(base, current).changed] == [A["phone"]]


def test_a_defaults_change_touches_only_the_contacts_whose_value_changes() -> None:
    base = resolve({"a.yaml": doc(A, C), "b.yaml": doc(B)})
    current = resolve({"a.yaml": doc(A, C, company="Acme"), "b.yaml": doc(B)})
    changes = diff(base, current)
    assert identities(changes.changed) == {("phone", A["phone"])}  # C keeps its own company
    assert changes.added == () and changes.removed == ()


def test_a_custom_field_type_change_touches_only_the_contacts_with_that_field() -> None:
    base = resolve({"a.yaml": doc(A, B)})
    current = resolve(
        {"a.yaml": doc(A, B)},
        custom_fields={"seats": {"type": "string"}, "tier": {"type": "enum", "values": ["A"]}},
    )
    assert [c.phone for c in diff(base, current).changed] == [B["phone"]]  # 3 -> "3"
    widened_enum = resolve(
        {"a.yaml": doc(A, B)},
        custom_fields={
            "seats": {"type": "integer"},
            "tier": {"type": "enum", "values": ["A", "B"]},
        },
    )
    assert diff(base, widened_enum).size == 0


def test_a_value_equal_across_types_is_still_a_change() -> None:
    one = DesiredContact(phone="+14155550101", fields={}, custom_fields={"x": 1})
    true = DesiredContact(phone="+14155550101", fields={}, custom_fields={"x": True})
    assert compute_changeset([one], [true]).changed == (true,)


def test_id_pins_are_the_identity() -> None:
    pinned = DesiredContact(phone="+14155550101", fields={}, custom_fields={}, id=7)
    moved = DesiredContact(phone="+14155550109", fields={}, custom_fields={}, id=7)
    changes = compute_changeset([pinned], [moved])
    assert changes.changed == (moved,) and changes.added == () and changes.removed == ()
    # Pinning an existing contact is a change of that contact, not a delete and a create.
    plain = DesiredContact(phone="+14155550101", fields={}, custom_fields={})
    changes = compute_changeset([plain], [pinned])
    assert changes.changed == (pinned,) and changes.removed == ()
    # Another pin on the same phone is another contact.
    other = DesiredContact(phone="+14155550101", fields={}, custom_fields={}, id=8)
    changes = compute_changeset([pinned], [other])
    assert changes.added == (other,) and changes.removed == (pinned,)


def test_widening_reasons() -> None:
    config = ProjectConfig.model_validate(CONFIG)
    owned = config.model_copy(update={"ownership": Ownership(field="managed_by", value="ops")})
    moved = ProjectConfig.model_validate({**CONFIG, "api": {"url": "sandbox://x.db"}})
    assert widen_reason(config, config, "main") is None
    assert widen_reason(None, config, "main") == "jcstate.yaml did not exist at main"
    assert widen_reason(config, owned, "main") == "ownership changed"
    assert widen_reason(config, moved, "main") == "the API URL changed"
    safer = config.model_copy(update={"safety": Safety(max_delete_percent=1)})
    assert widen_reason(config, safer, "main") is None


def remote(contact_id: int, phone: str, **custom: Any) -> RemoteContact:
    return builders.remote(contact_id, phone, custom, first_name="Old")


def state(*contacts: DesiredContact, **safety: Any) -> DesiredState:
    return builders.state(*contacts, min_existing=0, **safety)


def contact(phone: str, name: str = "Old") -> DesiredContact:
    return DesiredContact(phone=phone, fields={"first_name": name}, custom_fields={})


P1, P2, P3, P4 = "+14155550101", "+14155550102", "+14155550103", "+14155550104"


def test_only_contacts_no_longer_declared_are_delete_candidates() -> None:
    changes = ChangeSet(changed=(contact(P1, "New"),), removed=(contact(P2),))
    listing = RemoteState(
        contacts=(remote(1, P1), remote(2, P2), remote(3, P3), remote(4, P4)), complete=True
    )
    current = state(contact(P1, "New"), contact(P3))
    pruned = plan_changed(current, changes, listing, PlanOptions(prune=True), base_declared=3)
    assert [(c.action, c.id) for c in pruned.changes] == [(Action.UPDATE, 1), (Action.DELETE, 2)]
    # P4 is not declared either, but the changed set does not name it.
    assert pruned.not_declared == 0 and pruned.safe is False  # 1 of 4 deletes > 10%
    kept = plan_changed(current, changes, listing, PlanOptions(), base_declared=3)
    assert [c.action for c in kept.changes] == [Action.UPDATE]
    assert f"{P2} (id 2): no longer declared; deleted only with --prune" in kept.notes
    assert not any("not declared (use --prune" in note for note in kept.notes)


def test_protected_owned_and_still_declared_contacts_are_never_deleted() -> None:
    owner = Ownership(field="managed_by", value="ops")
    changes = ChangeSet(removed=(contact(P1), contact(P2), contact(P3)))
    looked_up = RemoteState(
        contacts=(
            remote(1, P1, managed_by="ops"),
            remote(2, P2, managed_by="ops"),
            remote(3, P3),
        ),
        complete=False,
    )
    current = DesiredState(
        contacts=tuple(contact(f"+1415555{n:04d}") for n in range(200, 260)),
        ownership=owner,
        safety=Safety(protected=["+1 415 555 0102"]),
    )
    plan = plan_changed(current, changes, looked_up, PlanOptions(prune=True), base_declared=60)
    assert [(c.action, c.id) for c in plan.changes] == [(Action.DELETE, 1)]
    assert any(P2 in w and "protected" in w for w in plan.warnings)
    assert any(P3 in n and "not marked managed_by: ops" in n for n in plan.notes)
    assert plan.safe is True  # 1 of 60 in scope (the base's declared contacts)


def test_thresholds_count_against_the_account_not_the_lookups() -> None:
    changed = tuple(contact(f"+1415555{n:04d}", "New") for n in range(100, 150))
    looked_up = RemoteState(
        contacts=tuple(remote(i + 1, c.phone) for i, c in enumerate(changed)),
        complete=False,
        total=10_000,
    )
    current = state(*changed)
    plan = plan_changed(
        current, ChangeSet(changed=changed), looked_up, PlanOptions(), base_declared=50
    )
    assert plan.summary["update"] == 50
    assert plan.safe is True  # 50 of 10,000, not 50 of the 50 looked up
    small = dataclass_replace_total(looked_up, 100)
    assert (
        plan_changed(
            current, ChangeSet(changed=changed), small, PlanOptions(), base_declared=50
        ).safe
        is False
    )


def dataclass_replace_total(remote_state: RemoteState, total: int) -> RemoteState:
    return RemoteState(contacts=remote_state.contacts, complete=False, total=total)


def test_the_changed_since_line() -> None:
    record = changed_since_record(
        "origin/main",
        "a1b2c3d4" * 5,
        ChangeSet(changed=(contact(P1), contact(P2)), removed=(contact(P3),)),
        20_001,
    )
    assert record.line() == (
        "Changed since origin/main (a1b2c3d): 3 contacts; 19,999 declared contacts were read "
        "from the files, not fetched (drift there is reported by jcstate drift)."
    )
    one = ChangedSince(ref="main", commit="f" * 40, contacts=1, not_read=1)
    assert one.line().startswith(
        "Changed since main (fffffff): 1 contact; 1 declared contact was read from the files, "
        "not fetched"
    )
    wide = changed_since_record("main", "0" * 40, None, 5, widened="ownership changed")
    assert wide.line() == (
        "Changed since main (0000000): ownership changed, so the plan cannot be narrowed; "
        "full refresh of all 5 declared contacts."
    )
    assert changed_since_from_dict(record.to_dict()) == record
    assert changed_since_from_dict(None) is None
    with pytest.raises(PlanFileError):
        changed_since_from_dict({"ref": "main"})

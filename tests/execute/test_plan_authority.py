"""A saved plan is data, never authority: forged entries are refused (pure).

Each forgery is what an attacker with write access to the plan file can do:
add or change entries and recompute their fingerprints with the same
(unkeyed) hashing code jcstate uses.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from jcstate.core.model import (
    DesiredContact,
    DesiredState,
    Ownership,
    RemoteContact,
    RemoteState,
    fingerprint,
)
from jcstate.core.plan import Action, Change, Plan, PlanOptions, compute_plan
from jcstate.execute.authority import (
    Reconciled,
    RefusedEntry,
    StaleContact,
    reconcile,
    refused_message,
)
from tests.support import builders
from tests.support.builders import account, phone, state


def declared(n: int, **fields: str | None) -> DesiredContact:
    return DesiredContact(
        phone=phone(n), fields={"first_name": f"First{n}", **fields}, custom_fields={}
    )


def remote(n: int, contact_id: int | None = None, **custom: Any) -> RemoteContact:
    contact_id = contact_id if contact_id is not None else 100 + n
    return builders.remote(contact_id, phone(n), custom, first_name=f"First{n}")


def forged_delete(contact: RemoteContact) -> Change:
    """What an attacker adds: a delete with the fingerprint recomputed."""
    return Change(Action.DELETE, contact.phone, contact.id, {}, fingerprint=fingerprint(contact))


def recheck(
    saved: Plan, desired: DesiredState, remote_state: RemoteState, options: PlanOptions
) -> Reconciled:
    """The apply-time check, with the account unchanged since the plan."""
    fresh = compute_plan(desired, remote_state, options)
    by_id: dict[int, RemoteContact | None] = {c.id: c for c in remote_state.contacts}
    holders: dict[str, list[RemoteContact]] = {}
    for contact in remote_state.contacts:
        holders.setdefault(contact.phone, []).append(contact)
    return reconcile(saved, fresh, by_id, holders, desired, options)


def with_changes(plan: Plan, *extra: Change) -> Plan:
    return dataclasses.replace(plan, changes=(*plan.changes, *extra))


def refused_lines(result: Reconciled) -> list[str]:
    return [str(entry) for entry in result.refused]


def test_an_untouched_plan_is_applied_as_planned() -> None:
    desired = state(declared(1, last_name="New"), declared(2), declared(3))
    remote_state = account(remote(1), remote(2), remote(9))
    options = PlanOptions(prune=True)
    saved = compute_plan(desired, remote_state, options)
    result = recheck(saved, desired, remote_state, options)
    assert result.refused == () and result.stale == ()
    assert result.apply == saved.changes
    assert [c.action for c in result.apply] == [Action.CREATE, Action.UPDATE, Action.DELETE]


def test_an_added_delete_of_a_protected_phone_is_refused() -> None:
    desired = state(declared(1), protected=[phone(8)])
    guarded, extra = remote(8), remote(9)
    remote_state = account(remote(1), guarded, extra)
    options = PlanOptions(prune=True)
    saved = compute_plan(desired, remote_state, options)
    assert [c.id for c in saved.changes] == [extra.id]
    result = recheck(with_changes(saved, forged_delete(guarded)), desired, remote_state, options)
    assert refused_lines(result) == [
        f"delete {phone(8)} (id {guarded.id}): the phone is protected (safety.protected)"
    ]


def test_an_added_delete_of_a_declared_contact_is_refused() -> None:
    desired = state(declared(1), declared(2))
    kept = remote(2)
    remote_state = account(remote(1), kept)
    options = PlanOptions(prune=True)
    saved = compute_plan(desired, remote_state, options)
    assert saved.changes == ()
    result = recheck(with_changes(saved, forged_delete(kept)), desired, remote_state, options)
    assert refused_lines(result) == [
        f"delete {phone(2)} (id {kept.id}): the contact is declared in the files"
    ]
    assert result.apply == ()


def test_a_delete_added_to_a_plan_made_without_prune_is_refused() -> None:
    desired = state(declared(1))
    extra = remote(9)
    remote_state = account(remote(1), extra)
    options = PlanOptions(prune=False)
    saved = compute_plan(desired, remote_state, options)
    assert saved.not_declared == 1 and saved.changes == ()
    result = recheck(with_changes(saved, forged_delete(extra)), desired, remote_state, options)
    assert refused_lines(result) == [
        f"delete {phone(9)} (id {extra.id}): the plan was made without --prune, "
        "so it deletes nothing"
    ]


def test_a_delete_outside_the_ownership_scope_is_refused() -> None:
    desired = dataclasses.replace(
        state(declared(1)), ownership=Ownership(field="managed_by", value="jcstate")
    )
    foreign = remote(9)  # no marker: not ours to delete
    ours = remote(1, managed_by="jcstate")
    remote_state = account(ours, foreign)
    options = PlanOptions(prune=True)
    saved = compute_plan(desired, remote_state, options)
    result = recheck(with_changes(saved, forged_delete(foreign)), desired, remote_state, options)
    assert refused_lines(result) == [
        f"delete {phone(9)} (id {foreign.id}): outside the ownership scope "
        "(no managed_by: jcstate marker)"
    ]


def test_an_update_pointed_at_another_contacts_id_is_refused() -> None:
    desired = state(declared(1, company="Acme"), declared(2))
    victim = remote(2)
    remote_state = account(remote(1), victim)
    options = PlanOptions()
    saved = compute_plan(desired, remote_state, options)
    (update,) = saved.changes
    retargeted = dataclasses.replace(update, id=victim.id, fingerprint=fingerprint(victim))
    result = recheck(
        dataclasses.replace(saved, changes=(retargeted,)), desired, remote_state, options
    )
    assert refused_lines(result) == [
        f"update {phone(1)} (id {victim.id}): id {victim.id} does not belong to {phone(1)} "
        f"(it holds {phone(2)})"
    ]
    assert result.apply == ()


def test_an_update_or_create_whose_body_was_edited_is_refused() -> None:
    desired = state(declared(1, company="Acme"), declared(2))
    remote_state = account(remote(1))
    options = PlanOptions()
    saved = compute_plan(desired, remote_state, options)
    create, update = sorted(saved.changes, key=lambda c: c.action.value)
    edited = (
        dataclasses.replace(update, body={"company": "Evil Corp", "email": "x@evil.example"}),
        dataclasses.replace(create, body={**create.body, "first_name": "Mallory"}),
    )
    result = recheck(dataclasses.replace(saved, changes=edited), desired, remote_state, options)
    assert sorted(refused_lines(result)) == [
        f"create {phone(2)}: the body is not what the files declare for this contact",
        f"update {phone(1)} (id 101): the patch is not what the files declare for this contact",
    ]
    assert result.apply == ()


def test_a_create_of_a_phone_that_is_not_declared_is_refused() -> None:
    desired = state(declared(1))
    remote_state = account(remote(1))
    options = PlanOptions()
    saved = compute_plan(desired, remote_state, options)
    forged = Change(Action.CREATE, phone(7), None, {"phone": phone(7), "first_name": "X"})
    result = recheck(with_changes(saved, forged), desired, remote_state, options)
    assert refused_lines(result) == [f"create {phone(7)}: the phone is not declared in the files"]


def test_safe_true_in_the_file_does_not_make_a_50_percent_delete_safe() -> None:
    desired = state(*(declared(n) for n in range(10)), max_delete_percent=10, min_existing=10)
    remote_state = account(*(remote(n) for n in range(20)))
    options = PlanOptions(prune=True)
    saved = compute_plan(desired, remote_state, options)
    assert saved.count(Action.DELETE) == 10 and not saved.safe
    tampered = dataclasses.replace(saved, safe=True, unsafe_reasons=())
    result = recheck(tampered, desired, remote_state, options)
    assert result.refused == ()
    assert result.unsafe_reasons == (
        "10 deletes would remove 50.0% of the 20 in-scope remote contacts "
        "(safety.max_delete_percent: 10)",
    )


def test_the_verdict_is_on_what_runs_a_reviewed_subset_can_be_safe() -> None:
    desired = state(*(declared(n) for n in range(10)), max_delete_percent=10, min_existing=10)
    remote_state = account(*(remote(n) for n in range(20)))
    options = PlanOptions(prune=True)
    saved = compute_plan(desired, remote_state, options)
    one_delete = dataclasses.replace(saved, changes=saved.changes[:1])
    result = recheck(one_delete, desired, remote_state, options)
    assert [c.id for c in result.apply] == [saved.changes[0].id]
    assert result.unsafe_reasons == ()


def test_a_fresh_change_the_saved_plan_lacks_is_not_applied() -> None:
    desired = state(declared(1, company="Acme"), declared(2, company="Acme"))
    remote_state = account(remote(1), remote(2))
    options = PlanOptions()
    saved = compute_plan(desired, remote_state, options)
    reviewed = dataclasses.replace(saved, changes=saved.changes[:1])
    result = recheck(reviewed, desired, remote_state, options)
    assert result.apply == saved.changes[:1]


def test_the_refusal_names_every_entry_and_says_nothing_was_changed() -> None:
    desired = state(declared(1), protected=[phone(8)])
    remote_state = account(remote(1), remote(8), remote(9))
    options = PlanOptions(prune=False)
    saved = compute_plan(desired, remote_state, options)
    forged = with_changes(saved, forged_delete(remote(8)), forged_delete(remote(9)))
    message = refused_message(recheck(forged, desired, remote_state, options).refused)
    assert message.splitlines()[0] == (
        "refusing the plan file: 2 entries that the files do not justify "
        "(was the file edited?); nothing was changed:"
    )
    assert f"delete {phone(8)} (id 108)" in message and f"delete {phone(9)} (id 109)" in message


def test_a_contact_that_changed_since_the_plan_is_stale_not_forged() -> None:
    desired = state(declared(1, company="Acme"))
    before = remote(1)
    options = PlanOptions()
    saved = compute_plan(desired, account(before), options)
    edited = dataclasses.replace(before, fields={**before.fields, "email": "ui@example.com"})
    result = recheck(saved, desired, account(edited), options)
    assert result.refused == ()
    assert [str(s) for s in result.stale] == [f"{phone(1)} (id 101): changed since the plan"]
    assert result.apply == ()


def test_a_delete_naming_another_phone_than_its_ids_is_refused() -> None:
    desired = state(declared(1))
    extra, kept = remote(9), remote(1)
    remote_state = account(kept, extra)
    options = PlanOptions(prune=True)
    saved = compute_plan(desired, remote_state, options)
    (delete,) = saved.changes
    moved = dataclasses.replace(delete, id=kept.id, fingerprint=fingerprint(kept))
    result = recheck(dataclasses.replace(saved, changes=(moved,)), desired, remote_state, options)
    assert refused_lines(result) == [
        f"delete {phone(9)} (id {kept.id}): id {kept.id} does not belong to {phone(9)} "
        f"(it holds {phone(1)})"
    ]


def test_a_remote_phone_that_does_not_parse_cannot_break_a_refusal_line() -> None:
    """Each entry is one line of a multi-line message; a remote line break stays escaped."""
    hostile = "+1 x\n::error title=CI::injected\x1b[2J"
    forged = Change(Action.DELETE, hostile, 3, {})
    entries = [
        str(RefusedEntry(forged, f"id 3 does not belong to {phone(9)} (it holds {hostile})")),
        str(StaleContact(Action.UPDATE, hostile, 3, "changed since the plan")),
    ]
    for line in entries:
        assert line.splitlines() == [line]
        assert "\\n::error title=CI::injected\\x1b[2J" in line
    message = refused_message([RefusedEntry(forged, "the phone is not declared in the files")])
    assert not any(line.startswith("::") for line in message.splitlines())

"""compute_plan on hand-built desired and remote values: no files, no HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jcstate.core.model import (
    Conflict,
    CustomFieldDef,
    DesiredContact,
    DesiredState,
    Ownership,
    RemoteContact,
    RemoteState,
    Safety,
    SourceRef,
)
from jcstate.core.plan import (
    Action,
    Plan,
    PlanOptions,
    compute_plan,
    estimate_cost,
)
from jcstate.core.planjson import plan_from_dict, plan_to_dict
from jcstate.errors import PlanError, PlanFileError
from tests.support.builders import declared
from tests.support.builders import remote as have

DEFS = {
    "lead_source": CustomFieldDef(type="enum", values=["Website", "Referral", "Event"]),
    "plan_tier": CustomFieldDef(type="enum", values=["Free", "Pro", "Enterprise", "Premium"]),
    "seats": CustomFieldDef(type="integer"),
    "renewal_on": CustomFieldDef(type="date"),
    "vip": CustomFieldDef(type="boolean"),
    "managed_by": CustomFieldDef(type="string"),
}
NO_LIMITS = Safety(max_delete_percent=100, max_update_percent=100, min_existing=0)


def want(
    phone: str,
    id: int | None = None,
    custom: dict[str, Any] | None = None,
    **fields: str | None,
) -> DesiredContact:
    return declared(phone, 3, id=id, custom=custom, **fields)


def state(*contacts: DesiredContact, **kwargs: Any) -> DesiredState:
    kwargs.setdefault("safety", NO_LIMITS)
    return DesiredState(contacts=contacts, custom_field_defs=DEFS, **kwargs)


def plan_of(
    desired: DesiredState, remote: list[RemoteContact], complete: bool = True, **options: Any
) -> Plan:
    return compute_plan(
        desired, RemoteState(contacts=tuple(remote), complete=complete), PlanOptions(**options)
    )


A, B, C, D = "+14155550101", "+14155550102", "+14155550103", "+14155550104"


# --- matching and diffing ---------------------------------------------------


def test_new_contact_is_created_with_its_declared_fields_only() -> None:
    plan = plan_of(
        state(want(A, first_name="Jordan", email=None, custom={"seats": 3, "plan_tier": None})),
        [],
    )
    (change,) = plan.changes
    assert change.action is Action.CREATE
    assert change.id is None
    assert change.body == {"phone": A, "first_name": "Jordan", "custom_fields": {"seats": 3}}
    assert plan.summary == {"create": 1, "update": 0, "delete": 0, "unchanged": 0}


def test_matching_contact_with_same_values_is_unchanged() -> None:
    plan = plan_of(state(want(A, first_name="Jordan")), [have(7, A, first_name="Jordan")])
    assert plan.changes == ()
    assert plan.unchanged == 1


def test_update_patch_holds_only_changed_managed_fields() -> None:
    plan = plan_of(
        state(want(A, first_name="Jordan", company="Acme", custom={"plan_tier": "Premium"})),
        [
            have(
                7,
                A,
                first_name="Jordan",
                company="Beta",
                last_name="Unmanaged",
                custom={"plan_tier": "Pro", "lead_source": "Event"},
            )
        ],
    )
    (change,) = plan.changes
    assert change.action is Action.UPDATE
    assert change.id == 7
    assert change.body == {"company": "Acme", "custom_fields": {"plan_tier": "Premium"}}
    assert [(c.field, c.old, c.new) for c in change.changes] == [
        ("company", "Beta", "Acme"),
        ("custom_fields.plan_tier", "Pro", "Premium"),
    ]
    assert change.fingerprint is not None


def test_null_clears_a_field_and_a_custom_key() -> None:
    plan = plan_of(
        state(want(A, email=None, custom={"seats": None})),
        [have(7, A, email="x@example.com", custom={"seats": 4})],
    )
    assert plan.changes[0].body == {"email": None, "custom_fields": {"seats": None}}


def test_empty_remote_string_equals_null() -> None:
    plan = plan_of(
        state(want(A, email=None, custom={"seats": None})),
        [have(7, A, email="  ", custom={"seats": ""})],
    )
    assert plan.changes == ()
    assert plan.unchanged == 1


@pytest.mark.parametrize(
    ("declared", "remote_value"),
    [
        ({"seats": 12}, {"seats": "12"}),
        ({"seats": 12}, {"seats": 12.0}),
        ({"vip": True}, {"vip": "yes"}),
        ({"renewal_on": "2026-01-31"}, {"renewal_on": "2026-01-31T00:00:00Z"}),
        ({"plan_tier": "Pro"}, {"plan_tier": " Pro "}),
    ],
)
def test_remote_formatting_is_never_a_change(
    declared: dict[str, Any], remote_value: dict[str, Any]
) -> None:
    plan = plan_of(state(want(A, custom=declared)), [have(7, A, custom=remote_value)])
    assert plan.changes == ()


def test_email_case_and_spaces_are_not_a_change() -> None:
    plan = plan_of(
        state(want(A, email="jordan@example.com", first_name="Jordan")),
        [have(7, A, email=" Jordan@Example.COM ", first_name="Jordan ")],
    )
    assert plan.changes == ()


def test_boolean_is_not_equal_to_a_number() -> None:
    plan = plan_of(state(want(A, custom={"seats": 1})), [have(7, A, custom={"seats": True})])
    assert plan.changes[0].body == {"custom_fields": {"seats": 1}}


def test_unparseable_remote_value_shows_as_a_change() -> None:
    plan = plan_of(state(want(A, custom={"seats": 3})), [have(7, A, custom={"seats": "three"})])
    (change,) = plan.changes
    assert [(c.old, c.new) for c in change.changes] == [("three", 3)]


def test_id_pin_matches_and_changes_the_phone() -> None:
    plan = plan_of(state(want(B, id=7, first_name="Jordan")), [have(7, A, first_name="Jordan")])
    (change,) = plan.changes
    assert change.action is Action.UPDATE
    assert change.id == 7
    assert change.body == {"phone": B}
    assert change.changes[0].field == "phone"
    assert (change.changes[0].old, change.changes[0].new) == (A, B)


def test_missing_pin_falls_back_to_phone_with_a_warning() -> None:
    plan = plan_of(state(want(A, id=99, first_name="Jordan")), [have(7, A, first_name="Jordan")])
    assert plan.changes == ()
    assert any("pinned id 99 was not found" in w for w in plan.warnings)


def test_a_pin_that_takes_a_contact_whose_phone_another_entry_declares_is_an_error() -> None:
    # Remote 7 holds A; a new entry pins id 7 on phone B while the entry of A stays:
    # the plan would move 7 from A to B and create A again. One owner per contact.
    pinned = DesiredContact(
        phone=B, fields={}, custom_fields={}, id=7, source=SourceRef("contacts/new.yaml", 9)
    )
    other = DesiredContact(
        phone=A,
        fields={"first_name": "Old"},
        custom_fields={},
        source=SourceRef("contacts/team.yaml", 3),
    )
    with pytest.raises(PlanError) as caught:
        plan_of(state(pinned, other), [have(7, A)])
    message = str(caught.value)
    assert "contacts/new.yaml:9" in message and "contacts/team.yaml:3" in message
    assert "id: 7" in message and A in message


def test_a_pin_that_moves_a_contact_off_an_undeclared_phone_is_fine() -> None:
    plan = plan_of(state(want(B, id=7)), [have(7, A)])
    assert [(c.action, c.phone) for c in plan.changes] == [(Action.UPDATE, B)]


def test_remote_duplicates_match_lowest_id_and_are_listed() -> None:
    plan = plan_of(
        state(want(A, first_name="Jordan")),
        [have(9, A, first_name="Other"), have(4, A, first_name="Jordan")],
    )
    assert plan.changes == ()
    assert plan.conflicts == (Conflict(A, (4, 9)),)
    assert any("ids 4, 9" in w for w in plan.warnings)


def test_undeclared_remote_custom_keys_are_listed_not_touched() -> None:
    plan = plan_of(
        state(want(A, first_name="J")),
        [have(7, A, first_name="J", custom={"zodiac": "Leo", "seats": 2}), have(8, B)],
    )
    assert plan.undeclared_custom_fields == ("zodiac",)
    assert plan.changes == ()


# --- prune, scope and safety --------------------------------------------------


def test_without_prune_undeclared_contacts_are_only_counted() -> None:
    plan = plan_of(state(want(A)), [have(1, A), have(2, B), have(3, C)])
    assert plan.count(Action.DELETE) == 0
    assert plan.not_declared == 2
    assert "2 remote contacts are not declared (use --prune to delete them)" in plan.notes


def test_a_targeted_refresh_says_undeclared_contacts_were_not_counted() -> None:
    remote = RemoteState(contacts=(have(1, A),), complete=False, total=5000)
    plan = compute_plan(state(want(A), want(B)), remote, PlanOptions())
    assert plan.summary == {"create": 1, "update": 0, "delete": 0, "unchanged": 1}
    assert not any("remote contacts are not declared" in note for note in plan.notes)
    assert (
        "the account holds 5000 contacts; only the declared phones were looked up "
        "(targeted refresh), so contacts that are not declared are not counted here "
        "(use --refresh full to count them)"
    ) in plan.notes


def test_prune_deletes_undeclared_contacts_last_sorted_by_phone() -> None:
    plan = plan_of(
        state(want(A, first_name="x"), want(D)), [have(5, C), have(1, A), have(6, B)], prune=True
    )
    assert [(c.action, c.phone) for c in plan.changes] == [
        (Action.CREATE, D),
        (Action.UPDATE, A),
        (Action.DELETE, B),
        (Action.DELETE, C),
    ]
    assert plan.changes[-1].id == 5


def test_prune_never_deletes_protected_phones() -> None:
    safety = NO_LIMITS.model_copy(update={"protected": ["(415) 555-0102"]})
    plan = plan_of(state(want(A), safety=safety), [have(1, A), have(2, B)], prune=True)
    assert plan.count(Action.DELETE) == 0
    assert any(B in w and "protected" in w for w in plan.warnings)


def test_prune_on_partial_remote_view_deletes_nothing() -> None:
    plan = plan_of(state(want(A)), [have(1, A), have(2, B)], complete=False, prune=True)
    assert plan.count(Action.DELETE) == 0
    assert any("partial" in w for w in plan.warnings)


def test_empty_declared_set_with_prune_is_unsafe() -> None:
    plan = plan_of(state(), [have(1, A), have(2, B)], prune=True)
    assert plan.count(Action.DELETE) == 2
    assert not plan.safe
    assert any("no contacts are declared" in r for r in plan.unsafe_reasons)


def test_delete_threshold_makes_plan_unsafe() -> None:
    safety = Safety(max_delete_percent=10, max_update_percent=100, min_existing=3)
    remote = [have(i, f"+1415555{i:04d}") for i in range(1, 11)]
    declared = [want(f"+1415555{i:04d}") for i in range(1, 9)]
    plan = plan_of(state(*declared, safety=safety), remote, prune=True)
    assert plan.count(Action.DELETE) == 2
    assert not plan.safe
    assert plan.unsafe_reasons == (
        "2 deletes would remove 20.0% of the 10 in-scope remote contacts "
        "(safety.max_delete_percent: 10)",
    )


def test_update_threshold_makes_plan_unsafe() -> None:
    safety = Safety(max_delete_percent=100, max_update_percent=30, min_existing=3)
    remote = [have(i, f"+1415555{i:04d}", company="Old") for i in range(1, 11)]
    declared = [want(f"+1415555{i:04d}", company="New") for i in range(1, 5)]
    declared += [want(f"+1415555{i:04d}", company="Old") for i in range(5, 11)]
    plan = plan_of(state(*declared, safety=safety), remote)
    assert not plan.safe
    assert "4 updates would change 40.0%" in plan.unsafe_reasons[0]


def test_thresholds_ignored_below_min_existing() -> None:
    safety = Safety(max_delete_percent=10, max_update_percent=10, min_existing=5)
    plan = plan_of(state(want(A), safety=safety), [have(1, A), have(2, B)], prune=True)
    assert plan.count(Action.DELETE) == 1
    assert plan.safe


# --- ownership -----------------------------------------------------------------

OWN = Ownership(field="managed_by", value="sales-ops")


def test_creates_carry_the_ownership_marker() -> None:
    plan = plan_of(state(want(A, first_name="J"), ownership=OWN), [])
    assert plan.changes[0].body["custom_fields"] == {"managed_by": "sales-ops"}


def test_unmarked_match_is_adopted() -> None:
    plan = plan_of(state(want(A, first_name="J"), ownership=OWN), [have(3, A, first_name="J")])
    (change,) = plan.changes
    assert change.adopt
    assert change.body == {"custom_fields": {"managed_by": "sales-ops"}}


def test_prune_only_considers_marked_contacts() -> None:
    mark = {"managed_by": "sales-ops"}
    plan = plan_of(
        state(want(A, custom=mark), ownership=OWN),
        [have(1, A, custom=mark), have(2, B, custom=mark), have(3, C), have(4, D, custom={})],
        prune=True,
    )
    assert [(c.action, c.id) for c in plan.changes] == [(Action.DELETE, 2)]
    assert plan.in_scope == 2


# --- targets, ordering, cost -----------------------------------------------------


def test_targets_restrict_the_plan() -> None:
    plan = plan_of(
        state(want(A, first_name="x"), want(B, first_name="y")),
        [have(1, A), have(2, C)],
        targets=frozenset({A}),
        prune=True,
    )
    assert [(c.action, c.phone) for c in plan.changes] == [(Action.UPDATE, A)]


def test_delete_that_frees_a_phone_goes_before_the_move_onto_it() -> None:
    # Contact 1 (pinned) moves from A to B; B is held by undeclared contact 2, pruned.
    plan = plan_of(state(want(B, id=1), want(C)), [have(1, A), have(2, B)], prune=True)
    assert [(c.action, c.id) for c in plan.changes] == [
        (Action.DELETE, 2),
        (Action.CREATE, None),
        (Action.UPDATE, 1),
    ]


def test_phone_swap_cycle_is_warned_about() -> None:
    plan = plan_of(state(want(B, id=1), want(A, id=2)), [have(1, A), have(2, B)])
    assert plan.count(Action.UPDATE) == 2
    assert any("cycle" in w for w in plan.warnings)


def test_move_onto_a_phone_that_stays_taken_is_warned_about() -> None:
    plan = plan_of(state(want(B, id=1)), [have(1, A), have(2, B)])
    assert any("still holds" in w for w in plan.warnings)


def test_cost_estimate_counts_requests_and_time() -> None:
    cost = estimate_cost(12_001, 30, 6, per_minute=60, per_hour=3600, remote_total=0)
    assert (cost.bulk, cost.put, cost.delete, cost.writes) == (3, 30, 6, 39)
    assert cost.seconds == cost.total * 1.0
    assert estimate_cost(10, 1, 0).seconds == 0.0
    hourly = estimate_cost(0, 100, 0, per_minute=1000, per_hour=60, remote_total=0)
    # 100 PUTs, their re-check (1 listing page) and the convergence check (1 page).
    assert hourly.total == 102 and hourly.seconds == 6120.0


def test_plan_cost_uses_options() -> None:
    plan = plan_of(state(want(A), want(B)), [], bulk_batch_size=1, per_minute=30)
    # 2 bulk requests and a convergence check of the (empty) account's one page.
    assert (plan.cost.bulk, plan.cost.convergence, plan.cost.seconds) == (2, 1, 6.0)


# --- JSON form ---------------------------------------------------------------------


def sample_plan() -> Plan:
    return plan_of(
        state(want(A, first_name="J", custom={"seats": 2}), want(C, email="a@b.co")),
        [have(1, A, first_name="K", custom={"zodiac": "Leo"}), have(2, B), have(3, B)],
        prune=True,
    )


def test_json_form_has_the_documented_keys_in_order() -> None:
    data = plan_to_dict(sample_plan())
    assert list(data) == [
        "format_version",
        "summary",
        "safe",
        "unsafe_reasons",
        "warnings",
        "notes",
        "not_declared",
        "in_scope",
        "conflicts",
        "undeclared_custom_fields",
        "cost",
        "changes",
    ]
    assert data["format_version"] == 1
    assert data["summary"] == {"create": 1, "update": 1, "delete": 2, "unchanged": 0}
    update = next(c for c in data["changes"] if c["action"] == "update")
    assert update["patch"] == {"first_name": "J", "custom_fields": {"seats": 2}}
    assert list(update)[:4] == ["action", "phone", "id", "patch"]
    create = data["changes"][0]
    assert create["body"] == {"phone": C, "email": "a@b.co"} and create["id"] is None
    json.dumps(data)  # serialisable as is


def test_json_round_trip_gives_the_same_plan() -> None:
    plan = sample_plan()
    again = plan_from_dict(json.loads(json.dumps(plan_to_dict(plan))))
    assert plan_to_dict(again) == plan_to_dict(plan)
    assert again.changes == plan.changes


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(format_version=2), "format_version"),
        (lambda d: d.pop("changes"), "changes"),
        (lambda d: d["changes"][0].update(action="upsert"), "unknown action"),
        (lambda d: d["changes"][1].pop("patch"), "patch"),
        (lambda d: d["summary"].update(delete=9), "summary says 9"),
        # Each part of the wrong type is a PlanFileError naming it, never a crash.
        (lambda d: d.update(unsafe_reasons=None), r"malformed .*unsafe_reasons"),
        (lambda d: d.update(warnings=5), r"malformed .*warnings"),
        (lambda d: d["changes"][0].update(source={"file": "a", "line": "x"}), r"'source'.*line"),
        (lambda d: d["changes"][0]["fields"][0].update(field=3), r"'fields'.*field"),
        (lambda d: d["cost"].update(put="many"), r"malformed .*cost.*put"),
    ],
)
def test_plan_from_dict_rejects_bad_data(mutate: Any, message: str) -> None:
    data = plan_to_dict(sample_plan())
    mutate(data)
    with pytest.raises(PlanFileError, match=message):
        plan_from_dict(data)


def test_cost_estimate_counts_the_reads_of_an_apply() -> None:
    # 30 PUTs and 6 DELETEs on an account of 12,000 contacts (120 pages).
    cost = estimate_cost(12_001, 30, 6, per_minute=60, remote_total=12_000, reads=122)
    assert cost.writes == 3 + 30 + 6
    assert cost.rechecks == 36  # each PUT or DELETE target re-read: fewer than a listing
    # 12,037 touched phones: a listing of the 23,995 contacts after the apply is cheaper
    assert cost.convergence == 240 + 2
    assert cost.read_total == 122 + 36 + 242
    assert cost.total == cost.writes + cost.read_total
    assert cost.seconds == cost.total * 1.0  # every request is paced, reads too
    many = estimate_cost(0, 500, 0, remote_total=1_000, reads=12)
    assert many.rechecks == 12  # ceil(1000/100) + 2: one listing beats 500 lookups
    nothing = estimate_cost(0, 0, 0, reads=3)
    assert (nothing.rechecks, nothing.convergence, nothing.total) == (0, 0, 3)

"""The pure evaluation of `rules:` (jcstate.core.rules): contacts, plans, and what breaks them."""

from __future__ import annotations

from jcstate.core.model import (
    CustomFieldDef,
    DesiredContact,
    DesiredState,
    RemoteContact,
    RemoteState,
    RuleConfig,
    SourceRef,
)
from jcstate.core.plan import PlanOptions, compute_plan
from jcstate.core.rules import RuleSet, check_contacts, check_plan, compile_rules, contact_value
from tests.support.builders import phone, remote

ENTERPRISE_EMAIL = RuleConfig(
    name="enterprise-has-email",
    when='has(contact.custom_fields.plan_tier) && contact.custom_fields.plan_tier == "Enterprise"',
    require='has(contact.email) && contact.email != ""',
    message="an Enterprise contact needs an e-mail address",
)
SEATS = RuleConfig(
    name="seats-positive",
    require="contact.custom_fields.seats > 0",
    message="seats must be positive",
    level="warning",
)
DEFS = {
    "plan_tier": CustomFieldDef(type="enum", values=["Free", "Enterprise"]),
    "seats": CustomFieldDef(type="integer"),
}


def _contact(phone: str, line: int, **fields: object) -> DesiredContact:
    custom = fields.pop("custom_fields", {})
    return DesiredContact(
        phone=phone,
        fields=fields,  # type: ignore[arg-type]
        custom_fields=custom,  # type: ignore[arg-type]
        source=SourceRef("contacts/a.yaml", line, 5),
    )


def test_the_contract_rules_compile_cleanly() -> None:
    deletes = RuleConfig(name="small", on="plan", require="plan.deletes.size() <= 50", message="m")
    no_enterprise = RuleConfig(
        name="keep",
        on="plan",
        require='!plan.deletes.exists(d, d.before.custom_fields.plan_tier == "Enterprise")',
        message="m",
    )
    assert compile_rules([ENTERPRISE_EMAIL, SEATS, deletes, no_enterprise], DEFS) == []


def test_each_broken_contact_rule_names_the_contact_and_the_rule_line() -> None:
    rules = RuleSet((ENTERPRISE_EMAIL, SEATS), ((12, 5), (17, 5)))
    contacts = [
        _contact("+14155550101", 4, email=None, custom_fields={"plan_tier": "Enterprise"}),
        _contact("+14155550102", 8, email="a@b.c", custom_fields={"plan_tier": "Free", "seats": 2}),
        _contact("+14155550103", 12, custom_fields={"plan_tier": "Free", "seats": 0}),
    ]
    found = check_contacts(rules, contacts)
    assert [
        (v.rule, v.level, v.phone, v.source.line if v.source else 0, v.rule_line, v.detail)
        for v in found
    ] == [
        ("enterprise-has-email", "error", "+14155550101", 4, 12, None),
        (
            "seats-positive",
            "warning",
            "+14155550101",
            4,
            17,
            'cannot be evaluated: Key not found in map : "seats"',
        ),
        ("seats-positive", "warning", "+14155550103", 12, 17, None),
    ]
    assert found[0].message == "an Enterprise contact needs an e-mail address"


def test_a_null_field_is_absent_so_has_is_false() -> None:
    value = contact_value(_contact("+14155550101", 1, email=None, company="Acme"))
    assert value == {"phone": "+14155550101", "company": "Acme", "custom_fields": {}}


def test_an_error_in_when_is_a_violation_not_a_skip() -> None:
    rule = RuleConfig(
        name="r",
        when='contact.custom_fields.plan_tier == "Enterprise"',
        require="true",
        message="m",
    )
    found = check_contacts(RuleSet((rule,), ((1, 1),)), [_contact("+14155550101", 3)])
    assert len(found) == 1 and found[0].detail is not None
    assert "plan_tier" in found[0].detail


def test_every_contact_of_a_large_set_is_checked_past_the_fast_path() -> None:
    rules = RuleSet((SEATS,), ((1, 1),))
    contacts = [
        _contact(f"+1415555{i:04d}", i + 1, custom_fields={"seats": 0 if i in (5, 250, 999) else 3})
        for i in range(1000)
    ]
    assert [v.phone for v in check_contacts(rules, contacts)] == [
        "+14155550005",
        "+14155550250",
        "+14155550999",
    ]


def _remote(i: int, tier: str) -> RemoteContact:
    return remote(i, phone(i), {"plan_tier": tier}, first_name=f"P{i}")


def test_plan_rules_see_counts_and_the_contact_before_a_delete() -> None:
    small = RuleConfig(name="small", on="plan", require="plan.deletes.size() <= 1", message="m1")
    keep = RuleConfig(
        name="keep",
        on="plan",
        require='!plan.deletes.exists(d, d.before.custom_fields.plan_tier == "Enterprise")',
        message="m2",
    )
    rules = RuleSet((small, keep), ((3, 5), (7, 5)))
    remote = RemoteState(contacts=(_remote(1, "Free"), _remote(2, "Enterprise")))
    desired = DesiredState(contacts=(), custom_field_defs=DEFS)
    plan = compute_plan(desired, remote, PlanOptions(prune=True))
    found = check_plan(rules, plan, remote.contacts)
    assert [(v.rule, v.rule_line, v.phone, v.source) for v in found] == [
        ("small", 3, None, None),
        ("keep", 7, None, None),
    ]
    only_free = RemoteState(contacts=(_remote(1, "Free"),))
    assert check_plan(rules, compute_plan(desired, only_free, PlanOptions(prune=True))) == []


def test_an_update_sees_the_whole_contact_before_and_after() -> None:
    rule = RuleConfig(
        name="tier",
        on="plan",
        require=(
            "plan.updates.all(u, u.before.first_name == 'P1' && u.after.first_name == 'New'"
            " && u.after.custom_fields.plan_tier == 'Free')"
        ),
        message="m",
    )
    remote = RemoteState(contacts=(_remote(1, "Free"),))
    desired = DesiredState(
        contacts=(DesiredContact("+14155550001", {"first_name": "New"}, {}),),
        custom_field_defs=DEFS,
    )
    plan = compute_plan(desired, remote, PlanOptions())
    assert plan.summary["update"] == 1
    assert check_plan(RuleSet((rule,), ((1, 1),)), plan, remote.contacts) == []

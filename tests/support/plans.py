"""Plans of generated scenarios, shared by the property tests."""

from __future__ import annotations

from hypothesis import assume

from jcstate.core.model import DesiredState, RemoteState
from jcstate.core.plan import Plan, PlanOptions, compute_plan
from jcstate.errors import PlanError


def plan_of_a_valid_project(
    desired: DesiredState, remote: RemoteState, options: PlanOptions
) -> Plan:
    """The plan, for projects where each remote contact has one declared owner.

    An `id:` pin that takes a remote contact off a phone another entry declares
    is refused (tested in test_plan.py); such draws are not scenarios here.
    """
    try:
        return compute_plan(desired, remote, options)
    except PlanError as exc:
        assert "takes over the remote contact" in str(exc)
        owners = {c.phone for c in desired.contacts if c.id is None}
        by_id = {r.id: r for r in remote.contacts}
        assert any(
            c.id in by_id and by_id[c.id].phone != c.phone and by_id[c.id].phone in owners
            for c in desired.contacts
        )
        assume(False)
        raise

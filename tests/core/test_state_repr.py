"""The states and the plan of a large account have a short repr.

`asyncio.run` writes the repr of the finished main task (its result included)
when it restores the SIGINT handler, so a command whose coroutine returns an
account of 100,000 contacts paid for a 20 MB repr it threw away (about 1.5 s).
"""

from __future__ import annotations

from jcstate.core.model import DesiredContact, DesiredState, RemoteContact, RemoteState
from jcstate.core.plan import Action, Change, Plan

COUNT = 20_000


def remote_state() -> RemoteState:
    contacts = tuple(
        RemoteContact(id=i, phone=f"+1415{2_000_000 + i:07d}", fields={"first_name": "Sam"},
                      custom_fields={})
        for i in range(COUNT)
    )  # fmt: skip
    return RemoteState(contacts=contacts, total=COUNT)


def test_a_remote_state_repr_counts_its_contacts() -> None:
    text = repr(remote_state())
    assert len(text) < 200
    assert "20000 contacts" in text


def test_a_desired_state_repr_counts_its_contacts() -> None:
    state = DesiredState(
        contacts=tuple(DesiredContact(f"+1415{2_000_000 + i:07d}", {}, {}) for i in range(COUNT))
    )
    assert len(repr(state)) < 200 and "20000 contacts" in repr(state)


def test_a_plan_repr_counts_its_changes() -> None:
    changes = tuple(
        Change(Action.CREATE, f"+1415{2_000_000 + i:07d}", None, {"first_name": "Sam"})
        for i in range(COUNT)
    )
    text = repr(Plan(changes=changes, unchanged=3))
    assert len(text) < 300 and "20000 changes" in text

"""`plan --format json` is streamed: `iter_json` yields the document in pieces whose
concatenation is byte for byte the document `json.dumps` of the whole plan writes
(escaped by `core.safe.json_text`, masked by `mask_text`), so scripts see no change.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jcstate.core.changeset import ChangedSince
from jcstate.core.model import DesiredState, RemoteState
from jcstate.core.plan import Action, Change, Plan
from jcstate.core.planjson import plan_to_dict
from jcstate.core.safe import json_text
from jcstate.errors import JcstateError
from jcstate.render.json import iter_json, render_json
from jcstate.render.mask import mask_text
from jcstate.render.text import iter_text, render_text
from tests.render.test_plan_render import busy_plan, huge_plan, quiet_plan
from tests.render.test_remote_as_data import FAST, _plan, accounts

RECORD = ChangedSince(
    ref="origin/main\x1b[31m", commit="a" * 40, contacts=3, added=1, changed=1, removed=1,
    declared=10, not_read=7,
)  # fmt: skip


def whole_document(
    plan: Plan, *, mask_pii: bool = False, changed_since: ChangedSince | None = None
) -> str:
    """The JSON plan as it was written before streaming: one dumps of the whole dict."""
    data = plan_to_dict(plan)
    if changed_since is not None:
        data["changed_since"] = changed_since.to_dict()
    text = json_text(data, indent=2, allow_nan=False) + "\n"
    return mask_text(text) if mask_pii else text


@pytest.mark.parametrize("make", [busy_plan, quiet_plan, huge_plan, lambda: Plan(changes=())])
@pytest.mark.parametrize("mask", [False, True])
@pytest.mark.parametrize("record", [None, RECORD])
def test_the_streamed_plan_is_the_same_bytes_as_the_whole_document(
    make: Callable[[], Plan], mask: bool, record: ChangedSince | None
) -> None:
    plan = make()
    chunks = list(iter_json(plan, mask_pii=mask, changed_since=record))
    assert "".join(chunks) == whole_document(plan, mask_pii=mask, changed_since=record)
    assert render_json(plan, mask_pii=mask, changed_since=record) == "".join(chunks)


def test_a_large_plan_comes_in_pieces_none_of_them_the_whole() -> None:
    plan = huge_plan()  # 3,000 changes
    chunks = list(iter_json(plan))
    whole = sum(len(chunk) for chunk in chunks)
    assert len(chunks) >= 4
    assert max(len(chunk) for chunk in chunks) < whole / 3


@FAST
@given(accounts(), st.booleans())
def test_any_values_stream_to_the_same_escaped_bytes(
    account: tuple[DesiredState, RemoteState], mask: bool
) -> None:
    plan = _plan(account)
    assert "".join(iter_json(plan, mask_pii=mask)) == whole_document(plan, mask_pii=mask)


def test_a_value_json_cannot_hold_is_a_clear_error() -> None:
    change = Change(Action.CREATE, "+14155550111", None, {"seats": math.nan})
    with pytest.raises(JcstateError, match="the plan cannot be written as JSON"):
        "".join(iter_json(Plan(changes=(change,))))


@pytest.mark.parametrize("color", [False, True])
def test_the_text_plan_comes_in_pieces_too(color: bool) -> None:
    plan = huge_plan()  # 3,000 changes
    chunks = list(iter_text(plan, color=color, mask_pii=True))
    assert len(chunks) >= 4
    assert max(len(chunk) for chunk in chunks) < sum(len(chunk) for chunk in chunks) / 3
    assert all(chunk.endswith("\n") for chunk in chunks)
    assert "".join(chunks) == render_text(plan, color=color, mask_pii=True)

"""The plan as JSON: `plan_to_dict` (schema in docs/reference/json-formats.md), pretty-printed.

Pure: `render_json(plan, mask_pii=False) -> str`, and `iter_json(...)`, the same
document as a generator of chunks, so a plan of 300,000 changes is written piece
by piece instead of built whole in memory (the `plan` command streams it).
Masking JSON is a separate, explicit choice (`--mask-pii --mask-pii-json`): a
masked plan no longer names real phones, so scripts cannot act on it. Plan
files (`--out`) are never masked. Control, C1 and bidi characters of remote
values are written as `\\u` escapes (`core.safe.json_text`), so a JSON plan
printed into a log is as safe as the text.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from jcstate.core.changeset import ChangedSince
from jcstate.core.plan import Plan
from jcstate.core.planjson import change_to_dict, plan_to_dict
from jcstate.core.safe import json_safe
from jcstate.errors import JcstateError
from jcstate.render.jsonstream import Items, iter_object
from jcstate.render.mask import mask_text


def _chunks(plan: Plan, changed_since: ChangedSince | None) -> Iterator[str]:
    """The document of `json.dumps(data, indent=2)`, its changes streamed (`iter_object`)."""
    head = plan_to_dict(dataclasses.replace(plan, changes=()))
    head["summary"] = plan.summary
    head["changes"] = Items(change_to_dict(change) for change in plan.changes)
    if changed_since is not None:
        head["changed_since"] = changed_since.to_dict()
    return iter_object(head.items(), end="\n", allow_nan=False)


def iter_json(
    plan: Plan, *, mask_pii: bool = False, changed_since: ChangedSince | None = None
) -> Iterator[str]:
    """The chunks of `render_json(plan, ...)`, in order: their concatenation is its text.

    A value JSON cannot hold (NaN, infinity: validation refuses them in the
    files; this is the backstop, should a remote value bring one) raises
    `JcstateError` when its chunk is reached.
    """
    try:
        for chunk in _chunks(plan, changed_since):
            safe = json_safe(chunk)
            yield mask_text(safe) if mask_pii else safe
    except ValueError as exc:
        raise JcstateError(f"the plan cannot be written as JSON: {exc}") from None


def render_json(
    plan: Plan, *, mask_pii: bool = False, changed_since: ChangedSince | None = None
) -> str:
    """Stable key order (as built by plan_to_dict), two-space indent, trailing newline.

    A `--changed-since` plan adds the `changed_since` record last.
    """
    return "".join(iter_json(plan, mask_pii=mask_pii, changed_since=changed_since))

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
import json
from collections.abc import Iterator
from typing import Any

from jcstate.core.changeset import ChangedSince
from jcstate.core.plan import Plan
from jcstate.core.planjson import change_to_dict, plan_to_dict
from jcstate.core.safe import json_safe
from jcstate.errors import JcstateError
from jcstate.render.mask import mask_text

#: changes encoded into one chunk (a chunk is a few hundred kB at most)
CHANGES_PER_CHUNK = 500


def _nested(value: Any, level: int) -> str:
    """`value` as `json.dumps(indent=2)` writes it nested `level` levels deep.

    Strings in a JSON document never hold a raw line feed (it is escaped), so
    every line feed is layout and takes the deeper indent.
    """
    text = json.dumps(value, ensure_ascii=False, indent=2, allow_nan=False)
    return text.replace("\n", "\n" + "  " * level)


def _chunks(plan: Plan, changed_since: ChangedSince | None) -> Iterator[str]:
    """The document of `json.dumps(data, indent=2)`, cut between members and changes.

    Every cut is outside a string, so escaping and masking each chunk alone
    gives the bytes they give the whole document.
    """
    head = plan_to_dict(dataclasses.replace(plan, changes=()))
    head["summary"] = plan.summary
    head["changes"] = None  # a placeholder: keeps the key's place, streamed below
    if changed_since is not None:
        head["changed_since"] = changed_since.to_dict()
    members = []
    for key, value in head.items():
        prefix = "  " + json.dumps(key, ensure_ascii=False) + ": "
        if key != "changes":
            members.append(prefix + _nested(value, 1))
            continue
        yield "{\n" + ",\n".join(members) + ",\n" if members else "{\n"
        members = []
        if not plan.changes:
            members.append(prefix + "[]")
            continue
        yield prefix + "[\n"
        changes = plan.changes
        for start in range(0, len(changes), CHANGES_PER_CHUNK):
            batch = changes[start : start + CHANGES_PER_CHUNK]
            text = ",\n".join("    " + _nested(change_to_dict(c), 2) for c in batch)
            yield (",\n" if start else "") + text
        members.append("\n  ]")
    # the closing bracket of the changes joins the next member without a comma
    tail = members[0] if members else ""
    rest = members[1:]
    yield tail + "".join(",\n" + member for member in rest) + "\n}\n"


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

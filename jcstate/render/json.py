"""The plan as JSON: `plan_to_dict` (schema in docs/reference/json-formats.md), pretty-printed.

Pure: `render_json(plan, mask_pii=False) -> str`. Masking JSON is a separate,
explicit choice (`--mask-pii --mask-pii-json`): a masked plan no longer names
real phones, so scripts cannot act on it. Plan files (`--out`) are never masked.
Control, C1 and bidi characters of remote values are written as `\\u` escapes
(`core.safe.json_text`), so a JSON plan printed into a log is as safe as the text.
"""

from __future__ import annotations

from jcstate.core.changeset import ChangedSince
from jcstate.core.plan import Plan
from jcstate.core.planjson import plan_to_dict
from jcstate.core.safe import json_text
from jcstate.errors import JcstateError
from jcstate.render.mask import mask_text


def render_json(
    plan: Plan, *, mask_pii: bool = False, changed_since: ChangedSince | None = None
) -> str:
    """Stable key order (as built by plan_to_dict), two-space indent, trailing newline.

    A `--changed-since` plan adds the `changed_since` record last.
    """
    data = plan_to_dict(plan)
    if changed_since is not None:
        data["changed_since"] = changed_since.to_dict()
    try:
        # allow_nan=False: NaN and infinity are not JSON. Validation refuses them in
        # the files; this is the backstop, should a remote value bring one.
        text = json_text(data, indent=2, allow_nan=False)
    except ValueError as exc:
        raise JcstateError(f"the plan cannot be written as JSON: {exc}") from None
    text += "\n"
    return mask_text(text) if mask_pii else text

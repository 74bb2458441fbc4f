"""The plan as JSON: `plan_to_dict` (schema in README, section "plan"), pretty-printed.

Pure: `render_json(plan, mask_pii=False) -> str`. Masking JSON is a separate,
explicit choice (`--mask-pii --mask-pii-json`): a masked plan no longer names
real phones, so scripts cannot act on it. Plan files (`--out`) are never masked.
"""

from __future__ import annotations

import json

from jcstate.core.changeset import ChangedSince
from jcstate.core.plan import Plan, plan_to_dict
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
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return mask_text(text) if mask_pii else text

"""The plan as JSON: `plan_to_dict` (schema in README, section "plan"), pretty-printed.

Pure: `render_json(plan) -> str`. Never masked: a masked plan would name
phones that do not exist. `jcstate plan --format json --mask-pii` is refused.
"""

from __future__ import annotations

import json

from jcstate.plan import Plan, plan_to_dict


def render_json(plan: Plan) -> str:
    """Stable key order (as built by plan_to_dict), two-space indent, trailing newline."""
    return json.dumps(plan_to_dict(plan), indent=2, ensure_ascii=False) + "\n"

"""Renderers: pure functions from plain values (Plan, drift and apply reports) to strings.
Imports only the core: never project, remote, execute, commands or sandbox, and never prints.

Shared helpers for the plan renderers (text, markdown, json) live here.
"""

from __future__ import annotations

import json as _json  # `json` is also the name of the submodule render/json.py
from typing import Any

from jcstate.core.plan import Action, CostEstimate, FieldChange, Plan
from jcstate.core.text import plural as plural


def plan_summary_line(plan: Plan) -> str:
    """The last line of `jcstate plan` (a contract for scripts)."""
    counts = plan.summary
    return (
        f"Plan: {counts['create']} to create, {counts['update']} to update, "
        f"{counts['delete']} to delete, {counts['unchanged']} unchanged."
    )


def format_value(value: Any) -> str:
    """A value as the user would write it in YAML: null, true, 42, "text"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return _json.dumps(str(value), ensure_ascii=False)


def field_change_text(action: Action, item: FieldChange) -> str:
    """An attribute's line value: `old -> new` for updates, the new or old value otherwise."""
    if action is Action.UPDATE:
        return f"{format_value(item.old)} -> {format_value(item.new)}"
    if action is Action.CREATE:
        return format_value(item.new)
    return format_value(item.old)


def format_duration(seconds: float) -> str:
    """`3725` -> "1 h 2 min"; `200` -> "3 min 20 s"; `4` -> "4 s"."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if secs else f"{minutes} min"


def cost_line(cost: CostEstimate) -> str:
    """The requests an apply sends, reads and writes, and their time at the rate limit."""
    if cost.total == 0:
        return "Cost: no API requests."
    reads = (
        f"{plural(cost.read_total, 'read')} ({cost.reads} to list or look up, "
        f"{cost.rechecks} to re-check, {cost.convergence} to check convergence)"
    )
    writes = plural(cost.writes, "write")
    if cost.writes:
        writes += (
            f" ({plural(cost.bulk, 'bulk request')}, {plural(cost.put, 'PUT')}, "
            f"{plural(cost.delete, 'DELETE')})"
        )
    if cost.seconds > 0:
        timing = f"about {format_duration(cost.seconds)} at the configured rate limit"
    else:
        timing = "no rate limit configured"
    return f"Cost: {plural(cost.total, 'request')} to apply: {reads} and {writes}; {timing}."

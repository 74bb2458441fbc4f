"""The JSON form of a plan: `plan_to_dict` and, for saved plans, `plan_from_dict`. Pure.

The schema is documented with the `plan --format json` output; keys keep
their order. Reading a plan back checks its shape and refuses anything that
is not one with a `PlanFileError`: a saved plan is data, never authority
(`apply` checks it against the files and the account again).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jcstate.core.model import Conflict, SourceRef
from jcstate.core.plan import Action, Change, CostEstimate, FieldChange, Plan
from jcstate.errors import PlanFileError

FORMAT_VERSION = 1


def _source_to_dict(source: SourceRef | None) -> dict[str, Any] | None:
    if source is None:
        return None
    return {"file": source.file, "line": source.line, "col": source.col}


def change_to_dict(change: Change) -> dict[str, Any]:
    """One change in the JSON form (stable key order)."""
    out: dict[str, Any] = {"action": change.action.value, "phone": change.phone, "id": change.id}
    if change.action is Action.UPDATE:
        out["patch"] = _plain(change.body)
        out["adopt"] = change.adopt
    elif change.action is Action.CREATE:
        out["body"] = _plain(change.body)
    out["fields"] = [{"field": c.field, "old": c.old, "new": c.new} for c in change.changes]
    out["fingerprint"] = change.fingerprint
    out["source"] = _source_to_dict(change.source)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The JSON form of a plan (schema in README, "plan" section). Stable key order.

    `rule_violations` (after `summary`) only when the project has `rules:`.
    """
    head: dict[str, Any] = {"format_version": FORMAT_VERSION, "summary": plan.summary}
    if plan.rule_violations is not None:
        head["rule_violations"] = [v.to_dict() for v in plan.rule_violations]
    return {
        **head,
        "safe": plan.safe,
        "unsafe_reasons": list(plan.unsafe_reasons),
        "warnings": list(plan.warnings),
        "notes": list(plan.notes),
        "not_declared": plan.not_declared,
        "in_scope": plan.in_scope,
        "conflicts": [{"phone": c.phone, "ids": list(c.ids)} for c in plan.conflicts],
        "undeclared_custom_fields": list(plan.undeclared_custom_fields),
        "cost": {
            "bulk": plan.cost.bulk,
            "put": plan.cost.put,
            "delete": plan.cost.delete,
            "writes": plan.cost.writes,
            "reads": plan.cost.reads,
            "rechecks": plan.cost.rechecks,
            "convergence": plan.cost.convergence,
            "total": plan.cost.total,
            "seconds": plan.cost.seconds,
        },
        "changes": [change_to_dict(change) for change in plan.changes],
    }


def _require(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in data:
        raise PlanFileError(f"{where}: missing key {key!r}")
    value = data[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise PlanFileError(f"{where}: {key!r} has the wrong type")
    return value


def _change_from_dict(item: Any, where: str) -> Change:
    if not isinstance(item, Mapping):
        raise PlanFileError(f"{where}: a change must be an object")
    try:
        action = Action(_require(item, "action", str, where))
    except ValueError:
        raise PlanFileError(f"{where}: unknown action {item.get('action')!r}") from None
    phone = _require(item, "phone", str, where)
    remote_id = item.get("id")
    if remote_id is not None and (not isinstance(remote_id, int) or isinstance(remote_id, bool)):
        raise PlanFileError(f"{where}: 'id' must be an integer or null")
    if action is not Action.CREATE and remote_id is None:
        raise PlanFileError(f"{where}: a {action.value} needs a remote id")
    if action is Action.UPDATE:
        body = _require(item, "patch", Mapping, where)
    elif action is Action.CREATE:
        body = _require(item, "body", Mapping, where)
    else:
        body = {}
    fields = item.get("fields", [])
    if not isinstance(fields, list) or not all(
        isinstance(f, Mapping) and isinstance(f.get("field"), str) for f in fields
    ):
        raise PlanFileError(f"{where}: 'fields' must be a list of {{field, old, new}}")
    source_raw = item.get("source")
    source = None
    if source_raw is not None:
        if not isinstance(source_raw, Mapping):
            raise PlanFileError(f"{where}: 'source' must be an object or null")
        source = SourceRef(
            str(source_raw.get("file", "")),
            int(source_raw.get("line", 0)),
            int(source_raw.get("col", 1)),
        )
    fp = item.get("fingerprint")
    return Change(
        action=action,
        phone=phone,
        id=remote_id,
        body=dict(body),
        changes=tuple(FieldChange(f["field"], f.get("old"), f.get("new")) for f in fields),
        fingerprint=str(fp) if fp is not None else None,
        source=source,
        adopt=bool(item.get("adopt", False)),
    )


def plan_from_dict(data: Any) -> Plan:
    """Rebuild a Plan from its JSON form; raises PlanFileError when it is not one."""
    where = "plan"
    if not isinstance(data, Mapping):
        raise PlanFileError("plan: expected a JSON object")
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise PlanFileError(
            f"plan: unsupported format_version {version!r} (this jcstate reads {FORMAT_VERSION})"
        )
    summary = _require(data, "summary", Mapping, where)
    raw_changes = _require(data, "changes", list, where)
    changes = tuple(
        _change_from_dict(item, f"plan: changes[{i}]") for i, item in enumerate(raw_changes)
    )
    cost_raw = data.get("cost") or {}
    conflicts_raw = data.get("conflicts") or []
    try:
        cost = CostEstimate(
            bulk=int(cost_raw.get("bulk", 0)),
            put=int(cost_raw.get("put", 0)),
            delete=int(cost_raw.get("delete", 0)),
            seconds=float(cost_raw.get("seconds", 0.0)),
            reads=int(cost_raw.get("reads", 0)),
            rechecks=int(cost_raw.get("rechecks", 0)),
            convergence=int(cost_raw.get("convergence", 0)),
        )
        conflicts = tuple(
            Conflict(str(c["phone"]), tuple(int(i) for i in c["ids"])) for c in conflicts_raw
        )
        unchanged = int(summary.get("unchanged", 0))
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise PlanFileError(f"plan: malformed summary, cost or conflicts ({exc})") from None
    plan = Plan(
        changes=changes,
        unchanged=unchanged,
        safe=bool(_require(data, "safe", bool, where)),
        unsafe_reasons=tuple(str(r) for r in data.get("unsafe_reasons", [])),
        warnings=tuple(str(w) for w in data.get("warnings", [])),
        conflicts=conflicts,
        undeclared_custom_fields=tuple(str(k) for k in data.get("undeclared_custom_fields", [])),
        not_declared=int(data.get("not_declared", 0)),
        cost=cost,
        notes=tuple(str(n) for n in data.get("notes", [])),
        in_scope=int(data.get("in_scope", 0)),
    )
    for action in Action:
        if summary.get(action.value) != plan.count(action):
            raise PlanFileError(
                f"plan: summary says {summary.get(action.value)!r} to {action.value} "
                f"but the changes hold {plan.count(action)}"
            )
    return plan

"""The JSON form of a plan: `plan_to_dict` and, for saved plans, `plan_from_dict`. Pure.

The schema is documented with the `plan --format json` output; keys keep
their order. Reading a plan back checks its shape and refuses anything that
is not one with a `PlanFileError`: a saved plan is data, never authority
(`apply` checks it against the files and the account again).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

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
    """The JSON form of a plan (schema in docs/reference/json-formats.md). Stable key order.

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


@functools.cache
def _adapter(kind: Any) -> TypeAdapter[Any]:
    """One TypeAdapter per type, built on first use (pydantic's schema build is not free)."""
    return TypeAdapter(kind)


def _problem(exc: ValidationError) -> str:
    """The first error of a validation, as `location: message` (never the input: it is data)."""
    error = exc.errors()[0]
    location = ".".join(str(part) for part in error["loc"])
    return f"{location}: {error['msg']}" if location else str(error["msg"])


def typed(kind: Any, value: Any, what: str) -> Any:
    """`value` validated as `kind` (a dataclass of the plan, or a container of them).

    Pydantic's usual conversions apply (a JSON list becomes a tuple or a
    frozenset, "12" an integer key); anything else is a PlanFileError naming `what`.
    """
    try:
        return _adapter(kind).validate_python(value)
    except ValidationError as exc:
        raise PlanFileError(f"malformed {what} ({_problem(exc)})") from None


def _require(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in data:
        raise PlanFileError(f"{where}: missing key {key!r}")
    value = data[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise PlanFileError(f"{where}: {key!r} has the wrong type")
    return value


def _typed_in(kind: Any, value: Any, what: str, where: str) -> Any:
    try:
        return typed(kind, value, what)
    except PlanFileError as exc:
        raise PlanFileError(f"{where}: {exc}") from None


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
    body: Mapping[str, Any] = {}
    if action is not Action.DELETE:
        body = _require(item, "patch" if action is Action.UPDATE else "body", Mapping, where)
    fields = _typed_in(tuple[FieldChange, ...], item.get("fields", []), "'fields'", where)
    return Change(
        action=action,
        phone=phone,
        id=remote_id,
        body=dict(body),
        changes=fields,
        fingerprint=_typed_in(str | None, item.get("fingerprint"), "'fingerprint'", where),
        source=_typed_in(SourceRef | None, item.get("source"), "'source'", where),
        adopt=bool(item.get("adopt", False)),
    )


def plan_from_dict(data: Any) -> Plan:
    """Rebuild a Plan from its JSON form; raises PlanFileError when it is not one.

    `rule_violations` is never read: `show` and `apply` check the rules again.
    """
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
    head = _typed_in(_Head, data, "summary, cost or conflicts", where)
    unchanged = _typed_in(int, summary.get("unchanged", 0), "summary, cost or conflicts", where)
    plan = Plan(
        changes=changes,
        unchanged=unchanged,
        safe=bool(_require(data, "safe", bool, where)),
        unsafe_reasons=head.unsafe_reasons,
        warnings=head.warnings,
        conflicts=head.conflicts or (),
        undeclared_custom_fields=head.undeclared_custom_fields,
        not_declared=head.not_declared,
        cost=head.cost or CostEstimate(),
        notes=head.notes,
        in_scope=head.in_scope,
    )
    for action in Action:
        if summary.get(action.value) != plan.count(action):
            raise PlanFileError(
                f"plan: summary says {summary.get(action.value)!r} to {action.value} "
                f"but the changes hold {plan.count(action)}"
            )
    return plan


@dataclass(frozen=True)
class _Head:
    """The parts of a plan's JSON form that hold no change (what `_adapter` reads)."""

    unsafe_reasons: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    conflicts: tuple[Conflict, ...] | None = None
    undeclared_custom_fields: tuple[str, ...] = ()
    not_declared: int = 0
    in_scope: int = 0
    cost: CostEstimate | None = None

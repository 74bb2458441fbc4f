"""`rules:` of jcstate.yaml: the team's own checks, written in CEL. Pure.

A rule is `when` (optional) and `require`, two CEL expressions over one
variable: `contact` (each declared contact after `defaults`) or `plan` (the
changes of a plan and their counts). A rule holds where `when` is false or
`require` is true. An expression that cannot be evaluated (a key the
contact lacks, a value of a type it did not expect) or that gives anything
but true or false is a violation, never skipped.

CEL is evaluated by cel-cpp (`cel_expr_python`): pure computation, no I/O.
Each expression is compiled once per process (`_program`). Contacts are
checked in chunks by one expression that ands every rule: a chunk in which
every rule holds for every contact (the usual case) costs one call; only a
chunk that fails is checked contact by contact, rule by rule, to say which.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cel_expr_python import cel
from cel_expr_python.ext.ext_strings import ExtStrings

from jcstate.core.model import (
    CONTACT_KEYS,
    CustomFieldDef,
    DesiredContact,
    Project,
    RemoteContact,
    RuleConfig,
    RuleViolation,
    SourceRef,
)
from jcstate.core.normalize import normalize_custom_value

if TYPE_CHECKING:
    # Imported where a plan is read: `validate` (contact rules only) need not load
    # the plan engine and its diff library.
    from jcstate.core.plan import Change, FieldChange, Plan

#: What a `plan` rule sees besides the three lists of changes.
PLAN_KEYS: tuple[str, ...] = ("creates", "updates", "deletes", "unchanged", "in_scope")
#: Contacts checked by one call on the fast path.
CHUNK = 100

_STATUS = re.compile(r"^[A-Z_]+: ")
_ERROR_AT = re.compile(r"<input>:(\d+):(\d+): (.*)")
_TOKEN = re.compile(
    r"""(?P<string>[rRbB]{0,2}(?:'''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\"|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"))"""
    r"|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)|(?P<dot>\.)|(?P<space>\s+)|(?P<other>.)"
)


@dataclass(frozen=True)
class RuleProblem:
    """A rule that cannot be used: `key` is "when", "require" or "name"; 1-based in the text."""

    index: int
    key: str
    line: int
    col: int
    message: str


@dataclass(frozen=True)
class RuleSet:
    """The rules of a project, with where each is written."""

    rules: tuple[RuleConfig, ...]
    #: (line, col) of each rule in `file`
    marks: tuple[tuple[int, int], ...]
    file: str = "jcstate.yaml"

    def of(self, on: str) -> list[tuple[int, RuleConfig]]:
        return [(i, rule) for i, rule in enumerate(self.rules) if rule.on == on]

    def line(self, index: int) -> int:
        return self.marks[index][0] if index < len(self.marks) else 1


def project_rules(project: Project) -> RuleSet:
    """The rules of a loaded project (already checked by the loader)."""
    return RuleSet(tuple(project.config.rules), project.rule_marks, project.config_name)


@functools.cache
def _env(variable: str) -> Any:
    return cel.NewEnv(
        variables={variable: cel.Type.Map(cel.Type.STRING, cel.Type.DYN)},
        extensions=[ExtStrings()],
    )


@functools.cache
def _program(variable: str, expression: str) -> Any:
    """The compiled expression (raises RuntimeError with CEL's message)."""
    return _env(variable).compile(expression)


def _body(rule: RuleConfig) -> str:
    """The rule as one boolean expression: true where it holds."""
    if rule.when is None:
        return f"({rule.require}\n)"
    return f"(({rule.when}\n) ? ({rule.require}\n) : true)"


def _cel_errors(error: Exception) -> list[tuple[int, int, str]]:
    found = [(int(m[1]), int(m[2]), m[3].strip()) for m in _ERROR_AT.finditer(str(error))]
    return found or [(1, 1, str(error).strip())]


def _unknown_selects(
    expression: str, variable: str, allowed: Iterable[str], custom: Iterable[str] | None
) -> list[tuple[int, int, str]]:
    """`contact.emial`-like selections of a key the variable never has (the text is dynamic)."""
    allowed_set, custom_set = set(allowed), set(custom) if custom is not None else None
    tokens = [
        (m.lastgroup, m.group(), m.start())
        for m in _TOKEN.finditer(expression)
        if m.lastgroup != "space"
    ]
    out = []
    for i, (kind, text, _start) in enumerate(tokens):
        if kind != "ident" or text != variable or (i and tokens[i - 1][0] == "dot"):
            continue
        problem = _select_problem(tokens[i + 1 : i + 5], variable, allowed_set, custom_set)
        if problem is not None:
            at, message = problem
            line = expression.count("\n", 0, at) + 1
            col = at - (expression.rfind("\n", 0, at) + 1) + 1
            out.append((line, col, message))
    return out


def _select_problem(
    after: Sequence[tuple[str | None, str, int]],
    variable: str,
    allowed: set[str],
    custom: set[str] | None,
) -> tuple[int, str] | None:
    """What is wrong with the selection of the tokens `after` the variable (offset, message)."""
    if len(after) < 2 or after[0][0] != "dot" or after[1][0] != "ident":
        return None
    key, at = after[1][1], after[1][2]
    if len(after) > 2 and after[2][1] == "(":
        return None  # a method call such as contact.size()
    if key not in allowed:
        known = ", ".join(sorted(allowed))
        return at, f"{variable} has no field {key!r} (it has: {known})"
    deeper = len(after) > 3 and after[2][0] == "dot" and after[3][0] == "ident"
    if key == "custom_fields" and custom is not None and deeper:
        name, at = after[3][1], after[3][2]
        if name not in custom:
            declared = ", ".join(sorted(custom)) or "none"
            return at, f"custom field {name!r} is not declared (declared: {declared})"
    return None


def _sample_custom(defs: Mapping[str, CustomFieldDef]) -> dict[str, Any]:
    samples: dict[str, Any] = {"integer": 1, "number": 1.5, "boolean": True, "date": "2024-01-01"}
    out: dict[str, Any] = {}
    for key, definition in defs.items():
        if definition.type == "enum":
            out[key] = (definition.values or ["x"])[0]
        else:
            out[key] = samples.get(definition.type, "x")
    return out


def _sample(variable: str, defs: Mapping[str, CustomFieldDef]) -> dict[str, Any]:
    """A value with every key set, to find type errors the checker cannot see (dyn values)."""
    contact: dict[str, Any] = {
        "id": 1,
        "phone": "+14155550100",
        "first_name": "A",
        "last_name": "B",
        "email": "a@example.com",
        "company": "C",
        "custom_fields": _sample_custom(defs),
    }
    if variable == "contact":
        return contact
    change = {"phone": contact["phone"], "id": 1, "before": contact, "after": contact}
    return {
        "creates": [change],
        "updates": [change],
        "deletes": [change],
        "unchanged": 0,
        "in_scope": 1,
    }


def compile_rules(
    rules: Sequence[RuleConfig], defs: Mapping[str, CustomFieldDef]
) -> list[RuleProblem]:
    """Every problem of the rules themselves: names, syntax, unknown fields, types."""
    problems: list[RuleProblem] = []
    seen: dict[str, int] = {}
    for index, rule in enumerate(rules):
        if rule.name in seen:
            message = f"rule name {rule.name!r} is already used by rule {seen[rule.name] + 1}"
            problems.append(RuleProblem(index, "name", 1, 1, message))
        seen.setdefault(rule.name, index)
        variable = rule.on
        allowed = CONTACT_KEYS if variable == "contact" else PLAN_KEYS
        for key, text in (("when", rule.when), ("require", rule.require)):
            if text is None:
                continue
            try:
                program = _program(variable, text)
            except RuntimeError as exc:
                problems.extend(
                    RuleProblem(index, key, ln, col, m) for ln, col, m in _cel_errors(exc)
                )
                continue
            kind = program.return_type()
            if kind != cel.Type.BOOL and kind != cel.Type.DYN:
                message = f"{key} must give true or false, not {kind.name().lower()}"
                problems.append(RuleProblem(index, key, 1, 1, message))
                continue
            unknown = _unknown_selects(
                text, variable, allowed, defs.keys() if variable == "contact" else None
            )
            problems.extend(RuleProblem(index, key, ln, col, m) for ln, col, m in unknown)
            if unknown:
                continue
            result = program.eval(data={variable: _sample(variable, defs)})
            kind = result.type()
            if kind == cel.Type.ERROR and "overload" in str(result.value()):
                message = f"type error: {_plain_error(result.value())}"
                problems.append(RuleProblem(index, key, 1, 1, message))
            elif kind != cel.Type.ERROR and kind != cel.Type.BOOL:
                message = f"{key} must give true or false, not {kind.name().lower()}"
                problems.append(RuleProblem(index, key, 1, 1, message))
    return problems


def _plain_error(value: Any) -> str:
    """CEL's message without its status code (`NOT_FOUND: Key not found` -> `Key not found`)."""
    return _STATUS.sub("", str(value).strip(), count=1)


# ---------------------------------------------------------------------------
# The values rules see
# ---------------------------------------------------------------------------


def contact_value(contact: DesiredContact) -> dict[str, Any]:
    """What `contact` holds: the declared fields with a value (null ones are absent)."""
    value: dict[str, Any] = {"phone": contact.phone}
    if contact.id is not None:
        value["id"] = contact.id
    for name, field_value in contact.fields.items():
        if field_value is not None:
            value[name] = field_value
    value["custom_fields"] = {k: v for k, v in contact.custom_fields.items() if v is not None}
    return value


def remote_value(
    contact: RemoteContact, defs: Mapping[str, CustomFieldDef] | None = None
) -> dict[str, Any]:
    """A remote contact as a rule sees it: empty fields are absent, declared custom
    values in their declared type (as the plan compares them)."""
    value: dict[str, Any] = {"phone": contact.phone, "id": contact.id}
    for name, field_value in contact.fields.items():
        if field_value is not None and field_value != "":
            value[name] = field_value
    custom: dict[str, Any] = {}
    for key, raw in contact.custom_fields.items():
        definition = defs.get(str(key)) if defs is not None else None
        typed = raw
        if definition is not None:
            try:
                typed = normalize_custom_value(raw, definition)
            except ValueError:
                typed = raw
        if isinstance(typed, str | int | float | bool) and typed != "":
            custom[str(key)] = typed
    value["custom_fields"] = custom
    return value


# ---------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------


def _verdict(program: Any, variable: str, value: Mapping[str, Any]) -> tuple[bool, str | None]:
    """(holds, why not when it could not be evaluated)."""
    try:
        result = program.eval(data={variable: value})
    except RuntimeError as exc:  # a value CEL cannot take
        return False, _plain_error(exc)
    kind = result.type()
    if kind == cel.Type.BOOL:
        return bool(result.value()), None
    if kind == cel.Type.ERROR:
        return False, f"cannot be evaluated: {_plain_error(result.value())}"
    return False, f"gave {kind.name().lower()}, not true or false"


def _violation(
    rules: RuleSet,
    index: int,
    rule: RuleConfig,
    detail: str | None,
    *,
    phone: str | None = None,
    source: SourceRef | None = None,
    row: int | None = None,
) -> RuleViolation:
    return RuleViolation(
        rule=rule.name,
        level=rule.level,
        message=rule.message,
        rule_file=rules.file,
        rule_line=rules.line(index),
        phone=phone,
        source=source,
        detail=detail,
        row=row,
    )


def check_values(
    rules: RuleSet,
    values: Sequence[Mapping[str, Any]],
    *,
    phones: Sequence[str | None] | None = None,
    sources: Sequence[SourceRef | None] | None = None,
    rows: Sequence[int | None] | None = None,
) -> list[RuleViolation]:
    """The contact rules broken by each value of `values` (in order of value, then rule)."""
    chosen = rules.of("contact")
    if not chosen or not values:
        return []
    combined = _all_program(tuple(_body(rule) for _, rule in chosen))
    singles = [(index, rule, _program("contact", _body(rule))) for index, rule in chosen]
    out: list[RuleViolation] = []
    for start in range(0, len(values), CHUNK):
        chunk = values[start : start + CHUNK]
        try:
            result = combined.eval(data={"chunk": list(chunk)})
            if result.type() == cel.Type.BOOL and result.value() is True:
                continue
        except RuntimeError:
            pass
        for offset, value in enumerate(chunk):
            at = start + offset
            for index, rule, program in singles:
                holds, detail = _verdict(program, "contact", value)
                if not holds:
                    out.append(
                        _violation(
                            rules,
                            index,
                            rule,
                            detail,
                            phone=phones[at] if phones is not None else value.get("phone"),
                            source=sources[at] if sources is not None else None,
                            row=rows[at] if rows is not None else None,
                        )
                    )
    return out


@functools.cache
def _all_program(bodies: tuple[str, ...]) -> Any:
    env = cel.NewEnv(
        variables={"chunk": cel.Type.List(cel.Type.Map(cel.Type.STRING, cel.Type.DYN))},
        extensions=[ExtStrings()],
    )
    return env.compile("chunk.all(contact, " + " && ".join(bodies) + ")")


def check_contacts(rules: RuleSet, contacts: Sequence[DesiredContact]) -> list[RuleViolation]:
    """The contact rules each declared contact breaks, naming where it is written."""
    if not rules.of("contact"):
        return []
    return check_values(
        rules,
        [contact_value(c) for c in contacts],
        phones=[c.phone for c in contacts],
        sources=[c.source for c in contacts],
    )


def _fields_of(changes: Iterable[FieldChange], attr: str) -> dict[str, Any]:
    from jcstate.core.plan import CUSTOM_PREFIX

    value: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for change in changes:
        new = getattr(change, attr)
        if new is None or new == "":
            continue
        if change.field.startswith(CUSTOM_PREFIX):
            custom[change.field[len(CUSTOM_PREFIX) :]] = new
        else:
            value[change.field] = new
    value["custom_fields"] = custom
    return value


def change_value(
    change: Change,
    remote: RemoteContact | None,
    defs: Mapping[str, CustomFieldDef] | None = None,
) -> dict[str, Any]:
    """One change as a plan rule sees it: phone, id, and the contact before and after.

    With the remote contact known (`plan`, `apply`), `before` is all of it and
    `after` is it with the change made; without it (`show` of a saved plan),
    an update's `before` and `after` hold the fields the update changes.
    A create has no `before` fields, a delete no `after` fields.
    """
    from jcstate.core.plan import CUSTOM_PREFIX, Action

    empty: dict[str, Any] = {"custom_fields": {}}
    if change.action is Action.CREATE:
        before, after = empty, _fields_of(change.changes, "new")
        after["phone"] = change.phone
    elif change.action is Action.DELETE:
        before = (
            remote_value(remote, defs) if remote is not None else _fields_of(change.changes, "old")
        )
        before.setdefault("phone", change.phone)
        after = empty
    else:
        if remote is not None:
            before = remote_value(remote, defs)
            after = {**before, "custom_fields": dict(before["custom_fields"])}
        else:
            before, after = _fields_of(change.changes, "old"), {"custom_fields": {}}
            before["phone"] = after["phone"] = change.phone
        for field_change in change.changes:
            target = after
            name = field_change.field
            if name.startswith(CUSTOM_PREFIX):
                target, name = after["custom_fields"], name[len(CUSTOM_PREFIX) :]
            if field_change.new is None or field_change.new == "":
                target.pop(name, None)
            else:
                target[name] = field_change.new
    value: dict[str, Any] = {"phone": change.phone, "before": before, "after": after}
    if change.id is not None:
        value["id"] = change.id
    return value


def plan_value(
    plan: Plan,
    remote: Iterable[RemoteContact] = (),
    defs: Mapping[str, CustomFieldDef] | None = None,
) -> dict[str, Any]:
    """What `plan` holds: creates, updates and deletes (lists of changes) and two counts."""
    from jcstate.core.plan import Action

    by_id = {contact.id: contact for contact in remote}
    lists: dict[str, list[dict[str, Any]]] = {"creates": [], "updates": [], "deletes": []}
    key = {Action.CREATE: "creates", Action.UPDATE: "updates", Action.DELETE: "deletes"}
    for change in plan.changes:
        found = by_id.get(change.id) if change.id is not None else None
        lists[key[change.action]].append(change_value(change, found, defs))
    return {**lists, "unchanged": plan.unchanged, "in_scope": plan.in_scope}


def check_plan(
    rules: RuleSet,
    plan: Plan,
    remote: Iterable[RemoteContact] = (),
    defs: Mapping[str, CustomFieldDef] | None = None,
) -> list[RuleViolation]:
    """The plan rules `plan` breaks (`remote`: the contacts it was made against)."""
    if not rules.of("plan"):
        return []
    return check_plan_value(rules, plan_value(plan, remote, defs))


def check_remote(
    rules: RuleSet,
    contacts: Sequence[RemoteContact],
    defs: Mapping[str, CustomFieldDef] | None = None,
) -> list[RuleViolation]:
    """The contact rules remote contacts break (`drift`), each named by its phone."""
    if not rules.of("contact"):
        return []
    return check_values(rules, [remote_value(c, defs) for c in contacts])


def check_plan_value(rules: RuleSet, plan: Mapping[str, Any]) -> list[RuleViolation]:
    """The plan rules the plan value (`plan_value`) breaks."""
    out: list[RuleViolation] = []
    for index, rule in rules.of("plan"):
        holds, detail = _verdict(_program("plan", _body(rule)), "plan", plan)
        if not holds:
            out.append(_violation(rules, index, rule, detail))
    return out

"""The diff engine: ``compute_plan(desired, remote, options) -> Plan``. Pure; no I/O.

(Types below are the shared contract used by apply, planfile, drift and the
renderers. Fields may be added; existing names stay.)

How a plan is made:

1. Match each declared contact to a remote one: by its ``id`` pin first, then
   by its E.164 phone (remote duplicates: the lowest unclaimed id).
2. Compare only the managed fields, after normalising the remote values with
   the declared types, so formatting alone is never a change. A cheap equality
   check runs on every pair; deepdiff runs only on pairs that differ and names
   the changed attributes.
3. Unmatched declared contacts are creates; unmatched in-scope remote contacts
   are deletes with ``prune`` (never protected phones, never on a partial view),
   else counted as ``not_declared``.
4. Order: changes that free a phone another change needs first, then creates,
   updates and deletes, each sorted by phone; warn of phone moves onto phones
   that stay taken.
5. Safety thresholds, warnings and the API cost estimate.

Each step is its own function (`_match_pins`, `_diff_matched`, `_prune`,
`_phone_move_warnings`, the reports); ordering, safety and cost are
`finish_plan`, which `core.changeset.plan_changed` calls too. The JSON form of
a plan is in `core.planjson`.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, overload

from jcstate.core.limits import MAX_BULK
from jcstate.core.model import (
    STANDARD_FIELDS,
    Conflict,
    CustomFieldDef,
    DesiredContact,
    DesiredState,
    RemoteContact,
    RemoteState,
    RuleViolation,
    SourceRef,
    fingerprint,
)
from jcstate.core.normalize import normalize_custom_value, normalize_field, normalize_text
from jcstate.core.normalize import try_normalize_phone as _try_phone
from jcstate.core.text import plural
from jcstate.errors import PlanError

MAX_BULK_BATCH = MAX_BULK

#: Prefix of custom-field attribute names in `FieldChange.field`.
CUSTOM_PREFIX = "custom_fields."


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One attribute that changes: `field` is e.g. "email" or "custom_fields.plan_tier"."""

    field: str
    old: Any
    new: Any


def custom_label(key: str) -> str:
    """`custom_fields.KEY`, one shared string a key (a plan names the same few keys often)."""
    return sys.intern(CUSTOM_PREFIX + key)


class DerivedChanges(Sequence[FieldChange]):
    """The field changes of a create or a delete, computed each time they are read.

    A create's are its body again, a delete's the fields of the contact it
    deletes: keeping them as field changes too cost about 500 bytes a change
    (150 MB in a plan of 300,000). Reads, `==` and `repr` are those of the
    tuple they compute, so a plan compares equal to the same plan read back
    from its JSON.
    """

    __slots__ = ()

    def items(self) -> tuple[FieldChange, ...]:
        raise NotImplementedError

    def __iter__(self) -> Iterator[FieldChange]:
        return iter(self.items())

    def __len__(self) -> int:
        return len(self.items())

    @overload
    def __getitem__(self, index: int) -> FieldChange: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[FieldChange, ...]: ...
    def __getitem__(self, index: int | slice) -> FieldChange | tuple[FieldChange, ...]:
        return self.items()[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DerivedChanges):
            return self.items() == other.items()
        if isinstance(other, tuple):
            return self.items() == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.items())

    def __repr__(self) -> str:
        return repr(self.items())


class CreateFields(DerivedChanges):
    """A create's field changes, from its body: the standard fields it sets, then
    the custom fields by key (the values are new, the old ones None)."""

    __slots__ = ("_body",)

    def __init__(self, body: Mapping[str, Any]) -> None:
        self._body = body

    def items(self) -> tuple[FieldChange, ...]:
        body = self._body
        out = [FieldChange(name, None, body[name]) for name in STANDARD_FIELDS if name in body]
        custom = body.get("custom_fields")
        if custom:
            out.extend(FieldChange(custom_label(k), None, v) for k, v in sorted(custom.items()))
        return tuple(out)


class DeleteFields(DerivedChanges):
    """A delete's field changes, from the contact it deletes: each non-empty value,
    standard fields first, then custom fields by key (the new values None)."""

    __slots__ = ("_remote",)

    def __init__(self, remote: RemoteContact) -> None:
        self._remote = remote

    def items(self) -> tuple[FieldChange, ...]:
        remote = self._remote
        old = [FieldChange(name, remote.fields.get(name), None) for name in STANDARD_FIELDS]
        old.extend(
            FieldChange(custom_label(key), value, None)
            for key, value in sorted(remote.custom_fields.items())
        )
        return tuple(c for c in old if c.old is not None and c.old != "")


#: the body of every delete (nothing is sent): one shared, read-only mapping
NO_BODY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Change:
    """One remote operation.

    `body` is exactly what is sent: for a create, the full contact for the bulk
    (or single POST) endpoint; for an update, the PUT patch; for a delete, {}.
    `fingerprint` is that of the remote contact the change was computed
    against (None for creates). `changes` is a tuple, or for the creates and
    deletes of `compute_plan` a `DerivedChanges` that reads and compares as one.
    """

    action: Action
    phone: str
    id: int | None
    body: Mapping[str, Any]
    changes: Sequence[FieldChange] = ()
    fingerprint: str | None = None
    source: SourceRef | None = None
    #: an update that adds the ownership marker to an unmarked match
    adopt: bool = False


@dataclass(frozen=True)
class PlanOptions:
    prune: bool = False
    #: limit the plan to these E.164 phones (None: everything)
    targets: frozenset[str] | None = None
    bulk_batch_size: int = MAX_BULK_BATCH
    #: for the cost estimate; None means unlimited
    per_minute: int | None = None
    per_hour: int | None = None


@dataclass(frozen=True)
class CostEstimate:
    """The requests an apply of the plan sends, reads and writes, and their time.

    Reads: the listing or lookups (what the plan's own fetch sent: an apply
    fetches the same again), the re-check of each PUT and DELETE target before
    it is written, and the convergence check after the writes.
    """

    bulk: int = 0
    put: int = 0
    delete: int = 0
    seconds: float = 0.0
    #: the listing or lookups (as many as the plan's own fetch sent)
    reads: int = 0
    #: re-reading the targets of the PUTs and DELETEs before they are sent
    rechecks: int = 0
    #: re-reading the touched contacts after the writes
    convergence: int = 0
    #: the rate limit the seconds were computed at (None: unlimited)
    per_minute: int | None = None
    per_hour: int | None = None

    @property
    def writes(self) -> int:
        return self.bulk + self.put + self.delete

    @property
    def read_total(self) -> int:
        return self.reads + self.rechecks + self.convergence

    @property
    def total(self) -> int:
        return self.writes + self.read_total


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    unchanged: int = 0
    safe: bool = True
    unsafe_reasons: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    undeclared_custom_fields: tuple[str, ...] = ()
    #: remote in-scope contacts that are not declared (deleted only with --prune)
    not_declared: int = 0
    cost: CostEstimate = field(default_factory=CostEstimate)
    #: informational lines (not problems), e.g. the not-declared note
    notes: tuple[str, ...] = ()
    #: how many remote contacts were in scope (marked ones with ownership, else all)
    in_scope: int = 0
    #: the broken `rules:` (None: the project has none). Never read from a plan
    #: file: `show` and `apply` check the rules again.
    rule_violations: tuple[RuleViolation, ...] | None = None

    def __repr__(self) -> str:
        # Short: `asyncio.run` writes the repr of its finished task's result.
        return f"Plan({len(self.changes)} changes, summary={self.summary}, safe={self.safe})"

    def count(self, action: Action) -> int:
        return sum(1 for change in self.changes if change.action is action)

    @property
    def summary(self) -> dict[str, int]:
        return {
            "create": self.count(Action.CREATE),
            "update": self.count(Action.UPDATE),
            "delete": self.count(Action.DELETE),
            "unchanged": self.unchanged,
        }

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)


# ---------------------------------------------------------------------------
# Field comparison
# ---------------------------------------------------------------------------


def _same(have: Any, want: Any) -> bool:
    # `True == 1` in Python; a boolean is never the same value as a number here.
    return bool(have == want) and isinstance(have, bool) == isinstance(want, bool)


def _remote_custom(raw: Any, definition: CustomFieldDef | None) -> Any:
    """A remote custom value in its declared type; raw when it does not fit."""
    if definition is None:
        return normalize_text(raw) if isinstance(raw, str) or raw is None else raw
    try:
        return normalize_custom_value(raw, definition)
    except ValueError:
        return raw


def _differing(
    desired: DesiredContact,
    remote: RemoteContact,
    defs: Mapping[str, CustomFieldDef],
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The managed attributes that may differ, as (remote, desired) flat dicts.

    Only attributes whose raw remote value is not already the declared value
    are normalised and kept, so deepdiff sees just the candidates; None when
    normalisation shows every attribute equal.
    """
    have: dict[str, Any] = {}
    want: dict[str, Any] = {}
    differs = False
    remote_fields = remote.fields
    for name, wanted_text in desired.fields.items():
        raw = remote_fields.get(name)
        if raw is wanted_text or (raw == wanted_text and type(raw) is type(wanted_text)):
            continue
        have[name] = normalize_field(name, raw)
        want[name] = wanted_text
        differs = differs or not _same(have[name], wanted_text)
    remote_custom = remote.custom_fields
    for key, wanted in desired.custom_fields.items():
        raw = remote_custom.get(key)
        if raw is wanted or (raw == wanted and type(raw) is type(wanted)):
            continue
        label = custom_label(key)
        have[label] = _remote_custom(raw, defs.get(key))
        want[label] = wanted
        differs = differs or not _same(have[label], wanted)
    return (have, want) if differs else None


def _field_changes(have: Mapping[str, Any], want: Mapping[str, Any]) -> list[FieldChange]:
    """The changed attributes of one contact, named by deepdiff (imported on first use:
    reading a project, or the changed set of `--changed-since`, needs no diff engine)."""
    from deepdiff import DeepDiff

    diff = DeepDiff(dict(have), dict(want), view="tree")
    labels: set[str] = set()
    for levels in diff.values():
        for level in levels:
            path = level.path(output_format="list")
            if path:
                labels.add(str(path[0]))
    return [
        FieldChange(label, have.get(label), want.get(label))
        for label in sorted(labels, key=_field_sort_key)
        if not _same(have.get(label), want.get(label))
    ]


_FIELD_RANK = {name: index for index, name in enumerate(("phone", *STANDARD_FIELDS))}


def _field_sort_key(label: str) -> tuple[int, str]:
    return (_FIELD_RANK.get(label, len(_FIELD_RANK)), label)


def _marker_value(remote: RemoteContact, field_name: str) -> str | None:
    raw = remote.custom_fields.get(field_name)
    return None if raw is None else normalize_text(raw)


# ---------------------------------------------------------------------------
# Building changes
# ---------------------------------------------------------------------------


def _create(desired: DesiredContact, marker: tuple[str, str] | None) -> Change:
    body: dict[str, Any] = {"phone": desired.phone}
    for name in STANDARD_FIELDS:
        value = desired.fields.get(name)
        if value is not None:
            body[name] = value
    custom: dict[str, Any] = {
        key: value for key, value in sorted(desired.custom_fields.items()) if value is not None
    }
    if marker is not None:
        custom[marker[0]] = marker[1]
    if custom:
        body["custom_fields"] = custom
    return Change(
        action=Action.CREATE,
        phone=desired.phone,
        id=None,
        body=body,
        changes=CreateFields(body),
        source=desired.source,
    )


def _update(
    desired: DesiredContact,
    remote: RemoteContact,
    defs: Mapping[str, CustomFieldDef],
    marker: tuple[str, str] | None,
    region: str,
) -> Change | None:
    """The PUT patch that makes `remote` match `desired`, or None when nothing changes."""
    changes: list[FieldChange] = []
    pair = _differing(desired, remote, defs)
    if pair is not None:
        changes.extend(_field_changes(*pair))
    if desired.id is not None:
        remote_phone = _try_phone(remote.phone, region)
        if remote_phone != desired.phone:
            changes.insert(0, FieldChange("phone", remote_phone, desired.phone))
    adopt = False
    if marker is not None and _marker_value(remote, marker[0]) != marker[1]:
        adopt = True
        label = custom_label(marker[0])
        changes = [c for c in changes if c.field != label]
        changes.append(FieldChange(label, remote.custom_fields.get(marker[0]), marker[1]))
    if not changes:
        return None
    body: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for change in changes:
        if change.field.startswith(CUSTOM_PREFIX):
            custom[change.field[len(CUSTOM_PREFIX) :]] = change.new
        else:
            body[change.field] = change.new
    if custom:
        body["custom_fields"] = dict(sorted(custom.items()))
    return Change(
        action=Action.UPDATE,
        phone=desired.phone,
        id=remote.id,
        body=body,
        changes=tuple(changes),
        fingerprint=fingerprint(remote),
        source=desired.source,
        adopt=adopt,
    )


def delete_change(remote: RemoteContact) -> Change:
    """The delete of `remote`: its field changes are read from it (`DeleteFields`)."""
    return Change(
        action=Action.DELETE,
        phone=remote.phone,
        id=remote.id,
        body=NO_BODY,
        changes=DeleteFields(remote),
        fingerprint=fingerprint(remote),
    )


# ---------------------------------------------------------------------------
# Ordering
# ---------------------------------------------------------------------------

_ACTION_RANK = {Action.CREATE: 0, Action.UPDATE: 1, Action.DELETE: 2}


def _base_key(change: Change) -> tuple[int, str, int]:
    return (_ACTION_RANK[change.action], change.phone, change.id or 0)


def _freed_phone(change: Change) -> str | None:
    """The phone a change frees: a delete's, or the old phone of a phone move."""
    if change.action is Action.DELETE:
        return change.phone
    if change.action is Action.UPDATE and "phone" in change.body:
        for item in change.changes:
            if item.field == "phone" and item.old is not None:
                return str(item.old)
    return None


def _claimed_phone(change: Change) -> str | None:
    if change.action is Action.CREATE:
        return change.phone
    if change.action is Action.UPDATE and "phone" in change.body:
        return str(change.body["phone"])
    return None


def order_changes(changes: Iterable[Change]) -> tuple[tuple[Change, ...], list[str]]:
    """The documented order, and warnings about phone moves that cannot be ordered.

    Creates, then updates, then deletes, each sorted by phone. A change that
    frees a phone (a delete, or an update moving a contact off it) which
    another change claims (a create, or an update moving a contact onto it)
    is moved before the claimer; such freeing changes come first.
    """
    base = sorted(changes, key=_base_key)
    successors, indegree, freeing = _phone_dependencies(base)
    if not freeing:
        return tuple(base), []
    ordered = _freeing_first(len(base), successors, indegree, freeing)
    warnings: list[str] = []
    if len(ordered) < len(base):
        done = set(ordered)
        stuck = [i for i in range(len(base)) if i not in done]
        phones = ", ".join(base[i].phone for i in stuck)
        warnings.append(
            f"contacts swap phones in a cycle ({phones}); apply cannot order these "
            "changes and one of them will fail: change one phone at a time"
        )
        ordered.extend(stuck)
    return tuple(base[i] for i in ordered), warnings


def _phone_dependencies(
    base: Sequence[Change],
) -> tuple[dict[int, list[int]], list[int], set[int]]:
    """Which change (by index) must come before which: (successors, indegree, freeing)."""
    claimers: dict[str, list[int]] = {}
    for index, change in enumerate(base):
        phone = _claimed_phone(change)
        if phone is not None:
            claimers.setdefault(phone, []).append(index)
    successors: dict[int, list[int]] = {}
    indegree = [0] * len(base)
    freeing: set[int] = set()
    if not claimers:
        return successors, indegree, freeing
    for index, change in enumerate(base):
        phone = _freed_phone(change)
        if phone is None:
            continue
        for target in claimers.get(phone, ()):
            if target != index:
                successors.setdefault(index, []).append(target)
                indegree[target] += 1
                freeing.add(index)
    return successors, indegree, freeing


def _freeing_first(
    size: int, successors: Mapping[int, list[int]], indegree: list[int], freeing: set[int]
) -> list[int]:
    """A topological order of the indexes, freeing changes first, else in base order.

    The indexes on a cycle are left out.
    """
    ready = [(0 if i in freeing else 1, i) for i in range(size) if indegree[i] == 0]
    heapq.heapify(ready)
    ordered: list[int] = []
    while ready:
        _, index = heapq.heappop(ready)
        ordered.append(index)
        for target in successors.get(index, ()):
            indegree[target] -= 1
            if indegree[target] == 0:
                heapq.heappush(ready, (0 if target in freeing else 1, target))
    return ordered


# ---------------------------------------------------------------------------
# Cost
# ---------------------------------------------------------------------------


def listing_requests(contacts: int) -> int:
    """Requests of a verified listing of `contacts`: its pages (100 a page), and 2 more
    that bracket a listing of more than one page."""
    pages = max(1, math.ceil(contacts / 100))
    return pages if pages == 1 else pages + 2


def _seconds(requests: int, per_minute: int | None, per_hour: int | None) -> float:
    seconds = 0.0
    if per_minute:
        seconds = max(seconds, requests * 60.0 / per_minute)
    if per_hour:
        seconds = max(seconds, requests * 3600.0 / per_hour)
    return round(seconds, 1)


def estimate_cost(
    creates: int,
    updates: int,
    deletes: int,
    *,
    batch_size: int = MAX_BULK_BATCH,
    per_minute: int | None = None,
    per_hour: int | None = None,
    remote_total: int | None = None,
    reads: int = 0,
) -> CostEstimate:
    """Requests by kind, reads and writes, and the seconds they take at the rate limits.

    `remote_total`: the contacts in the account, when known: a re-check or a
    convergence check then costs at most one listing. `reads`: what the
    listing or lookups cost (the plan's own fetch; see `with_reads`).
    """
    bulk = math.ceil(creates / max(1, batch_size)) if creates else 0
    targets = updates + deletes
    touched = creates + updates + deletes
    if remote_total is None:
        rechecks, convergence = targets, (1 + touched if touched else 0)
    else:
        rechecks = min(targets, listing_requests(remote_total))
        # The convergence check reads page 1 to learn the size of the account, then
        # looks the touched phones up, unless the listing takes fewer requests.
        listing = listing_requests(max(0, remote_total + creates - deletes))
        convergence = 0 if not touched else (1 + touched if touched < listing else listing)
    cost = CostEstimate(
        bulk=bulk,
        put=updates,
        delete=deletes,
        reads=reads,
        rechecks=rechecks,
        convergence=convergence,
        per_minute=per_minute,
        per_hour=per_hour,
    )
    return dataclasses.replace(cost, seconds=_seconds(cost.total, per_minute, per_hour))


def with_reads(cost: CostEstimate, reads: int) -> CostEstimate:
    """`cost` with the listing or lookups that the plan's fetch sent (measured by the shell)."""
    cost = dataclasses.replace(cost, reads=reads)
    return dataclasses.replace(cost, seconds=_seconds(cost.total, cost.per_minute, cost.per_hour))


# ---------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------


def _percent(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


def _conflicts(
    by_phone: Mapping[str, Sequence[RemoteContact]],
    given: Iterable[Conflict],
    targets: frozenset[str] | None,
) -> tuple[Conflict, ...]:
    found: dict[str, set[int]] = {}
    for conflict in given:
        found.setdefault(conflict.phone, set()).update(conflict.ids)
    for phone, holders in by_phone.items():
        if len(holders) > 1:
            found.setdefault(phone, set()).update(r.id for r in holders)
    return tuple(
        Conflict(phone, tuple(sorted(ids)))
        for phone, ids in sorted(found.items())
        if targets is None or phone in targets
    )


def safety_reasons(
    desired: DesiredState, *, prune: bool, deletes: int, updates: int, in_scope: int
) -> list[str]:
    """Why changes of these counts are unsafe (empty: safe). Pure.

    The one place the thresholds and the empty-set rule are decided: for a
    fresh plan, and again at apply time for what a saved plan still applies.
    """
    unsafe: list[str] = []
    if prune and deletes and not desired.contacts:
        unsafe.append(
            f"no contacts are declared: pruning would delete all {deletes} in-scope remote contacts"
        )
    if in_scope >= desired.safety.min_existing and in_scope > 0:
        delete_share = _percent(deletes, in_scope)
        if delete_share > desired.safety.max_delete_percent:
            unsafe.append(
                f"{plural(deletes, 'delete')} would remove {delete_share:.1f}% of the "
                f"{in_scope} in-scope remote contacts "
                f"(safety.max_delete_percent: {desired.safety.max_delete_percent:g})"
            )
        update_share = _percent(updates, in_scope)
        if update_share > desired.safety.max_update_percent:
            unsafe.append(
                f"{plural(updates, 'update')} would change {update_share:.1f}% of the "
                f"{in_scope} in-scope remote contacts "
                f"(safety.max_update_percent: {desired.safety.max_update_percent:g})"
            )
    return unsafe


def not_declared_note(count: int) -> str:
    """The note of a plan without --prune that leaves undeclared remote contacts alone."""
    one = count == 1
    return (
        f"{plural(count, 'remote contact')} {'is' if one else 'are'} not "
        f"declared (use --prune to delete {'it' if one else 'them'})"
    )


def _refuse_a_second_owner(
    pinned: DesiredContact, taken: RemoteContact, by_phone: Mapping[str, DesiredContact]
) -> None:
    """An `id:` pin that moves a remote contact off a phone another entry declares.

    That entry would match the same remote contact by phone: the plan would
    move the contact to the pinned phone and create the old phone again. A
    contact has one owner, so this is an error naming both places.
    """
    other = by_phone.get(taken.phone)
    if other is not None and other.id is None:
        raise PlanError(
            f"{pinned.source or pinned.phone}: `id: {pinned.id}` takes over the remote "
            f"contact {taken.id}, which holds {taken.phone}; "
            f"{other.source or other.phone} declares {taken.phone} too (the plan would "
            f"move the contact to {pinned.phone} and create {taken.phone} again). "
            "Remove one of the two entries, or pin the other entry to its own id"
        )


def remote_size(remote: RemoteState) -> int | None:
    """How many contacts the account holds, when the fetch told (None: not known)."""
    if remote.total is not None:
        return remote.total
    return len(remote.contacts) if remote.complete else None


@dataclass(frozen=True)
class Finish:
    """The shared last step of a plan (`finish_plan`): order, safety and cost."""

    changes: tuple[Change, ...]
    #: phone moves that cannot be ordered
    order_warnings: tuple[str, ...]
    unsafe_reasons: tuple[str, ...]
    cost: CostEstimate


def finish_plan(
    desired: DesiredState,
    changes: Iterable[Change],
    *,
    deletes: int,
    in_scope: int,
    options: PlanOptions,
    remote: RemoteState,
) -> Finish:
    """Order the changes, check the safety thresholds and estimate the cost. Pure.

    The one finishing step of a whole plan (`compute_plan`) and of a changed
    set's plan (`core.changeset.plan_changed`): `deletes` and `in_scope` are
    what the thresholds count.
    """
    ordered, order_warnings = order_changes(changes)
    updates = sum(1 for c in ordered if c.action is Action.UPDATE)
    unsafe = safety_reasons(
        desired, prune=options.prune, deletes=deletes, updates=updates, in_scope=in_scope
    )
    creates = sum(1 for c in ordered if c.action is Action.CREATE)
    cost = estimate_cost(
        creates,
        updates,
        deletes,
        batch_size=options.bulk_batch_size,
        per_minute=options.per_minute,
        per_hour=options.per_hour,
        remote_total=remote_size(remote),
    )
    return Finish(ordered, tuple(order_warnings), tuple(unsafe), cost)


@dataclass(frozen=True)
class _PhoneIndex:
    """The remote contacts by phone: the lowest-id holder of each phone, and the full
    id-sorted lists of the phones held more than once (remote duplicates are rare)."""

    first_holder: dict[str, RemoteContact]
    duplicates: dict[str, list[RemoteContact]]

    def holders(self, phone: str) -> Sequence[RemoteContact]:
        if phone in self.duplicates:
            return self.duplicates[phone]
        return [self.first_holder[phone]] if phone in self.first_holder else []


def _index_by_phone(contacts: Sequence[RemoteContact]) -> _PhoneIndex:
    # Later holders of a phone lose to earlier ones in a reversed comprehension.
    first_holder: dict[str, RemoteContact] = {r.phone: r for r in reversed(contacts)}
    duplicates: dict[str, list[RemoteContact]] = {}
    if len(first_holder) != len(contacts):
        for held in contacts:
            if first_holder[held.phone] is not held:
                duplicates.setdefault(held.phone, [first_holder[held.phone]]).append(held)
    for phone, same_phone in duplicates.items():
        same_phone.sort(key=lambda r: r.id)
        first_holder[phone] = same_phone[0]
    return _PhoneIndex(first_holder, duplicates)


def _match_pins(
    wanted: Sequence[DesiredContact],
    desired: DesiredState,
    contacts: Sequence[RemoteContact],
    warnings: list[str],
) -> dict[int, RemoteContact]:
    """Step 1: the id pins claim their remote contacts (by position in `wanted`)."""
    pinned: dict[int, RemoteContact] = {}
    if not any(d.id is not None for d in wanted):
        return pinned
    by_id = {r.id: r for r in contacts}
    declared_phones = {d.phone: d for d in desired.contacts}
    claimed: set[int] = set()
    for index, contact in enumerate(wanted):
        if contact.id is None:
            continue
        found = by_id.get(contact.id)
        if found is None or found.id in claimed:
            warnings.append(
                f"{contact.phone}: pinned id {contact.id} was not found remotely; "
                "matching by phone instead"
            )
            continue
        if found.phone != contact.phone:
            _refuse_a_second_owner(contact, found, declared_phones)
        claimed.add(found.id)
        pinned[index] = found
    return pinned


def _unclaimed_duplicate(phone: str, index: _PhoneIndex, claimed: set[int]) -> RemoteContact | None:
    """The lowest-id unclaimed remote contact holding `phone` (its first holder is claimed)."""
    return next((r for r in index.duplicates.get(phone, ()) if r.id not in claimed), None)


def _bool_for_number(
    contact: DesiredContact, remote_custom: Mapping[str, Any], numeric_keys: Sequence[str]
) -> bool:
    """A remote boolean where an integer or number is declared (`True == 1` in Python)."""
    for key in numeric_keys:
        if key in contact.custom_fields and type(remote_custom[key]) is bool:
            return True
    return False


def _diff_matched(
    wanted: Sequence[DesiredContact],
    desired: DesiredState,
    pinned: Mapping[int, RemoteContact],
    index: _PhoneIndex,
    marker: tuple[str, str] | None,
    claimed: set[int],
) -> tuple[list[Change], int]:
    """Step 2: creates and updates, and how many matched contacts are unchanged.

    Adds the id of every matched remote contact to `claimed`.
    """
    defs = desired.custom_field_defs
    region = desired.default_region
    claimed.update(r.id for r in pinned.values())
    numeric_keys = tuple(key for key, d in defs.items() if d.type in ("integer", "number"))
    changes: list[Change] = []
    unchanged = 0
    first_holder = index.first_holder
    for position, contact in enumerate(wanted):
        match = pinned.get(position) if pinned else None
        if match is None:
            match = first_holder.get(contact.phone)
            if match is not None and match.id in claimed:
                match = _unclaimed_duplicate(contact.phone, index, claimed)
            if match is None:
                changes.append(_create(contact, marker))
                continue
        claimed.add(match.id)
        # The fast path of the common "nothing changed" case: dict item views compare
        # in C. `True == 1` slips through that comparison, and a remote boolean never
        # normalises to a number, so integer and number keys get a type check.
        remote_custom = match.custom_fields
        if (
            contact.fields.items() <= match.fields.items()
            and contact.custom_fields.items() <= remote_custom.items()
            and (contact.id is None or contact.phone == match.phone)
            and (marker is None or remote_custom.get(marker[0]) == marker[1])
            and not (numeric_keys and _bool_for_number(contact, remote_custom, numeric_keys))
        ):
            unchanged += 1
            continue
        update = _update(contact, match, defs, marker, region)
        if update is None:
            unchanged += 1
        else:
            changes.append(update)
    return changes, unchanged


@dataclass(frozen=True)
class _Scope:
    """Step 3's result: the in-scope and not declared remote contacts, and the deletes."""

    in_scope: int
    undeclared: int
    deletes: list[Change]


def _prune(
    desired: DesiredState,
    remote: RemoteState,
    options: PlanOptions,
    marker: tuple[str, str] | None,
    claimed: set[int],
    warnings: list[str],
    notes: list[str],
) -> _Scope:
    """Step 3: scope, the not-declared remote contacts, and prune."""
    targets = options.targets
    if marker is not None:
        in_scope = [r for r in remote.contacts if _marker_value(r, marker[0]) == marker[1]]
    else:
        in_scope = list(remote.contacts)
    undeclared = [
        r for r in in_scope if r.id not in claimed and (targets is None or r.phone in targets)
    ]
    deletes: list[Change] = []
    if options.prune and not remote.complete:
        warnings.append(
            "--prune ignored: the remote view is partial (targeted refresh); "
            "use --refresh full to prune"
        )
    elif options.prune:
        protected = {
            _try_phone(phone, desired.default_region) for phone in desired.safety.protected
        }
        deletes = _prune_deletes(undeclared, protected, warnings)
    elif undeclared:
        notes.append(not_declared_note(len(undeclared)))
    if not remote.complete and not options.prune and remote.total is not None:
        # A targeted refresh never sees the contacts that are not declared, so the
        # count above cannot be given; say so rather than imply there are none.
        notes.append(
            f"the account holds {plural(remote.total, 'contact')}; only the declared phones were "
            "looked up (targeted refresh), so contacts that are not declared are not "
            "counted here (use --refresh full to count them)"
        )
    return _Scope(len(in_scope), len(undeclared), deletes)


def _prune_deletes(
    undeclared: Sequence[RemoteContact], protected: set[str], warnings: list[str]
) -> list[Change]:
    """The deletes of `--prune`, by phone: every not-declared contact but the protected."""
    deletes: list[Change] = []
    for extra in sorted(undeclared, key=lambda r: (r.phone, r.id)):
        if extra.phone in protected:
            warnings.append(
                f"{extra.phone} (id {extra.id}) is protected and not declared; it is not deleted"
            )
            continue
        deletes.append(delete_change(extra))
    return deletes


def _phone_move_warnings(
    ordered: Iterable[Change], index: _PhoneIndex, deletes: Sequence[Change], claimed: set[int]
) -> list[str]:
    """Step 4: phone moves onto phones that stay taken."""
    deleted_ids = {c.id for c in deletes}
    warnings: list[str] = []
    for change in ordered:
        if change.action is not Action.UPDATE or "phone" not in change.body:
            continue
        new_phone = str(change.body["phone"])
        holder_ids = [
            r.id
            for r in index.holders(new_phone)
            if r.id != change.id and r.id not in deleted_ids and r.id not in claimed
        ]
        if holder_ids:
            warnings.append(
                f"{new_phone}: contact id {change.id} moves to this phone, which remote "
                f"contact id {holder_ids[0]} still holds; the update may be refused"
            )
    return warnings


def _undeclared_keys(
    desired: DesiredState,
    remote: RemoteState,
    targets: frozenset[str] | None,
    marker: tuple[str, str] | None,
) -> tuple[str, ...]:
    """Step 5 (reports): the remote custom-field keys the project does not declare."""
    skip = {marker[0]} if marker is not None else set()
    seen_keys: set[str] = set()
    for held in remote.contacts:
        if targets is None or held.phone in targets:
            seen_keys.update(held.custom_fields)
    defs = desired.custom_field_defs
    return tuple(sorted(k for k in seen_keys if k not in defs and k not in skip))


def _conflict_warning(conflict: Conflict) -> str:
    ids = ", ".join(str(i) for i in conflict.ids)
    return (
        f"{conflict.phone}: {len(conflict.ids)} remote contacts share this phone "
        f"(ids {ids}); the lowest id is the match"
    )


def compute_plan(desired: DesiredState, remote: RemoteState, options: PlanOptions) -> Plan:
    """The changes that make `remote` match `desired`. Pure.

    The steps of the module docstring, each its own function, then
    `finish_plan` (order, safety, cost).
    """
    targets = options.targets
    ownership = desired.ownership
    marker = (ownership.field, ownership.value) if ownership is not None else None
    warnings: list[str] = []
    notes: list[str] = []
    index = _index_by_phone(remote.contacts)
    wanted: Sequence[DesiredContact] = desired.contacts
    if targets is not None:
        wanted = [d for d in desired.contacts if d.phone in targets]

    pinned = _match_pins(wanted, desired, remote.contacts, warnings)
    claimed: set[int] = set()
    changes, unchanged = _diff_matched(wanted, desired, pinned, index, marker, claimed)
    scope = _prune(desired, remote, options, marker, claimed, warnings, notes)
    finish = finish_plan(
        desired,
        [*changes, *scope.deletes],
        deletes=len(scope.deletes),
        in_scope=scope.in_scope,
        options=options,
        remote=remote,
    )
    warnings.extend(finish.order_warnings)
    warnings.extend(_phone_move_warnings(finish.changes, index, scope.deletes, claimed))
    conflicts = _conflicts(index.duplicates, remote.conflicts, targets)
    warnings.extend(_conflict_warning(conflict) for conflict in conflicts)
    return Plan(
        changes=finish.changes,
        unchanged=unchanged,
        safe=not finish.unsafe_reasons,
        unsafe_reasons=finish.unsafe_reasons,
        warnings=tuple(warnings),
        conflicts=conflicts,
        undeclared_custom_fields=_undeclared_keys(desired, remote, targets, marker),
        not_declared=scope.undeclared,
        cost=finish.cost,
        notes=tuple(notes),
        in_scope=scope.in_scope,
    )

"""What a change of the files means: the changed set of `--changed-since REF`. Pure; no I/O.

`compute_changeset(base, current)` compares two *resolved* declarations
(defaults merged, phones normalised, custom values typed) contact by contact
by identity: an id pin, else the E.164 phone. The changed set is the
contacts added, the contacts whose resolved fields differ, and the contacts
no longer declared. Moving a contact to another file, reordering,
reformatting, comments or another way of writing the same phone change
nothing, so they are not in the set.

`plan_changed(current, changes, remote, options)` is `compute_plan` narrowed
to that set: only the changed contacts are planned, and with `prune` the only
delete candidates are the contacts no longer declared, each still subject to
the ownership scope, the protected phones and the thresholds.

`widen_reason(base, current)` names a change that cannot be narrowed safely
(ownership, the API URL, no project at the base): the caller then plans the
whole project with a full refresh.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jcstate.core.model import (
    DesiredContact,
    DesiredState,
    ProjectConfig,
    RemoteContact,
    RemoteState,
)
from jcstate.core.normalize import try_normalize_phone
from jcstate.errors import PlanFileError

if TYPE_CHECKING:  # the plan engine is imported by the functions that plan (below)
    from jcstate.core.plan import Change, Plan, PlanOptions

#: At most this many "no longer declared" notes; the rest are counted.
MAX_LISTED = 50


@dataclass(frozen=True)
class ChangeSet:
    """The contacts a change of the files touches (declaration order kept)."""

    added: tuple[DesiredContact, ...] = ()
    changed: tuple[DesiredContact, ...] = ()
    #: declared at the base, no longer declared (as they were declared at the base)
    removed: tuple[DesiredContact, ...] = ()

    @property
    def current(self) -> tuple[DesiredContact, ...]:
        """The contacts of the set that are still declared (added or changed)."""
        return (*self.added, *self.changed)

    @property
    def size(self) -> int:
        return len(self.added) + len(self.changed) + len(self.removed)


def _typed(values: Mapping[str, Any]) -> dict[str, tuple[type, Any]]:
    return {key: (type(value), value) for key, value in values.items()}


def same_resolved(a: DesiredContact, b: DesiredContact) -> bool:
    """Whether two declarations mean the same thing (`True` and `1` differ; so do 12 and 12.0)."""
    if a.phone != b.phone or a.id != b.id or a.fields != b.fields:
        return False
    if a.custom_fields == b.custom_fields:
        return all(
            type(value) is type(b.custom_fields[key]) for key, value in a.custom_fields.items()
        )
    return _typed(a.custom_fields) == _typed(b.custom_fields)


def compute_changeset(
    base: Iterable[DesiredContact], current: Iterable[DesiredContact]
) -> ChangeSet:
    """Added, changed and no longer declared contacts, matched by id pin, else by phone."""
    base_list = list(base)
    by_id: dict[int, int] = {}
    by_phone: dict[str, int] = {}
    for position, contact in enumerate(base_list):
        if contact.id is not None:
            by_id.setdefault(contact.id, position)
        by_phone.setdefault(contact.phone, position)
    paired: set[int] = set()
    added: list[DesiredContact] = []
    changed: list[DesiredContact] = []
    for contact in current:
        index: int | None = by_id.get(contact.id) if contact.id is not None else None
        if index is None or index in paired:
            index = by_phone.get(contact.phone)
            if index is not None and (
                index in paired or _pinned_elsewhere(base_list[index], contact)
            ):
                index = None
        if index is None:
            added.append(contact)
            continue
        paired.add(index)
        if not same_resolved(base_list[index], contact):
            changed.append(contact)
    removed = tuple(c for i, c in enumerate(base_list) if i not in paired)
    return ChangeSet(added=tuple(added), changed=tuple(changed), removed=removed)


def _pinned_elsewhere(base: DesiredContact, current: DesiredContact) -> bool:
    """A base contact pinned to another id than the current one is another identity."""
    return base.id is not None and current.id is not None and base.id != current.id


def widen_reason(base: ProjectConfig | None, current: ProjectConfig, ref: str) -> str | None:
    """Why the changed set cannot be narrowed safely (the caller plans everything), or None."""
    if base is None:
        return f"jcstate.yaml did not exist at {ref}"
    if base.ownership != current.ownership:
        return "ownership changed"
    if base.api.url != current.api.url:
        return "the API URL changed"
    return None


# ---------------------------------------------------------------------------
# The plan of a changed set
# ---------------------------------------------------------------------------


def changed_phones(changes: ChangeSet) -> list[str]:
    """The phones a refresh of the changed set looks up (sorted, each once)."""
    return sorted({c.phone for c in (*changes.current, *changes.removed)})


def changed_ids(changes: ChangeSet) -> list[int]:
    """The remote ids the changed set pins (fetched by id)."""
    return sorted({c.id for c in (*changes.current, *changes.removed) if c.id is not None})


def _remote_of(
    contact: DesiredContact,
    by_id: Mapping[int, RemoteContact],
    by_phone: Mapping[str, RemoteContact],
) -> RemoteContact | None:
    if contact.id is not None and contact.id in by_id:
        return by_id[contact.id]
    return by_phone.get(contact.phone)


def _scope_count(plan: Plan, remote: RemoteState, desired: DesiredState, base_declared: int) -> int:
    """The in-scope remote contacts the thresholds count against.

    A full listing knows them; otherwise the account total (without ownership)
    or, with ownership, the contacts declared at the base (managed contacts
    are marked, so these are the best lower estimate of the owned ones).
    """
    if remote.complete:
        return plan.in_scope
    if desired.ownership is None and remote.total is not None:
        return remote.total
    return base_declared


def plan_changed(
    current: DesiredState,
    changes: ChangeSet,
    remote: RemoteState,
    options: PlanOptions,
    *,
    base_declared: int,
) -> Plan:
    """The plan of the changed set only: creates and updates of its declared contacts and,
    with `prune`, deletes of its contacts that are no longer declared. Pure.

    `remote` holds at least the remote contacts of the set (per-phone or by-id
    lookups, or a full listing). Contacts outside the set are neither planned
    nor counted: a full listing read for cost reasons does not widen the plan.
    """
    from jcstate.core.plan import compute_plan, finish_plan, not_declared_note

    safety = current.safety
    narrow = dataclasses.replace(
        current,
        contacts=changes.current,
        # The thresholds are checked below, against the right scope.
        safety=safety.model_copy(update={"max_update_percent": 100, "max_delete_percent": 100}),
    )
    phones = frozenset(c.phone for c in changes.current) | frozenset(
        c.phone for c in changes.removed
    )
    base = compute_plan(
        narrow,
        dataclasses.replace(remote, total=None),
        dataclasses.replace(options, prune=False, targets=phones),
    )
    not_declared = not_declared_note(base.not_declared)
    notes = [note for note in base.notes if note != not_declared]
    warnings = list(base.warnings)

    deletes, left = _removed_deletes(current, changes, remote, base, options, warnings, notes)
    notes.extend(left[:MAX_LISTED])
    if len(left) > MAX_LISTED:
        notes.append(
            f"... and {len(left) - MAX_LISTED} more no longer declared; deleted only with --prune"
        )

    scope = _scope_count(base, remote, current, base_declared)
    finish = finish_plan(
        current,
        [*base.changes, *deletes],
        deletes=len(deletes),
        in_scope=scope,
        options=options,
        remote=remote,
    )
    warnings.extend(w for w in finish.order_warnings if w not in warnings)
    return dataclasses.replace(
        base,
        changes=finish.changes,
        safe=not finish.unsafe_reasons,
        unsafe_reasons=finish.unsafe_reasons,
        warnings=tuple(warnings),
        notes=tuple(notes),
        not_declared=len(left),
        cost=finish.cost,
        in_scope=scope,
    )


def _removed_deletes(
    current: DesiredState,
    changes: ChangeSet,
    remote: RemoteState,
    base: Plan,
    options: PlanOptions,
    warnings: list[str],
    notes: list[str],
) -> tuple[list[Change], list[str]]:
    """The deletes (with `prune`) of the contacts no longer declared, and the notes of
    those left alone without it.

    Delete candidates: the remote contacts of the contacts no longer declared,
    unless something still declared claims them; never a contact outside the
    ownership scope, never a protected phone.
    """
    from jcstate.core.plan import delete_change

    claimed = {c.id for c in base.changes if c.id is not None}
    declared_phones = {c.phone for c in current.contacts}
    declared_ids = {c.id for c in current.contacts if c.id is not None}
    by_id = {r.id: r for r in remote.contacts}
    by_phone: dict[str, RemoteContact] = {}
    for held in remote.contacts:  # sorted by id: the lowest id holds a shared phone
        by_phone.setdefault(held.phone, held)
    ownership = current.ownership
    protected = {try_normalize_phone(p, current.default_region) for p in current.safety.protected}
    deletes: list[Change] = []
    left: list[str] = []
    seen: set[int] = set()
    for gone in sorted(changes.removed, key=lambda c: (c.phone, c.id or 0)):
        found = _remote_of(gone, by_id, by_phone)
        if found is None or found.id in seen:
            continue
        seen.add(found.id)
        if found.id in claimed or found.id in declared_ids or found.phone in declared_phones:
            continue
        label = f"{found.phone} (id {found.id})"
        if ownership is not None and found.custom_fields.get(ownership.field) != ownership.value:
            notes.append(
                f"{label}: no longer declared, but not marked "
                f"{ownership.field}: {ownership.value}; left alone"
            )
            continue
        if found.phone in protected:
            warnings.append(f"{label} is protected and no longer declared; it is not deleted")
            continue
        if options.prune:
            deletes.append(delete_change(found))
        else:
            left.append(f"{label}: no longer declared; deleted only with --prune")
    return deletes, left


# ---------------------------------------------------------------------------
# What the plan says about it
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangedSince:
    """The `changed_since` record of a plan: what was planned, and what was not read."""

    ref: str
    #: the merge base of REF and HEAD (full sha)
    commit: str
    #: contacts in the changed set (added + changed + no longer declared)
    contacts: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    #: contacts declared now
    declared: int = 0
    #: declared contacts outside the changed set (not read, not planned)
    not_read: int = 0
    #: why the scope was widened to a full refresh (None: narrowed)
    widened: str | None = None

    @property
    def short(self) -> str:
        return self.commit[:7]

    def line(self) -> str:
        """The `Changed since ...` line of the text and markdown plans."""
        head = f"Changed since {self.ref} ({self.short}): "
        if self.widened is not None:
            return (
                f"{head}{self.widened}, so the plan cannot be narrowed; full refresh of "
                f"all {self.declared:,} declared {'contact' if self.declared == 1 else 'contacts'}."
            )
        contacts = f"{self.contacts:,} {'contact' if self.contacts == 1 else 'contacts'}"
        if self.not_read == 1:
            rest = "1 declared contact was read from the files, not fetched"
        else:
            rest = f"{self.not_read:,} declared contacts were read from the files, not fetched"
        return f"{head}{contacts}; {rest} (drift there is reported by jcstate drift)."

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "commit": self.commit,
            "contacts": self.contacts,
            "added": self.added,
            "changed": self.changed,
            "removed": self.removed,
            "declared": self.declared,
            "not_read": self.not_read,
            "widened": self.widened,
        }


def changed_since_from_dict(data: Any) -> ChangedSince | None:
    """The record as saved in a plan file (None when absent); PlanFileError when malformed."""
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise PlanFileError("'changed_since' must be an object")
    from jcstate.core.planjson import typed

    record: ChangedSince = typed(ChangedSince, data, "'changed_since'")
    return record


def changed_since_record(
    ref: str,
    commit: str,
    changes: ChangeSet | None,
    declared: int,
    *,
    widened: str | None = None,
    outside: int | None = None,
) -> ChangedSince:
    """The record of a narrowed plan (`changes`), or of a widened one (`widened`).

    `outside`: declared contacts not in the set, when the caller counted them
    (the diff may skip files that did not change); else `declared` minus the set.
    """
    if widened is not None or changes is None:
        return ChangedSince(ref=ref, commit=commit, declared=declared, widened=widened)
    still = len(changes.current)
    return ChangedSince(
        ref=ref,
        commit=commit,
        contacts=changes.size,
        added=len(changes.added),
        changed=len(changes.changed),
        removed=len(changes.removed),
        declared=declared,
        not_read=outside if outside is not None else max(0, declared - still),
    )


def identities(contacts: Sequence[DesiredContact]) -> set[tuple[str, object]]:
    """The identity keys of contacts (for tests and reports): ("id", n) or ("phone", p)."""
    return {("id", c.id) if c.id is not None else ("phone", c.phone) for c in contacts}

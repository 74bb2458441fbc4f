"""The drift report: how the remote account differs from what git declares. Pure; no I/O.

Four sections, computed from the desired state and a *complete* remote listing:

- changed: declared contacts whose managed fields differ remotely (the field
  differences come from ``compute_plan``'s updates, so drift and plan always
  agree on what "different" means);
- missing: declared contacts absent remotely (the plan's creates);
- unmanaged: remote contacts in scope (marked with the ownership marker when
  ``ownership`` is set, else all) that no declaration matches;
- undeclared custom fields: remote custom keys, on contacts in scope, that
  ``jcstate.yaml`` does not declare.

Coverage is managed / in scope: how much of the account git describes.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jcstate.core.model import (
    Conflict,
    CustomFieldDef,
    DesiredContact,
    DesiredState,
    Ownership,
    RemoteContact,
    RemoteState,
    SourceRef,
)
from jcstate.core.normalize import (
    normalize_custom_value,
    normalize_field,
    normalize_text,
    try_normalize_phone,
)
from jcstate.core.plan import Action, Change, PlanOptions, compute_plan
from jcstate.errors import IncompleteListingError

FORMAT_VERSION = 1
CUSTOM_PREFIX = "custom_fields."


@dataclass(frozen=True, slots=True)
class FieldDrift:
    """One managed field whose remote value differs from the declared one.

    `field` is "phone", a standard field name, or "custom_fields.KEY".
    `remote` is the remote value normalised like the declared one (typed for
    declared custom fields); `adoptable` is False when that value cannot be
    written back into YAML as it is (it does not fit the field's declared type,
    or the field is jcstate's ownership marker).
    """

    field: str
    declared: Any
    remote: Any
    adoptable: bool = True
    note: str | None = None

    @property
    def custom_key(self) -> str | None:
        return self.field.removeprefix(CUSTOM_PREFIX) if self.is_custom else None

    @property
    def is_custom(self) -> bool:
        return self.field.startswith(CUSTOM_PREFIX)


@dataclass(frozen=True, slots=True)
class ChangedContact:
    """A declared contact that was edited outside git."""

    phone: str
    id: int
    fields: tuple[FieldDrift, ...]
    #: the remote `updated_at`: when the contact was last changed in JustCall
    when: str | None
    source: SourceRef | None
    #: the `id:` pin written in YAML, if any (adopt uses it to find the entry)
    declared_id: int | None = None


@dataclass(frozen=True, slots=True)
class MissingContact:
    """A declared contact that does not exist remotely."""

    phone: str
    id: int | None
    source: SourceRef | None


@dataclass(frozen=True, slots=True)
class UndeclaredKey:
    key: str
    contacts: int


@dataclass(frozen=True)
class DriftReport:
    changed: tuple[ChangedContact, ...]
    missing: tuple[MissingContact, ...]
    #: remote contacts in scope that nothing declares, sorted by phone then id
    unmanaged: tuple[RemoteContact, ...]
    undeclared_custom_fields: tuple[UndeclaredKey, ...]
    conflicts: tuple[Conflict, ...]
    #: remote contacts in scope that a declaration matches
    managed: int
    #: remote contacts in scope: marked ones (or all without ownership) plus matched ones
    in_scope: int

    @property
    def in_sync(self) -> bool:
        return not (self.changed or self.missing or self.unmanaged or self.undeclared_custom_fields)

    @property
    def coverage_percent(self) -> float:
        if self.in_scope == 0:
            return 100.0
        # Rounded down to 0.1: 3,010 of 3,011 is 99.9%, never 100.0% (all of them).
        return math.floor(1000 * self.managed / self.in_scope) / 10

    @property
    def summary(self) -> dict[str, int]:
        return {
            "changed": len(self.changed),
            "missing": len(self.missing),
            "unmanaged": len(self.unmanaged),
            "undeclared_custom_fields": len(self.undeclared_custom_fields),
        }


def is_marked(contact: RemoteContact, ownership: Ownership | None) -> bool:
    """True when `contact` carries the ownership marker (always True without ownership)."""
    if ownership is None:
        return True
    raw = contact.custom_fields.get(ownership.field)
    return raw is not None and normalize_text(raw) == ownership.value


def match_remote(
    desired: Sequence[DesiredContact], remote: Iterable[RemoteContact]
) -> dict[int, RemoteContact]:
    """Map each declared contact (by position) to its remote match, exactly as the plan does.

    `id` pins claim their remote contact first; the others match by phone,
    taking the lowest unclaimed id among remote duplicates.
    """
    by_id: dict[int, RemoteContact] = {}
    by_phone: dict[str, list[RemoteContact]] = {}
    for contact in remote:
        by_id[contact.id] = contact
        by_phone.setdefault(contact.phone, []).append(contact)
    for holders in by_phone.values():
        holders.sort(key=lambda contact: contact.id)
    claimed: set[int] = set()
    matches: dict[int, RemoteContact] = {}
    for index, declared in enumerate(desired):
        if declared.id is None:
            continue
        found = by_id.get(declared.id)
        if found is not None and found.id not in claimed:
            claimed.add(found.id)
            matches[index] = found
    for index, declared in enumerate(desired):
        if index in matches:
            continue
        for candidate in by_phone.get(declared.phone, ()):
            if candidate.id not in claimed:
                claimed.add(candidate.id)
                matches[index] = candidate
                break
    return matches


def compute_drift(desired: DesiredState, remote: RemoteState) -> DriftReport:
    """The drift report of `remote` (a complete listing) against `desired`."""
    if not remote.complete:
        raise IncompleteListingError(
            "drift needs the complete remote listing; a targeted refresh cannot show "
            "unmanaged contacts"
        )
    plan = compute_plan(desired, remote, PlanOptions(prune=False))
    declared = desired.contacts
    matches = match_remote(declared, remote.contacts)
    declared_by_remote_id = {match.id: declared[index] for index, match in matches.items()}
    remote_by_id = {contact.id: contact for contact in remote.contacts}

    changed: list[ChangedContact] = []
    for change in plan.changes:
        if change.action is not Action.UPDATE or change.id is None:
            continue
        remote_contact = remote_by_id.get(change.id)
        if remote_contact is None:
            continue
        contact = declared_by_remote_id.get(change.id)
        changed.append(_changed_contact(change, contact, remote_contact, desired))

    missing = [
        MissingContact(phone=contact.phone, id=contact.id, source=contact.source)
        for index, contact in enumerate(declared)
        if index not in matches
    ]

    matched_ids = {match.id for match in matches.values()}
    scope = [
        contact
        for contact in remote.contacts
        if contact.id in matched_ids or is_marked(contact, desired.ownership)
    ]
    unmanaged = sorted(
        (contact for contact in scope if contact.id not in matched_ids),
        key=lambda contact: (contact.phone, contact.id),
    )
    undeclared = _undeclared_keys(scope, desired.custom_field_defs, desired.ownership)

    return DriftReport(
        changed=tuple(sorted(changed, key=lambda item: (item.phone, item.id))),
        missing=tuple(sorted(missing, key=lambda item: item.phone)),
        unmanaged=tuple(unmanaged),
        undeclared_custom_fields=undeclared,
        conflicts=plan.conflicts,
        managed=len(matched_ids),
        in_scope=len(scope),
    )


def _changed_contact(
    change: Change,
    declared: DesiredContact | None,
    remote: RemoteContact,
    desired: DesiredState,
) -> ChangedContact:
    ownership_key = desired.ownership.field if desired.ownership is not None else None
    fields: list[FieldDrift] = []
    for field_change in change.changes:
        name = field_change.field
        if name.startswith(CUSTOM_PREFIX):
            key = name.removeprefix(CUSTOM_PREFIX)
            declares_key = declared is not None and key in declared.custom_fields
            if key == ownership_key and not declares_key:
                fields.append(
                    FieldDrift(
                        field=name,
                        declared=field_change.new,
                        remote=remote.custom_fields.get(key),
                        adoptable=False,
                        note="the ownership marker is missing remotely; "
                        "`jcstate apply` restores it",
                    )
                )
                continue
            fields.append(_custom_drift(name, key, field_change.new, remote, desired))
        elif name == "phone":
            remote_phone = try_normalize_phone(remote.phone, desired.default_region)
            fields.append(FieldDrift(field=name, declared=field_change.new, remote=remote_phone))
        else:
            remote_value = normalize_field(name, remote.fields.get(name))
            fields.append(FieldDrift(field=name, declared=field_change.new, remote=remote_value))
    return ChangedContact(
        phone=declared.phone if declared is not None else change.phone,
        id=remote.id,
        fields=tuple(fields),
        when=remote.updated_at or remote.created_at,
        source=declared.source if declared is not None else change.source,
        declared_id=declared.id if declared is not None else None,
    )


def _custom_drift(
    name: str, key: str, declared_value: Any, remote: RemoteContact, desired: DesiredState
) -> FieldDrift:
    raw = remote.custom_fields.get(key)
    definition = desired.custom_field_defs.get(key)
    if definition is None:
        return FieldDrift(field=name, declared=declared_value, remote=raw)
    try:
        value = normalize_custom_value(raw, definition)
    except ValueError as exc:
        return FieldDrift(
            field=name,
            declared=declared_value,
            remote=raw,
            adoptable=False,
            note=f"the remote value does not fit the declared type: {exc}",
        )
    return FieldDrift(field=name, declared=declared_value, remote=value)


def _undeclared_keys(
    scope: Iterable[RemoteContact],
    defs: Mapping[str, CustomFieldDef],
    ownership: Ownership | None,
) -> tuple[UndeclaredKey, ...]:
    counts: Counter[str] = Counter()
    for contact in scope:
        for key, value in contact.custom_fields.items():
            if key in defs or (ownership is not None and key == ownership.field):
                continue
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            counts[key] += 1
    return tuple(UndeclaredKey(key=key, contacts=counts[key]) for key in sorted(counts))

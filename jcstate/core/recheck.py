"""Is a write's target still what the approved plan was made from? (Pure.)

Just before a PUT or DELETE is sent, its remote contact is read again (see
jcstate.execute.recheck). The write goes out only when the contact still
has the id and phone the plan saw and the same content (its fingerprint),
and, for a delete, is still in the ownership scope, still not declared and
its phone not protected. Otherwise the change is skipped and reported with
what changed: ``phone +14155550150 -> +14155550100``.

The re-reads are bounded by what the change costs: at most
``min(w, ceil(N / 100) + 2)`` requests for ``w`` PUTs and DELETEs in an
account of ``N`` contacts (`recheck_budget`).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from typing import Any

from jcstate.core.model import STANDARD_FIELDS, DesiredState, RemoteContact, fingerprint
from jcstate.core.normalize import normalize_text, try_normalize_phone
from jcstate.core.plan import CUSTOM_PREFIX, Action, Change

#: The reason of every write skipped because its target moved on.
CHANGED_AFTER_PLAN = "changed in JustCall after the plan"
#: A listing page holds at most this many contacts (the API's maximum per_page).
PAGE_SIZE = 100


def recheck_budget(writes: int, contacts: int | None) -> int:
    """The most re-check requests `writes` PUTs and DELETEs may add: min(w, ceil(N/100) + 2).

    With N unknown, only `writes` (one read by id per write) is known to be allowed.
    """
    if contacts is None:
        return max(0, writes)
    return max(0, min(writes, math.ceil(contacts / PAGE_SIZE) + 2))


def reads_by_id(writes: int, contacts: int | None) -> bool:
    """True when one read by id per write costs no more than reading the listing's pages."""
    return contacts is None or writes <= math.ceil(contacts / PAGE_SIZE) + 2


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "(empty)"
    return str(value)


def describe_difference(before: RemoteContact, now: RemoteContact) -> list[str]:
    """What differs between two reads of one contact, as ``name old -> new`` (pure)."""
    found: list[str] = []
    if before.id != now.id:
        found.append(f"id {before.id} -> {now.id}")
    if before.phone != now.phone:
        found.append(f"phone {_shown(before.phone)} -> {_shown(now.phone)}")
    extra = (set(before.fields) | set(now.fields)) - set(STANDARD_FIELDS)
    names = [*STANDARD_FIELDS, *sorted(extra)]
    for name in names:
        old, new = before.fields.get(name), now.fields.get(name)
        if (old or None) != (new or None):
            found.append(f"{name} {_shown(old)} -> {_shown(new)}")
    for key in sorted(set(before.custom_fields) | set(now.custom_fields)):
        old, new = before.custom_fields.get(key), now.custom_fields.get(key)
        if old != new and not (old in (None, "") and new in (None, "")):
            found.append(f"{CUSTOM_PREFIX}{key} {_shown(old)} -> {_shown(new)}")
    return found


def _in_scope_reasons(now: RemoteContact, desired: DesiredState) -> list[str]:
    """Why a delete may no longer touch `now`: protected, out of scope, declared."""
    region = desired.default_region
    phone = try_normalize_phone(now.phone, region)
    reasons: list[str] = []
    if phone in {try_normalize_phone(p, region) for p in desired.safety.protected}:
        reasons.append("its phone is protected (safety.protected)")
    ownership = desired.ownership
    if ownership is not None:
        marker = now.custom_fields.get(ownership.field)
        if marker is None or normalize_text(str(marker)) != ownership.value:
            reasons.append(f"it is outside the ownership scope (no {ownership.field} marker)")
    # Matched as the plan matches: by an id pin, else by the phone of an unpinned contact.
    if any(d.id == now.id or (d.id is None and d.phone == phone) for d in desired.contacts):
        reasons.append("it is declared in the files")
    return reasons


def target_phone(change: Change) -> str:
    """The phone the write's target held when the plan was made (an update may move it)."""
    for field_change in change.changes:
        if field_change.field == "phone" and isinstance(field_change.old, str) and field_change.old:
            return field_change.old
    return change.phone


def recheck_verdict(
    change: Change,
    before: RemoteContact | None,
    now: RemoteContact | None,
    desired: DesiredState,
) -> str | None:
    """None when `change` may be sent to `now`; else why not (the report's message).

    `before`: the contact as the plan saw it (None when the view that made the
    plan is not at hand: then only the fingerprint says that it changed);
    `now`: as just re-read (None: it is gone). A delete of a contact that is
    gone has nothing left to do: the caller reports it done, not skipped.
    """
    if change.action is Action.CREATE:
        return None
    region = desired.default_region
    if now is None:
        return f"{CHANGED_AFTER_PLAN}: deleted"
    what: list[str] = []
    held = target_phone(change)
    moved = now.id != change.id or try_normalize_phone(now.phone, region) != held
    if moved or (change.fingerprint is not None and fingerprint(now) != change.fingerprint):
        if before is not None:
            what = describe_difference(before, now)
        if not what and moved:
            what = [f"phone {held} -> {_shown(now.phone)}"]
        if not what:
            what = ["its content differs from the plan's"]
    if change.action is Action.DELETE:
        blockers = _in_scope_reasons(now, desired)
        if blockers and not what:
            what = blockers
    if not what:
        return None
    return f"{CHANGED_AFTER_PLAN}: {', '.join(what)}"


def page_of(position: int) -> int:
    """The 1-based listing page holding the contact at 0-based `position` in id order."""
    return position // PAGE_SIZE + 1


def expected_page(contact_id: int, ids: Sequence[int], removed: Sequence[int]) -> int | None:
    """Where `contact_id` lists now: its rank among `ids` (sorted), less the `removed` ids
    (sorted) below it; None when `ids` does not hold it."""
    rank = bisect_left(ids, contact_id)
    if rank >= len(ids) or ids[rank] != contact_id:
        return None
    return page_of(rank - bisect_left(removed, contact_id))


def index_by_id(contacts: Sequence[RemoteContact]) -> Mapping[int, RemoteContact]:
    return {contact.id: contact for contact in contacts}

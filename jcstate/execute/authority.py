"""A saved plan is data, never authority: what `apply PLANFILE` may still do.

A plan file is JSON anyone can edit, and its fingerprints are unkeyed
hashes anyone can recompute, so nothing in it is trusted to say what to
send. At apply time the plan is made again from the current files and the
account as it is now (the "fresh" plan, exactly as `jcstate apply` without a
file would make it, with the saved options). What runs is the intersection:

- a saved entry that the fresh plan holds too (same action, phone, id, body
  and fingerprint) is applied, in the fresh plan's order, with the fresh
  plan's body;
- a saved entry whose contact changed since the plan (its fingerprint, or a
  phone created meanwhile) is stale: refused, or left alone with
  `--skip-stale`; one whose contact already is as declared needs nothing;
- any other saved entry is one the files never justified (the contact
  did not move, yet the files do not ask for that change): the whole plan is
  refused, naming each such entry, before anything is sent;
- a fresh change that the saved plan does not hold is not applied (it was
  not reviewed).

The safety verdict (thresholds, the empty declared set) is computed again
for what is applied; the file's `"safe"` is never read. Protected phones and
the ownership scope need no extra rule: the fresh plan never deletes them.

`reconcile` is pure; `recheck_saved_plan` fetches what it needs.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jcstate.core.model import DesiredState, RemoteContact, RemoteState, fingerprint
from jcstate.core.normalize import normalize_text, try_normalize_phone
from jcstate.core.plan import Action, Change, Plan, PlanOptions, safety_reasons
from jcstate.core.safe import shown
from jcstate.errors import NotFoundError

if TYPE_CHECKING:
    from jcstate.remote.client import JustCallClient

#: A fresh plan and the remote view it was computed from.
FreshPlan = tuple[Plan, RemoteState]


@dataclass(frozen=True, slots=True)
class StaleContact:
    """A contact the saved plan touches that is no longer as the plan saw it."""

    action: Action
    phone: str
    id: int | None
    reason: str

    def __str__(self) -> str:
        # One line of a multi-line message: a remote phone or value in it must not break it.
        who = f"{self.phone} (id {self.id})" if self.id is not None else self.phone
        return shown(f"{who}: {self.reason}")

    @classmethod
    def created_since(cls, change: Change, present: Iterable[RemoteContact]) -> StaleContact:
        """A create whose phone the account now holds (`present`: the contacts holding it)."""
        ids = ", ".join(str(contact.id) for contact in present)
        return cls(change.action, change.phone, None, f"created since the plan (id {ids})")


@dataclass(frozen=True, slots=True)
class RefusedEntry:
    """A saved entry the files do not justify."""

    change: Change
    reason: str

    def __str__(self) -> str:
        change = self.change
        who = f"{change.phone} (id {change.id})" if change.id is not None else change.phone
        return shown(f"{change.action.value} {who}: {self.reason}")


@dataclass(frozen=True)
class Reconciled:
    """What of a saved plan may run now, and what may not."""

    #: the fresh plan's changes that the saved plan holds, in the fresh plan's order
    apply: tuple[Change, ...]
    stale: tuple[StaleContact, ...] = ()
    #: saved entries whose contact already is as declared
    already_applied: tuple[Change, ...] = ()
    refused: tuple[RefusedEntry, ...] = ()
    #: the safety verdict on `apply`, computed now (empty: safe)
    unsafe_reasons: tuple[str, ...] = ()
    #: the account as the fresh plan saw it: what `apply` is re-checked against before each write
    view: RemoteState | None = None


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_key(change: Change) -> tuple[str, str, int | None, str, str | None]:
    """What must be equal for a saved entry to be the fresh plan's change."""
    return (
        change.action.value,
        change.phone,
        change.id,
        _canonical(dict(change.body)),
        change.fingerprint,
    )


def refused_message(refused: Sequence[RefusedEntry], limit: int = 20) -> str:
    count = len(refused)
    lines = [
        f"refusing the plan file: {count} "
        f"entr{'ies' if count != 1 else 'y'} that the files do not justify "
        "(was the file edited?); nothing was changed:"
    ]
    lines += [f"  {entry}" for entry in refused[:limit]]
    if count > limit:
        lines.append(f"  ... and {count - limit} more")
    lines.append("Make the plan again with `jcstate plan --out`.")
    return "\n".join(lines)


def unsafe_message(reasons: Iterable[str]) -> str:
    listed = "\n".join(f"  - {reason}" for reason in reasons)
    return f"refusing to apply an unsafe plan (pass --force to apply it anyway):\n{listed}"


def _delete_reason(
    change: Change, current: RemoteContact, desired: DesiredState, options: PlanOptions
) -> str:
    region = desired.default_region
    phone = try_normalize_phone(current.phone, region)
    if phone != change.phone:
        return f"id {current.id} does not belong to {change.phone} (it holds {phone})"
    if not options.prune:
        return "the plan was made without --prune, so it deletes nothing"
    if phone in {try_normalize_phone(p, region) for p in desired.safety.protected}:
        return "the phone is protected (safety.protected)"
    ownership = desired.ownership
    if ownership is not None:
        marker = current.custom_fields.get(ownership.field)
        if marker is None or normalize_text(marker) != ownership.value:
            return f"outside the ownership scope (no {ownership.field}: {ownership.value} marker)"
    if any(d.phone == phone or d.id == current.id for d in desired.contacts):
        return "the contact is declared in the files"
    if options.targets is not None and phone not in options.targets:
        return "outside the plan's --target phones"
    return "the files do not ask for this delete"


def _update_reason(
    change: Change, current: RemoteContact, desired: DesiredState, options: PlanOptions
) -> str:
    phone = try_normalize_phone(current.phone, desired.default_region)
    declared = [d for d in desired.contacts if d.phone == change.phone]
    if not declared:
        return "the phone is not declared in the files"
    if options.targets is not None and change.phone not in options.targets:
        return "outside the plan's --target phones"
    pinned = any(d.id == current.id for d in declared)
    if phone != change.phone and not pinned:
        return f"id {current.id} does not belong to {change.phone} (it holds {phone})"
    return "the patch is not what the files declare for this contact"


def _declared(phone: str, desired: DesiredState, options: PlanOptions) -> bool:
    in_targets = options.targets is None or phone in options.targets
    return in_targets and any(d.phone == phone for d in desired.contacts)


def _create_reason(change: Change, fresh: Plan, desired: DesiredState, options: PlanOptions) -> str:
    if not any(d.phone == change.phone for d in desired.contacts):
        return "the phone is not declared in the files"
    if not _declared(change.phone, desired, options):
        return "outside the plan's --target phones"
    if any(c.action is Action.CREATE and c.phone == change.phone for c in fresh.changes):
        return "the body is not what the files declare for this contact"
    return "the files do not create this contact"


def reconcile(
    saved: Plan,
    fresh: Plan,
    current: Mapping[int, RemoteContact | None],
    holders: Mapping[str, Sequence[RemoteContact]],
    desired: DesiredState,
    options: PlanOptions,
) -> Reconciled:
    """Pure: the saved entries that the fresh plan justifies, and why the others are not.

    `current`: the saved entries' remote contacts by id as they are now (None:
    gone); `holders`: the remote contacts holding each saved create's phone now.
    """
    fresh_keys = {entry_key(change): change for change in fresh.changes}
    fresh_phones = {change.phone for change in fresh.changes}
    fresh_ids = {change.id for change in fresh.changes if change.id is not None}
    wanted: set[tuple[str, str, int | None, str, str | None]] = set()
    stale: list[StaleContact] = []
    already: list[Change] = []
    refused: list[RefusedEntry] = []
    seen: set[tuple[str, str, int | None, str, str | None]] = set()
    for change in saved.changes:
        key = entry_key(change)
        if key in seen:
            continue
        seen.add(key)
        if key in fresh_keys:
            wanted.add(key)
            continue
        if change.action is Action.CREATE:
            verdict = _judge_create(change, holders, fresh, fresh_phones, desired, options)
        else:
            verdict = _judge_write(change, current, fresh_ids, desired, options)
        if isinstance(verdict, StaleContact):
            stale.append(verdict)
        elif isinstance(verdict, RefusedEntry):
            refused.append(verdict)
        else:
            already.append(verdict)

    applied = tuple(change for change in fresh.changes if entry_key(change) in wanted)
    reasons = safety_reasons(
        desired,
        prune=options.prune,
        deletes=sum(1 for c in applied if c.action is Action.DELETE),
        updates=sum(1 for c in applied if c.action is Action.UPDATE),
        in_scope=fresh.in_scope,
    )
    return Reconciled(
        apply=applied,
        stale=tuple(stale),
        already_applied=tuple(already),
        refused=tuple(refused),
        unsafe_reasons=tuple(reasons),
    )


def _judge_create(
    change: Change,
    holders: Mapping[str, Sequence[RemoteContact]],
    fresh: Plan,
    fresh_phones: set[str],
    desired: DesiredState,
    options: PlanOptions,
) -> StaleContact | RefusedEntry | Change:
    """A saved create the fresh plan does not hold: stale, refused, or already applied."""
    held = holders.get(change.phone, ())
    if not _declared(change.phone, desired, options) or not held:
        return RefusedEntry(change, _create_reason(change, fresh, desired, options))
    if change.phone in fresh_phones:
        return StaleContact.created_since(change, held)
    return change


def _judge_write(
    change: Change,
    current: Mapping[int, RemoteContact | None],
    fresh_ids: set[int],
    desired: DesiredState,
    options: PlanOptions,
) -> StaleContact | RefusedEntry | Change:
    """A saved update or delete the fresh plan does not hold: stale, refused, or already
    applied."""
    assert change.id is not None  # plan_from_dict refuses updates and deletes without one
    now = current.get(change.id)
    if now is None:
        if change.action is Action.DELETE:
            return change
        return StaleContact(change.action, change.phone, change.id, "deleted since the plan")
    if fingerprint(now) != change.fingerprint:
        same_phone = try_normalize_phone(now.phone, desired.default_region) == change.phone
        if change.action is Action.UPDATE and change.id not in fresh_ids and same_phone:
            return change
        return StaleContact(change.action, change.phone, change.id, "changed since the plan")
    if change.action is Action.DELETE:
        return RefusedEntry(change, _delete_reason(change, now, desired, options))
    return RefusedEntry(change, _update_reason(change, now, desired, options))


async def recheck_saved_plan(
    saved: Plan,
    options: PlanOptions,
    client: JustCallClient,
    desired: DesiredState,
    fresh_plan: Callable[[], Awaitable[FreshPlan]],
) -> Reconciled:
    """Make the plan again, then reconcile the saved one with it.

    The fresh plan's own view answers for every contact it saw; only saved
    entries it did not justify and whose contact a partial view missed cost
    a request more (a GET by id, a lookup by phone).
    """
    fresh, view = await fresh_plan()
    fresh_keys = {entry_key(change) for change in fresh.changes}
    unmatched = [change for change in saved.changes if entry_key(change) not in fresh_keys]
    by_id: dict[int, RemoteContact | None] = {}
    holders: dict[str, list[RemoteContact]] = {}
    seen_ids = {contact.id: contact for contact in view.contacts}
    seen_phones: dict[str, list[RemoteContact]] = {}
    for contact in view.contacts:
        seen_phones.setdefault(contact.phone, []).append(contact)
    for change in unmatched:
        if change.action is Action.CREATE:
            # A partial view looked up every phone a create can be justified for
            # (the targets, else every declared phone); any other is refused anyway.
            holders[change.phone] = seen_phones.get(change.phone, [])
        elif change.id is not None and change.id not in by_id:
            if change.id in seen_ids or view.complete:
                by_id[change.id] = seen_ids.get(change.id)
            else:
                try:
                    by_id[change.id] = await client.get_contact(change.id)
                except NotFoundError:
                    by_id[change.id] = None
    checked = reconcile(saved, fresh, by_id, holders, desired, options)
    return dataclasses.replace(checked, view=view)

"""The diff engine: ``compute_plan(desired, remote, options) -> Plan``. Pure; no I/O.

(Types below are the shared contract used by apply, planfile, drift and the
renderers. Fields may be added; existing names stay.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from jcstate.model import Conflict, DesiredState, RemoteState, SourceRef

FORMAT_VERSION = 1
MAX_BULK_BATCH = 5000


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


@dataclass(frozen=True, slots=True)
class Change:
    """One remote operation.

    `body` is exactly what is sent: for a create, the full contact for the bulk
    (or single POST) endpoint; for an update, the PUT patch; for a delete, {}.
    `fingerprint` is that of the remote contact the change was computed
    against (None for creates).
    """

    action: Action
    phone: str
    id: int | None
    body: Mapping[str, Any]
    changes: tuple[FieldChange, ...] = ()
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
    bulk: int = 0
    put: int = 0
    delete: int = 0
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return self.bulk + self.put + self.delete


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


def compute_plan(desired: DesiredState, remote: RemoteState, options: PlanOptions) -> Plan:
    raise NotImplementedError

"""What an apply did: the per-change results and the report.

Plain values shared by the executor, its journal and the report renderers,
so none of them has to import another.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from jcstate.core.plan import Action, Change


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class ItemResult:
    """What happened to one change of the plan."""

    action: Action
    phone: str
    id: int | None
    outcome: Outcome
    message: str = ""


@dataclass(frozen=True)
class ApplyReport:
    """Everything an apply did, for the text and JSON renderers."""

    items: tuple[ItemResult, ...]
    warnings: tuple[str, ...]
    requests: Mapping[str, int]
    requests_by_stage: Mapping[str, int]
    converged: bool
    remaining: tuple[Change, ...]
    duration_s: float
    aborted: str | None = None
    #: contacts a saved plan touched that changed since, left alone (--skip-stale):
    #: they still differ from the files, so a report with any is not converged
    skipped_stale: int = 0
    #: why the convergence check after the writes could not be made (converged is False)
    convergence_error: str | None = None
    #: writes not sent because the target changed in the account after the plan (also
    #: in `items`, as skipped): with any, the report is not converged
    skipped_changed: tuple[ItemResult, ...] = ()

    @property
    def summary(self) -> dict[str, int]:
        counts = {outcome.value: 0 for outcome in Outcome}
        for item in self.items:
            counts[item.outcome.value] += 1
        return counts

    @property
    def ok(self) -> bool:
        """True when nothing failed and the touched contacts now match the files."""
        return self.converged and self.summary["failed"] == 0 and self.aborted is None

"""Rate limiting and fault injection for the sandbox, reproducible from a seed.

Both are plain objects driven by an explicit clock value / a seeded
`random.Random`, so tests can predict exactly which request fails.

Draw order, per request, from one `random.Random(fault_seed)`:
1. when `fail_rate > 0`: one draw; below the rate -> 503 before anything runs;
2. for writes (POST/PUT/DELETE) when `ambiguous_rate > 0`: one draw; below the
   rate -> the write commits and the answer is lost; in mode `mixed` a second
   draw picks a 500 (< 0.5) or a dropped connection.
"""

from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass
from typing import Literal

import httpx

AmbiguousMode = Literal["mixed", "error", "drop"]
Ambiguity = Literal["error", "drop"]


class ConnectionDropped(httpx.RemoteProtocolError):
    """Raised after a committed write to make the server close the connection unanswered.

    Under uvicorn the connection is closed mid-response; in-process (httpx's
    ASGI transport) the client sees this exception, which is the same kind
    (`httpx.RemoteProtocolError`) a real dropped connection raises.
    """

    def __init__(self) -> None:
        super().__init__("Server disconnected without sending a complete response")


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    headers: tuple[tuple[str, str], ...]
    retry_after: int


@dataclass(slots=True)
class _Window:
    """A fixed window that opens at the first request after the previous one closed."""

    limit: int
    seconds: int
    start: float = -1e18
    used: int = 0

    def roll(self, now: float) -> None:
        if now >= self.start + self.seconds:
            self.start, self.used = now, 0

    @property
    def ends(self) -> float:
        return self.start + self.seconds

    @property
    def reset(self) -> int:
        return math.ceil(self.ends)

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


class RateLimiter:
    """Fixed windows (minute burst, hour budget) opened by the first request.

    A window is not aligned to the clock, so a test that stays within a minute
    never sees its budget reset half-way.

    Headers (only for the limits that are set): `X-Rate-Limit-Limit`,
    `-Remaining`, `-Reset` for the hour and `X-Rate-Limit-Burst-Limit`,
    `-Burst-Remaining`, `-Burst-Reset` for the minute; resets are epoch seconds.
    A refused request does not use up the budget.
    """

    def __init__(self, per_minute: int | None, per_hour: int | None) -> None:
        self._minute = _Window(per_minute, 60) if per_minute else None
        self._hour = _Window(per_hour, 3600) if per_hour else None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._minute is not None or self._hour is not None

    def _headers(self) -> tuple[tuple[str, str], ...]:
        headers: list[tuple[str, str]] = []
        if self._hour is not None:
            headers += [
                ("X-Rate-Limit-Limit", str(self._hour.limit)),
                ("X-Rate-Limit-Remaining", str(self._hour.remaining)),
                ("X-Rate-Limit-Reset", str(self._hour.reset)),
            ]
        if self._minute is not None:
            headers += [
                ("X-Rate-Limit-Burst-Limit", str(self._minute.limit)),
                ("X-Rate-Limit-Burst-Remaining", str(self._minute.remaining)),
                ("X-Rate-Limit-Burst-Reset", str(self._minute.reset)),
            ]
        return tuple(headers)

    def peek(self, now: float) -> tuple[tuple[str, str], ...]:
        """The headers without using the budget (for requests that are not counted)."""
        with self._lock:
            for window in (self._minute, self._hour):
                if window is not None:
                    window.roll(now)
            return self._headers()

    def acquire(self, now: float) -> RateDecision:
        with self._lock:
            exhausted: list[_Window] = []
            for window in (self._minute, self._hour):
                if window is not None:
                    window.roll(now)
                    if window.used >= window.limit:
                        exhausted.append(window)
            if exhausted:
                wait = max(window.ends for window in exhausted) - now
                return RateDecision(False, self._headers(), max(1, math.ceil(wait)))
            for window in (self._minute, self._hour):
                if window is not None:
                    window.used += 1
            return RateDecision(True, self._headers(), 0)


class FaultInjector:
    """Seeded decisions: fail before doing anything, or lose the answer to a write."""

    def __init__(
        self,
        *,
        fail_rate: float = 0.0,
        ambiguous_rate: float = 0.0,
        ambiguous_mode: AmbiguousMode = "mixed",
        seed: int | None = None,
    ) -> None:
        for name, rate in (("fail_rate", fail_rate), ("ambiguous_rate", ambiguous_rate)):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {rate}")
        self.fail_rate = fail_rate
        self.ambiguous_rate = ambiguous_rate
        self.ambiguous_mode: AmbiguousMode = ambiguous_mode
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.fail_rate > 0 or self.ambiguous_rate > 0

    def should_fail(self) -> bool:
        if self.fail_rate <= 0:
            return False
        with self._lock:
            return self._random.random() < self.fail_rate

    def ambiguity(self, is_write: bool) -> Ambiguity | None:
        if not is_write or self.ambiguous_rate <= 0:
            return None
        with self._lock:
            if self._random.random() >= self.ambiguous_rate:
                return None
            if self.ambiguous_mode == "mixed":
                return "error" if self._random.random() < 0.5 else "drop"
            return self.ambiguous_mode


class Churn:
    """Another client editing the account while it is being listed (for consistency tests).

    Counts unfiltered listing requests (`GET /v2/contacts` without a filter).
    After each one past the first `after`, the sandbox deletes the contact with
    the lowest id and creates a new one: the total stays the same while every
    later page shifts by one, so a contact slips between pages. `limit` caps
    how many times that happens (None: every time).
    """

    def __init__(self, *, after: int = 0, limit: int | None = None, enabled: bool = False) -> None:
        self.after = after
        self.limit = limit
        self.enabled = enabled
        self._seen = 0
        self._done = 0
        self._lock = threading.Lock()

    def tick(self) -> bool:
        """Count one listing request; True when the account is to change now."""
        if not self.enabled:
            return False
        with self._lock:
            self._seen += 1
            if self._seen <= self.after or (self.limit is not None and self._done >= self.limit):
                return False
            self._done += 1
            return True

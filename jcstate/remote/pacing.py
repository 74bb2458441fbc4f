"""Client-side pacing: token buckets for the per-minute and per-hour limits.

The pacer keeps jcstate under the account's rate limits instead of running
into 429s: every request takes a token from each configured bucket, and the
buckets follow what the server says in its `X-Rate-Limit-*` headers (a
server that reports no remaining burst holds every request until its reset).

Clock, wall clock and sleep are injected so tests run on a simulated clock.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from jcstate.errors import BudgetExhaustedError

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

#: Longest wait the pacer accepts before it stops the run instead (an hourly budget at zero).
DEFAULT_MAX_WAIT_S = 90.0
#: Longest wait for a burst reset (a minute window, plus rounding of the reset to whole
#: seconds); a later reset is held for this long, then the server is asked again.
BURST_RESET_CAP_S = 65.0
#: Full-jitter exponential backoff for a 429 that says nothing about when to come back.
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0

#: Reset headers above this are epoch seconds; below, seconds from now.
_EPOCH_THRESHOLD = 1_000_000_000


def utc_iso(epoch_s: float) -> str:
    """An epoch time as UTC ISO 8601, to the second (what users read in messages)."""
    try:
        moment = dt.datetime.fromtimestamp(epoch_s, tz=dt.UTC).replace(microsecond=0)
    except (OverflowError, OSError, ValueError):
        # A reset no calendar holds (a server sent Retry-After: 1e999): say so, do not crash.
        return "an unknown time (the server gave one out of range)"
    return moment.isoformat().replace("+00:00", "Z")


def full_jitter(attempt: int, rng: Callable[[], float]) -> float:
    """AWS-style full jitter: uniform in [0, min(cap, base * 2^(attempt-1)))."""
    ceiling: float = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2.0 ** max(0, attempt - 1))
    return rng() * ceiling


@dataclass
class TokenBucket:
    """`capacity` tokens, refilled continuously at `capacity / period_s` per second."""

    capacity: float
    period_s: float
    tokens: float
    updated: float

    @classmethod
    def full(cls, capacity: int, period_s: float, now: float) -> TokenBucket:
        return cls(float(capacity), period_s, float(capacity), now)

    @property
    def rate(self) -> float:
        return self.capacity / self.period_s

    def refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def wait_time(self, now: float) -> float:
        """Seconds until one token is available (0 when one is)."""
        self.refill(now)
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self.refill(now)
        self.tokens -= 1.0

    def cap(self, tokens: float) -> None:
        self.tokens = min(self.tokens, max(0.0, tokens))


def _header_number(headers: Mapping[str, str], name: str) -> float | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


class Pacer:
    """Paces requests; shared by every concurrent request of one client."""

    def __init__(
        self,
        per_minute: int | None,
        per_hour: int | None,
        *,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
        max_wait_s: float = DEFAULT_MAX_WAIT_S,
    ) -> None:
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._max_wait_s = max_wait_s
        now = clock()
        self._buckets: list[TokenBucket] = []
        self._hour_bucket: TokenBucket | None = None
        if per_minute is not None:
            self._buckets.append(TokenBucket.full(per_minute, 60.0, now))
        if per_hour is not None:
            self._hour_bucket = TokenBucket.full(per_hour, 3600.0, now)
            self._buckets.append(self._hour_bucket)
        self._hold_until = now
        self._in_flight = 0
        self._budget_reset_epoch: float | None = None
        self._lock = asyncio.Lock()
        self.waited_s = 0.0

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def acquire(self) -> None:
        """Wait until a request may be sent, then count it as in flight.

        Raises BudgetExhaustedError when the hourly budget is at zero and its
        reset is further away than the longest wait worth sleeping for.
        """
        async with self._lock:
            while True:
                self._check_budget()
                now = self._clock()
                wait = max(0.0, self._hold_until - now)
                for bucket in self._buckets:
                    wait = max(wait, bucket.wait_time(now))
                if wait <= 0.0:
                    break
                if (
                    self._hour_bucket is not None
                    and self._hour_bucket.wait_time(now) > self._max_wait_s
                ):
                    reset = self._wall_clock() + self._hour_bucket.wait_time(now)
                    raise BudgetExhaustedError(
                        f"the hourly request budget (api.rate_limit.per_hour) is used up; "
                        f"the next request is allowed at {utc_iso(reset)}"
                    )
                self.waited_s += wait
                await self._sleep(wait)
            now = self._clock()
            for bucket in self._buckets:
                bucket.take(now)
            self._in_flight += 1

    def release(self) -> None:
        """The request acquired last has an answer (or failed)."""
        self._in_flight = max(0, self._in_flight - 1)

    def hold_for(self, seconds: float) -> None:
        """Send nothing for `seconds` (after a 429: every request waits, not just the retry)."""
        self._hold_until = max(self._hold_until, self._clock() + max(0.0, seconds))

    def _check_budget(self) -> None:
        if self._budget_reset_epoch is None:
            return
        if self._wall_clock() >= self._budget_reset_epoch:
            self._budget_reset_epoch = None
            return
        raise BudgetExhaustedError(
            "the account's hourly API budget is used up "
            f"(X-Rate-Limit-Remaining: 0); it resets at {utc_iso(self._budget_reset_epoch)}"
        )

    def _seconds_until(self, reset: float) -> float:
        if reset >= _EPOCH_THRESHOLD:
            return reset - self._wall_clock()
        return reset

    def observe(self, headers: Mapping[str, str]) -> None:
        """Follow the server's view of the limits from one answer's headers.

        Requests sent after this one may already have used some of the
        reported remainder, so the remainder counts the ones still in flight.
        """
        others = max(0, self._in_flight - 1)
        burst_left = _header_number(headers, "x-rate-limit-burst-remaining")
        burst_reset = _header_number(headers, "x-rate-limit-burst-reset")
        if burst_left is not None:
            left = burst_left - others
            if self._buckets and self._buckets[0] is not self._hour_bucket:
                self._buckets[0].cap(left)
            if left <= 0 and burst_reset is not None:
                wait = self._seconds_until(burst_reset)
                if wait > 0:
                    self.hold_for(min(wait, BURST_RESET_CAP_S))
        hour_left = _header_number(headers, "x-rate-limit-remaining")
        hour_reset = _header_number(headers, "x-rate-limit-reset")
        if hour_left is not None:
            left = hour_left - others
            if self._hour_bucket is not None:
                self._hour_bucket.cap(left)
            if left <= 0 and hour_reset is not None:
                wait = self._seconds_until(hour_reset)
                if wait > self._max_wait_s:
                    self._budget_reset_epoch = self._wall_clock() + wait
                elif wait > 0:
                    self.hold_for(wait)

    def on_rate_limited(
        self, headers: Mapping[str, str], attempt: int, rng: Callable[[], float]
    ) -> float:
        """After a 429: decide how long every request waits; returns that wait.

        Retry-After first, else the burst reset (capped), else full-jitter
        backoff. An hourly budget at zero raises BudgetExhaustedError.
        """
        self.observe(headers)
        self._check_budget()
        wait: float | None = _retry_after(headers.get("retry-after"), self._wall_clock())
        if wait is not None and wait > self._max_wait_s:
            raise BudgetExhaustedError(
                f"rate limited with Retry-After {wait:.0f}s; "
                f"try again after {utc_iso(self._wall_clock() + wait)}"
            )
        if wait is None:
            burst_reset = _header_number(headers, "x-rate-limit-burst-reset")
            if burst_reset is not None:
                until_reset = self._seconds_until(burst_reset)
                if until_reset > 0:
                    wait = min(until_reset, BURST_RESET_CAP_S)
        if wait is None:
            wait = full_jitter(attempt, rng)
        self.hold_for(wait)
        return wait


def _retry_after(value: str | None, now_epoch: float) -> float | None:
    """Retry-After as seconds: a number of seconds or an HTTP date."""
    if value is None:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, when.timestamp() - now_epoch)


#: Default outage window: when every request for this long failed to reach the API
#: (connection refused, timeout, 5xx), the run stops instead of retrying on.
DEFAULT_MAX_OUTAGE_S = 60.0
#: Shortest time between two "retrying: ..." status lines.
RETRY_NOTICE_INTERVAL_S = 10.0


class OutageBreaker:
    """A circuit breaker over consecutive failures of the whole client.

    Every attempt reports its outcome: `failure(started)` for an attempt that
    could not connect, timed out or got a 5xx, `success()` for any answer the
    server gave on purpose (2xx, 4xx, 429). The breaker is open (`tripped`)
    once failures alone have filled a window of `window_s` seconds: from the
    start of the first failing attempt after the last success. A `window_s`
    of 0 never trips.
    """

    def __init__(self, window_s: float, clock: Clock = time.monotonic) -> None:
        self.window_s = window_s
        self._clock = clock
        self._last_success = clock()
        self._streak_start: float | None = None
        self._open = False

    def success(self) -> None:
        if self._open:
            return
        self._last_success = self._clock()
        self._streak_start = None

    def failure(self, started: float) -> None:
        if self._streak_start is None:
            self._streak_start = max(started, self._last_success)
        self.tripped()

    def remaining(self) -> float | None:
        """Seconds until the breaker opens if nothing succeeds meanwhile (None: no streak)."""
        if self._streak_start is None or self.window_s <= 0:
            return None
        return max(0.0, self._streak_start + self.window_s - self._clock())

    def tripped(self) -> bool:
        """True once a whole window has passed with failures only (and from then on)."""
        if not self._open and self.window_s > 0 and self._streak_start is not None:
            self._open = self._clock() - self._streak_start >= self.window_s
        return self._open


class RetryNotice:
    """Throttles the "requests are being retried" status to one every `interval_s`."""

    def __init__(
        self, clock: Clock = time.monotonic, interval_s: float = RETRY_NOTICE_INTERVAL_S
    ) -> None:
        self._clock = clock
        self.interval_s = interval_s
        self._last: float | None = None

    def due(self) -> bool:
        """True (and counts as shown) when no status was shown in the last `interval_s`."""
        now = self._clock()
        if self._last is not None and now - self._last < self.interval_s:
            return False
        self._last = now
        return True


def retry_status_line(waiting: int, last_error: str) -> str:
    """`retrying: 3 requests waiting, last error ...` (the line the CLI shows on stderr)."""
    noun = "request" if waiting == 1 else "requests"
    return f"retrying: {waiting} {noun} waiting, last error {last_error}"

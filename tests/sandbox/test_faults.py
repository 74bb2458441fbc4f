"""Rate limiter and fault injector: deterministic from a clock value and a seed."""

from __future__ import annotations

from jcstate.sandbox.faults import FaultInjector, RateLimiter


def test_burst_limit_refuses_with_retry_after_until_the_window_closes() -> None:
    limiter = RateLimiter(per_minute=2, per_hour=None)
    first = limiter.acquire(1000.0)
    assert first.allowed
    assert dict(first.headers) == {
        "X-Rate-Limit-Burst-Limit": "2",
        "X-Rate-Limit-Burst-Remaining": "1",
        "X-Rate-Limit-Burst-Reset": "1060",
    }
    assert limiter.acquire(1010.0).allowed
    refused = limiter.acquire(1015.5)
    assert not refused.allowed
    assert refused.retry_after == 45
    assert dict(refused.headers)["X-Rate-Limit-Burst-Remaining"] == "0"
    assert limiter.acquire(1060.0).allowed  # a new window opens


def test_hourly_budget_outlasts_the_minute_window() -> None:
    limiter = RateLimiter(per_minute=10, per_hour=3)
    for second in range(3):
        assert limiter.acquire(float(second)).allowed
    refused = limiter.acquire(120.0)
    assert not refused.allowed
    headers = dict(refused.headers)
    assert headers["X-Rate-Limit-Remaining"] == "0"
    assert headers["X-Rate-Limit-Reset"] == "3600"
    assert headers["X-Rate-Limit-Burst-Remaining"] == "10"
    assert refused.retry_after == 3480


def test_refused_requests_do_not_use_the_budget() -> None:
    limiter = RateLimiter(per_minute=1, per_hour=None)
    assert limiter.acquire(0.0).allowed
    for _ in range(5):
        assert not limiter.acquire(1.0).allowed
    assert limiter.acquire(60.0).allowed


def test_same_seed_same_faults() -> None:
    def sequence(seed: int) -> list[tuple[bool, str | None]]:
        faults = FaultInjector(fail_rate=0.3, ambiguous_rate=0.5, seed=seed)
        return [(faults.should_fail(), faults.ambiguity(is_write=i % 2 == 0)) for i in range(40)]

    assert sequence(7) == sequence(7)
    assert sequence(7) != sequence(8)
    outcomes = sequence(7)
    assert any(failed for failed, _ in outcomes) and not all(failed for failed, _ in outcomes)
    assert {"error", "drop"} <= {kind for _, kind in outcomes}
    assert all(kind is None for index, (_, kind) in enumerate(outcomes) if index % 2)


def test_rates_zero_and_one() -> None:
    never = FaultInjector(seed=1)
    assert not never.enabled
    assert not any(never.should_fail() for _ in range(100))
    always = FaultInjector(fail_rate=1.0, ambiguous_rate=1.0, ambiguous_mode="drop", seed=1)
    assert all(always.should_fail() for _ in range(100))
    assert always.ambiguity(is_write=True) == "drop"
    assert always.ambiguity(is_write=False) is None

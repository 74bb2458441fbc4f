"""Pacing and 429 handling, on a simulated clock (no real sleeping)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import respx

from jcstate.errors import BudgetExhaustedError, RateLimitedError
from jcstate.remote.client import JustCallClient
from jcstate.remote.pacing import BURST_RESET_CAP_S, Pacer, TokenBucket, utc_iso
from tests.support.client import BASE_URL, EPOCH0, FakeClock, contact_json, ok, run


def mock_get(mock: respx.MockRouter, *answers: httpx.Response) -> respx.Route:
    return mock.get("/v2/contacts/1").mock(side_effect=list(answers))


def test_retry_after_seconds_is_honoured() -> None:
    clock = FakeClock()
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock_get(
            mock, httpx.Response(429, headers={"Retry-After": "7"}), ok(contact_json(1))
        )
        _, client = run(clock, lambda client: client.get_contact(1))
    assert route.call_count == 2
    assert clock.slept == pytest.approx(7.0)
    assert (client.stats.rate_limited, client.stats.retries) == (1, 1)


def test_retry_after_as_an_http_date_is_honoured() -> None:
    clock = FakeClock()
    when = "Thu, 01 Jan 2026 00:00:12 GMT"  # EPOCH0 + 12 s
    with respx.mock(base_url=BASE_URL) as mock:
        mock_get(mock, httpx.Response(429, headers={"Retry-After": when}), ok(contact_json(1)))
        run(clock, lambda client: client.get_contact(1))
    assert clock.slept == pytest.approx(12.0)


def test_without_retry_after_the_client_waits_for_the_burst_reset() -> None:
    clock = FakeClock()
    reset = str(int(EPOCH0 + 25))
    with respx.mock(base_url=BASE_URL) as mock:
        mock_get(
            mock,
            httpx.Response(
                429,
                headers={"X-Rate-Limit-Burst-Remaining": "0", "X-Rate-Limit-Burst-Reset": reset},
            ),
            ok(contact_json(1)),
        )
        run(clock, lambda client: client.get_contact(1))
    assert clock.slept == pytest.approx(25.0)


def test_a_far_burst_reset_is_capped() -> None:
    clock = FakeClock()
    reset = str(int(EPOCH0 + 300))
    with respx.mock(base_url=BASE_URL) as mock:
        mock_get(
            mock,
            httpx.Response(429, headers={"X-Rate-Limit-Burst-Reset": reset}),
            ok(contact_json(1)),
        )
        run(clock, lambda client: client.get_contact(1))
    assert clock.slept == pytest.approx(BURST_RESET_CAP_S)


def test_a_bare_429_backs_off_exponentially_with_full_jitter() -> None:
    clock = FakeClock()
    with respx.mock(base_url=BASE_URL) as mock:
        mock_get(mock, *(httpx.Response(429) for _ in range(3)), ok(contact_json(1)))
        run(clock, lambda client: client.get_contact(1), rng=lambda: 1.0)
    # rng() = 1: the ceilings 0.5 * 2^(n-1) themselves
    waits = [s for s in clock.sleeps if s > 0]
    assert waits == pytest.approx([0.5, 1.0, 2.0])


def test_jitter_draws_below_the_ceiling() -> None:
    clock = FakeClock()
    with respx.mock(base_url=BASE_URL) as mock:
        mock_get(mock, httpx.Response(429), httpx.Response(429), ok(contact_json(1)))
        run(clock, lambda client: client.get_contact(1), rng=lambda: 0.1)
    assert [s for s in clock.sleeps if s > 0] == pytest.approx([0.05, 0.1])


def test_429_after_the_last_attempt_is_rate_limited_error() -> None:
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.get("/v2/contacts/1").mock(return_value=httpx.Response(429))
        with pytest.raises(RateLimitedError, match=r"GET /v2/contacts/1 \(429\)"):
            run(FakeClock(), lambda client: client.get_contact(1), max_attempts=3)
    assert route.call_count == 3


def test_hourly_budget_at_zero_stops_with_the_reset_time_instead_of_sleeping() -> None:
    clock = FakeClock()
    reset = EPOCH0 + 40 * 60
    headers = {"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": str(int(reset))}
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.get("/v2/contacts/1").mock(return_value=httpx.Response(429, headers=headers))
        with pytest.raises(BudgetExhaustedError) as excinfo:
            run(clock, lambda client: client.get_contact(1))
    assert route.call_count == 1
    assert clock.slept < 1.0
    assert "2026-01-01T00:40:00Z" in str(excinfo.value)


def test_a_successful_answer_reporting_no_hourly_budget_stops_the_next_request() -> None:
    clock = FakeClock()
    reset = str(int(EPOCH0 + 1800))
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.get("/v2/contacts/1").mock(
            return_value=httpx.Response(
                200,
                json={"status": "success", "data": contact_json(1)},
                headers={"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": reset},
            )
        )

        async def twice(client: JustCallClient) -> None:
            await client.get_contact(1)
            await client.get_contact(1)

        with pytest.raises(BudgetExhaustedError, match="2026-01-01T00:30:00Z"):
            run(clock, twice)
    assert route.call_count == 1


def test_no_burst_left_holds_the_next_request_until_the_burst_reset() -> None:
    clock = FakeClock()
    reset = str(int(EPOCH0 + 9))
    with respx.mock(base_url=BASE_URL) as mock:
        mock.get("/v2/contacts/1").mock(
            return_value=httpx.Response(
                200,
                json={"status": "success", "data": contact_json(1)},
                headers={"X-Rate-Limit-Burst-Remaining": "0", "X-Rate-Limit-Burst-Reset": reset},
            )
        )

        async def twice(client: JustCallClient) -> None:
            await client.get_contact(1)
            await client.get_contact(1)

        _, client = run(clock, twice)
    assert clock.slept == pytest.approx(9.0)
    assert client.stats.rate_limited == 0


def test_per_minute_bucket_allows_a_burst_then_the_steady_rate() -> None:
    clock = FakeClock()
    sent_at: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent_at.append(clock.now)
        return ok(contact_json(1))

    async def many(client: JustCallClient) -> None:
        for _ in range(40):
            await client.get_contact(1)

    with respx.mock(base_url=BASE_URL) as mock:
        mock.get("/v2/contacts/1").mock(side_effect=answer)
        run(clock, many, per_minute=30)
    assert sent_at[:30] == [0.0] * 30
    # then one every 2 s (30/minute)
    assert sent_at[30:] == pytest.approx([2.0 * n for n in range(1, 11)])


def test_concurrent_requests_share_the_bucket() -> None:
    clock = FakeClock()
    sent_at: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent_at.append(clock.now)
        return ok(contact_json(1))

    async def parallel(client: JustCallClient) -> None:
        await asyncio.gather(*(client.get_contact(1) for _ in range(25)))

    with respx.mock(base_url=BASE_URL) as mock:
        mock.get("/v2/contacts/1").mock(side_effect=answer)
        run(clock, parallel, per_minute=10)
    # 10 at once, then one every 6 s (10/minute)
    assert sorted(sent_at) == pytest.approx([0.0] * 10 + [6.0 * n for n in range(1, 16)])


def test_a_spent_client_hourly_budget_stops_instead_of_waiting_long() -> None:
    clock = FakeClock()

    async def six(client: JustCallClient) -> None:
        for _ in range(6):
            await client.get_contact(1)

    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.get("/v2/contacts/1").mock(return_value=ok(contact_json(1)))
        with pytest.raises(BudgetExhaustedError, match="per_hour"):
            run(clock, six, per_hour=5)
    assert route.call_count == 5
    assert clock.slept == 0


def test_token_bucket_refills_continuously_up_to_its_capacity() -> None:
    bucket = TokenBucket.full(60, 60.0, now=0.0)
    for _ in range(60):
        bucket.take(0.0)
    assert bucket.wait_time(0.0) == pytest.approx(1.0)
    assert bucket.wait_time(0.5) == pytest.approx(0.5)
    bucket.refill(1000.0)
    assert bucket.tokens == 60


def test_unlimited_pacer_never_waits() -> None:
    clock = FakeClock()
    pacer = Pacer(None, None, clock=clock.monotonic, wall_clock=clock.wall, sleep=clock.sleep)

    async def many() -> None:
        for _ in range(1000):
            await pacer.acquire()
            pacer.release()

    asyncio.run(many())
    assert clock.sleeps == []


def test_utc_iso() -> None:
    assert utc_iso(EPOCH0 + 61.7) == "2026-01-01T00:01:01Z"


def test_a_fixed_window_server_is_followed_without_429s_and_without_client_limits() -> None:
    """A server allowing 5 requests a window that closes 60.9 s after it opens (reset
    rounded up to 61 s): an unconfigured client learns the limit from the headers."""
    clock = FakeClock()
    window = {"start": -1e9, "used": 0}
    sent_at: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if clock.now >= window["start"] + 60.9:
            window["start"], window["used"] = clock.now, 0
        reset = str(int(EPOCH0 + window["start"] + 61))
        if window["used"] >= 5:
            return httpx.Response(429, headers={"X-Rate-Limit-Burst-Reset": reset})
        window["used"] += 1
        sent_at.append(clock.now)
        headers = {
            "X-Rate-Limit-Burst-Remaining": str(5 - int(window["used"])),
            "X-Rate-Limit-Burst-Reset": reset,
        }
        return httpx.Response(
            200, json={"status": "success", "data": contact_json(1)}, headers=headers
        )

    async def workers(client: JustCallClient) -> None:
        left = list(range(12))

        async def worker() -> None:
            while left:
                left.pop()
                await client.get_contact(1)

        await asyncio.gather(*(worker() for _ in range(4)))

    with respx.mock(base_url=BASE_URL) as mock:
        mock.get("/v2/contacts/1").mock(side_effect=answer)
        _, client = run(clock, workers)
    assert client.stats.rate_limited == 0
    assert sorted(sent_at) == pytest.approx([0.0] * 5 + [61.0] * 5 + [122.0] * 2)

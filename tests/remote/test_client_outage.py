"""The outage breaker and the retry status line, on a simulated clock (no real sleeping)."""

from __future__ import annotations

import asyncio
import itertools
import socket

import httpx
import pytest
import respx

from jcstate.errors import ApiUnavailableError, TransportError
from jcstate.remote.client import ClientSettings, JustCallClient, host_port
from jcstate.remote.pacing import OutageBreaker, RetryNotice, retry_status_line
from tests.support.client import BASE_URL, FakeClock, contact_json, make_client, ok


class Ticker:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# -- the pure pieces ---------------------------------------------------------------------


def test_the_breaker_opens_only_after_a_whole_window_of_failures() -> None:
    clock = Ticker()
    breaker = OutageBreaker(60.0, clock)
    clock.now = 5.0
    breaker.failure(started=5.0)
    clock.now = 64.9
    breaker.failure(started=60.0)
    assert not breaker.tripped()
    assert breaker.remaining() == pytest.approx(0.1)
    clock.now = 65.0
    assert breaker.tripped()


def test_any_success_resets_the_window() -> None:
    clock = Ticker()
    breaker = OutageBreaker(60.0, clock)
    breaker.failure(started=0.0)
    clock.now = 50.0
    breaker.success()
    assert breaker.remaining() is None
    clock.now = 70.0
    breaker.failure(started=40.0)  # started before the success: the window starts at it
    clock.now = 109.0
    assert not breaker.tripped()
    clock.now = 110.0
    assert breaker.tripped()


def test_a_window_of_zero_never_opens() -> None:
    clock = Ticker()
    breaker = OutageBreaker(0.0, clock)
    breaker.failure(started=0.0)
    clock.now = 1e6
    assert not breaker.tripped()


def test_the_retry_notice_is_due_at_most_every_ten_seconds() -> None:
    clock = Ticker()
    notice = RetryNotice(clock)
    shown = []
    for step in range(100):
        clock.now = step * 0.7
        if notice.due():
            shown.append(clock.now)
    assert shown[0] == 0.0
    assert all(b - a >= 10.0 for a, b in itertools.pairwise(shown))
    assert len(shown) == 7  # 0, 10.5, 21, 31.5, 42, 52.5, 63 within 69.3 s


def test_retry_status_line_counts_the_waiting_requests() -> None:
    assert retry_status_line(3, "HTTP 503") == "retrying: 3 requests waiting, last error HTTP 503"
    assert retry_status_line(1, "x") == "retrying: 1 request waiting, last error x"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8799", "127.0.0.1:8799"),
        ("https://api.justcall.io", "api.justcall.io:443"),
        ("http://localhost/", "localhost:80"),
        ("http://[::1]:8787", "[::1]:8787"),
        ("https://user:pw@api.example.test:8443/x", "api.example.test:8443"),
    ],
)
def test_host_port_never_carries_credentials(url: str, expected: str) -> None:
    assert host_port(url) == expected


# -- the client ---------------------------------------------------------------------------


def _refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("[Errno 111] Connection refused", request=request)


async def _until_unavailable(client: JustCallClient, limit: int = 50) -> list[BaseException]:
    """Call get_contact until it raises ApiUnavailableError; every error seen, in order."""
    errors: list[BaseException] = []
    for _ in range(limit):
        try:
            await client.get_contact(1)
        except (ApiUnavailableError, TransportError) as exc:
            errors.append(exc)
            if isinstance(exc, ApiUnavailableError):
                return errors
    raise AssertionError(f"never stopped: {errors[-3:]}")


def test_the_client_stops_when_every_request_failed_for_the_window() -> None:
    clock = FakeClock()
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.get("/v2/contacts/1").mock(side_effect=_refused)

        async def main() -> tuple[list[BaseException], int]:
            async with make_client(clock, max_outage_s=60.0) as client:
                errors = await _until_unavailable(client)
                sent = route.call_count
                # Once open, nothing more is sent: the next request fails at once.
                with pytest.raises(ApiUnavailableError):
                    await client.update_contact(1, {"first_name": "x"})
                return errors, sent

        errors, sent = asyncio.run(main())
    assert route.call_count == sent
    assert str(errors[-1]) == "the API at api.example.test:443 has not answered for 60 s"
    # Several requests ran out of retries before the window closed, and it closed on time.
    assert len(errors) > 2
    assert 60.0 <= clock.now < 61.0


def test_a_success_now_and_then_keeps_the_client_going() -> None:
    clock = FakeClock()
    answers: list[httpx.Response | Exception] = []
    for _ in range(30):
        answers += [httpx.Response(503)] * 3 + [ok(contact_json(1))]
    with respx.mock(base_url=BASE_URL) as mock:
        mock.get("/v2/contacts/1").mock(side_effect=answers)

        async def main() -> None:
            async with make_client(clock, max_outage_s=10.0, rng=lambda: 1.0) as client:
                for _ in range(30):
                    await client.get_contact(1)

        asyncio.run(main())
    # 3.5 s of failures then a success, 30 times: 105 s in all, never 10 s in a row.
    assert clock.now == pytest.approx(105.0)


def test_retries_say_so_at_most_every_ten_seconds() -> None:
    clock = FakeClock()
    lines: list[tuple[float, str]] = []
    with respx.mock(base_url=BASE_URL) as mock:
        mock.get("/v2/contacts/1").mock(
            side_effect=[httpx.Response(503)] * 9 + [ok(contact_json(1))]
        )

        async def main() -> None:
            async with make_client(
                clock, max_outage_s=0.0, max_attempts=10, rng=lambda: 1.0
            ) as client:
                client.on_retrying = lambda line: lines.append((clock.now, line))
                await client.get_contact(1)

        asyncio.run(main())
    # Retries at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5, 61.5, 91.5 s: 5 lines, 10 s apart at least.
    times = [when for when, _ in lines]
    assert times == pytest.approx([0.0, 15.5, 31.5, 61.5, 91.5])
    assert (
        lines[0][1] == "retrying: 1 request waiting, last error GET /v2/contacts/1 (503): HTTP 503"
    )


def test_the_status_line_counts_every_request_that_waits() -> None:
    clock = FakeClock()
    lines: list[str] = []
    with respx.mock(base_url=BASE_URL) as mock:
        mock.get(url__regex=r"/v2/contacts/\d+").mock(side_effect=_refused)

        async def main() -> None:
            async with make_client(
                clock, max_outage_s=0.0, max_attempts=8, rng=lambda: 1.0
            ) as client:
                client.on_retrying = lines.append
                await asyncio.gather(
                    *(client.get_contact(n) for n in range(1, 5)), return_exceptions=True
                )
                assert not client._waiting  # every loop that ended stopped waiting

        asyncio.run(main())
    assert lines, "no status line"
    assert lines[-1].startswith("retrying: 4 requests waiting, last error GET /v2/contacts/")
    assert "could not connect to api.example.test:443" in lines[-1]


def test_a_refused_connection_names_the_host_and_the_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again below: nothing listens there
    settings = ClientSettings(
        api_url=f"http://127.0.0.1:{port}",
        api_key="key-77c1",
        api_secret="secret-9a0e",
        max_attempts=1,
    )

    async def main() -> None:
        async with JustCallClient(settings) as client:
            await client.get_contact(1)

    with pytest.raises(TransportError) as caught:
        asyncio.run(main())
    assert f"could not connect to 127.0.0.1:{port}" in str(caught.value)
    assert "key-77c1" not in str(caught.value) and "secret-9a0e" not in str(caught.value)


def test_a_timeout_names_the_host_and_the_port() -> None:
    clock = FakeClock()

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with respx.mock(base_url=BASE_URL) as mock:
        mock.get("/v2/contacts/1").mock(side_effect=slow)

        async def main() -> None:
            async with make_client(clock, max_attempts=1) as client:
                await client.get_contact(1)

        with pytest.raises(TransportError) as caught:
            asyncio.run(main())
    assert str(caught.value) == (
        "GET /v2/contacts/1: no answer in time from api.example.test:443 (ReadTimeout)"
    )

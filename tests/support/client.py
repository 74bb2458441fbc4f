"""Shared pieces of the client/remote unit tests: a simulated clock and canned answers.

(No tests here; the name keeps it among the client's test files.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

from jcstate.remote.client import ClientSettings, JustCallClient

T = TypeVar("T")

BASE_URL = "https://api.example.test"
API_KEY = "key-4f1c9a"
API_SECRET = "secret-8e2d7b"
#: 2026-01-01T00:00:00Z
EPOCH0 = 1_767_225_600.0


class FakeClock:
    """Monotonic and wall clocks that move only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return EPOCH0 + self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)

    @property
    def slept(self) -> float:
        return sum(self.sleeps)


def settings(**overrides: Any) -> ClientSettings:
    values: dict[str, Any] = {
        "api_url": BASE_URL,
        "api_key": API_KEY,
        "api_secret": API_SECRET,
        "per_minute": None,
        "per_hour": None,
    }
    values.update(overrides)
    return ClientSettings(**values)


def make_client(
    clock: FakeClock,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    rng: Callable[[], float] = lambda: 0.5,
    log: Callable[[str], None] | None = None,
    **overrides: Any,
) -> JustCallClient:
    extra: dict[str, Any] = {} if log is None else {"log": log}
    return JustCallClient(
        settings(**overrides),
        transport,
        clock=clock.monotonic,
        wall_clock=clock.wall,
        sleep=clock.sleep,
        rng=rng,
        **extra,
    )


def run(
    clock: FakeClock,
    body: Callable[[JustCallClient], Awaitable[T]],
    **overrides: Any,
) -> tuple[T, JustCallClient]:
    """Run `body(client)` inside `async with` on the simulated clock."""

    async def main() -> tuple[T, JustCallClient]:
        async with make_client(clock, **overrides) as client:
            return await body(client), client

    return asyncio.run(main())


def contact_json(contact_id: int, phone: str | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "id": contact_id,
        "phone": phone if phone is not None else f"+1415555{contact_id:04d}",
        "first_name": f"First{contact_id}",
        **fields,
    }


def ok(data: Any, **extra: Any) -> httpx.Response:
    return httpx.Response(200, json={"status": "success", "data": data, **extra})


def page_answer(
    contacts: list[dict[str, Any]], page: int, per_page: int = 100, total: int | None = None
) -> httpx.Response:
    start = (page - 1) * per_page
    body: dict[str, Any] = {
        "status": "success",
        "data": contacts[start : start + per_page],
        "page": page,
        "per_page": per_page,
    }
    if total is not None:
        body["total"] = total
    return httpx.Response(200, json=body)

"""The app in-process (httpx ASGI transport, no lifespan events), as `sandbox://` uses it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from jcstate.sandbox.app import create_app
from jcstate.sandbox.config import SandboxConfig

AUTH = {"Authorization": "sandbox-key:sandbox-secret"}
Check = Callable[[httpx.AsyncClient], Awaitable[None]]


def run_with(config: SandboxConfig, check: Check) -> None:
    async def main() -> None:
        transport = httpx.ASGITransport(app=create_app(config))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://sandbox", headers=AUTH
        ) as client:
            await check(client)

    asyncio.run(main())


@pytest.fixture
def config(tmp_path: Path) -> SandboxConfig:
    return SandboxConfig(db_path=tmp_path / "sandbox.db")


async def phones(client: httpx.AsyncClient, phone: str) -> list[dict[str, Any]]:
    response = await client.get("/v2/contacts", params={"phone": phone})
    assert response.status_code == 200
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def test_works_without_lifespan_and_creates_the_database(config: SandboxConfig) -> None:
    async def check(client: httpx.AsyncClient) -> None:
        created = await client.post("/v2/contacts", json={"phone": "415 555 0101"})
        assert created.status_code == 200
        assert created.json()["data"]["phone"] == "+14155550101"
        assert [c["id"] for c in await phones(client, "+14155550101")] == [1]

    run_with(config, check)
    assert config.db_path.exists()


def test_ambiguous_drop_commits_then_raises_a_transport_error(config: SandboxConfig) -> None:
    faulty = replace(config, ambiguous_rate=1.0, ambiguous_mode="drop")

    async def check(client: httpx.AsyncClient) -> None:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post("/v2/contacts", json={"phone": "+14155550101"})
        assert len(await phones(client, "+14155550101")) == 1  # reads are not affected

    run_with(faulty, check)


def test_ambiguous_error_commits_then_answers_500(config: SandboxConfig) -> None:
    faulty = replace(config, ambiguous_rate=1.0, ambiguous_mode="error")

    async def check(client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/v2/contacts/bulk", json={"contacts": [{"phone": "+14155550101"}]}
        )
        assert response.status_code == 500
        assert response.json()["status"] == "error"
        assert len(await phones(client, "+14155550101")) == 1

    run_with(faulty, check)


def test_streamed_body_over_the_limit_is_413(config: SandboxConfig) -> None:
    small = replace(config, max_body_bytes=1000)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b" " * 200

    async def check(client: httpx.AsyncClient) -> None:
        response = await client.post("/v2/contacts", content=chunks())
        assert response.status_code == 413
        assert response.json() == {
            "status": "error",
            "message": "Request body too large (limit 1000 bytes)",
        }

    run_with(small, check)


def test_rate_limit_uses_the_configured_clock(config: SandboxConfig) -> None:
    now = [5000.0]
    limited = replace(config, rate_limit_per_minute=2, clock=lambda: now[0])

    async def check(client: httpx.AsyncClient) -> None:
        for _ in range(2):
            assert (await client.get("/v2/contacts")).status_code == 200
        refused = await client.get("/v2/contacts")
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "60"
        now[0] += 60
        assert (await client.get("/v2/contacts")).status_code == 200

    run_with(limited, check)


def test_openapi_describes_the_six_operations_without_auth(config: SandboxConfig) -> None:
    async def check(client: httpx.AsyncClient) -> None:
        response = await client.get("/openapi.json", headers={"Authorization": ""})
        assert response.status_code == 200
        paths = response.json()["paths"]
        operations = {(method.upper(), path) for path, item in paths.items() for method in item}
        assert operations == {
            ("GET", "/v2/contacts"),
            ("POST", "/v2/contacts"),
            ("GET", "/v2/contacts/{contact_id}"),
            ("PUT", "/v2/contacts/{contact_id}"),
            ("DELETE", "/v2/contacts/{contact_id}"),
            ("POST", "/v2/contacts/bulk"),
        }
        bulk_body = paths["/v2/contacts/bulk"]["post"]["requestBody"]
        schema = bulk_body["content"]["application/json"]["schema"]
        assert schema["properties"]["contacts"]["maxItems"] == 5000
        scheme = response.json()["components"]["securitySchemes"]["apiKeyPair"]
        assert (scheme["in"], scheme["name"]) == ("header", "Authorization")

    run_with(config, check)


def test_listing_and_get_return_the_same_contact_object(config: SandboxConfig) -> None:
    body = {
        "phone": "+14155550101",
        "first_name": 'Zoë "Z" \\ Ünal',
        "last_name": "李",
        "email": "zoe@example.com",
        "custom_fields": {"seats": 12, "ratio": 0.25, "vip": True, "note": "line\nbreak"},
    }

    async def check(client: httpx.AsyncClient) -> None:
        created = (await client.post("/v2/contacts", json=body)).json()["data"]
        got = (await client.get(f"/v2/contacts/{created['id']}")).json()["data"]
        listed = (await client.get("/v2/contacts")).json()["data"]
        searched = (await client.get("/v2/contacts", params={"search": "zoë"})).json()["data"]
        assert listed == [got] == [created] == searched
        assert got["custom_fields"] == body["custom_fields"]
        assert got["company"] is None

    run_with(config, check)

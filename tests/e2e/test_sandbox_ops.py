"""The served sandbox's operating features: limits, faults, restarts, flags and commands."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from jcstate.sandbox.faults import FaultInjector
from jcstate.sandbox.store import ContactStore
from tests.support.sandbox_server import SandboxServer, start_sandbox

JCSTATE = (sys.executable, "-m", "jcstate")


def client_for(server: SandboxServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=server.auth_headers, timeout=30)


def test_rate_limit_headers_and_429(tmp_path: Path) -> None:
    flags = ("--rate-limit-per-minute", "5", "--rate-limit-per-hour", "8")
    with start_sandbox(tmp_path / "s.db", *flags) as server, client_for(server) as client:
        started = time.time()
        bursts, hours = [], []
        for _ in range(5):
            response = client.get("/v2/contacts")
            assert response.status_code == 200
            bursts.append(int(response.headers["X-Rate-Limit-Burst-Remaining"]))
            hours.append(int(response.headers["X-Rate-Limit-Remaining"]))
            assert response.headers["X-Rate-Limit-Burst-Limit"] == "5"
            assert response.headers["X-Rate-Limit-Limit"] == "8"
        assert bursts == [4, 3, 2, 1, 0]
        assert hours == [7, 6, 5, 4, 3]
        burst_reset = int(response.headers["X-Rate-Limit-Burst-Reset"])
        hour_reset = int(response.headers["X-Rate-Limit-Reset"])
        assert started + 55 <= burst_reset <= time.time() + 61
        assert started + 3595 <= hour_reset <= time.time() + 3601

        refused = client.post("/v2/contacts", json={"phone": "+14155550101"})
        assert refused.status_code == 429
        assert refused.json()["status"] == "error"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.headers["X-Rate-Limit-Burst-Remaining"] == "0"
        assert refused.headers["X-Rate-Limit-Remaining"] == "3"  # a refusal is not counted
        # Nothing was written by the refused request.
        unauthorized = httpx.get(server.url + "/v2/contacts")
        assert unauthorized.status_code == 401
        assert "X-Rate-Limit-Burst-Remaining" in unauthorized.headers
    with start_sandbox(tmp_path / "s.db") as server, client_for(server) as client:
        assert client.get("/v2/contacts").json()["total"] == 0
        assert "X-Rate-Limit-Limit" not in client.get("/v2/contacts").headers  # off by default


def test_429_without_retry_after_when_asked(tmp_path: Path) -> None:
    flags = ("--rate-limit-per-hour", "1", "--no-retry-after")
    with start_sandbox(tmp_path / "s.db", *flags) as server, client_for(server) as client:
        assert client.get("/v2/contacts").status_code == 200
        refused = client.get("/v2/contacts")
        assert refused.status_code == 429
        assert "Retry-After" not in refused.headers
        assert refused.headers["X-Rate-Limit-Remaining"] == "0"


def test_fail_rate_is_reproducible_from_the_seed(tmp_path: Path) -> None:
    flags = ("--fail-rate", "0.3", "--fault-seed", "7", "--latency-ms", "30")
    expected_faults = FaultInjector(fail_rate=0.3, seed=7)
    expected = [503 if expected_faults.should_fail() else 200 for _ in range(30)]
    assert 200 in expected and 503 in expected
    with start_sandbox(tmp_path / "s.db", *flags) as server, client_for(server) as client:
        statuses = []
        for _ in range(30):
            started = time.perf_counter()
            response = client.get("/v2/contacts")
            assert time.perf_counter() - started >= 0.03  # --latency-ms
            statuses.append(response.status_code)
            if response.status_code == 503:
                assert response.json()["status"] == "error"
    assert statuses == expected


def test_ambiguous_writes_commit_but_lose_the_answer(tmp_path: Path) -> None:
    flags = ("--ambiguous-rate", "1", "--fault-seed", "3")
    injector = FaultInjector(ambiguous_rate=1.0, seed=3)
    expected = [injector.ambiguity(is_write=True) for _ in range(8)]
    assert set(expected) == {"error", "drop"}
    phones = [f"+1415555{index:04d}" for index in range(100, 108)]
    with start_sandbox(tmp_path / "s.db", *flags) as server, client_for(server) as client:
        outcomes = []
        for phone in phones:
            try:
                response = client.post("/v2/contacts", json={"phone": phone})
            except httpx.TransportError:
                outcomes.append("drop")
            else:
                assert response.status_code == 500
                assert response.json()["status"] == "error"
                outcomes.append("error")
        assert outcomes == expected
        listing = client.get("/v2/contacts", params={"per_page": 100})
        assert listing.status_code == 200  # reads are never made ambiguous
        assert sorted(c["phone"] for c in listing.json()["data"]) == phones


def test_body_too_large_is_413(tmp_path: Path) -> None:
    with (
        start_sandbox(tmp_path / "s.db", "--max-body-bytes", "2000") as server,
        client_for(server) as client,
    ):
        big = [{"phone": f"+1415555{i:04d}", "first_name": "x" * 50} for i in range(40)]
        response = client.post("/v2/contacts/bulk", json={"contacts": big})
        assert response.status_code == 413
        assert response.json() == {
            "status": "error",
            "message": "Request body too large (limit 2000 bytes)",
        }
        assert client.get("/v2/contacts").json()["total"] == 0
        small = client.post("/v2/contacts/bulk", json={"contacts": big[:5]})
        assert small.json()["created"] == 5


def test_data_survives_a_restart_and_ids_are_not_reused(tmp_path: Path) -> None:
    db_path = tmp_path / "s.db"
    with start_sandbox(db_path) as server, client_for(server) as client:
        ids = [
            client.post("/v2/contacts", json={"phone": f"+1415555010{i}"}).json()["data"]["id"]
            for i in range(3)
        ]
        assert client.delete(f"/v2/contacts/{ids[-1]}").status_code == 200
        server.stop(kill=True)  # no graceful shutdown: committed means stored
    with start_sandbox(db_path) as server, client_for(server) as client:
        listing = client.get("/v2/contacts").json()
        assert [c["id"] for c in listing["data"]] == ids[:2]
        new = client.post("/v2/contacts", json={"phone": "+14155550199"}).json()["data"]
        assert new["id"] > ids[-1]


def test_custom_field_definitions_and_credentials_flags(tmp_path: Path) -> None:
    flags = (
        "--custom-field",
        "lead_source",
        "--custom-field",
        "plan_tier",
        "--api-key",
        "team-key",
        "--api-secret",
        "team-secret",
    )
    with start_sandbox(tmp_path / "s.db", *flags) as server, client_for(server) as client:
        assert (server.api_key, server.api_secret) == ("team-key", "team-secret")
        default = httpx.get(
            server.url + "/v2/contacts", headers={"Authorization": "sandbox-key:sandbox-secret"}
        )
        assert default.status_code == 401
        ok = client.post(
            "/v2/contacts", json={"phone": "+14155550101", "custom_fields": {"plan_tier": "Pro"}}
        )
        assert ok.status_code == 200
        unknown = client.post(
            "/v2/contacts", json={"phone": "+14155550102", "custom_fields": {"colour": "red"}}
        )
        assert unknown.status_code == 400
        assert "unknown custom field 'colour'" in unknown.json()["message"]
        contact_id = ok.json()["data"]["id"]
        put = client.put(f"/v2/contacts/{contact_id}", json={"custom_fields": {"colour": "red"}})
        assert put.status_code == 400
        result = client.post(
            "/v2/contacts/bulk",
            json={
                "contacts": [
                    {"phone": "+14155550103", "custom_fields": {"lead_source": "Event"}},
                    {"phone": "+14155550104", "custom_fields": {"colour": "red"}},
                ]
            },
        ).json()
        assert (result["created"], result["failed"]) == (1, 1)
        assert result["errors"][0]["index"] == 1
        assert result["errors"][0]["phone"] == "+14155550104"
        openapi = httpx.get(server.url + "/openapi.json")
        assert openapi.status_code == 200 and "/v2/contacts/bulk" in openapi.json()["paths"]


def test_seed_command_then_serve(tmp_path: Path) -> None:
    db_path = tmp_path / "seeded.db"
    result = subprocess.run(
        [*JCSTATE, "sandbox", "seed", "--db", str(db_path), "--count", "1200", "--custom-fields"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Seeded 1200 contacts into {db_path} (1200 in total)")
    with start_sandbox(db_path) as server, client_for(server) as client:
        first = client.get("/v2/contacts", params={"per_page": 100}).json()
        assert first["total"] == 1200
        assert set(first["data"][0]["custom_fields"]) == {"lead_source", "plan_tier", "seats"}
        tail = client.get("/v2/contacts", params={"page": 12, "per_page": 100}).json()
        phones = {c["phone"] for c in first["data"] + tail["data"]}
        assert len(phones) == 200


def test_serve_reports_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*JCSTATE, "sandbox", "serve", "--db", str(tmp_path / "s.db"), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert result.returncode == 1
    assert result.stderr.startswith(f"Error: cannot listen on 127.0.0.1:{port}: ")
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_full_listing_of_100000_contacts_is_complete(tmp_path: Path) -> None:
    db_path = tmp_path / "big.db"
    store = ContactStore(db_path)
    store.seed(100_000)
    store.close()

    async def list_all(server: SandboxServer) -> tuple[set[int], set[int]]:
        limits = httpx.Limits(max_connections=4)
        async with httpx.AsyncClient(
            base_url=server.url, headers=server.auth_headers, limits=limits, timeout=60
        ) as client:
            responses = await asyncio.gather(
                *(
                    client.get("/v2/contacts", params={"page": page, "per_page": 100})
                    for page in range(1, 1001)
                )
            )
        ids = {c["id"] for r in responses for c in r.json()["data"]}
        return ids, {r.json()["total"] for r in responses}

    with start_sandbox(db_path) as server:
        ids, totals = asyncio.run(list_all(server))
    assert totals == {100_000}
    assert ids == set(range(1, 100_001))

"""Requests built to break the sandbox get a 4xx answer over HTTP, never a 500."""

from __future__ import annotations

import httpx
import pytest

from tests.support.sandbox_server import SandboxServer


@pytest.fixture
def http(sandbox_server: SandboxServer) -> httpx.Client:
    client = httpx.Client(
        base_url=sandbox_server.url, headers=sandbox_server.auth_headers, timeout=30
    )
    # A few contacts, so the search really runs its pattern against rows.
    client.post(
        "/v2/contacts/bulk",
        json={"contacts": [{"phone": f"+1415555{n:04d}", "first_name": "Ann"} for n in range(3)]},
    ).raise_for_status()
    return client


@pytest.mark.parametrize("name", ["search", "email", "company"])
def test_a_50001_character_filter_is_refused_with_400(http: httpx.Client, name: str) -> None:
    answer = http.get("/v2/contacts", params={name: "a" * 50_001})
    assert answer.status_code == 400, answer.text
    assert answer.json()["status"] == "error"
    assert name in answer.json()["message"]


def test_a_search_at_the_limit_still_works(http: httpx.Client) -> None:
    answer = http.get("/v2/contacts", params={"search": "A" + "n" * 999})
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == []
    assert http.get("/v2/contacts", params={"search": "Ann"}).json()["total"] == 3


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v2/contacts"), ("POST", "/v2/contacts/bulk"), ("PUT", "/v2/contacts/1")],
)
@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"a":' * 100_000, b"[" * 2_000 + b"]" * 2_000])
def test_a_deeply_nested_body_is_refused_with_400(
    http: httpx.Client, method: str, path: str, body: bytes
) -> None:
    answer = http.request(method, path, content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert "nested too deeply" in answer.json()["message"]
    # The server is still answering.
    assert http.get("/v2/contacts").status_code == 200

"""What goes on the wire: the headers every request carries, and the proxy the
environment names (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY), as any HTTP
tool honours them. The proxy tests talk to a real socket on loopback."""

from __future__ import annotations

import asyncio
import gzip
import importlib.util
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx

from jcstate.errors import TransportError
from jcstate.remote.client import JustCallClient, environment_proxy
from tests.support.cli import run_jcstate
from tests.support.client import (
    API_KEY,
    API_SECRET,
    BASE_URL,
    FakeClock,
    contact_json,
    ok,
    run,
    settings,
)

PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "REQUEST_METHOD")
#: A host that never resolves: reaching it at all proves a proxy carried the request.
UNRESOLVABLE = "https://api.jcstate.invalid"


@pytest.fixture
def no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    yield monkeypatch


def test_requests_carry_the_credentials_and_ask_for_json_and_compression() -> None:
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.get("/v2/contacts").mock(return_value=ok([], page=1, per_page=100, total=0))
        run(FakeClock(), lambda client: client.list_page(1))
    headers = route.calls.last.request.headers
    assert headers["authorization"] == f"{API_KEY}:{API_SECRET}"
    assert headers["accept"] == "application/json"
    assert headers["accept-encoding"] == "gzip, deflate"
    assert headers["user-agent"].startswith("jcstate/")


def test_a_compressed_answer_is_read_decoded() -> None:
    body = json.dumps({"data": [contact_json(7, "+14155550007")], "page": 1, "total": 1}).encode()
    answer = httpx.Response(200, content=gzip.compress(body), headers={"content-encoding": "gzip"})
    with respx.mock(base_url=BASE_URL) as mock:
        mock.get("/v2/contacts").mock(return_value=answer)
        page, _ = run(FakeClock(), lambda client: client.list_page(1))
    assert [contact.id for contact in page.contacts] == [7]


@pytest.mark.parametrize(
    ("environment", "url", "expected"),
    [
        ({}, "https://api.justcall.io", None),
        ({"HTTPS_PROXY": "http://proxy:3128"}, "https://api.justcall.io", "http://proxy:3128"),
        ({"https_proxy": "http://proxy:3128"}, "https://api.justcall.io", "http://proxy:3128"),
        ({"HTTPS_PROXY": "http://proxy:3128"}, "http://127.0.0.1:8080", None),
        ({"HTTP_PROXY": "http://proxy:8080"}, "http://127.0.0.1:8080", "http://proxy:8080"),
        ({"ALL_PROXY": "socks5://proxy:1080"}, "https://api.justcall.io", "socks5://proxy:1080"),
        ({"HTTPS_PROXY": "proxy:3128"}, "https://api.justcall.io", "http://proxy:3128"),
        (
            {"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "justcall.io"},
            "https://api.justcall.io",
            None,
        ),
        ({"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "*"}, "https://api.justcall.io", None),
        (
            {"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "example.com"},
            "https://api.justcall.io",
            "http://proxy:3128",
        ),
    ],
)
def test_the_proxy_the_environment_names(
    no_proxy_environment: pytest.MonkeyPatch,
    environment: dict[str, str],
    url: str,
    expected: str | None,
) -> None:
    for name, value in environment.items():
        no_proxy_environment.setenv(name, value)
    assert environment_proxy(url) == expected


class RecordingProxy:
    """A loopback listener that keeps the head of each request it gets and refuses it."""

    def __init__(self) -> None:
        self.heads: list[str] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        self.heads.append(head.decode("latin-1"))
        writer.write(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        await writer.drain()
        writer.close()


def listening_socket() -> socket.socket:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    return listener


async def _list_through(proxy: RecordingProxy, listener: socket.socket) -> BaseException | None:
    async with await asyncio.start_server(proxy.handle, sock=listener):
        client = JustCallClient(settings(api_url=UNRESOLVABLE, max_attempts=1))
        try:
            async with client:
                await client.list_page(1)
        except TransportError as exc:
            return exc
    return None


def through_proxy(environment: pytest.MonkeyPatch) -> tuple[RecordingProxy, BaseException | None]:
    """A listing page requested with HTTPS_PROXY naming a recording listener."""
    proxy, listener = RecordingProxy(), listening_socket()
    environment.setenv("HTTPS_PROXY", f"http://127.0.0.1:{listener.getsockname()[1]}")
    return proxy, asyncio.run(_list_through(proxy, listener))


def test_requests_go_through_the_proxy_the_environment_names(
    no_proxy_environment: pytest.MonkeyPatch,
) -> None:
    proxy, error = through_proxy(no_proxy_environment)
    assert isinstance(error, TransportError)
    assert len(proxy.heads) == 1
    assert proxy.heads[0].startswith("CONNECT api.jcstate.invalid:443 HTTP/1.1\r\n")
    # The tunnel is asked for without the credentials: they travel only inside it.
    assert API_SECRET not in proxy.heads[0] and API_KEY not in proxy.heads[0]


def test_no_proxy_sends_requests_directly(no_proxy_environment: pytest.MonkeyPatch) -> None:
    no_proxy_environment.setenv("NO_PROXY", "jcstate.invalid")
    proxy, error = through_proxy(no_proxy_environment)
    assert isinstance(error, TransportError)
    assert proxy.heads == []


@pytest.mark.parametrize(
    ("proxy", "reason"),
    [
        ("ftp://user:hunter2@proxy.example:21", "it is not an http://, https://, socks5://"),
        pytest.param(
            "socks5://user:hunter2@127.0.0.1:1080",
            "a SOCKS proxy needs the socksio package",
            marks=pytest.mark.skipif(
                importlib.util.find_spec("socksio") is not None, reason="socksio is installed"
            ),
        ),
    ],
    ids=["unknown-scheme", "socks-without-socksio"],
)
def test_a_proxy_that_cannot_be_used_is_one_error_line_without_its_password(
    tmp_path: Path, no_proxy_environment: pytest.MonkeyPatch, proxy: str, reason: str
) -> None:
    assert run_jcstate(["init"], cwd=tmp_path).returncode == 0
    environment = {
        **os.environ,
        "HTTPS_PROXY": proxy,
        "JUSTCALL_API_KEY": API_KEY,
        "JUSTCALL_API_SECRET": API_SECRET,
    }
    done = run_jcstate(["plan", "--api-url", UNRESOLVABLE], cwd=tmp_path, env=environment)
    assert done.returncode == 1
    assert done.stderr.strip().startswith(
        f"Error: the proxy in HTTPS_PROXY (or ALL_PROXY) cannot be used: {reason}"
    )
    assert len(done.stderr.strip().splitlines()) == 1
    assert "hunter2" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr

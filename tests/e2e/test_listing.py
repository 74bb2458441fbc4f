"""End-to-end listings over real HTTP: `jcstate sandbox serve` and a misbehaving server."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from jcstate.core.model import RemoteState
from jcstate.errors import ProtocolError
from jcstate.remote.client import JustCallClient, resolve_settings
from jcstate.remote.listing import fetch_remote
from tests.support.sandbox_server import SandboxServer, start_sandbox


def seed(db: Path, count: int) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "jcstate",
            "sandbox",
            "seed",
            "--db",
            str(db),
            "--count",
            str(count),
        ],
        check=True,
        capture_output=True,
    )


def stored_rows(db: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(db) as conn:
        return [(int(i), str(p)) for i, p in conn.execute("SELECT id, phone FROM contacts")]


def list_everything(
    url: str, env: dict[str, str], concurrency: int = 4
) -> tuple[RemoteState, dict[str, int]]:
    settings = resolve_settings(None, api_url=url, env=env)

    async def main() -> tuple[RemoteState, dict[str, int]]:
        async with JustCallClient(settings) as client:
            state = await fetch_remote(client, refresh="full", concurrency=concurrency)
            return state, client.stats.as_dict()

    return asyncio.run(main())


def check_exact_listing(server: SandboxServer, count: int) -> None:
    state, stats = list_everything(server.url, server.env)
    expected = sorted(stored_rows(server.db_path))
    assert len(expected) == count
    assert state.complete
    assert sorted((c.id, c.phone) for c in state.contacts) == expected
    pages = -(-count // 100)
    # the failures were retried: more requests than pages, all of them GETs; the
    # last page and page 1 are read twice (the check that the account held still)
    assert stats["get"] == stats["total"] == pages + 2 + stats["retries"]
    assert stats["retries"] > 0


# About 15 s on a laptop core (200 pages, ~20 of them answered 503 and retried).
def test_listing_20000_contacts_with_failures_returns_exactly_the_stored_set(
    tmp_path: Path,
) -> None:
    db = tmp_path / "sandbox.db"
    seed(db, 20_000)
    with start_sandbox(db, "--fail-rate", "0.1", "--fault-seed", "20000") as server:
        check_exact_listing(server, 20_000)


# ---------------------------------------------------------------------------
# A server that answers one page with an HTML error page
# ---------------------------------------------------------------------------

TOTAL = 450


class HtmlOnPageThree(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        page = int(query.get("page", ["1"])[0])
        per_page = int(query.get("per_page", ["100"])[0])
        if page == 3:
            body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
            content_type = "text/html"
        else:
            start = (page - 1) * per_page
            ids = range(start + 1, min(TOTAL, start + per_page) + 1)
            data = [{"id": i, "phone": f"+1415555{i:04d}"} for i in ids]
            payload = {"status": "success", "data": data, "page": page, "per_page": per_page}
            body = json.dumps({**payload, "total": TOTAL}).encode()
            content_type = "application/json"
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def html_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), HtmlOnPageThree)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_page_answered_with_html_is_an_error_not_a_short_state(html_server: str) -> None:
    env = {"JUSTCALL_API_KEY": "k", "JUSTCALL_API_SECRET": "s"}
    with pytest.raises(ProtocolError) as excinfo:
        list_everything(html_server, env)
    message = str(excinfo.value)
    assert message.startswith("GET /v2/contacts?page=3&per_page=100")
    assert "not JSON (text/html" in message


def test_the_cli_reports_the_html_page_and_exits_1(html_server: str, tmp_path: Path) -> None:
    (tmp_path / "jcstate.yaml").write_text("version: 1\n")
    (tmp_path / "contacts").mkdir()
    (tmp_path / "contacts" / "people.yaml").write_text(
        'version: 1\ncontacts:\n  - phone: "+14155550001"\n    first_name: Ann\n'
    )
    env = {
        "JUSTCALL_API_KEY": "k",
        "JUSTCALL_API_SECRET": "s",
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-m", "jcstate", "-C", str(tmp_path), "plan", "--prune",
         "--api-url", html_server],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "page=3" in result.stderr and "not JSON" in result.stderr

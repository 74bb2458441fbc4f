"""A small hostile Contacts API on loopback: every string it serves is an attack on a reader.

It speaks just enough of the API for `plan`, `drift` and `apply` (the listing,
one contact, writes) and serves contacts whose names, e-mail addresses,
companies, custom-field keys and values and phones try to forge the review
surface: markdown that closes `<details>` and mentions a team, HTML, terminal
escape sequences (OSC titles and hyperlinks, CSI), C1 controls, bidi
overrides and `::error` workflow commands. `mode` switches the listing to a
hostile error answer (`error`) or a redirect with a hostile `Location`
(`redirect`); writes always fail with a hostile message.

with hostile_server() as server:
    subprocess.run([... "jcstate", "plan"], env={**os.environ, **server.env})
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

#: The custom-field key of the report: closes <details>, a heading with a team
#: mention, then an unclosed HTML comment that would hide the rest.
DETAILS_KEY = "k\n\n</details>\n\n# Approve me @org/team\n<!--"
MENTION_NAME = "@octocat <img src=x onerror=alert(1)>"
WORKFLOW_LAST_NAME = "X\n::error title=CI::injected"
OSC_TITLE = "\x1b]0;TITLE\x07"
OSC_LINK = "\x1b]8;;https://evil.example\x07"
CSI_CLEAR = "\x1b[2J"
C1_CSI = "\u009b"
BIDI_OVERRIDE = "\u202e"
BACKTICKS = "``` `x` ``"
#: a phone that does not parse, with a line break that would end a table row
NEWLINE_PHONE = "+1415555\n::warning::phone"
IDN_EMAILS = ("jörg.müller@example.com", "maria@exämple.de")
#: the server's error message and redirect target
ERROR_MESSAGE = f"refused{OSC_TITLE}\n::error title=server::{CSI_CLEAR}{C1_CSI}{BIDI_OVERRIDE}x"
#: header values are bytes: only what HTTP lets through (obs-text), sent as UTF-8
LOCATION = "https://evil.example/\u202e\u009b\u2028path"

DECLARED_PHONE = "+14155550101"


def hostile_contacts() -> list[dict[str, Any]]:
    """Three contacts: one declared (its update shows the remote values), two not."""
    return [
        {
            "id": 1,
            "phone": DECLARED_PHONE,
            "first_name": MENTION_NAME,
            "last_name": WORKFLOW_LAST_NAME,
            "email": "jordan@example.com",
            "company": f"{OSC_TITLE}Acme{OSC_LINK}link{CSI_CLEAR}",
            "custom_fields": {DETAILS_KEY: "v", "note": f"a{C1_CSI}b{BIDI_OVERRIDE}c"},
            "updated_at": "2026-03-12T14:30:00Z",
        },
        {
            "id": 2,
            "phone": NEWLINE_PHONE,
            "first_name": BACKTICKS,
            "last_name": f"{CSI_CLEAR}{C1_CSI}{BIDI_OVERRIDE}evil",
            "email": IDN_EMAILS[0],
            "company": "Evil | Corp\n| --- | --- |\n<!-- hide",
            "custom_fields": {"x": "</details><details open>", "`": "``"},
            "updated_at": f"2026{OSC_TITLE}\n::error::when",
        },
        {
            "id": 3,
            "phone": "+14155550199",
            "first_name": "#123 @org/team",
            "last_name": "www.evil.example https://evil.example [x](https://evil.example)",
            "email": IDN_EMAILS[1],
            "company": "<script>alert(1)</script> &amp; $x^2$ **bold** :+1:",
            "custom_fields": {},
            "updated_at": "2026-03-12T14:30:00Z",
        },
    ]


@dataclass
class HostileServer:
    url: str
    mode: str = "ok"
    requests: list[str] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {
            "JCSTATE_API_URL": self.url,
            "JUSTCALL_API_KEY": "hostile-key",
            "JUSTCALL_API_SECRET": "hostile-secret",
        }


def _handler(state: HostileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any, headers: dict[str, bytes] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response_only(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                # Raw bytes: send_header would encode the value as latin-1.
                self._headers_buffer.append(name.encode() + b": " + value + b"\r\n")  # type: ignore[attr-defined]
            self.end_headers()
            self.wfile.write(data)

        def _answer(self) -> None:
            parts = urlsplit(self.path)
            state.requests.append(f"{self.command} {parts.path}")
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            if state.mode == "error":
                self._send(400, {"status": "error", "message": ERROR_MESSAGE})
                return
            if state.mode == "redirect":
                self._send(302, {}, {"Location": LOCATION.encode("utf-8")})
                return
            contacts = hostile_contacts()
            if self.command == "GET" and parts.path == "/v2/contacts":
                query = parse_qs(parts.query)
                page = int(query.get("page", ["1"])[0])
                per_page = int(query.get("per_page", ["25"])[0])
                if "phone" in query:
                    contacts = [c for c in contacts if c["phone"] == query["phone"][0]]
                shown = contacts[(page - 1) * per_page : page * per_page]
                self._send(
                    200,
                    {
                        "status": "success",
                        "data": shown,
                        "page": page,
                        "per_page": per_page,
                        "total": len(contacts),
                    },
                )
                return
            if self.command == "GET" and parts.path.startswith("/v2/contacts/"):
                wanted = parts.path.rsplit("/", 1)[-1]
                for contact in contacts:
                    if str(contact["id"]) == wanted:
                        self._send(200, {"status": "success", "data": contact})
                        return
                self._send(404, {"status": "error", "message": ERROR_MESSAGE})
                return
            self._send(422, {"status": "error", "message": ERROR_MESSAGE})

        do_GET = _answer  # the names http.server calls
        do_POST = _answer
        do_PUT = _answer
        do_DELETE = _answer

    return Handler


@contextmanager
def hostile_server() -> Iterator[HostileServer]:
    """The hostile API on 127.0.0.1 (a free port), in a thread; stopped on exit."""
    state = HostileServer(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)

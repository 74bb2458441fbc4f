"""The one pure-ASGI middleware around every sandbox endpoint: latency, auth, body
size, rate limit and fault injection, so that they wrap every endpoint alike and
cost little on the hot listing path."""

from __future__ import annotations

import hmac
import json

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jcstate.sandbox.config import MAX_DISCARD_BYTES, SandboxConfig
from jcstate.sandbox.faults import ConnectionDropped, FaultInjector, RateLimiter

#: Paths answered without credentials (the API description).
OPEN_PATHS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect"})
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def error_body(message: str) -> bytes:
    # ASCII-escaped: a message may quote request text that is not valid Unicode.
    return json.dumps({"status": "error", "message": message}, separators=(",", ":")).encode()


class BodyTooLarge(Exception):
    pass


async def _send_simple(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SandboxMiddleware:
    """Latency, auth, body size, rate limit and faults around every API request."""

    def __init__(self, app: ASGIApp, config: SandboxConfig) -> None:
        self.app = app
        self.config = config
        self.expected_auth = f"{config.api_key}:{config.api_secret}".encode()
        self.limiter = RateLimiter(config.rate_limit_per_minute, config.rate_limit_per_hour)
        self.faults = FaultInjector(
            fail_rate=config.fail_rate,
            ambiguous_rate=config.ambiguous_rate,
            ambiguous_mode=config.ambiguous_mode,
            seed=config.fault_seed,
        )

    def _authorized(self, scope: Scope) -> bool:
        given = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                given = value.strip()
                break
        return hmac.compare_digest(given, self.expected_auth)

    @staticmethod
    def _content_length(scope: Scope) -> int | None:
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    return int(value)
                except ValueError:
                    return None
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        config = self.config
        if config.latency_ms > 0:
            await anyio.sleep(config.latency_ms / 1000)
        limiter = self.limiter
        if not self._authorized(scope):
            headers = _encode(limiter.peek(config.clock())) if limiter.enabled else []
            await _send_simple(send, 401, error_body("Unauthorized"), headers)
            return
        length = self._content_length(scope)
        if length is not None and length > config.max_body_bytes:
            await self._discard_body(receive, length)
            await _send_simple(send, 413, self._too_large_body(), [])
            return
        rate_headers: list[tuple[bytes, bytes]] = []
        if limiter.enabled:
            decision = limiter.acquire(config.clock())
            rate_headers = _encode(decision.headers)
            if not decision.allowed:
                if config.retry_after:
                    rate_headers.append((b"retry-after", str(decision.retry_after).encode()))
                message = "Too many requests: rate limit exceeded"
                await _send_simple(send, 429, error_body(message), rate_headers)
                return
        faults = self.faults
        if faults.should_fail():
            message = "Service temporarily unavailable (injected fault)"
            await _send_simple(send, 503, error_body(message), rate_headers)
            return
        ambiguity = faults.ambiguity(scope["method"] in _WRITE_METHODS)
        await self._call_app(scope, receive, send, rate_headers, ambiguity)

    @staticmethod
    async def _discard_body(receive: Receive, length: int) -> None:
        # Read what the client is sending before answering: a server that answers and
        # closes with unread data makes the kernel reset the connection, and the
        # client sees a broken pipe instead of the 413. Very large bodies are not read.
        if length > MAX_DISCARD_BYTES:
            return
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return
            more = bool(message.get("more_body", False))

    def _too_large_body(self) -> bytes:
        limit = self.config.max_body_bytes
        return error_body(f"Request body too large (limit {limit} bytes)")

    async def _call_app(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        rate_headers: list[tuple[bytes, bytes]],
        ambiguity: str | None,
    ) -> None:
        limit = self.config.max_body_bytes
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if ambiguity is not None:
                return  # the answer is lost; the write already committed
            if message["type"] == "http.response.start":
                started = True
                if rate_headers:
                    message = {**message, "headers": [*message.get("headers", []), *rate_headers]}
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except BodyTooLarge:
            if started:
                raise
            await self._discard_body(receive, 0)
            await _send_simple(send, 413, self._too_large_body(), rate_headers)
            return
        if ambiguity == "error":
            message = "Internal server error (injected fault after the write committed)"
            await _send_simple(send, 500, error_body(message), rate_headers)
        elif ambiguity == "drop":
            # Promise a body, then close: the client cannot tell whether the write happened.
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
                }
            )
            raise ConnectionDropped()


def _encode(headers: tuple[tuple[str, str], ...]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode(), value.encode()) for name, value in headers]

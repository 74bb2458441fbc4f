"""The JustCall Contacts API client: async httpx, tolerant envelopes, pacing, retries.

Every answer is either parsed into plain values or turned into one
`ApiError` naming the method and the path; an answer that cannot be
understood is never read as "no contacts". Requests are paced client-side
(`jcstate.remote.pacing`) and retried with tenacity where resending is safe:

- GET/PUT/DELETE on 429, 5xx, connection errors and timeouts;
- a DELETE answered 404 on a retry has succeeded;
- POST /v2/contacts (create) whose outcome is unknown is looked up by phone
  before it is sent again;
- POST /v2/contacts/bulk upserts by phone, so it may be resent;
- 400/401/403/404/413/422 are never retried.

A circuit breaker (`pacing.OutageBreaker`) watches every attempt: when all of
them failed to connect, timed out or got a 5xx for a whole window
(`ClientSettings.max_outage_s`, `--max-outage`), every request in flight or
still to come raises `ApiUnavailableError` instead of retrying on. While
requests are being retried, `on_retrying` gets a status line at most every
10 s (the command line shows it on stderr; by default it is logged).

No server can make the client use unbounded memory or time: every answer
is read as a stream and its decoded body is capped (`max_body_bytes`, 16 MiB
by default); every attempt, from connecting to the last byte, has a
wall-clock deadline (`request_deadline_s`), and a missed deadline is an
outage failure like a timeout. (The ceiling on the contacts a listing reads,
`max_contacts`, is kept by `jcstate.remote.listing`.)

Requests go straight to an httpx transport (a connection pool, the embedded
sandbox's ASGI app, or a test's), not through `httpx.AsyncClient`: the client
layer adds cookies, auth flows, redirects and URL merging that the API does
not use, and cost about 0.3 ms a request, a third of a 100,000-contact
listing. What it did that the API needs is done here: the base URL, the
default headers (with gzip and deflate, which httpx decodes), the timeouts,
and the proxy the environment names (`environment_proxy`: HTTPS_PROXY,
HTTP_PROXY, ALL_PROXY, NO_PROXY).

The credentials travel only in the Authorization header: no message, log
line or record carries them. A key or secret that cannot be a header value
(a control or non-ASCII character) and an API URL with a user name or
password are refused before any request, without showing their value.

The settings, the values returned and the tolerant parsing of answers live in
`settings`, `values` and `tolerant`; their names are re-exported here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from types import TracebackType
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from jcstate import __version__
from jcstate.core.limits import MAX_BULK, MAX_PER_PAGE
from jcstate.core.model import RemoteContact
from jcstate.core.normalize import try_normalize_phone
from jcstate.errors import (
    ApiError,
    ApiUnavailableError,
    ApiValidationError,
    AuthError,
    BudgetExhaustedError,
    NotFoundError,
    ProtocolError,
    ProxyError,
    RateLimitedError,
    RequestDeadlineError,
    ResponseTooLargeError,
    ServerError,
    TransportError,
    ensure_state_dir,
)
from jcstate.remote.pacing import (
    Clock,
    OutageBreaker,
    Pacer,
    RetryNotice,
    Sleep,
    full_jitter,
    retry_status_line,
)
from jcstate.remote.settings import (
    DEFAULT_API_URL,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_CONTACTS,
    DEFAULT_PER_HOUR,
    DEFAULT_PER_MINUTE,
    DEFAULT_REQUEST_DEADLINE_S,
    KEY_ENV,
    MAX_BODY_ENV,
    MAX_CONTACTS_ENV,
    REQUEST_DEADLINE_ENV,
    SANDBOX_BASE_URL,
    SANDBOX_SCHEME,
    SECRET_ENV,
    URL_ENV,
    ClientSettings,
    check_credential,
    credential_problem,
    host_port,
    is_loopback_host,
    resolve_settings,
    size_text,
)
from jcstate.remote.tolerant import (
    _describe_body,
    _server_message,
    _strict_int,
    normalize_remote_phone,
    parse_contact,
    parse_contacts,
)
from jcstate.remote.values import (
    Answer,
    BulkItemError,
    BulkResult,
    ConnectionFailedError,
    ContactPage,
    RequestRecord,
    RequestStats,
)

#: What the client offers, with the settings, values and parsing it re-exports
#: (their modules: `settings`, `values`, `tolerant`).
__all__ = [
    "BULK_PATH",
    "CONTACTS_PATH",
    "DEFAULT_API_URL",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_CONTACTS",
    "DEFAULT_PER_HOUR",
    "DEFAULT_PER_MINUTE",
    "DEFAULT_REQUEST_DEADLINE_S",
    "KEY_ENV",
    "MAX_BODY_ENV",
    "MAX_CONTACTS_ENV",
    "MAX_PER_PAGE",
    "REQUEST_DEADLINE_ENV",
    "REQUEST_LOG",
    "RETRY_LOG",
    "SANDBOX_BASE_URL",
    "SANDBOX_SCHEME",
    "SECRET_ENV",
    "URL_ENV",
    "BulkItemError",
    "BulkResult",
    "ClientSettings",
    "ConnectionFailedError",
    "ContactPage",
    "JustCallClient",
    "RequestRecord",
    "RequestStats",
    "check_credential",
    "credential_problem",
    "host_port",
    "is_loopback_host",
    "normalize_remote_phone",
    "parse_contact",
    "resolve_settings",
    "size_text",
]

CONTACTS_PATH = "/v2/contacts"
BULK_PATH = "/v2/contacts/bulk"


def _is_retryable_read(exc: BaseException) -> bool:
    """GET/PUT/DELETE/bulk: 429, 5xx and transport errors (never a spent budget)."""
    if isinstance(exc, BudgetExhaustedError | ApiUnavailableError):
        return False
    return isinstance(exc, RateLimitedError | ServerError | TransportError)


def _is_retryable_create(exc: BaseException) -> bool:
    return _is_retryable_read(exc)


def _outcome_unknown(exc: BaseException) -> bool:
    """The server may have carried out the request (timeout or 5xx after sending)."""
    if isinstance(exc, ConnectionFailedError):
        return False
    return isinstance(exc, ServerError | TransportError)


#: `-v` request lines go here; the command line shows them on stderr (nothing here prints).
REQUEST_LOG = logging.getLogger("jcstate.requests")


def _log_request(line: str) -> None:
    REQUEST_LOG.info(line)


#: "retrying: ..." status lines go here (the command line shows them on stderr).
RETRY_LOG = logging.getLogger("jcstate.retry")


def _log_retrying(line: str) -> None:
    RETRY_LOG.warning(line)


def _counts_as_outage(failure: ApiError) -> bool:
    """No answer, or a 5xx: the kind of failure the outage window is made of."""
    return isinstance(failure, ServerError | TransportError)


class JustCallClient:
    """`async with JustCallClient(settings) as client:` — one per command run."""

    def __init__(
        self,
        settings: ClientSettings,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
        sleep: Sleep | None = None,
        rng: Callable[[], float] = random.random,
        log: Callable[[str], None] = _log_request,
    ) -> None:
        self.settings = settings
        self.stats = RequestStats()
        self.on_request: Callable[[RequestRecord], None] | None = None
        #: gets the `retrying: N requests waiting, last error ...` line, at most every 10 s
        self.on_retrying: Callable[[str], None] = _log_retrying
        self._breaker = OutageBreaker(settings.max_outage_s, clock)
        self._retry_notice = RetryNotice(clock)
        #: the retry loops that have failed at least once and are not over yet
        self._waiting: set[object] = set()
        self._transport = transport
        self._clock = clock
        self._sleep: Sleep = sleep if sleep is not None else asyncio.sleep
        self._rng = rng
        self._log = log
        self._pacer = Pacer(
            settings.per_minute,
            settings.per_hour,
            clock=clock,
            wall_clock=wall_clock,
            sleep=self._sleep,
        )
        #: open between `__aenter__` and `aclose`
        self._open_transport: httpx.AsyncBaseTransport | None = None
        self._headers = httpx.Headers()
        self._extensions: dict[str, Any] = {}

    @property
    def pacer(self) -> Pacer:
        return self._pacer

    @property
    def breaker(self) -> OutageBreaker:
        return self._breaker

    async def __aenter__(self) -> JustCallClient:
        settings = self.settings
        transport = self._transport
        if transport is None and settings.sandbox_db is not None:
            transport = self._sandbox_transport(settings)
        self._open_transport = transport or self._network_transport(settings)
        self._headers = httpx.Headers(
            [
                ("Authorization", f"{settings.api_key}:{settings.api_secret}"),
                ("Accept", "application/json"),
                ("Accept-Encoding", "gzip, deflate"),
                ("User-Agent", f"jcstate/{__version__}"),
            ]
        )
        timeout = httpx.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s)
        self._extensions = {"timeout": timeout.as_dict()}
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._open_transport is not None:
            await self._open_transport.aclose()
            self._open_transport = None

    @staticmethod
    def _network_transport(settings: ClientSettings) -> httpx.AsyncBaseTransport:
        """A pool of connections to the API, through the proxy the environment names."""
        proxy = environment_proxy(settings.base_url)
        try:
            return httpx.AsyncHTTPTransport(
                verify=True,
                limits=httpx.Limits(
                    max_connections=max(10, settings.concurrency * 2),
                    max_keepalive_connections=max(10, settings.concurrency * 2),
                ),
                proxy=proxy,
            )
        except ImportError:
            reason = "a SOCKS proxy needs the socksio package (pip install 'httpx[socks]')"
        except (ValueError, httpx.InvalidURL):
            reason = "it is not an http://, https://, socks5:// or socks5h:// URL"
        variable = f"{urlsplit(settings.base_url).scheme.upper()}_PROXY"
        raise ProxyError(f"the proxy in {variable} (or ALL_PROXY) cannot be used: {reason}")

    @staticmethod
    def _sandbox_transport(settings: ClientSettings) -> httpx.AsyncBaseTransport:
        # Imported here: FastAPI and the sandbox load only when a sandbox:// URL is used.
        from jcstate.sandbox.app import create_app
        from jcstate.sandbox.config import SandboxConfig

        assert settings.sandbox_db is not None
        ensure_state_dir(settings.sandbox_db.parent)
        config = SandboxConfig(
            db_path=settings.sandbox_db,
            api_key=settings.api_key,
            api_secret=settings.api_secret,
            custom_fields=settings.sandbox_custom_fields,
        )
        return httpx.ASGITransport(app=create_app(config))

    # -- endpoints ----------------------------------------------------------

    async def list_page(
        self,
        page: int,
        per_page: int = MAX_PER_PAGE,
        *,
        slot: asyncio.Semaphore | None = None,
        **filters: str,
    ) -> ContactPage:
        """One page of `GET /v2/contacts` (1-based), with optional exact filters.

        `slot`, when given, is held only while a request is on the wire (not
        while the page is parsed): callers bound requests in flight with it.
        """
        per_page = max(1, min(per_page, MAX_PER_PAGE))
        params: dict[str, str | int] = {"page": page, "per_page": per_page, **filters}
        where = self._where("GET", CONTACTS_PATH, params)
        response = await self._send("GET", where, kind="get", slot=slot)
        body = self._json_object(response, "GET", where)
        data = body.get("data")
        if not isinstance(data, list):
            raise ProtocolError(
                "the answer has no list of contacts in 'data'", method="GET", path=where
            )
        try:
            contacts = parse_contacts(data, self.settings.region)
        except ValueError as exc:
            raise ProtocolError(str(exc), method="GET", path=where) from None
        return ContactPage(
            contacts=contacts,
            page=_int_or(body.get("page"), page),
            per_page=_int_or(body.get("per_page"), per_page),
            total=_optional_int(body.get("total"), "GET", where, "total"),
            next_page_link=_optional_str(body.get("next_page_link")),
        )

    async def get_contact(self, contact_id: int) -> RemoteContact:
        path = f"{CONTACTS_PATH}/{contact_id}"
        response = await self._send("GET", path, kind="get")
        return self._single_contact(response, "GET", path)

    async def find_by_phone(
        self, phone: str, *, slot: asyncio.Semaphore | None = None
    ) -> list[RemoteContact]:
        """Remote contacts whose phone is `phone` (E.164), via `?phone=`."""
        target = try_normalize_phone(phone, self.settings.region)
        found = await self.list_page(1, MAX_PER_PAGE, slot=slot, phone=target)
        # A server that ignored the filter must not turn page 1 into matches.
        return [contact for contact in found.contacts if contact.phone == target]

    async def create_contact(self, body: Mapping[str, Any]) -> RemoteContact:
        """POST /v2/contacts. An unknown outcome is looked up by phone before resending."""
        phone_raw = body.get("phone")
        phone = try_normalize_phone(str(phone_raw), self.settings.region) if phone_raw else None
        payload = dict(body)
        retrying = self._retrying(_is_retryable_create)
        try:
            return await self._create_attempts(retrying, payload, phone)
        finally:
            self._done_waiting(retrying)

    async def _create_attempts(
        self, retrying: AsyncRetrying, payload: dict[str, Any], phone: str | None
    ) -> RemoteContact:
        unknown_outcome = False
        async for attempt in retrying:
            with attempt:
                if unknown_outcome and phone is not None:
                    existing = await self.find_by_phone(phone)
                    if existing:
                        return min(existing, key=lambda contact: contact.id)
                try:
                    response = await self._attempt(
                        "POST",
                        CONTACTS_PATH,
                        None,
                        payload,
                        attempt.retry_state.attempt_number,
                        "post",
                    )
                except ApiError as exc:
                    if _outcome_unknown(exc):
                        if phone is None:
                            # Without a phone there is no way to tell; resending could duplicate.
                            raise ApiError(
                                f"{exc.detail}; the contact may or may not have been created "
                                "(no phone to look it up by), so it was not resent",
                                method="POST",
                                path=CONTACTS_PATH,
                                status=exc.status,
                            ) from None
                        unknown_outcome = True
                    raise
                return self._single_contact(response, "POST", CONTACTS_PATH)
        raise AssertionError("unreachable")  # pragma: no cover

    async def update_contact(self, contact_id: int, patch: Mapping[str, Any]) -> RemoteContact:
        path = f"{CONTACTS_PATH}/{contact_id}"
        response = await self._send("PUT", path, json_body=dict(patch), kind="put")
        body = self._json_object(response, "PUT", path)
        if "data" not in body:
            # Some servers answer an update with a bare status: read the contact back.
            return await self.get_contact(contact_id)
        return self._single_contact(response, "PUT", path, body=body)

    async def delete_contact(self, contact_id: int) -> None:
        """DELETE /v2/contacts/{id}; a 404 on a retry means an earlier attempt succeeded."""
        path = f"{CONTACTS_PATH}/{contact_id}"
        retrying = self._retrying(_is_retryable_read)
        try:
            await self._delete_attempts(retrying, path)
        finally:
            self._done_waiting(retrying)

    async def _delete_attempts(self, retrying: AsyncRetrying, path: str) -> None:
        async for attempt in retrying:
            with attempt:
                number = attempt.retry_state.attempt_number
                try:
                    response = await self._attempt("DELETE", path, None, None, number, "delete")
                except NotFoundError:
                    if number > 1:
                        return None
                    raise
                if response.content.strip():
                    body = self._json_body(response, "DELETE", path)
                    self._raise_for_error_status(body, "DELETE", path, response.status_code)
                return None
        raise AssertionError("unreachable")  # pragma: no cover

    async def bulk_upsert(self, contacts: Sequence[Mapping[str, Any]]) -> BulkResult:
        """POST /v2/contacts/bulk (upsert by phone; resent on 429/5xx/transport errors)."""
        if len(contacts) > MAX_BULK:
            raise ApiValidationError(
                f"{len(contacts)} contacts in one bulk request; the limit is {MAX_BULK}",
                method="POST",
                path=BULK_PATH,
            )
        payload = {"contacts": [dict(contact) for contact in contacts]}
        response = await self._send("POST", BULK_PATH, json_body=payload, kind="bulk")
        body = self._json_object(response, "POST", BULK_PATH)
        summary = body.get("data") if isinstance(body.get("data"), Mapping) else body
        assert isinstance(summary, Mapping)
        try:
            created = _require_int(summary, "created")
            updated = _require_int(summary, "updated")
            failed = _require_int(summary, "failed")
            errors = [_bulk_error(item) for item in summary.get("errors") or []]
        except ValueError as exc:
            raise ProtocolError(str(exc), method="POST", path=BULK_PATH) from None
        return BulkResult(created=created, updated=updated, failed=failed, errors=errors)

    # -- requests -----------------------------------------------------------

    def _retrying(self, retry_if: Callable[[BaseException], bool]) -> AsyncRetrying:
        return AsyncRetrying(
            stop=stop_after_attempt(max(1, self.settings.max_attempts)),
            retry=retry_if_exception(retry_if),
            wait=self._retry_wait,
            sleep=self._sleep,
            before_sleep=self._before_retry,
            reraise=True,
        )

    def _retry_wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, RateLimitedError):
            # The pacer already holds every request until the server allows more.
            return 0.0
        wait = full_jitter(state.attempt_number, self._rng)
        remaining = self._breaker.remaining()
        if remaining is not None:
            # Wake up when the outage window closes, to stop then rather than later.
            wait = min(wait, remaining + 0.01)
        return wait

    def _before_retry(self, state: RetryCallState) -> None:
        """A request is about to be retried: it waits; say so at most every 10 s."""
        self._waiting.add(state.retry_object)
        exc = state.outcome.exception() if state.outcome is not None else None
        if exc is not None and self._retry_notice.due():
            self.on_retrying(retry_status_line(len(self._waiting), str(exc)))

    def _done_waiting(self, retrying: AsyncRetrying) -> None:
        self._waiting.discard(retrying)

    def outage_error(self, last_error: str = "") -> ApiUnavailableError:
        return ApiUnavailableError(self.settings.host_port, self._breaker.window_s, last_error)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json_body: Any = None,
        kind: str,
        slot: asyncio.Semaphore | None = None,
    ) -> Answer:
        """One request, retried where resending is safe (`_is_retryable_read`).

        The first attempt runs before the retry loop is built: tenacity's
        per-request state (a lock, a future, about 30 objects in reference
        cycles) cost 0.05 s of a 1,000-page listing whose pages all succeed.
        A failure of that attempt is handed to the loop as its attempt 1, so
        tenacity decides, waits and stops exactly as if it had run it.
        """
        try:
            return await self._attempt(method, path, params, json_body, 1, kind, slot=slot)
        except Exception as exc:
            if not _is_retryable_read(exc):
                raise
            first_failure = exc
        retrying = self._retrying(_is_retryable_read)
        try:
            async for attempt in retrying:
                with attempt:
                    number = attempt.retry_state.attempt_number
                    if number == 1:
                        raise first_failure
                    return await self._attempt(
                        method, path, params, json_body, number, kind, slot=slot
                    )
        finally:
            self._done_waiting(retrying)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _where(method: str, path: str, params: Mapping[str, str | int] | None) -> str:
        return f"{path}?{urlencode(params)}" if params else path

    def _redact(self, text: str) -> str:
        for secret in (self.settings.api_key, self.settings.api_secret):
            if secret:
                text = text.replace(secret, "[redacted]")
        return text

    async def _attempt(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | int] | None,
        json_body: Any,
        attempt: int,
        kind: str,
        *,
        slot: asyncio.Semaphore | None = None,
    ) -> Answer:
        """One attempt: pace, send, record, classify. Raises an ApiError for failures."""
        if self._open_transport is None:
            raise RuntimeError("use `async with JustCallClient(...)` before sending requests")
        where = self._where(method, path, params)
        if self._breaker.tripped():
            raise self.outage_error()
        in_flight: AbstractAsyncContextManager[Any] = slot if slot is not None else nullcontext()
        async with in_flight:
            if self._breaker.tripped():  # it opened while this request waited for a slot
                raise self.outage_error()
            await self._pacer.acquire()
            self._count(kind, attempt)
            start = self._clock()
            try:
                response, failure = await self._exchange(method, where, json_body)
            except BaseException:  # cancelled: the request is no longer in flight
                self._pacer.release()
                raise
        if response is not None:
            try:
                failure = self._classify(response, method, where, attempt)
            finally:
                self._pacer.release()
        else:
            self._pacer.release()
        duration = self._clock() - start
        self._record(
            RequestRecord(
                method=method,
                path=where,
                status=response.status_code if response is not None else None,
                attempt=attempt,
                duration_s=duration,
                error=failure.detail if failure is not None else None,
            ),
            response,
        )
        if failure is None or not _counts_as_outage(failure):
            self._breaker.success()
        else:
            self._breaker.failure(start)
            if self._breaker.tripped():
                raise self.outage_error(str(failure)) from failure
        if failure is not None:
            raise failure
        assert response is not None
        return response

    async def _exchange(
        self, method: str, where: str, json_body: Any
    ) -> tuple[Answer | None, ApiError | None]:
        """Send one request to `where` (path and query) and read its whole answer
        within the request deadline; a failure comes back as the ApiError to raise."""
        deadline = self.settings.request_deadline_s
        try:
            async with asyncio.timeout(deadline):
                return await self._fetch(method, where, json_body), None
        except TimeoutError:
            return None, RequestDeadlineError(
                f"no complete answer from {self.settings.host_port} within {deadline:g} s "
                f"(the request deadline; {REQUEST_DEADLINE_ENV} sets it)",
                method=method,
                path=where,
            )
        except ResponseTooLargeError as exc:
            return None, exc
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            reason = str(exc) or type(exc).__name__
            return None, ConnectionFailedError(
                self._redact(f"could not connect to {self.settings.host_port} ({reason})"),
                method=method,
                path=where,
            )
        except httpx.TimeoutException as exc:
            return None, TransportError(
                f"no answer in time from {self.settings.host_port} ({type(exc).__name__})",
                method=method,
                path=where,
            )
        except httpx.TransportError as exc:
            reason = str(exc) or type(exc).__name__
            return None, TransportError(
                self._redact(f"the connection to {self.settings.host_port} failed ({reason})"),
                method=method,
                path=where,
            )
        except httpx.DecodingError:
            return None, ProtocolError(
                "the answer could not be decoded (a broken Content-Encoding)",
                method=method,
                path=where,
            )

    async def _fetch(self, method: str, where: str, json_body: Any) -> Answer:
        """The answer, its body read as a stream and capped at `max_body_bytes` decoded bytes."""
        assert self._open_transport is not None
        request = httpx.Request(
            method,
            self.settings.base_url + where,
            headers=self._headers,
            json=json_body,
            extensions=self._extensions,
        )
        streamed = await self._open_transport.handle_async_request(request)
        streamed.request = request
        limit = self.settings.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in streamed.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise ResponseTooLargeError(
                        f"the answer is larger than {size_text(limit)}, the most jcstate reads "
                        f"of one answer ({MAX_BODY_ENV} sets it)",
                        method=method,
                        path=where,
                        status=streamed.status_code,
                    )
                chunks.append(chunk)
        finally:
            await streamed.aclose()
        return Answer(streamed.status_code, streamed.headers, b"".join(chunks), request)

    def _count(self, kind: str, attempt: int) -> None:
        stats = self.stats
        stats.total += 1
        if attempt > 1:
            stats.retries += 1
        setattr(stats, kind, getattr(stats, kind) + 1)

    def _record(self, record: RequestRecord, response: Answer | None) -> None:
        if self.settings.verbose > 0:
            status = record.status if record.status is not None else "---"
            line = (
                f"jcstate: {record.method} {record.path} -> {status} "
                f"in {record.duration_s:.3f}s (attempt {record.attempt})"
            )
            if record.error:
                line += f": {record.error}"
            self._log(line)
            if self.settings.verbose > 1 and response is not None:
                self._log(f"jcstate:   request headers: {self._headers_text(response.request)}")
        if self.on_request is not None:
            self.on_request(record)

    @staticmethod
    def _headers_text(request: httpx.Request) -> str:
        shown = []
        for name, value in request.headers.items():
            safe = "[redacted]" if name.lower() == "authorization" else value
            shown.append(f"{name}: {safe}")
        return ", ".join(shown)

    def _classify(self, response: Answer, method: str, where: str, attempt: int) -> ApiError | None:
        status = response.status_code
        limits = _rate_limit_headers(response)
        self._pacer.observe(limits)
        if status < 300:
            return None
        if status == 429:
            self.stats.rate_limited += 1
            try:
                self._pacer.on_rate_limited(limits, attempt, self._rng)
            except BudgetExhaustedError as exc:
                return BudgetExhaustedError(exc.detail, method=method, path=where, status=429)
            return RateLimitedError(
                "rate limited by the server (Too Many Requests)",
                method=method,
                path=where,
                status=429,
            )
        body: Any = None
        if response.content:
            try:
                body = json.loads(response.content)
            except ValueError:
                body = None
        message, code = _server_message(body)
        if message is None:
            message = (
                f"HTTP {status} ({_describe_body(response)})"
                if response.content and body is None
                else f"HTTP {status}"
            )
        message = self._redact(message)
        error_class: type[ApiError]
        if status in (401, 403):
            error_class = AuthError
            message = f"{message} (check {KEY_ENV} and {SECRET_ENV})"
        elif status == 404:
            error_class = NotFoundError
        elif status in (400, 413, 422):
            error_class = ApiValidationError
        elif status >= 500:
            error_class = ServerError
        elif 300 <= status < 400:
            error_class = ProtocolError
            location = self._redact(response.headers.get("location", "?"))
            message = f"unexpected redirect to {location}"
        else:
            error_class = ApiError
        return error_class(message, method=method, path=where, status=status, error_code=code)

    # -- answers ------------------------------------------------------------

    def _json_body(self, response: Answer, method: str, where: str) -> Any:
        try:
            return json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            raise ProtocolError(
                _describe_body(response), method=method, path=where, status=response.status_code
            ) from None

    def _raise_for_error_status(self, body: Any, method: str, where: str, status: int) -> None:
        if isinstance(body, Mapping) and str(body.get("status", "")).lower() in ("error", "failed"):
            message, code = _server_message(body)
            raise ApiValidationError(
                self._redact(message or "the server answered status 'error'"),
                method=method,
                path=where,
                status=status,
                error_code=code,
            )

    def _json_object(self, response: Answer, method: str, where: str) -> Mapping[str, Any]:
        body = self._json_body(response, method, where)
        if not isinstance(body, Mapping):
            raise ProtocolError(
                f"expected a JSON object, got {type(body).__name__}",
                method=method,
                path=where,
                status=response.status_code,
            )
        self._raise_for_error_status(body, method, where, response.status_code)
        return body

    def _contact(self, raw: Any, method: str, where: str) -> RemoteContact:
        try:
            return parse_contact(raw, self.settings.region)
        except ValueError as exc:
            raise ProtocolError(str(exc), method=method, path=where) from None

    def _single_contact(
        self,
        response: Answer,
        method: str,
        where: str,
        *,
        body: Mapping[str, Any] | None = None,
    ) -> RemoteContact:
        if body is None:
            body = self._json_object(response, method, where)
        data = body.get("data")
        if isinstance(data, list):
            if len(data) != 1:
                raise ProtocolError(
                    f"expected one contact in 'data', got a list of {len(data)}",
                    method=method,
                    path=where,
                )
            data = data[0]
        if not isinstance(data, Mapping):
            raise ProtocolError("the answer has no contact in 'data'", method=method, path=where)
        return self._contact(data, method, where)


def environment_proxy(url: str) -> str | None:
    """The proxy the environment names for `url`, as curl, pip and httpx read it:
    HTTPS_PROXY or HTTP_PROXY by the URL's scheme, else ALL_PROXY (either case);
    None when there is none or NO_PROXY covers the URL's host. A proxy written
    without a scheme is an HTTP proxy."""
    proxies = urllib.request.getproxies()
    parts = urlsplit(url)
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def _rate_limit_headers(response: Answer) -> dict[str, str]:
    """The X-Rate-Limit-* and Retry-After headers (lower-cased names), in one pass."""
    found: dict[str, str] = {}
    for name, value in response.headers.raw:
        lowered = name.lower()
        if lowered.startswith(b"x-rate-limit") or lowered == b"retry-after":
            found[lowered.decode("latin-1")] = value.decode("latin-1")
    return found


def _int_or(value: Any, default: int) -> int:
    try:
        return _strict_int(value)
    except ValueError:
        return default


def _optional_int(value: Any, method: str, where: str, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ProtocolError(f"{name!r} is not a number", method=method, path=where)
    try:
        return _strict_int(value)
    except ValueError:
        raise ProtocolError(
            f"{name!r} is not a number: {value!r}", method=method, path=where
        ) from None


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _require_int(body: Mapping[str, Any], name: str) -> int:
    value = body.get(name)
    if isinstance(value, bool) or value is None:
        raise ValueError(f"the bulk summary has no {name!r} count")
    try:
        return _strict_int(value)
    except ValueError:
        raise ValueError(f"the bulk summary's {name!r} is not a number: {value!r}") from None


def _bulk_error(item: Any) -> BulkItemError:
    if not isinstance(item, Mapping):
        raise ValueError("bulk errors must be objects")
    phone = item.get("phone")
    return BulkItemError(
        index=_int_or(item.get("index"), -1),
        phone=None if phone is None else str(phone),
        message=str(item.get("message") or item.get("error") or "failed"),
    )

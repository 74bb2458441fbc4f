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

The credentials travel only in the Authorization header: no message, log
line or record carries them. A key or secret that cannot be a header value
(a control or non-ASCII character) and an API URL with a user name or
password are refused before any request, without showing their value.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import math
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import phonenumbers
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from jcstate import __version__
from jcstate.core.limits import MAX_BULK
from jcstate.core.limits import MAX_PER_PAGE as MAX_PER_PAGE
from jcstate.core.model import STANDARD_FIELDS, Project, RemoteContact
from jcstate.core.normalize import normalize_field, try_normalize_phone
from jcstate.core.urls import public_url
from jcstate.errors import (
    ApiError,
    ApiUnavailableError,
    ApiUrlError,
    ApiValidationError,
    AuthError,
    BudgetExhaustedError,
    CredentialsError,
    InsecureUrlError,
    JcstateError,
    NotFoundError,
    ProtocolError,
    RateLimitedError,
    RequestDeadlineError,
    ResponseTooLargeError,
    ServerError,
    TransportError,
    ensure_state_dir,
)
from jcstate.remote.pacing import (
    DEFAULT_MAX_OUTAGE_S,
    Clock,
    OutageBreaker,
    Pacer,
    RetryNotice,
    Sleep,
    full_jitter,
    retry_status_line,
)
from jcstate.sandbox.config import DEFAULT_API_KEY, DEFAULT_API_SECRET

DEFAULT_API_URL = "https://api.justcall.io"
SANDBOX_SCHEME = "sandbox://"
SANDBOX_BASE_URL = "http://sandbox"
KEY_ENV = "JUSTCALL_API_KEY"
SECRET_ENV = "JUSTCALL_API_SECRET"
URL_ENV = "JCSTATE_API_URL"

#: JustCall's smallest published plan limits (30/minute burst, 1,800/hour): safe on any plan.
DEFAULT_PER_MINUTE = 30
DEFAULT_PER_HOUR = 1800
DEFAULT_MAX_ATTEMPTS = 6

#: The largest decoded body read from one answer. A page of 100 contacts is
#: usually well under 100 KB and a bulk answer lists at most 5,000 errors: 16 MiB
#: leaves room for 160 KB a contact. Counted while the answer streams in, after
#: decompression (a gzip bomb stops here).
DEFAULT_MAX_BODY_BYTES = 16 << 20
MAX_BODY_ENV = "JCSTATE_MAX_RESPONSE_BYTES"
#: Wall-clock seconds one attempt may take, from connecting to the last byte of
#: the answer (the read timeout is per read: a server sending a byte every few
#: seconds never trips it). A missed deadline counts towards --max-outage.
DEFAULT_REQUEST_DEADLINE_S = 120.0
REQUEST_DEADLINE_ENV = "JCSTATE_REQUEST_DEADLINE"
#: The most contacts a listing reads (jcstate.remote.listing enforces it).
DEFAULT_MAX_CONTACTS = 1_000_000
MAX_CONTACTS_ENV = "JCSTATE_MAX_CONTACTS"

CONTACTS_PATH = "/v2/contacts"
BULK_PATH = "/v2/contacts/bulk"


# ---------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientSettings:
    """Everything the client needs; built by `resolve_settings`."""

    #: the URL as configured: https://..., http://loopback..., or sandbox://PATH
    api_url: str
    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)
    #: set for sandbox:// (absolute path of the SQLite file)
    sandbox_db: Path | None = None
    #: custom-field keys the in-process sandbox accepts (the project's declared ones)
    sandbox_custom_fields: tuple[str, ...] | None = None
    per_minute: int | None = None
    per_hour: int | None = None
    concurrency: int = 4
    region: str = "US"
    verbose: int = 0
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    #: stop when every request failed for this long (0: never)
    max_outage_s: float = DEFAULT_MAX_OUTAGE_S
    #: the largest decoded body read from one answer
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    #: wall-clock seconds one attempt may take (connect, send, whole answer)
    request_deadline_s: float = DEFAULT_REQUEST_DEADLINE_S
    #: the most contacts a listing reads
    max_contacts: int = DEFAULT_MAX_CONTACTS

    def __post_init__(self) -> None:
        check_credential(KEY_ENV, self.api_key)
        check_credential(SECRET_ENV, self.api_secret)

    @property
    def is_sandbox(self) -> bool:
        return self.sandbox_db is not None

    @property
    def base_url(self) -> str:
        return SANDBOX_BASE_URL if self.is_sandbox else self.api_url.rstrip("/")

    @property
    def host_port(self) -> str:
        """`HOST:PORT` of the API (the default port of the scheme when none is written).

        Never carries credentials: only the host and the port of the URL.
        """
        if self.is_sandbox:
            return "the embedded sandbox"
        return host_port(self.api_url)


def credential_problem(value: str) -> str | None:
    """Why `value` cannot be sent in an HTTP header, or None. Names no character of it."""
    for char in value:
        if char in "\r\n":
            return "a line break"
        if not char.isascii():
            return "a character that is not ASCII"
        if not char.isprintable():
            return "a control character"
    return None


def check_credential(name: str, value: str) -> None:
    """Raise CredentialsError naming the variable (never the value) for a key or secret
    that cannot travel in the Authorization header."""
    problem = credential_problem(value)
    if problem is not None:
        raise CredentialsError(
            f"{name} holds {problem}; API credentials are sent in an HTTP header and "
            f"must be printable ASCII: set {name} again (its value is not shown)"
        )


def _positive_setting(env: Mapping[str, str], name: str, default: float, *, whole: bool) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    kind = "a whole number" if whole else "a number of seconds"
    try:
        value = float(int(raw)) if whole else float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        shown = raw if len(raw) <= 40 else raw[:40] + "..."
        raise JcstateError(f"{name}={shown!r} is not valid: use {kind} greater than 0")
    return value


def _limits(env: Mapping[str, str]) -> dict[str, Any]:
    """max_body_bytes, request_deadline_s and max_contacts from the environment."""
    return {
        "max_body_bytes": int(
            _positive_setting(env, MAX_BODY_ENV, DEFAULT_MAX_BODY_BYTES, whole=True)
        ),
        "request_deadline_s": _positive_setting(
            env, REQUEST_DEADLINE_ENV, DEFAULT_REQUEST_DEADLINE_S, whole=False
        ),
        "max_contacts": int(
            _positive_setting(env, MAX_CONTACTS_ENV, DEFAULT_MAX_CONTACTS, whole=True)
        ),
    }


def size_text(size: int) -> str:
    """16 MiB, 4 KiB, 1,000 bytes."""
    if size >= 1 << 20 and size % (1 << 20) == 0:
        return f"{size >> 20} MiB"
    if size >= 1 << 10 and size % (1 << 10) == 0:
        return f"{size >> 10} KiB"
    return f"{size:,} bytes"


def host_port(url: str) -> str:
    """`api.example.com:443`, `127.0.0.1:8787`, `[::1]:8787` from a URL."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return public_url(url)
    if not host:
        return public_url(url)
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}"


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_settings(
    project: Project | None,
    *,
    api_url: str | None,
    env: Mapping[str, str],
    insecure_http: bool = False,
    verbose: int = 0,
    max_outage_s: float = DEFAULT_MAX_OUTAGE_S,
) -> ClientSettings:
    """Settings from `--api-url` > `JCSTATE_API_URL` > `api.url`, and the environment.

    Raises CredentialsError (naming both variables) for a real URL without
    credentials, and InsecureUrlError for http:// to a host that is not
    loopback (unless `insecure_http`). No request is made here.
    """
    config_api = project.config.api if project is not None else None
    url, source = _api_url_and_source(api_url, env, config_api.url if config_api else None)
    rate = config_api.rate_limit if config_api is not None else None
    concurrency = config_api.concurrency if config_api is not None else 4
    region = project.config.default_region if project is not None else "US"
    key = env.get(KEY_ENV, "").strip()
    secret = env.get(SECRET_ENV, "").strip()
    per_minute = rate.per_minute if rate is not None else None
    per_hour = rate.per_hour if rate is not None else None
    common: dict[str, Any] = {
        "concurrency": concurrency,
        "region": region,
        "verbose": verbose,
        "max_outage_s": max_outage_s,
        **_limits(env),
    }
    check_credential(KEY_ENV, key)
    check_credential(SECRET_ENV, secret)

    if url.startswith(SANDBOX_SCHEME):
        raw_path = url[len(SANDBOX_SCHEME) :]
        if not raw_path:
            raise JcstateError(f"API URL {public_url(url)!r}: sandbox:// needs a database path")
        root = project.root if project is not None else Path.cwd()
        declared = tuple(project.config.custom_fields) if project is not None else ()
        # The ownership marker is a custom field of the account too (creates carry it).
        ownership = project.config.ownership if project is not None else None
        if ownership is not None and ownership.field not in declared:
            declared = (*declared, ownership.field)
        return ClientSettings(
            api_url=url,
            api_key=key or DEFAULT_API_KEY,
            api_secret=secret or DEFAULT_API_SECRET,
            sandbox_db=(root / raw_path).resolve(),
            sandbox_custom_fields=declared or None,
            per_minute=per_minute,
            per_hour=per_hour,
            **common,
        )

    if "@" in url:
        # httpx would send it as Basic auth instead of the JustCall header. Not
        # even the URL without it is shown: a password may hold "/" or "#".
        raise ApiUrlError(
            f"the API URL from {source} holds a user name or password (an '@'): jcstate "
            f"sends only {KEY_ENV} and {SECRET_ENV}, in the JustCall header; remove it "
            "from the URL"
        )
    try:
        scheme, hostname = urlsplit(url).scheme, urlsplit(url).hostname
    except ValueError:  # e.g. an unclosed "[" of an IPv6 host
        scheme, hostname = "", None
    if scheme not in ("http", "https") or not hostname:
        raise JcstateError(
            f"API URL {public_url(url)!r} is not valid: use https://HOST, http://localhost:PORT "
            "or sandbox://PATH"
        )
    loopback = is_loopback_host(hostname)
    if scheme == "http" and not loopback and not insecure_http:
        raise InsecureUrlError(
            f"refusing plain http:// to {hostname}: the credentials would travel "
            "unencrypted; use https:// (or --insecure-http if you really mean it)"
        )
    if not key or not secret:
        missing = [name for name, value in ((KEY_ENV, key), (SECRET_ENV, secret)) if not value]
        raise CredentialsError(
            f"missing API credentials: set {KEY_ENV} and {SECRET_ENV} in the environment "
            f"(not set: {', '.join(missing)})"
        )
    if not loopback:
        # JustCall's smallest plan: safe everywhere; api.rate_limit raises it.
        per_minute = per_minute if per_minute is not None else DEFAULT_PER_MINUTE
        per_hour = per_hour if per_hour is not None else DEFAULT_PER_HOUR
    return ClientSettings(
        api_url=url,
        api_key=key,
        api_secret=secret,
        per_minute=per_minute,
        per_hour=per_hour,
        **common,
    )


def _api_url_and_source(
    option: str | None, env: Mapping[str, str], configured: str | None
) -> tuple[str, str]:
    """The API URL and where it came from: `--api-url` > JCSTATE_API_URL > api.url."""
    for value, source in (
        (option, "--api-url"),
        (env.get(URL_ENV), URL_ENV),
        (configured, "api.url in jcstate.yaml"),
    ):
        if value is not None and value.strip():
            return value.strip(), source
    return DEFAULT_API_URL, "the default"


# ---------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactPage:
    contacts: list[RemoteContact]
    page: int
    per_page: int
    total: int | None = None
    next_page_link: str | None = None


@dataclass(frozen=True)
class BulkItemError:
    index: int
    phone: str | None
    message: str


@dataclass(frozen=True)
class BulkResult:
    created: int
    updated: int
    failed: int
    errors: list[BulkItemError] = field(default_factory=list)


@dataclass(frozen=True)
class RequestRecord:
    """One attempt of one request (the journal and `-v` use these)."""

    method: str
    path: str
    status: int | None
    attempt: int
    duration_s: float
    error: str | None = None


@dataclass
class RequestStats:
    total: int = 0
    get: int = 0
    post: int = 0
    put: int = 0
    delete: int = 0
    bulk: int = 0
    retries: int = 0
    rate_limited: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "total": self.total,
            "get": self.get,
            "post": self.post,
            "put": self.put,
            "delete": self.delete,
            "bulk": self.bulk,
            "retries": self.retries,
            "rate_limited": self.rate_limited,
        }


class ConnectionFailedError(TransportError):
    """The request never reached the server (connect error or connect timeout)."""


# ---------------------------------------------------------------------------
# Tolerant parsing (pure)
# ---------------------------------------------------------------------------


def _parse_custom_fields(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, dict | Mapping):
        return {str(key): value for key, value in raw.items()}
    if isinstance(raw, list):
        out: dict[str, Any] = {}
        for item in raw:
            if not isinstance(item, Mapping) or "key" not in item:
                raise ValueError("custom_fields list items must be {key, value} objects")
            out[str(item["key"])] = item.get("value")
        return out
    raise ValueError(f"custom_fields must be an object or a list, not {type(raw).__name__}")


#: A NANP number already in E.164 (+1, area code and exchange starting 2-9). phonenumbers
#: formats such a string back to itself when it is valid and keeps it as written when it
#: is not, so it is its own normalised form; skipping the parse makes a 100,000-contact
#: listing several seconds faster.
_NANP_E164 = re.compile(r"\+1[2-9][0-9]{2}[2-9][0-9]{6}")  # ASCII digits: others take the parse


def normalize_remote_phone(raw: str, region: str = "US") -> str:
    """`normalize.try_normalize_phone`, with a shortcut for numbers already in canonical form."""
    text = raw.strip()
    if _NANP_E164.fullmatch(text):
        return text
    if text.startswith("+"):
        try:
            parsed = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            return text
        # Formatting back to the same text: E.164 when valid, kept as written when not.
        if phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == text:
            return text
    return try_normalize_phone(text, region)


def _standard_field(name: str, value: Any) -> str | None:
    """`normalize.normalize_field`, inlined for plain strings (a listing parses 100,000s)."""
    if type(value) is str:
        if name == "email":
            return value.strip().lower() or None
        return value.strip() or None
    if value is None:
        return None
    return normalize_field(name, value)


def parse_contact(raw: Mapping[str, Any], region: str = "US") -> RemoteContact:
    """One contact object from the API, read tolerantly.

    Accepts `phone` or `contact_number`, custom fields as an object or a list
    of `{key, value}`. Raises ValueError when `id` or the phone is missing.
    """
    if type(raw) is dict:
        # The common shape (integer id, canonical NANP phone, custom fields as an
        # object) skips the general checks below; the result is the same.
        get = raw.get
        contact_id, phone, custom = get("id"), get("phone"), get("custom_fields")
        if (
            type(contact_id) is int
            and type(phone) is str
            and _NANP_E164.fullmatch(phone) is not None
            and type(custom) is dict
        ):
            created, updated = get("created_at"), get("updated_at")
            # Spelled out (not a loop over STANDARD_FIELDS): this line runs for every
            # contact of a listing, and the loop was its largest cost.
            first, last, email, company = (
                get("first_name"),
                get("last_name"),
                get("email"),
                get("company"),
            )
            return RemoteContact(
                contact_id,
                phone,
                {
                    "first_name": (first.strip() or None)
                    if type(first) is str
                    else _standard_field("first_name", first),
                    "last_name": (last.strip() or None)
                    if type(last) is str
                    else _standard_field("last_name", last),
                    "email": (email.strip().lower() or None)
                    if type(email) is str
                    else _standard_field("email", email),
                    "company": (company.strip() or None)
                    if type(company) is str
                    else _standard_field("company", company),
                },
                {str(key): value for key, value in custom.items()} if custom else {},
                None if created is None else str(created),
                None if updated is None else str(updated),
            )
    return _parse_contact_slowly(raw, region)


def _parse_contact_slowly(raw: Mapping[str, Any], region: str) -> RemoteContact:
    if not isinstance(raw, dict | Mapping):
        raise ValueError(f"a contact must be an object, not {type(raw).__name__}")
    raw_id = raw.get("id")
    if isinstance(raw_id, bool) or raw_id is None:
        raise ValueError("contact without an id")
    try:
        contact_id = _strict_int(raw_id)
    except ValueError:
        raise ValueError(f"contact id {raw_id!r} is not an integer") from None
    phone_raw = raw.get("phone")
    if phone_raw is None or (isinstance(phone_raw, str) and not phone_raw.strip()):
        phone_raw = raw.get("contact_number")
    if phone_raw is None or not str(phone_raw).strip():
        raise ValueError(f"contact {contact_id} has no phone")
    created = raw.get("created_at")
    updated = raw.get("updated_at")
    return RemoteContact(
        id=contact_id,
        phone=normalize_remote_phone(str(phone_raw), region),
        fields={name: _standard_field(name, raw.get(name)) for name in STANDARD_FIELDS},
        custom_fields=_parse_custom_fields(raw.get("custom_fields")),
        created_at=str(created) if created is not None else None,
        updated_at=str(updated) if updated is not None else None,
    )


def _server_message(body: Any) -> tuple[str | None, str | None]:
    """(message, error_code) from an error body, if it is an object."""
    if not isinstance(body, Mapping):
        return None, None
    message = body.get("message") or body.get("error") or body.get("detail")
    code = body.get("error_code")
    text = None if message is None else str(message)
    if text is not None and len(text) > 500:
        text = text[:500] + "..."
    return text, (None if code is None else str(code))


def _describe_body(response: httpx.Response) -> str:
    content_type = response.headers.get("content-type", "no content type").split(";")[0]
    size = len(response.content)
    return f"the answer is not JSON ({content_type}, {size} bytes)"


# ---------------------------------------------------------------------------
# The client
# ---------------------------------------------------------------------------


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


#: Headers about the bytes on the wire, not the decoded body a response is rebuilt with.
_WIRE_HEADERS = (b"content-encoding", b"content-length", b"transfer-encoding")


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
        self._http: httpx.AsyncClient | None = None

    @property
    def pacer(self) -> Pacer:
        return self._pacer

    @property
    def breaker(self) -> OutageBreaker:
        return self._breaker

    async def __aenter__(self) -> JustCallClient:
        transport = self._transport
        if transport is None and self.settings.sandbox_db is not None:
            transport = self._sandbox_transport(self.settings)
        self._http = httpx.AsyncClient(
            base_url=self.settings.base_url,
            transport=transport,
            headers={
                "Authorization": f"{self.settings.api_key}:{self.settings.api_secret}",
                "Accept": "application/json",
                "User-Agent": f"jcstate/{__version__}",
            },
            timeout=httpx.Timeout(
                self.settings.read_timeout_s, connect=self.settings.connect_timeout_s
            ),
            limits=httpx.Limits(
                max_connections=max(10, self.settings.concurrency * 2),
                max_keepalive_connections=max(10, self.settings.concurrency * 2),
            ),
            verify=True,
            follow_redirects=False,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

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
        response = await self._send("GET", CONTACTS_PATH, params=params, kind="get", slot=slot)
        where = self._where("GET", CONTACTS_PATH, params)
        body = self._json_object(response, "GET", where)
        data = body.get("data")
        if not isinstance(data, list):
            raise ProtocolError(
                "the answer has no list of contacts in 'data'", method="GET", path=where
            )
        contacts = [self._contact(item, "GET", where, index) for index, item in enumerate(data)]
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
    ) -> httpx.Response:
        retrying = self._retrying(_is_retryable_read)
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._attempt(
                        method,
                        path,
                        params,
                        json_body,
                        attempt.retry_state.attempt_number,
                        kind,
                        slot=slot,
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
    ) -> httpx.Response:
        """One attempt: pace, send, record, classify. Raises an ApiError for failures."""
        if self._http is None:
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
    ) -> tuple[httpx.Response | None, ApiError | None]:
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

    async def _fetch(self, method: str, where: str, json_body: Any) -> httpx.Response:
        """The answer, its body read as a stream and capped at `max_body_bytes` decoded bytes.

        The returned response holds the decoded body (so its Content-Encoding
        and Content-Length, which described the bytes on the wire, are dropped).
        """
        assert self._http is not None
        request = self._http.build_request(method, where, json=json_body)
        streamed = await self._http.send(request, stream=True)
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
        headers = [
            (name, value)
            for name, value in streamed.headers.raw
            if name.lower() not in _WIRE_HEADERS
        ]
        return httpx.Response(
            streamed.status_code, headers=headers, content=b"".join(chunks), request=request
        )

    def _count(self, kind: str, attempt: int) -> None:
        stats = self.stats
        stats.total += 1
        if attempt > 1:
            stats.retries += 1
        setattr(stats, kind, getattr(stats, kind) + 1)

    def _record(self, record: RequestRecord, response: httpx.Response | None) -> None:
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

    def _classify(
        self, response: httpx.Response, method: str, where: str, attempt: int
    ) -> ApiError | None:
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
                body = response.json()
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

    def _json_body(self, response: httpx.Response, method: str, where: str) -> Any:
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

    def _json_object(self, response: httpx.Response, method: str, where: str) -> Mapping[str, Any]:
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

    def _contact(
        self, raw: Any, method: str, where: str, index: int | None = None
    ) -> RemoteContact:
        try:
            return parse_contact(raw, self.settings.region)
        except ValueError as exc:
            item = f"contact #{index}: " if index is not None else ""
            raise ProtocolError(f"{item}{exc}", method=method, path=where) from None

    def _single_contact(
        self,
        response: httpx.Response,
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


def _strict_int(value: Any) -> int:
    """An integer as JSON may carry one: an int, an integral float, or digits in a string.

    Anything else raises ValueError: `int()` alone would turn 1.5 into 1 (a wrong
    id, a wrong count) and raise OverflowError for 1e999.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():  # False for inf and nan
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("+-").isdecimal() and len(text) - len(text.lstrip("+-")) <= 1:
            return int(text)
    raise ValueError(f"{value!r} is not an integer")


def _rate_limit_headers(response: httpx.Response) -> dict[str, str]:
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

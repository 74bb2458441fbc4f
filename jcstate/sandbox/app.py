"""The sandbox: the seed's JustCall Contacts API as a FastAPI app on a SQLite file.

The same `create_app(config)` serves over HTTP (`jcstate sandbox serve`) and
in-process (httpx's ASGI transport, `sandbox://PATH`). Nothing depends on
lifespan events: the database opens lazily on the first request.

Auth, body size, rate limiting and fault injection live in one pure-ASGI
middleware (`SandboxMiddleware`) so that they wrap every endpoint alike and
cost little on the hot listing path. Responses are built with `json.dumps`
directly, without response models, for the same reason.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jcstate import __version__
from jcstate.sandbox.faults import (
    AmbiguousMode,
    Churn,
    ConnectionDropped,
    FaultInjector,
    RateLimiter,
)
from jcstate.sandbox.store import ContactFilters, ContactStore, row_to_contact
from jcstate.sandbox.validation import (
    MAX_TEXT_LENGTH,
    InputError,
    int_param,
    validate_contact,
    validate_phone,
)

DEFAULT_API_KEY = "sandbox-key"
DEFAULT_API_SECRET = "sandbox-secret"
DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 100
MAX_BULK = 5000
#: Large enough for 5,001 generously filled contacts, so the bulk limit answers 400, not 413.
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
#: The longest `search`, `email` or `company` filter of the listing (SQLite refuses
#: LIKE patterns over 50,000 bytes; no contact field comes near this length).
MAX_FILTER_LENGTH = 1000
#: An oversized body up to this size is read (and dropped) before the 413 is sent.
MAX_DISCARD_BYTES = 256 * 1024 * 1024

#: Paths answered without credentials (the API description).
OPEN_PATHS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect"})
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class SandboxConfig:
    """Everything that shapes one sandbox instance. Faults and limits are off by default."""

    db_path: Path
    api_key: str = field(default=DEFAULT_API_KEY, repr=False)
    api_secret: str = field(default=DEFAULT_API_SECRET, repr=False)
    #: Defined custom-field keys; None accepts any key (no definitions configured).
    custom_fields: tuple[str, ...] | None = None
    rate_limit_per_minute: int | None = None
    rate_limit_per_hour: int | None = None
    fail_rate: float = 0.0
    ambiguous_rate: float = 0.0
    latency_ms: int = 0
    fault_seed: int | None = None
    ambiguous_mode: AmbiguousMode = "mixed"
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    #: Whether 429 answers carry Retry-After (real APIs sometimes omit it).
    retry_after: bool = True
    region: str = "US"
    #: Another client at work during listings (see faults.Churn): after this many
    #: unfiltered listing requests (None: never), each one deletes the lowest id
    #: and creates a contact, at most `churn_limit` times.
    churn_after: int | None = None
    churn_limit: int | None = None
    #: Wall clock for the rate-limit windows (injectable for tests).
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(content=dumps(payload), status_code=status, media_type="application/json")


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


# -- OpenAPI descriptions (the endpoints read bodies themselves, for API-style errors) --

_CUSTOM_FIELDS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Key/value pairs; keys must be defined custom fields when definitions are "
    "configured. On update, keys are merged and null removes a key.",
    "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
}
_TEXT: dict[str, Any] = {"type": ["string", "null"], "maxLength": MAX_TEXT_LENGTH}
_CONTACT_BODY_PROPERTIES: dict[str, Any] = {
    "first_name": _TEXT,
    "last_name": _TEXT,
    "phone": {"type": "string", "description": "Any format; stored as E.164 (region US)."},
    "email": {"type": ["string", "null"], "format": "email"},
    "company": _TEXT,
    "custom_fields": _CUSTOM_FIELDS_SCHEMA,
}
_CREATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["phone"],
    "properties": _CONTACT_BODY_PROPERTIES,
    "additionalProperties": False,
}
_UPDATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": _CONTACT_BODY_PROPERTIES,
    "additionalProperties": False,
}
_BULK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["contacts"],
    "properties": {"contacts": {"type": "array", "maxItems": MAX_BULK, "items": _CREATE_SCHEMA}},
}
_CONTACT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        **_CONTACT_BODY_PROPERTIES,
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
    },
}
_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"status": {"const": "error"}, "message": {"type": "string"}},
}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _ok(schema: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    return {
        200: {"content": {"application/json": {"schema": schema}}},
        400: {
            "description": "Malformed request",
            "content": {"application/json": {"schema": _ERROR_SCHEMA}},
        },
        401: {
            "description": "Unauthorized",
            "content": {"application/json": {"schema": _ERROR_SCHEMA}},
        },
        429: {
            "description": "Rate limited",
            "content": {"application/json": {"schema": _ERROR_SCHEMA}},
        },
    }


def _one(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {"status": {"const": "success"}, "data": schema}}


_LIST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "status": {"const": "success"},
        "data": {"type": "array", "items": _CONTACT_SCHEMA},
        "page": {"type": "integer"},
        "per_page": {"type": "integer"},
        "total": {"type": "integer"},
        "next_page_link": {"type": ["string", "null"]},
    },
}
_BULK_RESULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "status": {"const": "success"},
        "created": {"type": "integer"},
        "updated": {"type": "integer"},
        "failed": {"type": "integer"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "index": {"type": "integer"},
                    "phone": {"type": ["string", "null"]},
                    "message": {"type": "string"},
                },
            },
        },
    },
}


MAX_PAGE = 1_000_000_000


def _query_parameter(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


_FILTER_SCHEMA = {"type": "string", "maxLength": MAX_FILTER_LENGTH}
_LIST_PARAMETERS: list[dict[str, Any]] = [
    _query_parameter(
        "search",
        "Case-insensitive substring of first name, last name, phone or email",
        {"type": "string", "maxLength": MAX_FILTER_LENGTH},
    ),
    _query_parameter("phone", "Exact phone number (compared as E.164)", {"type": "string"}),
    _query_parameter("email", "Exact email address (case-insensitive)", _FILTER_SCHEMA),
    _query_parameter("company", "Exact company name (case-insensitive)", _FILTER_SCHEMA),
    _query_parameter(
        "page",
        "Page number, 1-based",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
    ),
    _query_parameter(
        "per_page",
        f"Results per page (max {MAX_PER_PAGE})",
        {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": DEFAULT_PER_PAGE},
    ),
]


def _validation_message(exc: RequestValidationError) -> tuple[int, str]:
    problems: list[str] = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part not in ("query", "body")]
        if error.get("loc", ("",))[0] == "path":
            return 404, "Contact not found"
        name = ".".join(location) or "request"
        context = error.get("ctx") or {}
        kind = error.get("type", "")
        if kind == "less_than_equal":
            problems.append(f"{name}: must be at most {context.get('le')}")
        elif kind == "greater_than_equal":
            problems.append(f"{name}: must be at least {context.get('ge')}")
        elif kind == "int_parsing":
            problems.append(f"{name}: must be an integer")
        else:
            problems.append(f"{name}: {error.get('msg', 'invalid')}")
    return 400, "; ".join(problems) or "invalid request"


def _text_filter(query: Mapping[str, str], name: str) -> str | None:
    """A text filter of the listing; longer than MAX_FILTER_LENGTH is a 400."""
    value = (query.get(name) or "").strip()
    if len(value) > MAX_FILTER_LENGTH:
        raise InputError(name, f"at most {MAX_FILTER_LENGTH} characters (got {len(value)})")
    return value or None


async def _read_json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise InputError("body", "request body is empty; send a JSON object")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError("body", f"not valid JSON ({exc})") from None
    except RecursionError:
        # The parser recurses per nesting level; no contact body nests more than 3 deep.
        raise InputError("body", "not a contact: the JSON is nested too deeply") from None


def _churn_once(store: ContactStore) -> None:
    """Delete the lowest id and create a contact: the total holds, later pages shift."""
    rows, _ = store.list_page(ContactFilters(), 1, 1)
    if rows:
        store.delete(int(rows[0][0]))
    store.seed(1)


def create_app(config: SandboxConfig) -> FastAPI:
    """A sandbox app on `config.db_path` (created on first use)."""
    store = ContactStore(config.db_path)
    custom_keys = frozenset(config.custom_fields) if config.custom_fields is not None else None
    churn = Churn(
        after=config.churn_after or 0,
        limit=config.churn_limit,
        enabled=config.churn_after is not None,
    )
    app = FastAPI(
        title="jcstate sandbox — JustCall Contacts API",
        version=__version__,
        description="A local, faithful implementation of the JustCall Contacts API (v2) "
        "for trying jcstate and for tests. Authorization: `api_key:api_secret`.",
        redoc_url=None,
    )
    app.state.store = store
    app.state.config = config
    app.add_middleware(SandboxMiddleware, config=config)
    describe_auth(app)

    @app.exception_handler(InputError)
    async def input_error(request: Request, exc: InputError) -> Response:
        return Response(error_body(str(exc)), exc.status, media_type="application/json")

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        status, message = _validation_message(exc)
        return Response(error_body(message), status, media_type="application/json")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = str(exc.detail) if exc.detail else "Error"
        return Response(
            error_body(message), exc.status_code, headers=exc.headers, media_type="application/json"
        )

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        return Response(
            error_body(f"Internal server error: {type(exc).__name__}"),
            500,
            media_type="application/json",
        )

    @app.get(
        "/v2/contacts",
        summary="List and search contacts",
        responses=_ok(_LIST_SCHEMA),
        openapi_extra={"parameters": _LIST_PARAMETERS},
        tags=["contacts"],
    )
    async def list_contacts(request: Request) -> Response:
        # Query parameters are read by hand (described in _LIST_PARAMETERS): FastAPI's
        # parameter machinery costs more than the rest of this hot path together.
        query = request.query_params
        page = int_param("page", query.get("page"), 1, 1, MAX_PAGE)
        per_page = int_param("per_page", query.get("per_page"), DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
        phone = (query.get("phone") or "").strip()
        filters = ContactFilters(
            search=_text_filter(query, "search"),
            phone=validate_phone(phone, config.region) if phone else None,
            email=_text_filter(query, "email"),
            company=_text_filter(query, "company"),
        )
        data, count, total = store.list_page_json(filters, page, per_page)
        if filters.is_empty() and churn.tick():
            _churn_once(store)
        next_link = None
        if (page - 1) * per_page + count < total:
            next_link = str(request.url.include_query_params(page=page + 1, per_page=per_page))
        tail = {"page": page, "per_page": per_page, "total": total, "next_page_link": next_link}
        # The page arrives as JSON text from SQLite; splice it in rather than re-encode it.
        content = b"".join((b'{"status":"success","data":', data.encode(), b",", dumps(tail)[1:]))
        return Response(content=content, media_type="application/json")

    @app.get(
        "/v2/contacts/{contact_id}",
        summary="Get a single contact",
        responses=_ok(_one(_CONTACT_SCHEMA)),
        tags=["contacts"],
    )
    async def get_contact(contact_id: int) -> Response:
        row = store.get(contact_id)
        if row is None:
            return _not_found()
        return json_response({"status": "success", "data": row_to_contact(row)})

    @app.post(
        "/v2/contacts",
        summary="Create a contact (a phone may exist twice, as on the real service)",
        responses=_ok(_one(_CONTACT_SCHEMA)),
        openapi_extra=_body(_CREATE_SCHEMA),
        tags=["contacts"],
    )
    async def create_contact(request: Request) -> Response:
        body = await _read_json(request)
        contact = validate_contact(
            body, partial=False, custom_keys=custom_keys, region=config.region
        )
        row = store.create(contact)
        return json_response({"status": "success", "data": row_to_contact(row)})

    @app.put(
        "/v2/contacts/{contact_id}",
        summary="Update a contact (omitted fields unchanged, null clears)",
        responses=_ok(_one(_CONTACT_SCHEMA)),
        openapi_extra=_body(_UPDATE_SCHEMA),
        tags=["contacts"],
    )
    async def update_contact(contact_id: int, request: Request) -> Response:
        body = await _read_json(request)
        contact = validate_contact(
            body, partial=True, custom_keys=custom_keys, region=config.region
        )
        row = store.update(contact_id, contact)
        if row is None:
            return _not_found()
        return json_response({"status": "success", "data": row_to_contact(row)})

    @app.delete(
        "/v2/contacts/{contact_id}",
        summary="Delete a contact (permanent)",
        responses=_ok(_one({"type": "object", "properties": {"id": {"type": "integer"}}})),
        tags=["contacts"],
    )
    async def delete_contact(contact_id: int) -> Response:
        if not store.delete(contact_id):
            return _not_found()
        return json_response(
            {"status": "success", "message": "Contact deleted", "data": {"id": contact_id}}
        )

    @app.post(
        "/v2/contacts/bulk",
        summary=f"Bulk import up to {MAX_BULK} contacts (upsert by phone)",
        responses=_ok(_BULK_RESULT_SCHEMA),
        openapi_extra=_body(_BULK_SCHEMA),
        tags=["contacts"],
    )
    async def bulk_import(request: Request) -> Response:
        body = await _read_json(request)
        if not isinstance(body, Mapping):
            raise InputError("body", "must be a JSON object with a 'contacts' list")
        records = body.get("contacts")
        if not isinstance(records, list):
            raise InputError("contacts", "must be a list of contact objects")
        if len(records) > MAX_BULK:
            raise InputError(
                "contacts", f"at most {MAX_BULK} contacts per request (got {len(records)})"
            )
        valid = []
        errors: list[dict[str, Any]] = []
        for index, record in enumerate(records):
            try:
                valid.append(
                    validate_contact(
                        record, partial=False, custom_keys=custom_keys, region=config.region
                    )
                )
            except InputError as exc:
                raw_phone = record.get("phone") if isinstance(record, Mapping) else None
                errors.append(
                    {
                        "index": index,
                        "phone": raw_phone if isinstance(raw_phone, str) else None,
                        "message": str(exc),
                    }
                )
        created, updated = store.bulk_upsert(valid) if valid else (0, 0)
        summary = {"created": created, "updated": updated, "failed": len(errors), "errors": errors}
        return json_response({"status": "success", **summary, "data": summary})

    return app


def describe_auth(app: FastAPI) -> None:
    """Add the `Authorization: api_key:api_secret` scheme to the generated OpenAPI document."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {})["securitySchemes"] = {
                "apiKeyPair": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`api_key:api_secret`",
                }
            }
            schema["security"] = [{"apiKeyPair": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _not_found() -> Response:
    return Response(error_body("Contact not found"), 404, media_type="application/json")

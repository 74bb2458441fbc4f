"""The sandbox: the seed's JustCall Contacts API as a FastAPI app on a SQLite file.

The same `create_app(config)` serves over HTTP (`jcstate sandbox serve`) and
in-process (httpx's ASGI transport, `sandbox://PATH`). Nothing depends on
lifespan events: the database opens lazily on the first request.

Auth, body size, rate limiting and fault injection live in one pure-ASGI
middleware (`middleware.SandboxMiddleware`); the OpenAPI description in
`openapi`; the settings in `config.SandboxConfig`. Responses are built with
`json.dumps` directly, without response models, for the hot listing path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from jcstate import __version__
from jcstate.core.limits import MAX_BULK, MAX_PER_PAGE
from jcstate.sandbox.config import DEFAULT_PER_PAGE, MAX_FILTER_LENGTH, MAX_PAGE, SandboxConfig
from jcstate.sandbox.faults import Churn
from jcstate.sandbox.middleware import SandboxMiddleware, error_body
from jcstate.sandbox.openapi import (
    BULK_RESULT_SCHEMA,
    BULK_SCHEMA,
    CONTACT_SCHEMA,
    CREATE_SCHEMA,
    LIST_PARAMETERS,
    LIST_SCHEMA,
    UPDATE_SCHEMA,
    describe_auth,
    request_body,
    responses,
    success,
)
from jcstate.sandbox.store import ContactFilters, ContactStore, row_to_contact
from jcstate.sandbox.validation import InputError, int_param, validate_contact, validate_phone


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(content=dumps(payload), status_code=status, media_type="application/json")


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
        responses=responses(LIST_SCHEMA),
        openapi_extra={"parameters": LIST_PARAMETERS},
        tags=["contacts"],
    )
    async def list_contacts(request: Request) -> Response:
        # Query parameters are read by hand (described in LIST_PARAMETERS): FastAPI's
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
        responses=responses(success(CONTACT_SCHEMA)),
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
        responses=responses(success(CONTACT_SCHEMA)),
        openapi_extra=request_body(CREATE_SCHEMA),
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
        responses=responses(success(CONTACT_SCHEMA)),
        openapi_extra=request_body(UPDATE_SCHEMA),
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
        responses=responses(success({"type": "object", "properties": {"id": {"type": "integer"}}})),
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
        responses=responses(BULK_RESULT_SCHEMA),
        openapi_extra=request_body(BULK_SCHEMA),
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


def _not_found() -> Response:
    return Response(error_body("Contact not found"), 404, media_type="application/json")

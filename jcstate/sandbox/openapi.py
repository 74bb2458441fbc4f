"""The sandbox's OpenAPI description: request and answer schemas, the listing's query
parameters and the `Authorization` scheme. The endpoints read bodies themselves (for
API-style errors), so these dictionaries only describe them."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from jcstate.core.limits import MAX_BULK, MAX_PER_PAGE
from jcstate.sandbox.config import DEFAULT_PER_PAGE, MAX_FILTER_LENGTH, MAX_PAGE
from jcstate.sandbox.validation import MAX_TEXT_LENGTH

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
CREATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["phone"],
    "properties": _CONTACT_BODY_PROPERTIES,
    "additionalProperties": False,
}
UPDATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": _CONTACT_BODY_PROPERTIES,
    "additionalProperties": False,
}
BULK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["contacts"],
    "properties": {"contacts": {"type": "array", "maxItems": MAX_BULK, "items": CREATE_SCHEMA}},
}
CONTACT_SCHEMA: dict[str, Any] = {
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


def request_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def responses(schema: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
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


def success(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {"status": {"const": "success"}, "data": schema}}


LIST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "status": {"const": "success"},
        "data": {"type": "array", "items": CONTACT_SCHEMA},
        "page": {"type": "integer"},
        "per_page": {"type": "integer"},
        "total": {"type": "integer"},
        "next_page_link": {"type": ["string", "null"]},
    },
}
BULK_RESULT_SCHEMA: dict[str, Any] = {
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


def _query_parameter(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


_FILTER_SCHEMA = {"type": "string", "maxLength": MAX_FILTER_LENGTH}
LIST_PARAMETERS: list[dict[str, Any]] = [
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

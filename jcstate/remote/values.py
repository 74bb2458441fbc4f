"""Plain values the client returns: pages, bulk results, request records and stats."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from jcstate.core.limits import MAX_PER_PAGE as MAX_PER_PAGE
from jcstate.core.model import RemoteContact
from jcstate.errors import (
    TransportError,
)


@dataclass(frozen=True)
class ContactPage:
    contacts: list[RemoteContact]
    page: int
    per_page: int
    total: int | None = None
    next_page_link: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """One whole answer: status, headers, decoded body (read within its cap), and the request.

    Its `headers` are the ones received: Content-Encoding and Content-Length
    describe the bytes on the wire, not `content`, which is already decoded.
    """

    status_code: int
    headers: httpx.Headers
    content: bytes
    request: httpx.Request


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

"""Client settings: the API URL, credentials and limits, from options and the environment.

A key or secret that cannot be a header value (a control or non-ASCII
character) and an API URL with a user name or password are refused before any
request, without showing their value.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jcstate.core.limits import MAX_PER_PAGE as MAX_PER_PAGE
from jcstate.core.model import Project
from jcstate.core.urls import public_url
from jcstate.errors import (
    ApiUrlError,
    CredentialsError,
    InsecureUrlError,
    JcstateError,
)
from jcstate.remote.pacing import (
    DEFAULT_MAX_OUTAGE_S,
)

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
        # Imported here: a real account's plan has no use for the sandbox's modules.
        from jcstate.sandbox.config import DEFAULT_API_KEY, DEFAULT_API_SECRET

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

"""What shapes one sandbox instance (`SandboxConfig`) and the sandbox's own limits.

Light on purpose (no FastAPI): the client reads the default credentials from here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from jcstate.sandbox.faults import AmbiguousMode

#: The credentials a sandbox accepts unless told others (the in-process sandbox is
#: started with the credentials the client sends).
DEFAULT_API_KEY = "sandbox-key"
DEFAULT_API_SECRET = "sandbox-secret"
DEFAULT_PER_PAGE = 25
#: Large enough for 5,001 generously filled contacts, so the bulk limit answers 400, not 413.
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
#: The longest `search`, `email` or `company` filter of the listing (SQLite refuses
#: LIKE patterns over 50,000 bytes; no contact field comes near this length).
MAX_FILTER_LENGTH = 1000
#: An oversized body up to this size is read (and dropped) before the 413 is sent.
MAX_DISCARD_BYTES = 256 * 1024 * 1024
#: The highest page number the listing accepts.
MAX_PAGE = 1_000_000_000


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

"""Models of the project's files (pydantic) and the plain values the core works on.

The pydantic models describe what a user writes. The frozen dataclasses
(`DesiredContact`, `RemoteContact`, `DesiredState`, `RemoteState`) are what
the pure core (plan, drift, render) consumes: already normalised, cheap to
build for 100,000 contacts, and free of I/O.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SUPPORTED_VERSIONS = (1,)

#: The standard contact fields jcstate manages besides the phone (the seed's contact object).
STANDARD_FIELDS: tuple[str, ...] = ("first_name", "last_name", "email", "company")

#: Every key a contact entry may carry, in canonical (fmt) order.
CONTACT_KEYS: tuple[str, ...] = ("id", "phone", *STANDARD_FIELDS, "custom_fields")

CustomFieldType = Literal["string", "integer", "number", "boolean", "date", "enum"]

#: A custom-field value after normalisation: dates are ISO "YYYY-MM-DD" strings.
CustomValue = str | int | float | bool


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RateLimit(_Strict):
    per_minute: int | None = Field(default=None, gt=0, description="Requests per minute, at most.")
    per_hour: int | None = Field(default=None, gt=0, description="Requests per hour, at most.")


class ApiSettings(_Strict):
    url: str = Field(
        default="https://api.justcall.io",
        description="https://api.justcall.io, or sandbox://PATH for the embedded sandbox "
        "(PATH relative to jcstate.yaml).",
    )
    rate_limit: RateLimit | None = Field(default=None, description="Client-side pacing.")
    concurrency: int = Field(default=4, ge=1, le=32, description="Requests in flight at once.")


class CustomFieldDef(_Strict):
    type: CustomFieldType = "string"
    values: list[str] | None = Field(default=None, description="The allowed values of an enum.")


class Ownership(_Strict):
    field: str = Field(min_length=1)
    value: str = Field(min_length=1)


class Safety(_Strict):
    max_delete_percent: float = Field(default=10, ge=0, le=100)
    max_update_percent: float = Field(default=30, ge=0, le=100)
    min_existing: int = Field(default=10, ge=0)
    protected: list[str] = Field(default_factory=list)


class RuleConfig(_Strict):
    """One entry of `rules:`: a CEL check of each contact or of the plan."""

    name: str = Field(min_length=1, description="Unique name; `apply --force-rule NAME`.")
    on: Literal["contact", "plan"] = Field(
        default="contact", description="contact: each declared contact; plan: the plan."
    )
    when: str | None = Field(
        default=None, description="CEL: the rule applies only where this is true."
    )
    require: str = Field(min_length=1, description="CEL: must be true (bool).")
    message: str = Field(min_length=1, description="What a violation says.")
    level: Literal["error", "warning"] = Field(
        default="error", description="error: blocks apply; warning: reported only."
    )

    @field_validator("when", "require", mode="before")
    @classmethod
    def _yaml_boolean(cls, value: Any) -> Any:
        """`require: true` is YAML's boolean: the CEL literal it spells."""
        if isinstance(value, bool):
            return "true" if value else "false"
        return value


class ProjectConfig(_Strict):
    """`jcstate.yaml`."""

    version: int
    api: ApiSettings = Field(default_factory=ApiSettings)
    default_region: str = Field(
        default="US", description="ISO region for phones written without +country."
    )
    contacts: list[str] = Field(
        default_factory=lambda: ["contacts/*.yaml"],
        description="Globs of contacts files, relative to jcstate.yaml; each must match a file.",
    )
    custom_fields: dict[str, CustomFieldDef] = Field(
        default_factory=dict, description="The account's custom-field definitions, by key."
    )
    ownership: Ownership | None = Field(
        default=None, description="Marker of the remote contacts this project owns."
    )
    safety: Safety = Field(default_factory=Safety)
    sources: dict[str, Any] = Field(
        default_factory=dict,
        description="Where `jcstate import` reads contacts from (CSV, JSON Lines, SQL), by name.",
    )
    rules: list[RuleConfig] = Field(
        default_factory=list,
        description="The team's own checks, in CEL: of each contact, or of every plan.",
    )


class ContactEntry(_Strict):
    """One contact as written in a contacts file (before normalisation).

    Which fields are *managed* is `model_fields_set` (after `defaults`):
    an omitted field is unmanaged, an explicit `null` means "must be empty".
    Strict: a YAML number or date is not silently turned into a name.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    id: int | None = Field(
        default=None, gt=0, strict=True, description="Pins the contact to this remote id."
    )
    phone: str = Field(description='Identity; any format, compared as E.164. Quote it: "+1 …".')
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    company: str | None = None
    custom_fields: dict[str, Any] | None = Field(
        default=None, description="Declared custom fields: key -> value (null: must be empty)."
    )


class ContactDefaults(_Strict):
    """`defaults` of a contacts file: what every contact of the file gets unless it says so."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    company: str | None = None
    custom_fields: dict[str, Any] | None = None


class ContactsFile(_Strict):
    """A contacts file: `version`, `defaults`, `contacts`."""

    version: int
    defaults: dict[str, Any] = Field(default_factory=dict)
    contacts: list[dict[str, Any]] = Field(default_factory=list)


# ---------------------------------------------------------------------------
# Plain values for the functional core
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class SourceRef:
    """Where a declared contact was written (1-based line and column)."""

    file: str
    line: int
    col: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class RuleViolation:
    """A rule of `rules:` that did not hold (for a contact, or for the plan).

    `source` is where the contact is written (None for a plan rule or a
    contact that is not in a file); `detail` says why the rule could not be
    evaluated (None when it was simply false).
    """

    rule: str
    level: str
    message: str
    rule_file: str
    rule_line: int
    phone: str | None = None
    source: SourceRef | None = None
    detail: str | None = None
    #: a row of an import source (1-based) rather than a contacts file
    row: int | None = None

    @property
    def is_error(self) -> bool:
        return self.level == "error"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (`rule_violations` of a plan, `validate --format json`)."""
        return {
            "rule": self.rule,
            "level": self.level,
            "message": self.message,
            "rule_at": f"{self.rule_file}:{self.rule_line}",
            "phone": self.phone,
            "file": self.source.file if self.source is not None else None,
            "line": self.source.line if self.source is not None else None,
            "col": self.source.col if self.source is not None else None,
            "row": self.row,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True, init=False)
class DesiredContact:
    """A declared contact, normalised. Only managed fields appear in the mappings.

    `fields` maps standard field names to a normalised value or None ("must be
    empty"); `custom_fields` maps declared custom keys the same way.

    Its constructor is written out like `RemoteContact`'s (a warm load of the
    project builds 100,000s from the cache): about a quarter cheaper.
    """

    phone: str
    fields: Mapping[str, str | None]
    custom_fields: Mapping[str, CustomValue | None]
    id: int | None = None
    source: SourceRef | None = None

    def __init__(
        self,
        phone: str,
        fields: Mapping[str, str | None],
        custom_fields: Mapping[str, CustomValue | None],
        id: int | None = None,
        source: SourceRef | None = None,
    ) -> None:
        set_phone, set_fields, set_custom, set_id, set_source = _DESIRED_SLOTS
        set_phone(self, phone)
        set_fields(self, fields)
        set_custom(self, custom_fields)
        set_id(self, id)
        set_source(self, source)


#: The slot setters of `DesiredContact`, in field order (they bypass the frozen `__setattr__`).
_DESIRED_SLOTS: tuple[Any, ...] = tuple(
    vars(DesiredContact)[name].__set__
    for name in ("phone", "fields", "custom_fields", "id", "source")
)


@dataclass(frozen=True, slots=True, init=False)
class RemoteContact:
    """A contact as the API returned it, after tolerant parsing.

    `phone` is E.164 when the remote value parses, else the raw string.
    `fields` holds every standard field (None when absent/empty); custom
    values are as the server sent them (the plan normalises them by type).

    Frozen, compared and printed as a dataclass; only its constructor is
    written out: it sets the slots through their descriptors, about a third
    cheaper than the generated frozen `__init__` (a listing builds 100,000s).
    """

    id: int
    phone: str
    fields: Mapping[str, str | None]
    custom_fields: Mapping[str, Any]
    created_at: str | None = None
    updated_at: str | None = None

    def __init__(
        self,
        id: int,
        phone: str,
        fields: Mapping[str, str | None],
        custom_fields: Mapping[str, Any],
        created_at: str | None = None,
        updated_at: str | None = None,
    ) -> None:
        set_id, set_phone, set_fields, set_custom, set_created, set_updated = _REMOTE_SLOTS
        set_id(self, id)
        set_phone(self, phone)
        set_fields(self, fields)
        set_custom(self, custom_fields)
        set_created(self, created_at)
        set_updated(self, updated_at)


#: The slot setters of `RemoteContact`, in field order (they bypass the frozen `__setattr__`).
_REMOTE_SLOTS: tuple[Any, ...] = tuple(
    vars(RemoteContact)[name].__set__
    for name in ("id", "phone", "fields", "custom_fields", "created_at", "updated_at")
)


def fingerprint(contact: RemoteContact) -> str:
    """A stable digest of a remote contact's content, for saved-plan staleness checks."""
    payload = {
        "id": contact.id,
        "phone": contact.phone,
        "fields": {k: contact.fields.get(k) for k in sorted(contact.fields)},
        "custom_fields": {k: contact.custom_fields[k] for k in sorted(contact.custom_fields)},
    }
    raw = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Conflict:
    """Two or more remote contacts share one phone; the lowest id is the match."""

    phone: str
    ids: tuple[int, ...]


@dataclass(frozen=True)
class DesiredState:
    contacts: tuple[DesiredContact, ...]
    custom_field_defs: Mapping[str, CustomFieldDef] = field(default_factory=dict)
    ownership: Ownership | None = None
    safety: Safety = field(default_factory=Safety)
    default_region: str = "US"

    def __repr__(self) -> str:
        # Short: `asyncio.run` writes the repr of its finished task's result.
        return f"DesiredState({len(self.contacts)} contacts, region={self.default_region!r})"


@dataclass(frozen=True)
class RemoteState:
    """The remote account (or the part of it that was looked up).

    `complete` is True for a full, verified listing; False for a targeted
    refresh (per-phone lookups), which must never be used to prune.
    """

    contacts: tuple[RemoteContact, ...]
    complete: bool = True
    conflicts: tuple[Conflict, ...] = ()
    #: contacts in the account as the API reported it (known for a targeted refresh
    #: from the first listing page; None when not asked)
    total: int | None = None

    def __repr__(self) -> str:
        # Short: `asyncio.run` writes the repr of its finished task's result (the
        # whole account: 20 MB and 1.5 s at 100,000 contacts, thrown away).
        return (
            f"RemoteState({len(self.contacts)} contacts, complete={self.complete}, "
            f"{len(self.conflicts)} conflicts, total={self.total})"
        )


@dataclass(frozen=True)
class Project:
    """A loaded, validated project: what every command starts from."""

    root: Path
    config_path: Path
    config: ProjectConfig
    contact_files: tuple[Path, ...]
    desired: DesiredState
    #: sha256 over jcstate.yaml and every contacts file, in path order.
    digest: str
    #: (line, col) in jcstate.yaml of each entry of `config.rules`
    rule_marks: tuple[tuple[int, int], ...] = ()
    #: jcstate.yaml as messages name it (relative to the current directory)
    config_name: str = "jcstate.yaml"
    #: by contacts file (as messages name it): the sha256 of the bytes read and the
    #: 1-based first lines of the contacts read in the exact form `fmt` writes,
    #: phone already E.164 (`fmt` keeps those byte for byte without a second look)
    canonical_lines: Mapping[str, tuple[str, frozenset[int]]] = field(default_factory=dict)

"""The `sources:` of jcstate.yaml: the model of one source and its checks (pure).

`check_sources` reads the raw parsed document and returns `Issue`s with paths
inside it (the loader turns them into `jcstate.yaml:line:col` diagnostics);
`parse_sources` gives the typed sources of a project that validated.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jcstate.core.model import STANDARD_FIELDS, ProjectConfig
from jcstate.project.export import matches_globs
from jcstate.project.paths import project_path
from jcstate.project.validate import Issue, pydantic_issues, suggest, unknown_field_message
from jcstate.project.yamlio import DocPath

SourceKind = Literal["csv", "jsonl", "sql"]
#: A translated value: text, a typed scalar, or null ("not set").
Scalar = str | int | float | bool | None
CUSTOM_PREFIX = "custom_fields."
TARGETS: tuple[str, ...] = ("phone", *STANDARD_FIELDS)
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_ONLY_FOR: dict[str, tuple[SourceKind, ...]] = {
    "path": ("csv", "jsonl"),
    "encoding": ("csv",),
    "delimiter": ("csv",),
    "url": ("sql",),
    "query": ("sql",),
}
_REQUIRED: dict[SourceKind, tuple[str, ...]] = {
    "csv": ("path",),
    "jsonl": ("path",),
    "sql": ("url", "query"),
}


class SourceConfig(BaseModel):
    """One entry of `sources:` in jcstate.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="jcstate source")

    kind: SourceKind = Field(description="csv, jsonl or sql.")
    path: str | None = Field(
        default=None, description="csv and jsonl: the file to read, relative to jcstate.yaml."
    )
    encoding: str | None = Field(
        default=None, description="csv: the file's text encoding (default utf-8, BOM or not)."
    )
    delimiter: str | None = Field(
        default=None, min_length=1, max_length=1, description="csv: the delimiter (default ,)."
    )
    url: str | None = Field(
        default=None,
        description="sql: an SQLAlchemy URL; ${ENV_VAR} is expanded (keep passwords out of git).",
    )
    query: str | None = Field(default=None, description="sql: the SELECT that gives the rows.")
    map: dict[str, str | list[str]] = Field(
        description="jcstate field -> column, or a list of columns (the first non-empty cell "
        "wins): phone (required), first_name, last_name, email, company, custom_fields.KEY."
    )
    values: dict[str, dict[str, Scalar]] = Field(
        default_factory=dict,
        description="Per field: a column value -> the value to write (null: not set).",
    )
    skip_if: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Column -> values that drop the row (compared without case or spaces).",
    )
    into: str = Field(
        description="The contacts file this source owns (generated, e.g. "
        "contacts/crm.yaml), relative to jcstate.yaml."
    )


@dataclass(frozen=True)
class Source:
    """A validated source, with its name."""

    name: str
    config: SourceConfig

    @property
    def columns(self) -> list[str]:
        """The columns this source reads (map first, then skip_if), each once."""
        seen: dict[str, None] = {}
        for target in self.config.map:
            for column in self.columns_of(target):
                seen.setdefault(column, None)
        for column in self.config.skip_if:
            seen.setdefault(column, None)
        return list(seen)

    def columns_of(self, target: str) -> tuple[str, ...]:
        """The columns of a mapped field, in the order they are tried (first non-empty wins)."""
        mapped = self.config.map[target]
        return (mapped,) if isinstance(mapped, str) else tuple(mapped)


def _scalar_text(value: Any) -> Any:
    """A YAML scalar as the text a cell holds (`true` -> "true"); other values unchanged."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _prepared(raw: Mapping[str, Any]) -> dict[str, Any]:
    """YAML scalars where text is meant (`skip_if: {Unsubscribed: [true]}`) made text."""
    data = dict(raw)
    skip_if = data.get("skip_if")
    if isinstance(skip_if, Mapping):
        data["skip_if"] = {
            key: [_scalar_text(v) for v in values] if isinstance(values, list) else values
            for key, values in skip_if.items()
        }
    values = data.get("values")
    if isinstance(values, Mapping):
        data["values"] = {
            key: {_scalar_text(k): v for k, v in table.items()}
            if isinstance(table, Mapping)
            else table
            for key, table in values.items()
        }
    return data


def check_sources(data: Any, file: str) -> list[Issue]:
    """Every problem of the `sources:` of a parsed jcstate.yaml (raw data; pure)."""
    if not isinstance(data, Mapping):
        return []
    sources = data.get("sources")
    if not isinstance(sources, Mapping):
        return []  # absent, or the project model reports the type
    custom = data.get("custom_fields")
    declared = sorted(str(k) for k in custom) if isinstance(custom, Mapping) else []
    ownership = data.get("ownership")
    marker = ownership.get("field") if isinstance(ownership, Mapping) else None
    globs = data.get("contacts", ["contacts/*.yaml"])
    globs = [g for g in globs if isinstance(g, str)] if isinstance(globs, list) else []
    issues: list[Issue] = []
    owners: dict[str, str] = {}
    for name, raw in sources.items():
        base: DocPath = ("sources", str(name))
        if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
            message = (
                f"source name {name!r}: use letters, digits, '-', '_' or '.' "
                "(it is how `jcstate import NAME` picks it)"
            )
            issues.append(Issue(file, base, message, "key"))
            continue
        if not isinstance(raw, Mapping):
            issues.append(Issue(file, base, f"source '{name}' must be a mapping (kind, map, into)"))
            continue
        try:
            source = SourceConfig.model_validate(_prepared(raw))
        except ValidationError as exc:
            found = pydantic_issues(exc, file, SourceConfig, base)
            issues.extend(
                Issue(i.file, i.path, f"sources.{name}: {i.message}", i.where) for i in found
            )
            continue
        issues.extend(_source_issues(name, source, file, base, declared, marker, globs))
        into = project_path(source.into)
        if into is None:
            continue  # reported above
        if into in owners:
            message = f"sources.{name}.into: {into} is already the file of source '{owners[into]}'"
            issues.append(Issue(file, (*base, "into"), message))
        owners.setdefault(into, name)
    return issues


#: Keywords that make a query more than one read (sqlparse's token types cover the rest:
#: any DML other than SELECT, any DDL).
_WRITING_KEYWORDS = frozenset({"INTO", "COPY", "PRAGMA", "ATTACH", "DETACH", "CALL", "EXEC"})


def query_problem(query: str) -> str | None:
    """Why an SQL source's query is not one statement that reads; None if it is (pure).

    Accepted: one `SELECT`, or `WITH ... SELECT`, whose clauses and subqueries
    all read. Refused: several statements, any other statement, and a SELECT
    that writes or locks (`SELECT ... INTO`, `FOR UPDATE`, a data-modifying
    `WITH d AS (DELETE ...)`). Strings, quoted names and comments are not read
    as keywords (sqlparse tokenises the query).
    """
    import sqlparse
    from sqlparse import tokens

    parsed: list[Any] = list(sqlparse.parse(query))  # sqlparse's methods are not typed
    statements = [s for s in parsed if s.token_first(skip_cm=True, skip_ws=True) is not None]
    expected = "must be one statement that reads (SELECT, or WITH ... SELECT)"
    if not statements:
        return f"{expected}; it is empty"
    if len(statements) > 1:
        return f"{expected}; it has {len(statements)} statements"
    statement: Any = statements[0]
    kind = statement.get_type()
    if kind != "SELECT":
        first = statement.token_first(skip_cm=True, skip_ws=True)
        word = first.normalized.upper() if first is not None else kind
        return f"{expected}; it is {word}"
    for token in statement.flatten():
        word = token.normalized.upper()
        if (
            (token.ttype in tokens.DML and word != "SELECT")
            or token.ttype in tokens.DDL
            or (token.ttype in tokens.Keyword and word in _WRITING_KEYWORDS)
        ):
            return f"{expected}; it holds {word}"
    return None


def _source_issues(
    name: str,
    source: SourceConfig,
    file: str,
    base: DocPath,
    declared: list[str],
    marker: Any,
    globs: list[str],
) -> list[Issue]:
    issues: list[Issue] = []
    where = f"sources.{name}"
    for key, kinds in _ONLY_FOR.items():
        if getattr(source, key) is not None and source.kind not in kinds:
            message = f"{where}: {key} is only for kind {' or '.join(kinds)}"
            issues.append(Issue(file, (*base, key), message, "key"))
    for key in _REQUIRED[source.kind]:
        if getattr(source, key) is None:
            message = f"{where}: missing required field '{key}' (for kind {source.kind})"
            issues.append(Issue(file, base, message, "item"))
    if source.encoding is not None:
        try:
            # Only a text encoding reads a CSV: base64, rot13 or zlib are codecs, not encodings.
            known = codecs.lookup(source.encoding)._is_text_encoding
        except LookupError:
            known = False
        if not known:
            message = f"{where}.encoding: unknown encoding {source.encoding!r} (e.g. utf-8, cp1252)"
            issues.append(Issue(file, (*base, "encoding"), message))
    if source.query is not None and source.kind == "sql":
        problem = query_problem(source.query)
        if problem is not None:
            issues.append(Issue(file, (*base, "query"), f"{where}.query: {problem}"))
    issues += _map_issues(where, source, file, base, declared, marker)
    issues += _path_issues(where, source, file, base, globs)
    return issues


def _map_issues(
    where: str, source: SourceConfig, file: str, base: DocPath, declared: list[str], marker: Any
) -> list[Issue]:
    """The problems of a source's `map:` and `values:`."""
    issues: list[Issue] = []
    for target, mapped in source.map.items():
        if isinstance(mapped, list) and (not mapped or not all(mapped)):
            message = (
                f"{where}.map.{target}: a list of columns must name at least one column "
                "(the first non-empty cell wins)"
            )
            issues.append(Issue(file, (*base, "map", target), message))
    if "phone" not in source.map:
        message = f"{where}.map: missing required field 'phone' (the column of the phone number)"
        issues.append(Issue(file, (*base, "map"), message))
    allowed = [*TARGETS, *(f"{CUSTOM_PREFIX}{key}" for key in declared)]
    for target in source.map:
        if target.startswith(CUSTOM_PREFIX):
            key = target.removeprefix(CUSTOM_PREFIX)
            if key == marker:
                message = (
                    f"{where}.map: custom field '{key}' is the ownership marker "
                    "(ownership.field): jcstate sets it"
                )
                issues.append(Issue(file, (*base, "map", target), message, "key"))
            elif key not in declared:
                guess = suggest(key, declared)
                hint = f" (did you mean '{CUSTOM_PREFIX}{guess}'?)" if guess else ""
                message = (
                    f"{where}.map: undeclared custom field '{key}'{hint}: declare it under "
                    "custom_fields in jcstate.yaml"
                )
                issues.append(Issue(file, (*base, "map", target), message, "key"))
        elif target not in TARGETS:
            message = f"{where}.map: " + unknown_field_message(target, allowed)
            issues.append(Issue(file, (*base, "map", target), message, "key"))
    for target in source.values:
        if target not in source.map:
            message = f"{where}.values: '{target}' is not a field of map"
            issues.append(Issue(file, (*base, "values", target), message, "key"))
    return issues


def _path_issues(
    where: str, source: SourceConfig, file: str, base: DocPath, globs: list[str]
) -> list[Issue]:
    """The problems of a source's `path:` and `into:`."""
    issues: list[Issue] = []
    if source.path is not None and project_path(source.path) in (None, ""):
        message = (
            f"{where}.path: {source.path!r} leaves the project: write it relative to "
            "jcstate.yaml, without a leading / or .."
        )
        issues.append(Issue(file, (*base, "path"), message))
    into = project_path(source.into)
    if into in (None, "", "jcstate.yaml"):
        message = f"{where}.into: {source.into!r} must be a contacts file inside the project"
        issues.append(Issue(file, (*base, "into"), message))
    elif into is not None and not matches_globs(into, globs):
        message = (
            f"{where}.into: {into} is not matched by any contacts glob, so validate and plan "
            "would not read it (add it to contacts: in jcstate.yaml)"
        )
        issues.append(Issue(file, (*base, "into"), message))
    return issues


def parse_sources(config: ProjectConfig) -> dict[str, Source]:
    """The typed sources of a validated project, in the order jcstate.yaml lists them."""
    return {
        name: Source(name, SourceConfig.model_validate(_prepared(raw)))
        for name, raw in config.sources.items()
    }


def source_schema() -> dict[str, Any]:
    """The JSON Schema of one source (for `jcstate schema`)."""
    return SourceConfig.model_json_schema()

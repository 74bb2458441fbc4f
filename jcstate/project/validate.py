"""Validation of parsed project documents: plain data in, DesiredState and issues out.

Pure: no files, no clock. The loader (`jcstate.project.config`) parses the files and
turns each `Issue` (a path inside a document) into a `file:line:col`
diagnostic, locating it only when there is something to report.

Every problem of a run is gathered: a bad contact does not stop the others
from being checked.
"""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
import operator
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import phonenumbers
from pydantic import BaseModel, TypeAdapter, ValidationError

from jcstate.core.limits import (
    MAX_TEXT_LENGTH,
    extension_problem,
    key_problem,
    parse_date,
    scalar_problem,
    text_problem,
)
from jcstate.core.model import (
    CONTACT_KEYS,
    STANDARD_FIELDS,
    SUPPORTED_VERSIONS,
    ContactDefaults,
    ContactEntry,
    CustomFieldDef,
    CustomValue,
    DesiredContact,
    DesiredState,
    ProjectConfig,
    SourceRef,
)
from jcstate.core.normalize import (
    check_email,
    normalize_custom_value,
    normalize_field,
    normalize_phone,
)
from jcstate.core.phones import plain_e164
from jcstate.core.urls import public_url
from jcstate.project.paths import leaves_project
from jcstate.project.yamlio import DocPath, Where

CONTACTS_FILE_KEYS: tuple[str, ...] = ("version", "defaults", "contacts")
DEFAULTS_KEYS: tuple[str, ...] = (*STANDARD_FIELDS, "custom_fields")
SANDBOX_SCHEME = "sandbox://"
URL_SCHEMES: tuple[str, ...] = ("https://", "http://", SANDBOX_SCHEME)


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem at `path` inside the document of `file` (a display name).

    `mark` is a known 1-based (line, col), when the parser already gave one;
    otherwise the loader locates `path` (its key, value or list item).
    """

    file: str
    path: DocPath
    message: str
    where: Where = "value"
    mark: tuple[int, int] | None = None
    #: (key, fallback): end the message with ``(write: KEY: "TEXT")``, TEXT being
    #: the value's text as written in the file (the loader has it), else `fallback`.
    quote: tuple[str, str] | None = None


@dataclass(frozen=True)
class ContactsDoc:
    """A parsed contacts file: its display name, data and each contact's position."""

    file: str
    data: Any
    item_marks: Sequence[tuple[int, int]] = ()


# ---------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------


def suggest(name: str, choices: Sequence[str]) -> str | None:
    matches = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None


def unknown_field_message(name: Any, allowed: Sequence[str], what: str = "field") -> str:
    guess = suggest(str(name), allowed) if isinstance(name, str) else None
    if guess is not None:
        return f"unknown {what} '{name}' (did you mean '{guess}'?)"
    return f"unknown {what} '{name}' (expected one of: {', '.join(allowed)})"


def version_message(value: Any) -> str:
    readable = ", ".join(str(v) for v in SUPPORTED_VERSIONS)
    noun = "version" if len(SUPPORTED_VERSIONS) == 1 else "versions"
    return f"unsupported version {value!r}: this release of jcstate reads {noun} {readable}"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dt.date):
        return "a date"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bytes):
        return "binary data"
    return type(value).__name__


def _shown(value: Any) -> str:
    if isinstance(value, Mapping | list):
        return _kind(value)
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bytes):
        return "binary data"
    if isinstance(value, dt.date):
        return f"{_kind(value)} ({value.isoformat()})"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    return f"{_kind(value)} ({value!r})"


_PHONE_REASONS = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    phonenumbers.NumberParseException.NOT_A_NUMBER: "not a phone number",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
    phonenumbers.NumberParseException.TOO_LONG: "too long",
}


def phone_problem(written: str, region: str) -> str:
    """Why `written` is not a valid phone number, quoting it as written."""
    text = written.strip()
    if not text:
        return "phone is empty"
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        reason = _PHONE_REASONS.get(exc.error_type, "not a phone number")
    else:
        extension = extension_problem(parsed.extension)
        if extension is not None and phonenumbers.is_valid_number(parsed):
            return f"phone number {written!r} {extension}"
        if phonenumbers.is_possible_number(parsed):
            reason = "no such number in its country's numbering plan"
        else:
            reason = "wrong number of digits"
    hint = "" if text.startswith("+") else f"; numbers without +country are read as {region}"
    return f"invalid phone number {written!r}: {reason}{hint}"


# ---------------------------------------------------------------------------
# pydantic errors -> issues
# ---------------------------------------------------------------------------


def _unwrap(annotation: Any) -> Any:
    """`X | None` -> X (the first argument that is not None)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if args else annotation
    return annotation


def _model_at(model: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    current: Any = model
    for step in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(step))
            if field is None:
                return None
            current = field.annotation
        elif typing.get_origin(current) is dict:
            current = typing.get_args(current)[1]
        elif typing.get_origin(current) is list:
            current = typing.get_args(current)[0]
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _dotted(loc: Sequence[str | int]) -> str:
    out = ""
    for step in loc:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def pydantic_issues(
    exc: ValidationError, file: str, model: type[BaseModel], base: DocPath = ()
) -> list[Issue]:
    issues: list[Issue] = []
    for error in exc.errors():
        loc: tuple[str | int, ...] = tuple(error["loc"])
        kind = error["type"]
        value = error.get("input")
        if kind == "extra_forbidden":
            parent = _model_at(model, loc[:-1])
            allowed = list(parent.model_fields) if parent else []
            message = unknown_field_message(loc[-1], allowed)
            if loc[:-1]:
                message = f"{_dotted(loc[:-1])}: {message}"
            issues.append(Issue(file, base + loc, message, "key"))
            continue
        if kind == "missing":
            where = f" in {_dotted(loc[:-1])}" if loc[:-1] else ""
            message = f"missing required field '{loc[-1]}'{where}"
            issues.append(Issue(file, base + loc[:-1], message, "item" if loc[:-1] else "value"))
            continue
        text = error["msg"]
        text = text[0].lower() + text[1:] if text else text
        shown = "" if isinstance(value, Mapping | list) else f" (got {value!r})"
        issues.append(Issue(file, base + loc, f"{_dotted(loc)}: {text}{shown}"))
    return issues


# ---------------------------------------------------------------------------
# jcstate.yaml
# ---------------------------------------------------------------------------


def check_project_config(data: Any, file: str) -> tuple[ProjectConfig | None, list[Issue]]:
    """Validate the parsed `jcstate.yaml`. The config is None when anything is wrong."""
    if data is None:
        return None, [Issue(file, (), "the project file is empty (expected at least: version: 1)")]
    if not isinstance(data, Mapping):
        return None, [Issue(file, (), f"the project file must be a mapping, not {_kind(data)}")]
    if "version" not in data:
        message = f"missing required field 'version' (write: version: {SUPPORTED_VERSIONS[-1]})"
        return None, [Issue(file, (), message)]
    if data["version"] not in SUPPORTED_VERSIONS or isinstance(data["version"], bool):
        return None, [Issue(file, ("version",), version_message(data["version"]))]
    issues = list(_binary_values(data, file, ()))
    if issues:
        return None, issues
    config: ProjectConfig | None = None
    try:
        config = ProjectConfig.model_validate(data)
    except ValidationError as exc:
        issues.extend(pydantic_issues(exc, file, ProjectConfig))
    # The checks below read the raw data, so they run (and report) even when
    # the model above did not validate: every problem is shown at once.
    issues.extend(_project_value_issues(data, file))
    return (None if issues else config), issues


def _binary_values(value: Any, file: str, path: DocPath) -> list[Issue]:
    """`!!binary` values, which pydantic would quietly decode into text."""
    if isinstance(value, bytes):
        return [Issue(file, path, f"{_dotted(path) or 'value'}: binary data is not allowed here")]
    if isinstance(value, Mapping):
        return [i for k, v in value.items() for i in _binary_values(v, file, (*path, str(k)))]
    if isinstance(value, list):
        return [i for n, v in enumerate(value) for i in _binary_values(v, file, (*path, n))]
    return []


def _api_url_issues(url: str, file: str) -> list[Issue]:
    """`api.url` from a branch: no credentials in it, no sandbox database outside the project.

    (`--api-url` and JCSTATE_API_URL are the user's own: the client checks
    those, and a sandbox database the user names there may be anywhere.)
    """
    if url.startswith(SANDBOX_SCHEME):
        if leaves_project(url[len(SANDBOX_SCHEME) :]):
            message = (
                f"api.url {url!r} puts the sandbox database outside the project: write "
                "sandbox://PATH with PATH relative to jcstate.yaml, without a leading / or .. "
                "(or name another database with --api-url)"
            )
            return [Issue(file, ("api", "url"), message)]
        return []
    if "@" in url:
        # Nothing of the URL is shown: a password may hold "/" or "#".
        message = (
            "api.url holds a user name or password (an '@'): jcstate sends only "
            "JUSTCALL_API_KEY and JUSTCALL_API_SECRET, in the JustCall header; remove it "
            "from the URL"
        )
        return [Issue(file, ("api", "url"), message)]
    return []


def _project_value_issues(data: Mapping[str, Any], file: str) -> list[Issue]:
    issues: list[Issue] = []
    region = data.get("default_region", "US")
    region_ok = isinstance(region, str) and region in phonenumbers.SUPPORTED_REGIONS
    if isinstance(region, str) and not region_ok:
        message = (
            f"unknown region {region!r} (use an upper-case two-letter ISO code such as US or GB)"
        )
        issues.append(Issue(file, ("default_region",), message))
    api = data.get("api")
    url = api.get("url") if isinstance(api, Mapping) else None
    if isinstance(url, str) and not url.startswith(URL_SCHEMES):
        message = (
            f"api.url must start with https://, http:// or sandbox:// (got {public_url(url)!r})"
        )
        issues.append(Issue(file, ("api", "url"), message))
    elif isinstance(url, str):
        issues.extend(_api_url_issues(url, file))
    globs = data.get("contacts", ["default"])
    if globs == []:
        issues.append(Issue(file, ("contacts",), "contacts must list at least one glob"))
    for index, pattern in enumerate(globs if isinstance(globs, list) else []):
        if isinstance(pattern, str) and leaves_project(pattern):
            message = (
                f"contacts glob {pattern!r} leaves the project: write it relative to "
                "jcstate.yaml, without a leading / or .."
            )
            issues.append(Issue(file, ("contacts", index), message, "item"))
    custom = data.get("custom_fields")
    definitions = custom if isinstance(custom, Mapping) else {}
    issues += _definition_issues(definitions, file)
    issues += _ownership_issues(data.get("ownership"), definitions, file)
    if region_ok:
        issues += _protected_issues(data.get("safety"), region, file)
    return issues


def _definition_issues(definitions: Mapping[Any, Any], file: str) -> list[Issue]:
    """The problems of the `custom_fields:` definitions: names, enum values."""
    issues: list[Issue] = []
    for key, definition in definitions.items():
        key_issue = key_problem(key) if isinstance(key, str) else None
        if key_issue is not None:
            message = f"custom field name {key!r} {key_issue}"
            issues.append(Issue(file, ("custom_fields", key), message, "key"))
        if not isinstance(definition, Mapping):
            continue
        kind = definition.get("type", "string")
        values = definition.get("values")
        if kind == "enum" and not values:
            message = f"custom field '{key}' is an enum: list its allowed values under values"
            issues.append(Issue(file, ("custom_fields", key), message))
        elif kind != "enum" and values is not None:
            message = f"custom field '{key}': values is only allowed with type enum"
            issues.append(Issue(file, ("custom_fields", key, "values"), message, "key"))
    return issues


def _ownership_issues(ownership: Any, definitions: Mapping[Any, Any], file: str) -> list[Issue]:
    """The ownership marker against its custom field's definition."""
    issues: list[Issue] = []
    # Only a text field can name a definition (a list or a mapping is not even hashable).
    if (
        isinstance(ownership, Mapping)
        and isinstance(ownership.get("field"), str)
        and ownership["field"] in definitions
    ):
        field = ownership["field"]
        definition = definitions[field]
        kind = definition.get("type", "string") if isinstance(definition, Mapping) else None
        values = definition.get("values") if isinstance(definition, Mapping) else None
        if kind not in ("string", "enum"):
            message = f"the ownership field '{field}' must be a string custom field"
            issues.append(Issue(file, ("custom_fields", field), message))
        elif kind == "enum" and ownership.get("value") not in (
            values if isinstance(values, list) else []
        ):
            message = (
                f"ownership.value {ownership.get('value')!r} is not one of the allowed values "
                f"of custom field '{field}'"
            )
            issues.append(Issue(file, ("ownership", "value"), message))
    return issues


def _protected_issues(safety: Any, region: str, file: str) -> list[Issue]:
    """The `safety.protected` phones that are not phones of `region`."""
    issues: list[Issue] = []
    protected = safety.get("protected") if isinstance(safety, Mapping) else None
    if isinstance(protected, list):
        for index, written in enumerate(protected):
            if not isinstance(written, str):
                continue  # the model reports the type
            try:
                normalize_phone(written, region)
            except ValueError:
                message = f"safety.protected: {phone_problem(written, region)}"
                issues.append(Issue(file, ("safety", "protected", index), message))
    return issues


def custom_field_defs(config: ProjectConfig) -> dict[str, CustomFieldDef]:
    """Declared custom fields plus the ownership field (a string when not declared)."""
    defs = dict(config.custom_fields)
    if config.ownership is not None and config.ownership.field not in defs:
        defs[config.ownership.field] = CustomFieldDef(type="string")
    return defs


def protected_phones(config: ProjectConfig) -> list[str]:
    return [normalize_phone(p, config.default_region) for p in config.safety.protected]


# ---------------------------------------------------------------------------
# Contacts files
# ---------------------------------------------------------------------------


#: the usual custom values: known not to be collections without the (slower) ABC check
_SCALARS = frozenset({str, int, float, bool})


class _Unseen:
    """A custom value not checked before (or one with a problem, which is never remembered)."""


_UNSEEN = _Unseen()
#: Custom values whose normalised form is remembered, per file, by (key, type, value):
#: the type keeps 1 and true apart; no float (0.0 and -0.0 are equal keys).
_REMEMBERED = frozenset({str, int, bool, type(None)})
#: at most this many remembered per file (a file of 100,000 distinct notes stays small)
_SEEN_VALUES = 4_096


class _FieldChecker:
    """Normalises the fields of one contact (or of `defaults`), collecting issues."""

    def __init__(self, config: ProjectConfig, file: str, issues: list[Issue]) -> None:
        self.region = config.default_region
        self.defs = config.custom_fields
        self.ownership_field = config.ownership.field if config.ownership else None
        self.declared = sorted(self.defs)
        self.file = file
        self.issues = issues
        #: custom values that checked clean: (key, type, value) -> normalised
        self.seen: dict[tuple[Any, type, Any], CustomValue | None] = {}

    def fields(
        self, raw: Mapping[str, Any], base: DocPath, skip: set[Any]
    ) -> tuple[dict[str, str | None], dict[str, CustomValue | None]]:
        fields: dict[str, str | None] = {}
        custom: dict[str, CustomValue | None] = {}
        for name in STANDARD_FIELDS:
            if name in raw and name not in skip:
                value = normalize_field(name, raw[name])
                problem = text_problem(value) if value is not None else None
                if problem is not None:
                    self.issues.append(Issue(self.file, (*base, name), f"{name} {problem}"))
                    continue
                if name == "email" and value is not None:
                    try:
                        check_email(value)
                    except ValueError as exc:
                        self.issues.append(Issue(self.file, (*base, name), str(exc)))
                fields[name] = value
        if "custom_fields" in raw and "custom_fields" not in skip:
            values = raw["custom_fields"]
            if values is None:
                message = (
                    "custom_fields: null is not allowed; to clear one field write "
                    "its key with null (custom_fields: {key: null})"
                )
                self.issues.append(Issue(self.file, (*base, "custom_fields"), message))
            else:
                custom = self.custom(values, (*base, "custom_fields"))
        return fields, custom

    def custom(self, values: Mapping[Any, Any], base: DocPath) -> dict[str, CustomValue | None]:
        out: dict[str, CustomValue | None] = {}
        seen = self.seen
        for key, value in values.items():
            kind = type(value)
            remembered = kind in _REMEMBERED
            if remembered:
                known = seen.get((key, kind, value), _UNSEEN)
                if not isinstance(known, _Unseen):
                    out[key] = known
                    continue
            normalized = self.custom_value(key, value, base)
            if isinstance(normalized, _Unseen):
                continue  # the problem is among self.issues
            out[key] = normalized
            if remembered and len(seen) < _SEEN_VALUES:
                seen[(key, kind, value)] = normalized
        return out

    def custom_value(self, key: Any, value: Any, base: DocPath) -> CustomValue | _Unseen | None:
        """One custom value normalised, or `_UNSEEN` after adding its problem to the issues."""
        definition = self.defs.get(key)
        if key == self.ownership_field:
            message = (
                f"custom field '{key}' is the ownership marker (ownership.field): "
                "jcstate sets it; remove it from the contact"
            )
            self.issues.append(Issue(self.file, (*base, key), message, "key"))
            return _UNSEEN
        key_issue = key_problem(key) if isinstance(key, str) else None
        if key_issue is not None:
            message = f"custom field name {key!r} {key_issue}"
            self.issues.append(Issue(self.file, (*base, key), message, "key"))
            return _UNSEEN
        if definition is None:
            guess = suggest(str(key), self.declared)
            hint = f" (did you mean '{guess}'?)" if guess else ""
            message = (
                f"undeclared custom field '{key}'{hint}: declare it under "
                "custom_fields in jcstate.yaml"
            )
            self.issues.append(Issue(self.file, (*base, key), message, "key"))
            return _UNSEEN
        if type(value) not in _SCALARS and isinstance(value, Mapping | list | bytes | set):
            message = f"custom field '{key}': expected a single value, got {_kind(value)}"
            self.issues.append(Issue(self.file, (*base, key), message))
            return _UNSEEN
        try:
            if definition.type == "date":
                _check_date(value)
            normalized = normalize_custom_value(value, definition)
            problem = scalar_problem(normalized, notes=definition.type == "string")
            if problem is not None:
                raise ValueError(problem)
            return normalized
        except ValueError as exc:
            message = f"custom field '{key}' ({definition.type}): {exc}"
            self.issues.append(Issue(self.file, (*base, key), message))
            return _UNSEEN


def _check_date(value: Any) -> None:
    """A declared date must be exactly a day: a YAML date, or ``YYYY-MM-DD`` text."""
    if isinstance(value, dt.datetime):
        raise ValueError(f"expected a date (YYYY-MM-DD), got a date and time ({value})")
    if isinstance(value, str):
        parse_date(value.strip())


def _entry_issues(
    errors: Sequence[Any], file: str, base: DocPath, mark: tuple[int, int] | None
) -> tuple[list[Issue], set[Any]]:
    """Translate a contact's pydantic errors into plain messages; also the keys at fault."""
    issues: list[Issue] = []
    bad: set[Any] = set()
    for error in errors:
        loc = tuple(error["loc"])
        kind = error["type"]
        value = error.get("input")
        key = loc[0] if loc else None
        bad.add(key)
        if kind == "extra_forbidden":
            allowed = DEFAULTS_KEYS if base == ("defaults",) else CONTACT_KEYS
            issues.append(Issue(file, (*base, *loc), unknown_field_message(key, allowed), "key"))
        elif kind == "missing":
            issues.append(Issue(file, base, f"missing required field '{key}'", "item", mark))
        elif key == "phone":
            message = f"phone must be a string in quotes, got {_shown(value)}"
            quote = None
            if isinstance(value, int) and not isinstance(value, bool):
                quote = ("phone", str(value))  # the loader quotes the text as written
            issues.append(Issue(file, (*base, "phone"), message, quote=quote))
        elif key == "id":
            issues.append(
                Issue(file, (*base, "id"), f"id must be a positive integer, got {_shown(value)}")
            )
        elif key == "custom_fields" and len(loc) > 1:
            message = f"custom field keys must be strings, got {_shown(loc[1])}"
            issues.append(Issue(file, (*base, "custom_fields", loc[1]), message, "key"))
        elif key == "custom_fields":
            message = (
                "custom_fields must be a mapping of custom field keys to values, "
                f"got {_kind(value)}"
            )
            issues.append(Issue(file, (*base, "custom_fields"), message))
        elif key in STANDARD_FIELDS:
            message = f"{key} must be a string, got {_shown(value)}"
            if isinstance(value, int | float | dt.date):
                message += " (put it in quotes)"
            issues.append(Issue(file, (*base, key), message))
        else:  # pragma: no cover - every ContactEntry field is handled above
            issues.append(Issue(file, (*base, *loc), str(error["msg"])))
    return issues, bad


_ENTRIES = TypeAdapter(list[ContactEntry])


#: Contacts validated per pydantic call: few enough that the models built (and
#: dropped) stay small next to the file's data, many enough to amortise the call.
_ENTRY_CHUNK = 2_000


def _entry_errors(entries: list[Any]) -> dict[int, list[Any]]:
    """pydantic's errors for each contact of a file, by index (one call per chunk of the list)."""
    grouped: dict[int, list[Any]] = {}
    for start in range(0, len(entries), _ENTRY_CHUNK):
        try:
            _ENTRIES.validate_python(entries[start : start + _ENTRY_CHUNK])
        except ValidationError as exc:
            for error in exc.errors():
                index, *rest = error["loc"]
                grouped.setdefault(start + int(index), []).append({**error, "loc": tuple(rest)})
    return grouped


@dataclass(frozen=True)
class KnownFile:
    """A contacts file whose meaning is already known (a cache hit): its valid contacts.

    Only a file that passed every check of its own is known this way, so its
    contacts are exactly its list items, in order: the i-th contact is
    ``contacts[i]`` of the file. The checks across files (duplicate phones and
    ids) still run on it with every other file.
    """

    file: str
    contacts: tuple[DesiredContact, ...]


#: One list item of a file after its own checks: path, E.164 phone (None when it
#: did not normalise), id, where it was written, the contact (None when the item
#: had a problem) and the item's own issues, in the order they were found.
_Item = tuple[DocPath, str | None, Any, SourceRef | None, DesiredContact | None, list[Issue]]


def check_contacts(
    config: ProjectConfig,
    docs: Sequence[ContactsDoc],
    known_phones: Mapping[str, str] | None = None,
) -> tuple[tuple[DesiredContact, ...], list[Issue]]:
    """Validate and normalise every contact of every file; duplicates across files too.

    `known_phones`: phones as written -> their E.164, already worked out by
    `normalize_phone` with the project's region (an import's worker processes,
    or the phones a cache has seen).
    """
    contacts, issues, _clean = check_contacts_files(config, docs, known_phones)
    return contacts, issues


def check_contacts_files(
    config: ProjectConfig,
    docs: Sequence[ContactsDoc | KnownFile],
    known_phones: Mapping[str, str] | None = None,
) -> tuple[tuple[DesiredContact, ...], list[Issue], dict[int, tuple[DesiredContact, ...]]]:
    """`check_contacts`, where some files may be `KnownFile`s (their own checks skipped).

    Also returns, by index into `docs`, the contacts of each parsed file that
    passed every check of its own (what a cache may keep as that file's
    meaning; duplicates across files are not a file's own problem).
    """
    issues: list[Issue] = []
    contacts: list[DesiredContact] = []
    clean: dict[int, tuple[DesiredContact, ...]] = {}
    seen_phones: dict[str, SourceRef] = {}
    seen_ids: dict[int, SourceRef] = {}
    for position, doc in enumerate(docs):
        if isinstance(doc, KnownFile) and _add_known(doc, seen_phones, seen_ids):
            contacts.extend(doc.contacts)
            continue
        file_issues, items = _file_items(config, doc, known_phones or {})
        issues.extend(file_issues)
        own_clean = not file_issues
        for base, phone, contact_id, source, contact, item_issues in items:
            if item_issues:
                own_clean = False
                issues.extend(item_issues)
            if phone is not None:
                first = seen_phones.get(phone)
                if first is not None:
                    message = f"duplicate phone {phone}: also declared at {first}"
                    issues.append(Issue(doc.file, (*base, "phone"), message))
                elif source is not None:
                    seen_phones[phone] = source
                else:
                    seen_phones[phone] = SourceRef(doc.file, 0)
            if contact_id is not None:
                first = seen_ids.get(contact_id)
                if first is not None:
                    message = f"duplicate id {contact_id}: also used at {first}"
                    issues.append(Issue(doc.file, (*base, "id"), message))
                else:
                    seen_ids[contact_id] = source or SourceRef(doc.file, 0)
            if contact is not None:
                contacts.append(contact)
            else:
                own_clean = False
        if own_clean and isinstance(doc, ContactsDoc):
            clean[position] = tuple(item[4] for item in items if item[4] is not None)
    return tuple(contacts), issues, clean


def _add_known(
    doc: KnownFile, seen_phones: dict[str, SourceRef], seen_ids: dict[int, SourceRef]
) -> bool:
    """Record a known file's phones and ids at once, if none is a duplicate (else False).

    Each column is taken in one pass in C (no Python frame per contact).
    """
    phones = list(map(_phone_of, doc.contacts))
    sources = list(map(_source_of, doc.contacts))
    all_ids = list(map(_id_of, doc.contacts))
    pinned = len(all_ids) - all_ids.count(None)
    ids = [number for number in all_ids if number is not None] if pinned else []
    if (
        not seen_phones.keys().isdisjoint(phones)
        or len(set(phones)) != len(phones)
        or not seen_ids.keys().isdisjoint(ids)
        or len(set(ids)) != len(ids)
        or any(map(operator.is_, sources, itertools.repeat(None)))
    ):
        return False  # the item by item path reports each duplicate in its place
    seen_phones.update(zip(phones, sources, strict=True))
    if ids:
        pinned_sources = [s for n, s in zip(all_ids, sources, strict=True) if n is not None]
        seen_ids.update(zip(ids, pinned_sources, strict=True))
    return True


_phone_of = operator.attrgetter("phone")
_source_of = operator.attrgetter("source")
_id_of = operator.attrgetter("id")


def _file_items(
    config: ProjectConfig, doc: ContactsDoc | KnownFile, known: Mapping[str, str]
) -> tuple[list[Issue], list[_Item]]:
    """A file's own checks: its file-level issues, then each list item's result."""
    if isinstance(doc, KnownFile):
        return [], [
            (("contacts", index), c.phone, c.id, c.source, c, [])
            for index, c in enumerate(doc.contacts)
        ]
    issues: list[Issue] = []
    entries, defaults_fields, defaults_custom = _check_contacts_file(config, doc, issues)
    marks = doc.item_marks
    checker = _FieldChecker(config, doc.file, [])
    sources: list[SourceRef | None] = [
        SourceRef(doc.file, mark[0], mark[1]) if mark else None
        for mark in itertools.islice(marks, len(entries))
    ]
    sources += [None] * (len(entries) - len(sources))
    # Each item first by the short way, which takes only an item that has no
    # problem at all; every other item (its pydantic errors found in one call)
    # takes the full path, which words each problem.
    plain = _PlainItems(config.default_region, known, checker, defaults_fields, defaults_custom)
    quick = [plain.contact(item, source) for item, source in zip(entries, sources, strict=True)]
    slow = [index for index, contact in enumerate(quick) if contact is None]
    errors = _entry_errors([entries[index] for index in slow])
    errors_by_item = {slow[number]: found for number, found in errors.items()}
    items: list[_Item] = []
    for index, (item, contact) in enumerate(zip(entries, quick, strict=True)):
        base: DocPath = ("contacts", index)
        if contact is not None:
            items.append((base, contact.phone, contact.id, sources[index], contact, []))
            continue
        mark = marks[index] if index < len(marks) else None
        full = _FullItem(doc.file, config.default_region, known, checker)
        items.append(
            full.check(
                item,
                base,
                mark,
                sources[index],
                errors_by_item.get(index),
                defaults_fields,
                defaults_custom,
            )
        )
    return issues, items


_CONTACT_KEY_SET = frozenset(CONTACT_KEYS)
_ABSENT: Any = object()


@dataclass
class _PlainItems:
    """The short way through a contact's own checks, for an item with no problem at all.

    `contact` gives exactly the contact the full path (`_FullItem`) gives, or
    None whenever the item is not certainly clean (a type pydantic refuses, a
    phone not known or not in plain E.164, a text or custom value with a
    problem): the full path then checks it and words each problem. So it
    skips pydantic's shape check (the types it tests are tested here) and
    the generic phone parse, not any check.
    """

    region: str
    known: Mapping[str, str]
    checker: _FieldChecker
    defaults_fields: dict[str, str | None]
    defaults_custom: dict[str, CustomValue | None]

    def contact(self, item: Any, source: SourceRef | None) -> DesiredContact | None:
        if type(item) is not dict or not _CONTACT_KEY_SET.issuperset(item):
            return None
        written = item.get("phone")
        contact_id = item.get("id")
        if type(written) is not str or (
            contact_id is not None and (type(contact_id) is not int or contact_id <= 0)
        ):
            return None
        phone = self.known.get(written) or plain_e164(written, self.region)
        fields = _plain_fields(item)
        if phone is None or fields is None:
            return None
        values = item.get("custom_fields", _ABSENT)
        custom: dict[str, CustomValue | None] = {}
        if values is not _ABSENT:
            if type(values) is not dict:
                return None
            issues: list[Issue] = []
            self.checker.issues = issues
            custom = self.checker.custom(values, ("contacts",))
            if issues:
                return None
        if self.defaults_fields:
            fields = {**self.defaults_fields, **fields}
        if self.defaults_custom:
            custom = {**self.defaults_custom, **custom}
        return DesiredContact(phone, fields, custom, contact_id, source)


def _plain_fields(item: dict[str, Any]) -> dict[str, str | None] | None:
    """The standard fields normalised as `_FieldChecker.fields` does; None at any problem."""
    fields: dict[str, str | None] = {}
    for name in STANDARD_FIELDS:
        value = item.get(name, _ABSENT)
        if value is _ABSENT:
            continue
        if value is None:
            fields[name] = None
            continue
        if type(value) is not str:
            return None
        text: str | None = value.strip() or None
        if text is not None:
            if name == "email":
                text = text.lower()
            if not text.isprintable() or len(text) > MAX_TEXT_LENGTH:
                return None
            if name == "email":
                try:
                    check_email(text)
                except ValueError:
                    return None
        fields[name] = text
    return fields


@dataclass
class _FullItem:
    """Every check of one list item, each problem worded (after pydantic's shape check)."""

    file: str
    region: str
    known: Mapping[str, str]
    checker: _FieldChecker

    def check(
        self,
        item: Any,
        base: DocPath,
        mark: tuple[int, int] | None,
        source: SourceRef | None,
        errors: list[Any] | None,
        defaults_fields: dict[str, str | None],
        defaults_custom: dict[str, CustomValue | None],
    ) -> _Item:
        item_issues: list[Issue] = []
        self.checker.issues = item_issues
        if type(item) is not dict and not isinstance(item, Mapping):
            message = (
                f"each contact must be a mapping (phone: ..., first_name: ...), not {_kind(item)}"
            )
            item_issues.append(Issue(self.file, base, message, "item", mark))
            return (base, None, None, source, None, item_issues)
        bad: set[Any] = set()
        if errors:
            found, bad = _entry_issues(errors, self.file, base, mark)
            item_issues.extend(found)
        phone = self.phone(item, base, bad, item_issues)
        fields, custom = self.checker.fields(item, base, bad)
        contact_id = item.get("id") if "id" not in bad else None
        contact: DesiredContact | None = None
        if phone is not None and not bad:
            if defaults_fields:
                fields = {**defaults_fields, **fields}
            if defaults_custom:
                custom = {**defaults_custom, **custom}
            contact = DesiredContact(
                phone=phone, fields=fields, custom_fields=custom, id=contact_id, source=source
            )
        return (base, phone, contact_id, source, contact, item_issues)

    def phone(
        self, item: Mapping[str, Any], base: DocPath, bad: set[Any], item_issues: list[Issue]
    ) -> str | None:
        if "phone" in bad:
            return None
        written = item["phone"]
        region = self.region
        try:
            # Known to the cache, or plain E.164 (what normalize_phone checks first).
            return (
                (self.known.get(written) or plain_e164(written, region))
                if isinstance(written, str)
                else None
            ) or normalize_phone(written, region)
        except ValueError:
            item_issues.append(Issue(self.file, (*base, "phone"), phone_problem(written, region)))
            return None


def _check_contacts_file(
    config: ProjectConfig, doc: ContactsDoc, issues: list[Issue]
) -> tuple[list[Any], dict[str, str | None], dict[str, CustomValue | None]]:
    """File-level checks; returns the entries to check and the normalised defaults."""
    data = doc.data
    file = doc.file
    if data is None:
        issues.append(
            Issue(file, (), "the contacts file is empty (expected: version: 1 and contacts:)")
        )
        return [], {}, {}
    if not isinstance(data, Mapping):
        issues.append(
            Issue(
                file,
                (),
                "a contacts file must be a mapping (version, defaults, contacts), "
                f"not {_kind(data)}",
            )
        )
        return [], {}, {}
    if "version" not in data:
        message = f"missing required field 'version' (write: version: {SUPPORTED_VERSIONS[-1]})"
        issues.append(Issue(file, (), message))
        return [], {}, {}
    if data["version"] not in SUPPORTED_VERSIONS or isinstance(data["version"], bool):
        issues.append(Issue(file, ("version",), version_message(data["version"])))
        return [], {}, {}
    for key in data:
        if key not in CONTACTS_FILE_KEYS:
            message = unknown_field_message(key, CONTACTS_FILE_KEYS)
            if key in CONTACT_KEYS:
                message = (
                    f"unknown field '{key}' at the top level "
                    "(contacts go in a list under contacts:)"
                )
            issues.append(Issue(file, (key,), message, "key"))
    defaults_fields: dict[str, str | None] = {}
    defaults_custom: dict[str, CustomValue | None] = {}
    defaults = data.get("defaults")
    if defaults is not None and not isinstance(defaults, Mapping):
        issues.append(
            Issue(file, ("defaults",), f"defaults must be a mapping, not {_kind(defaults)}")
        )
    elif defaults:
        bad: set[Any] = set()
        try:
            ContactDefaults.model_validate(defaults)
        except ValidationError as exc:
            found, bad = _entry_issues(exc.errors(), file, ("defaults",), None)
            issues.extend(found)
        checker = _FieldChecker(config, file, issues)
        defaults_fields, defaults_custom = checker.fields(defaults, ("defaults",), bad)
    entries = data.get("contacts")
    if entries is None:
        if "contacts" not in data:
            issues.append(
                Issue(
                    file,
                    (),
                    "missing required field 'contacts' (a list; write contacts: [] for none)",
                )
            )
        return [], defaults_fields, defaults_custom
    if not isinstance(entries, list):
        issues.append(Issue(file, ("contacts",), f"contacts must be a list, not {_kind(entries)}"))
        return [], defaults_fields, defaults_custom
    return entries, defaults_fields, defaults_custom


def build_desired_state(config: ProjectConfig, contacts: Sequence[DesiredContact]) -> DesiredState:
    safety = config.safety.model_copy(update={"protected": protected_phones(config)})
    return DesiredState(
        contacts=tuple(contacts),
        custom_field_defs=custom_field_defs(config),
        ownership=config.ownership,
        safety=safety,
        default_region=config.default_region,
    )

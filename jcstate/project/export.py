"""Export: remote contacts -> contacts files in the canonical `fmt` form.

The core (`build_export`, `infer_type`, `slugify`) is pure: it decides which
contacts go to which file, with which values, and which custom-field
definitions `jcstate.yaml` must gain. `write_export` is the shell: it renders
everything in memory first, refuses to overwrite without `force`, then
writes each file atomically, so an export is never half-written.

Only values that validate are written (an invalid remote e-mail or a value
that does not fit its declared type is left out, with a warning): an omitted
field is unmanaged, so `jcstate plan` right after an export shows no change.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from jcstate.core.drift import is_marked
from jcstate.core.limits import key_problem
from jcstate.core.model import (
    CONTACT_KEYS,
    STANDARD_FIELDS,
    CustomFieldDef,
    CustomFieldType,
    Ownership,
    RemoteContact,
)
from jcstate.core.normalize import (
    check_email,
    normalize_custom_value,
    normalize_field,
    normalize_phone,
)
from jcstate.errors import ConfigError, Diagnostic, RefuseOverwriteError
from jcstate.project.files import write_files
from jcstate.project.yamlio import (
    YamlProblem,
    dump_roundtrip_str,
    load_roundtrip,
    ordered_keys,
    render_contacts_file,
    roundtrip_yaml,
    sorted_custom_keys,
)

SplitBy = Literal["none", "company"]
DEFAULT_FILE_NAME = "exported.yaml"
NO_COMPANY_SLUG = "no-company"

_INTEGER_RE = re.compile(r"^-?(0|[1-9][0-9]*)$")
_NUMBER_RE = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$")
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_BOOL_TEXT = {"true", "false"}


@dataclass(frozen=True)
class ExportFile:
    """One contacts file to write: `name` relative to the output directory."""

    name: str
    entries: tuple[dict[str, Any], ...]
    defaults: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExportPlan:
    files: tuple[ExportFile, ...]
    #: remote custom keys that jcstate.yaml does not declare yet, with their inferred type
    new_definitions: dict[str, CustomFieldType]
    warnings: tuple[str, ...]

    @property
    def contacts(self) -> int:
        return sum(len(f.entries) for f in self.files)


# ---------------------------------------------------------------------------
# Pure core
# ---------------------------------------------------------------------------


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, str) and bool(_INTEGER_RE.match(value.strip()))


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    return isinstance(value, str) and bool(_NUMBER_RE.match(value.strip()))


def _is_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    return isinstance(value, str) and value.strip().lower() in _BOOL_TEXT


def _is_date(value: Any) -> bool:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return True
    if not isinstance(value, str) or not _DATE_RE.match(value.strip()):
        return False
    try:
        dt.date.fromisoformat(value.strip())
    except ValueError:
        return False
    return True


def infer_type(values: Iterable[Any]) -> CustomFieldType:
    """The custom-field type the remote values show: `string` unless all agree on another.

    Deliberately strict, so nothing is lost: "00123" (a zip code) stays a
    string, and only `true`/`false` make a boolean.
    """
    present = [value for value in values if not _is_empty(value)]
    if not present:
        return "string"
    for kind, check in (
        ("boolean", _is_boolean),
        ("integer", _is_integer),
        ("number", _is_number),
        ("date", _is_date),
    ):
        if all(check(value) for value in present):
            return kind  # type: ignore[return-value]
    return "string"


def slugify(text: str | None) -> str:
    """A file-name-safe slug: "Acme Corp, Inc." -> "acme-corp-inc"."""
    if text is None:
        return NO_COMPANY_SLUG
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:80].rstrip("-") or NO_COMPANY_SLUG


def build_export(
    contacts: Sequence[RemoteContact],
    *,
    defs: Mapping[str, CustomFieldDef],
    ownership: Ownership | None = None,
    split_by: SplitBy = "none",
    file_name: str = DEFAULT_FILE_NAME,
    skip_phones: frozenset[str] = frozenset(),
    add_definitions: bool = True,
    region: str = "US",
    pins: bool = False,
) -> ExportPlan:
    """Decide the files, entries and new custom-field definitions of an export.

    With `ownership`, only marked contacts are exported, and the marker is not
    written (jcstate adds it itself). Remote duplicates export their lowest id.
    Phones in `skip_phones` (already declared elsewhere) are left out. Without
    `add_definitions`, remote custom keys that `defs` does not declare are left out.
    With `pins`, each entry gets its contact's `id:` (a phone edited later is then an
    update of the same contact).
    """
    warnings: list[str] = []
    chosen = _choose(contacts, ownership, skip_phones, region, warnings)
    marker = ownership.field if ownership is not None else None
    new_definitions = (
        _new_definitions(chosen.values(), defs, marker, warnings) if add_definitions else {}
    )
    all_defs: dict[str, CustomFieldDef] = dict(defs)
    all_defs.update({key: CustomFieldDef(type=kind) for key, kind in new_definitions.items()})

    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    companies: dict[str, set[str | None]] = defaultdict(set)
    for phone in sorted(chosen):
        contact = chosen[phone]
        entry = remote_entry(phone, contact, all_defs, marker, warnings)
        if pins:
            entry = {"id": contact.id, **entry}
        if split_by == "company":
            company = entry.get("company")
            name = f"{slugify(company)}.yaml"
            companies[name].add(company)
        else:
            name = file_name
        groups[name].append(entry)

    if not groups and split_by == "none":
        groups[file_name] = []
    files = [
        _export_file(name, groups[name], companies.get(name, set()), split_by)
        for name in sorted(groups)
    ]
    return ExportPlan(files=tuple(files), new_definitions=new_definitions, warnings=tuple(warnings))


def _choose(
    contacts: Sequence[RemoteContact],
    ownership: Ownership | None,
    skip_phones: frozenset[str],
    region: str,
    warnings: list[str],
) -> dict[str, RemoteContact]:
    """The contact exported for each phone: marked, not skipped, the lowest id of duplicates."""
    chosen: dict[str, RemoteContact] = {}
    for contact in contacts:
        if not is_marked(contact, ownership):
            continue
        try:
            # Positional, like the client's call: the parse is cached per argument tuple.
            phone = normalize_phone(contact.phone, region)
        except ValueError as exc:
            warnings.append(f"contact id {contact.id} skipped: {exc}")
            continue
        if phone in skip_phones:
            continue
        current = chosen.get(phone)
        if current is not None:
            keep, drop = (current, contact) if current.id < contact.id else (contact, current)
            warnings.append(
                f"{phone}: remote duplicate id {drop.id} skipped (id {keep.id} is exported)"
            )
            chosen[phone] = keep
        else:
            chosen[phone] = contact
    return chosen


def _new_definitions(
    chosen: Iterable[RemoteContact],
    defs: Mapping[str, CustomFieldDef],
    marker: str | None,
    warnings: list[str],
) -> dict[str, CustomFieldType]:
    """The remote custom keys `defs` does not declare, with their inferred types."""
    remote_values: dict[str, list[Any]] = defaultdict(list)
    refused_keys: dict[str, str] = {}
    for contact in chosen:
        for key, value in contact.custom_fields.items():
            if key == marker or key in defs or key in refused_keys:
                continue
            problem = key_problem(key)
            if problem is not None:
                # validate refuses such a name: never write it into jcstate.yaml
                refused_keys[key] = problem
                continue
            remote_values[key].append(value)
    warnings.extend(
        f"custom field {key!r} left out: its name {problem}"
        for key, problem in sorted(refused_keys.items())
    )
    return {key: infer_type(values) for key, values in sorted(remote_values.items())}


def _export_file(
    name: str, entries: list[dict[str, Any]], company_set: set[str | None], split_by: SplitBy
) -> ExportFile:
    """One file; a file of one company (split by company) states it once, as a default."""
    defaults: dict[str, Any] = {}
    if split_by == "company" and len(company_set) == 1:
        (company,) = company_set
        if company is not None and len(entries) > 1:
            defaults = {"company": company}
            entries = [{k: v for k, v in e.items() if k != "company"} for e in entries]
    return ExportFile(name=name, entries=tuple(entries), defaults=defaults)


def remote_entry(
    phone: str,
    contact: RemoteContact,
    defs: Mapping[str, CustomFieldDef],
    marker: str | None,
    warnings: list[str],
) -> dict[str, Any]:
    """A contacts-file entry holding the remote contact's values that validate.

    Custom keys that `defs` does not declare, and the ownership `marker`, are left out.
    """
    entry: dict[str, Any] = {"phone": phone}
    for name in STANDARD_FIELDS:
        value = normalize_field(name, contact.fields.get(name))
        if value is None:
            continue
        if name == "email":
            try:
                check_email(value)
            except ValueError as exc:
                warnings.append(f"{phone}: email left out: {exc}")
                continue
        entry[name] = value
    custom: dict[str, Any] = {}
    for key in sorted(contact.custom_fields):
        if key == marker or key not in defs:
            continue
        raw = contact.custom_fields[key]
        if _is_empty(raw):
            continue
        try:
            typed = normalize_custom_value(raw, defs[key])
        except ValueError as exc:
            warnings.append(f"{phone}: custom field {key!r} left out: {exc}")
            continue
        if typed is None:
            continue
        # A date is written as a YAML date (unquoted), as a user would type it.
        custom[key] = dt.date.fromisoformat(str(typed)) if defs[key].type == "date" else typed
    if custom:
        entry["custom_fields"] = custom
    return entry


def contacts_dir_of(globs: Sequence[str]) -> str:
    """The directory part of the first contacts glob before any wildcard ("contacts")."""
    for pattern in globs:
        parts = Path(pattern).parts
        fixed: list[str] = []
        for part in parts[:-1]:
            if any(ch in part for ch in "*?["):
                break
            fixed.append(part)
        return str(Path(*fixed)) if fixed else "."
    return "contacts"


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """`Path.glob` semantics: `*` and `?` stay within one directory, `**/` spans any depth."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
        elif pattern.startswith("**", index):
            out.append(".*")
            index += 2
        elif pattern[index] == "*":
            out.append("[^/]*")
            index += 1
        elif pattern[index] == "?":
            out.append("[^/]")
            index += 1
        else:
            out.append(re.escape(pattern[index]))
            index += 1
    return re.compile("".join(out) + r"\Z")


def matches_globs(relative_path: str, globs: Sequence[str]) -> bool:
    """True when a path relative to the project root matches one of `globs`."""
    path = Path(relative_path).as_posix().removeprefix("./")
    return any(_glob_regex(pattern.removeprefix("./")).match(path) for pattern in globs)


# ---------------------------------------------------------------------------
# Rendering: the canonical `fmt` text, fast
# ---------------------------------------------------------------------------


class _ScalarCheck:
    """Whether a string is written plain by the canonical dumper (ruamel's own analysis)."""

    def __init__(self) -> None:
        yaml = roundtrip_yaml(preserve_quotes=False)
        # The emitter and resolver exist once the dumper has been used.
        yaml.dump({"a": 1}, io.StringIO())
        self._emitter = yaml.emitter
        self._resolver = yaml.resolver
        self._plain: dict[str, bool] = {}

    def plain(self, text: str) -> bool:
        known = self._plain.get(text)
        if known is None and _SIMPLE_TEXT.fullmatch(text) and len(text) < _LONG_TEXT:
            # Letters, digits, `_.@+-` and single inner spaces: the emitter's analysis
            # always allows these plain (its character loop is the slow part of a render
            # of unique values such as e-mail addresses); only the resolver can object.
            known = self._resolver.resolve(ScalarNode, text, (True, False)) == _STR_TAG
            self._plain[text] = known
        if known is None:
            analysis = self._emitter.analyze_scalar(text)
            known = (
                len(text) < _LONG_TEXT
                and analysis.allow_block_plain
                and not analysis.empty
                and not analysis.multiline
                and self._resolver.resolve(ScalarNode, text, (True, False)) == _STR_TAG
            )
            self._plain[text] = known
        return known


_STR_TAG = "tag:yaml.org,2002:str"
#: longer strings may be folded by the dumper: left to ruamel
_LONG_TEXT = 1000
_SAFE_PHONE = re.compile(r"[+0-9A-Za-z() .-]*")
_SIMPLE_TEXT = re.compile(r"[A-Za-z](?:[A-Za-z0-9_.@+-]| (?=[A-Za-z0-9]))*")


def _scalar_text(value: Any, check: _ScalarCheck) -> str | None:
    """`value` as the canonical dumper writes it, or None when only ruamel can tell."""
    if type(value) is str:
        return value if check.plain(value) else None
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, str) and check.plain(value):
        return value
    return None


class _Layouts:
    """Per tuple of keys (an entry's, or its custom fields'): the canonical order.

    A large file has a handful of layouts, so ordering and checking the keys
    is done once per layout, not once per contact. None: a key only ruamel
    can write (not a string, or one that needs quotes).
    """

    def __init__(self, check: _ScalarCheck) -> None:
        self._check = check
        self._entry: dict[tuple[Any, ...], tuple[str, ...] | None] = {}
        self._custom: dict[tuple[Any, ...], tuple[str, ...] | None] = {}

    def _writable(self, keys: list[Any]) -> tuple[str, ...] | None:
        if all(isinstance(key, str) and self._check.plain(key) for key in keys):
            return tuple(keys)
        return None

    def entry(self, keys: tuple[Any, ...]) -> tuple[str, ...] | None:
        try:
            return self._entry[keys]
        except KeyError:
            order = self._entry[keys] = self._writable(ordered_keys(keys, CONTACT_KEYS))
            return order

    def custom(self, keys: tuple[Any, ...]) -> tuple[str, ...] | None:
        try:
            return self._custom[keys]
        except KeyError:
            order = self._custom[keys] = self._writable(sorted_custom_keys(keys))
            return order


def _entry_lines(
    entry: Mapping[str, Any], layouts: _Layouts, check: _ScalarCheck
) -> list[str] | None:
    order = layouts.entry(tuple(entry))
    if order is None:
        return None
    lines: list[str] = []
    prefix = "  - "
    for key in order:
        value = entry[key]
        if key == "phone":
            if not isinstance(value, str) or not _SAFE_PHONE.fullmatch(value):
                return None
            lines.append(f'{prefix}phone: "{value}"')
        elif key == "custom_fields" and isinstance(value, Mapping):
            custom_order = layouts.custom(tuple(value)) if value else None
            if custom_order is None:
                return None
            lines.append(f"{prefix}custom_fields:")
            for custom_key in custom_order:
                text = _scalar_text(value[custom_key], check)
                if text is None:
                    return None
                lines.append(f"      {custom_key}: {text}")
        else:
            text = _scalar_text(value, check)
            if text is None:
                return None
            lines.append(f"{prefix}{key}: {text}")
        prefix = "    "
    return lines


def render_contacts_text(
    entries: Sequence[Mapping[str, Any]],
    defaults: Mapping[str, Any] | None = None,
    *,
    schema_url: str | None = None,
) -> str:
    """Exactly `yamlio.render_contacts_file`, about 50x faster for large exports.

    Entries whose values are all simple (plain strings, integers, booleans,
    dates, null) are written directly, using ruamel's own scalar analysis to
    decide that a string needs no quotes; any other entry is rendered by
    `render_contacts_file` itself. A property test holds the two equal.
    """
    head = render_contacts_file([], defaults, schema_url=schema_url)
    if not entries:
        return head
    assert head.endswith("contacts: []\n")
    parts = [head.removesuffix(" []\n"), "\n"]
    check = _ScalarCheck()
    layouts = _Layouts(check)
    for entry in entries:
        lines = _entry_lines(entry, layouts, check)
        if lines is None:
            alone = render_contacts_file([entry])
            parts.append(alone.split("contacts:\n", 1)[1])
        else:
            parts.append("\n".join(lines))
            parts.append("\n")
    return "".join(parts)


#: jcstate.yaml's top-level keys in the order `init` writes them
_PROJECT_KEYS = (
    "version",
    "api",
    "default_region",
    "contacts",
    "custom_fields",
    "ownership",
    "safety",
)


def load_for_edit(path: Path, root: Path) -> Any:
    """A file in round-trip mode; a YAML problem becomes a `file:line:col` ConfigError."""
    try:
        return load_roundtrip(path)
    except YamlProblem as exc:
        where = _relative_posix(path, root)
        raise ConfigError([Diagnostic(where, exc.line, exc.col, exc.message)]) from None


def edit_project_file(
    config_path: Path,
    root: Path,
    *,
    files: Iterable[Path] = (),
    new_definitions: Mapping[str, CustomFieldType] | None = None,
    drop_globs: Iterable[str] = (),
) -> str | None:
    """The new text of jcstate.yaml, or None when it needs no change.

    Adds a contacts glob for any of `files` that no glob matches yet (the
    directory's `*.yaml`), and the `new_definitions` to `custom_fields`;
    removes the `drop_globs` (globs that would match no file: an error).
    Round-trip mode: the user's comments and layout stay.
    """
    data = load_for_edit(config_path, root)
    if not isinstance(data, CommentedMap):
        raise ConfigError([Diagnostic(str(config_path), 1, 1, "jcstate.yaml is not a mapping")])
    changed = False
    globs = data.get("contacts")
    if globs is None:
        globs = CommentedSeq(["contacts/*.yaml"])
        globs.fa.set_flow_style()
        _insert_top(data, "contacts", globs)
    if not isinstance(globs, list):
        raise ConfigError([Diagnostic(str(config_path), 1, 1, "`contacts` is not a list")])
    for path in files:
        relative = _relative_posix(path, root)
        if not matches_globs(relative, [str(g) for g in globs]):
            parent = Path(relative).parent.as_posix()
            pattern = "*.yaml" if parent == "." else f"{parent}/*.yaml"
            globs.append(DoubleQuotedScalarString(pattern))
            changed = True
    dropped = set(drop_globs)
    for index in reversed(range(len(globs))):
        if str(globs[index]) in dropped and len(globs) > 1:
            del globs[index]
            changed = True
    if new_definitions:
        defs = data.get("custom_fields")
        if not isinstance(defs, CommentedMap):
            defs = CommentedMap()
            if "custom_fields" in data:
                data["custom_fields"] = defs
            else:
                _insert_top(data, "custom_fields", defs)
        for key, kind in new_definitions.items():
            if key in defs:
                continue
            definition = CommentedMap({"type": kind})
            definition.fa.set_flow_style()
            defs[key] = definition
            changed = True
    return dump_roundtrip_str(data) if changed else None


def _insert_top(data: CommentedMap, key: str, value: Any) -> None:
    rank = {name: index for index, name in enumerate(_PROJECT_KEYS)}
    for index, existing in enumerate(data):
        if rank.get(existing, len(rank)) > rank[key]:
            data.insert(index, key, value)
            return
    data[key] = value


def _relative_posix(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return Path(os.path.relpath(path.resolve(), root.resolve())).as_posix()


def ensure_globs(config_path: Path, root: Path, files: Iterable[Path]) -> str | None:
    """jcstate.yaml's new text when a glob must be added so that `files` are read."""
    return edit_project_file(config_path, root, files=files)


# ---------------------------------------------------------------------------
# Shell: writing files without half-applying
# ---------------------------------------------------------------------------


def check_overwrite(paths: Iterable[Path], *, force: bool, root: Path) -> None:
    existing = [p for p in paths if p.exists()]
    if existing and not force:
        names = ", ".join(_display(p, root) for p in existing)
        raise RefuseOverwriteError(
            f"refusing to overwrite {names} (pass --force to replace "
            f"{'it' if len(existing) == 1 else 'them'})"
        )


def write_atomically(files: Mapping[Path, str], root: Path) -> None:
    """Write every file of the project at `root`, each whole or untouched (`files.write_files`).

    A file that exists keeps its mode; a new one holds contacts, so it is 0600.
    """
    write_files(files, root=root, keep_mode=True)


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)

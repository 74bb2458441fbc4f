"""Adopt remote edits into the YAML files, in place (`jcstate drift --adopt`).

The files are re-read in ruamel.yaml round-trip mode, each changed contact's
entry is found by its `id` pin or its normalised phone, and only the changed
values are set: comments, key order, quoting and every untouched line stay as
they were. A value the contact inherited from `defaults` is written on the
contact itself (changing `defaults` would change its siblings too). New keys
go where `jcstate fmt` would put them.

`adopt_unmanaged` appends the unmanaged remote contacts to one file (created
in the canonical form if missing) and makes sure the project's contacts globs
match it.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, ScalarString

from jcstate.core.drift import ChangedContact, DriftReport, FieldDrift
from jcstate.core.model import CONTACT_KEYS, CustomFieldDef, Project
from jcstate.core.normalize import try_normalize_phone
from jcstate.errors import Diagnostic, JcstateError
from jcstate.project.export import build_export, ensure_globs, load_for_edit, write_atomically
from jcstate.project.remove import remove_entries
from jcstate.project.sources.owners import MARKER, generated_by
from jcstate.project.yamlio import (
    YamlProblem,
    canonical_entry,
    dump_roundtrip_str,
    load_roundtrip_bytes,
    parse_fast,
    read_limited,
    render_contacts_file,
    split_contacts,
)


@dataclass
class AdoptResult:
    #: files written, relative to the project root
    files: list[str] = field(default_factory=list)
    contacts: int = 0
    fields: int = 0
    unmanaged_added: int = 0
    #: entries removed because their contact was deleted in JustCall (--adopt-deletes)
    deleted: int = 0
    #: what was not adopted, and why (one line each)
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FieldWrite:
    """One value to set on a contact entry: `key` is a contact key, `custom_key` inside it."""

    key: str
    value: Any
    custom_key: str | None = None


def planned_writes(
    item: ChangedContact, defs: Mapping[str, CustomFieldDef]
) -> tuple[list[FieldWrite], list[str]]:
    """The values adopting `item` writes, and why any of its fields cannot be adopted. Pure."""
    writes: list[FieldWrite] = []
    skipped: list[str] = []
    for drift in item.fields:
        if not drift.adoptable:
            skipped.append(f"{item.phone}: {drift.field} not adopted: {drift.note}")
            continue
        writes.append(_write_for(drift, defs))
    return writes, skipped


def _write_for(drift: FieldDrift, defs: Mapping[str, CustomFieldDef]) -> FieldWrite:
    key = drift.custom_key
    if key is None:
        if drift.field == "phone":
            return FieldWrite("phone", DoubleQuotedScalarString(str(drift.remote)))
        return FieldWrite(drift.field, drift.remote)
    value = drift.remote
    definition = defs.get(key)
    if definition is not None and definition.type == "date" and isinstance(value, str):
        # Written as a YAML date (unquoted), as a user types it.
        value = dt.date.fromisoformat(value)
    return FieldWrite("custom_fields", value, custom_key=key)


# ---------------------------------------------------------------------------
# Editing round-trip mappings
# ---------------------------------------------------------------------------


def _styled(old: Any, new: Any) -> Any:
    """`new` in the quoting style `old` was written in (a quoted string stays quoted)."""
    if isinstance(old, ScalarString) and isinstance(new, str) and not isinstance(new, ScalarString):
        return type(old)(new)
    return new


def set_key(mapping: MutableMapping[Any, Any], key: str, value: Any, order: Sequence[str]) -> None:
    """Set `key`, keeping its place (and quoting) if present, else inserting it in `order`."""
    if key in mapping:
        mapping[key] = _styled(mapping[key], value)
        return
    rank = {name: index for index, name in enumerate(order)}
    position = len(mapping)
    if key in rank:
        for index, existing in enumerate(mapping):
            if rank.get(existing, len(order)) > rank[key]:
                position = index
                break
    else:
        keys = list(mapping)
        if keys == sorted(keys, key=str):
            position = sum(1 for existing in keys if str(existing) < key)
    if isinstance(mapping, CommentedMap) and position < len(mapping):
        mapping.insert(position, key, value)
    else:
        mapping[key] = value


def apply_write(entry: CommentedMap, write: FieldWrite) -> None:
    if write.custom_key is None:
        set_key(entry, write.key, write.value, CONTACT_KEYS)
        return
    custom = entry.get("custom_fields")
    if not isinstance(custom, MutableMapping):
        custom = CommentedMap()
        if "custom_fields" in entry:
            entry["custom_fields"] = custom
        else:
            set_key(entry, "custom_fields", custom, CONTACT_KEYS)
    set_key(custom, write.custom_key, write.value, ())


# ---------------------------------------------------------------------------
# Finding the entries
# ---------------------------------------------------------------------------


@dataclass
class _LoadedFile:
    path: Path
    data: Any
    changed: bool = False
    #: the source that generated this file (`jcstate import`), or None: hand-written
    generated_by: str | None = None


def generated_note(phone: str, source: str) -> str:
    """Why a contact of a generated file is never adopted into it."""
    return f"{phone} is generated by source {source}: change it in the source"


def _generated_by(path: Path) -> str | None:
    with path.open("rb") as handle:
        head = handle.read(len(MARKER) + 256)
    return generated_by(head)


class _EntryIndex:
    """The contact entries of the project's files, by normalised phone and by id pin."""

    def __init__(self, project: Project) -> None:
        self._project = project
        self._region = project.config.default_region
        self.files: dict[Path, _LoadedFile] = {}
        self._by_phone: dict[str, tuple[_LoadedFile, CommentedMap]] = {}
        self._by_id: dict[int, tuple[_LoadedFile, CommentedMap]] = {}
        self._indexed: set[Path] = set()

    def _load(self, path: Path) -> None:
        if path in self._indexed:
            return
        self._indexed.add(path)
        data = load_for_edit(path, self._project.root)
        loaded = _LoadedFile(path, data, generated_by=_generated_by(path))
        self.files[path] = loaded
        entries = data.get("contacts") if isinstance(data, Mapping) else None
        for entry in entries or ():
            if not isinstance(entry, CommentedMap):
                continue
            if entry.get("phone") is not None:
                phone = try_normalize_phone(str(entry["phone"]), self._region)
                self._by_phone.setdefault(phone, (loaded, entry))
            pin = entry.get("id")
            if isinstance(pin, int) and not isinstance(pin, bool):
                self._by_id.setdefault(pin, (loaded, entry))

    def find(self, item: ChangedContact) -> tuple[_LoadedFile, CommentedMap] | None:
        candidates: list[Path] = []
        if item.source is not None:
            # Source files are named relative to the current directory (as printed).
            hinted = Path(os.path.abspath(item.source.file)).resolve()
            candidates = [p for p in self._project.contact_files if p.resolve() == hinted]
        for paths in (candidates, list(self._project.contact_files)):
            for path in paths:
                self._load(path)
            found = self._lookup(item)
            if found is not None:
                return found
        return None

    def _lookup(self, item: ChangedContact) -> tuple[_LoadedFile, CommentedMap] | None:
        if item.declared_id is not None and item.declared_id in self._by_id:
            return self._by_id[item.declared_id]
        return self._by_phone.get(item.phone)


#: The document one contact's lines are edited in, alone.
_ALONE = "contacts:\n"


class _ContactLines:
    """Contacts edited on their own lines, the rest of their file kept as bytes.

    In a file of the shape `fmt` writes (`yamlio.split_contacts`), a contact's
    lines run from its ``  - `` to the next one, so adopting a value into it
    needs the round trip of those lines only, not of the whole file (which
    costs seconds per thousand contacts). The contact is found at the line
    the project load recorded for it, and must have its phone (or id pin).
    """

    def __init__(self, project: Project) -> None:
        self._project = project
        self._region = project.config.default_region
        self._files: dict[Path, tuple[list[str], dict[int, int]] | None] = {}
        self.loaded: dict[tuple[Path, int], _LoadedFile] = {}

    def _split(self, path: Path) -> tuple[list[str], dict[int, int]] | None:
        if path not in self._files:
            try:
                split = split_contacts(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                split = None
            if split is None:
                self._files[path] = None
            else:
                lines, _begin, starts = split
                ends = [*starts[1:], len(lines)]
                self._files[path] = (lines, dict(zip(starts, ends, strict=True)))
        return self._files[path]

    def find(self, item: ChangedContact) -> tuple[_LoadedFile, CommentedMap] | None:
        path = _source_path(self._project, item)
        if path is None or item.source is None:
            return None
        split = self._split(path)
        start = item.source.line - 1
        if split is None or start not in split[1]:
            return None
        key = (path, start)
        loaded = self.loaded.get(key)
        if loaded is None:
            lines, ends = split
            body = lines[start : ends[start]]
            while body and not body[-1].strip():
                body.pop()
            try:
                data = load_roundtrip_bytes((_ALONE + "\n".join(body) + "\n").encode("utf-8"))
            except YamlProblem:
                return None
            entries = data.get("contacts") if isinstance(data, CommentedMap) else None
            if not isinstance(entries, CommentedSeq) or len(entries) != 1:
                return None
            loaded = self.loaded[key] = _LoadedFile(path, data)
        entry = loaded.data["contacts"][0]
        if not isinstance(entry, CommentedMap):
            return None
        if item.declared_id is not None:
            matches = entry.get("id") == item.declared_id
        else:
            written = entry.get("phone")
            matches = written is not None and (
                try_normalize_phone(str(written), self._region) == item.phone
            )
        return (loaded, entry) if matches else None

    def texts(self, paths: Iterable[Path]) -> dict[Path, str]:
        """The new text of each of `paths`: its edited contacts' lines replaced."""
        out: dict[Path, str] = {}
        for path in paths:
            split = self._files.get(path)
            assert split is not None
            lines, ends = split
            replaced: dict[int, list[str]] = {}
            for (where, start), loaded in self.loaded.items():
                if where != path or not loaded.changed:
                    continue
                old = lines[start : ends[start]]
                blanks: list[str] = []
                while old and not old[-1].strip():
                    blanks.append(old.pop())
                text = dump_roundtrip_str(loaded.data)
                assert text.startswith(_ALONE)
                replaced[start] = text[len(_ALONE) :].rstrip("\n").split("\n") + blanks
            new: list[str] = []
            index = 0
            while index < len(lines):
                if index in replaced:
                    new.extend(replaced[index])
                    index = ends[index]
                else:
                    new.append(lines[index])
                    index += 1
            out[path] = "\n".join(new) + "\n"
        return out


def _source_path(project: Project, item: ChangedContact) -> Path | None:
    """The contacts file the load read `item` from (its source is named as printed)."""
    if item.source is None:
        return None
    hinted = Path(os.path.abspath(item.source.file)).resolve()
    for path in project.contact_files:
        if path.resolve() == hinted:
            return path
    return None


# ---------------------------------------------------------------------------
# The two commands' work
# ---------------------------------------------------------------------------


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def adopt_changed(project: Project, report: DriftReport) -> AdoptResult:
    """Write the remote values of changed managed fields into the YAML files, in place."""
    result = AdoptResult()
    defs = project.config.custom_fields
    index = _EntryIndex(project)
    planned = [(item, *planned_writes(item, defs)) for item in report.changed]
    # A file whose every changed contact is found on its own lines is edited
    # there; any other file takes the whole-file round trip.
    alone = _ContactLines(project)
    whole: set[Path | None] = set()
    for item, writes, _ in planned:
        if writes and alone.find(item) is None:
            whole.add(_source_path(project, item))
    for item, writes, skipped in planned:
        result.skipped.extend(skipped)
        if not writes:
            continue
        path = _source_path(project, item)
        found = alone.find(item) if path not in whole else None
        if found is None:
            found = index.find(item)
        if found is None:
            where = f" ({item.source})" if item.source else ""
            result.skipped.append(
                f"{item.phone}{where}: its entry was not found in the contacts files"
            )
            continue
        loaded, entry = found
        if loaded.generated_by is not None:
            # "Do not edit by hand": the next import would undo it.
            result.skipped.append(generated_note(item.phone, loaded.generated_by))
            continue
        for write in writes:
            apply_write(entry, write)
        loaded.changed = True
        result.contacts += 1
        result.fields += len(writes)
    texts = {
        loaded.path: dump_roundtrip_str(loaded.data)
        for loaded in index.files.values()
        if loaded.changed
    }
    edited_alone = {loaded.path for loaded in alone.loaded.values() if loaded.changed}
    if edited_alone & texts.keys():  # pragma: no cover - a file is edited one way only
        raise JcstateError("adopt: a file was edited two ways; nothing was written")
    texts.update(alone.texts(edited_alone))
    write_atomically(texts, project.root)
    result.files = sorted(_relative(path, project.root) for path in texts)
    return result


def adopt_deletes(project: Project, report: DriftReport) -> AdoptResult:
    """Remove the contacts deleted in JustCall (`missing`) from their hand-written files.

    Each entry's lines go; every comment stays (`jcstate.project.remove`). A
    contact of a generated file is reported instead: its source owns it.
    """
    result = AdoptResult()
    if not report.missing:
        return result
    gone = {item.phone for item in report.missing}
    hinted = {
        Path(os.path.abspath(item.source.file)).resolve()
        for item in report.missing
        if item.source is not None
    }
    unplaced = any(item.source is None for item in report.missing)
    paths = [p for p in project.contact_files if unplaced or p.resolve() in hinted]
    texts: dict[Path, str] = {}
    found: set[str] = set()
    for path in paths:
        _remove_gone(path, project, gone, result, texts, found)
    for phone in sorted(gone - found):
        result.skipped.append(f"{phone}: its entry was not found in the contacts files")
    write_atomically(texts, project.root)
    result.files = sorted(_relative(path, project.root) for path in texts)
    return result


def _remove_gone(
    path: Path,
    project: Project,
    gone: set[str],
    result: AdoptResult,
    texts: dict[Path, str],
    found: set[str],
) -> None:
    """Remove the entries of the `gone` phones from one file (its new text into `texts`);
    a generated file's entries are reported in `result` instead."""
    region = project.config.default_region
    raw = read_limited(path)
    owner = generated_by(raw)

    def pick(entry: Mapping[str, Any]) -> bool:
        phone = entry.get("phone")
        return phone is not None and try_normalize_phone(str(phone), region) in gone

    try:
        data = parse_fast(raw, index_key="contacts").data
        listed = data.get("contacts") if isinstance(data, Mapping) else None
        here = [
            try_normalize_phone(str(entry["phone"]), region)
            for entry in (listed if isinstance(listed, list) else ())
            if isinstance(entry, Mapping) and pick(entry)
        ]
        if not here:
            return
        found.update(here)
        if owner is not None:
            result.skipped.extend(generated_note(phone, owner) for phone in here)
            return
        removal = remove_entries(raw, pick)
    except YamlProblem as exc:
        where = _relative(path, project.root)
        raise JcstateError(str(Diagnostic(where, exc.line, exc.col, exc.message))) from None
    if removal is not None:
        texts[path] = removal.text
        result.deleted += len(removal.lines)


def adopt_unmanaged(project: Project, report: DriftReport, target: Path) -> AdoptResult:
    """Append the unmanaged remote contacts to `target` (created canonical if missing).

    Remote custom keys that are not declared are left out (declare them, or
    use `jcstate export`, to manage them); so is the ownership marker.
    """
    result = AdoptResult()
    if not report.unmanaged:
        return result
    target = target if target.is_absolute() else (Path.cwd() / target)
    declared_phones = frozenset(c.phone for c in project.desired.contacts)
    exported = build_export(
        report.unmanaged,
        defs=project.config.custom_fields,
        ownership=project.config.ownership,
        skip_phones=declared_phones,
        add_definitions=False,
        region=project.config.default_region,
    )
    entries = [entry for f in exported.files for entry in f.entries]
    result.skipped.extend(exported.warnings)
    skipped_keys = sorted({k.key for k in report.undeclared_custom_fields})
    if skipped_keys:
        result.skipped.append(
            "undeclared custom fields not written: "
            + ", ".join(skipped_keys)
            + " (declare them in jcstate.yaml to manage them)"
        )
    texts: dict[Path, str] = {}
    if target.exists():
        owner = _generated_by(target)
        if owner is not None:
            raise JcstateError(
                f"{_relative(target, project.root)} is generated by source {owner}: "
                "add the unmanaged contacts to a hand-written file, or to the source"
            )
        data = load_for_edit(target, project.root)
        if not isinstance(data, CommentedMap):
            raise JcstateError(f"{_relative(target, project.root)}: not a contacts file")
        contacts = data.get("contacts")
        if contacts is None:
            contacts = CommentedSeq()
            data["contacts"] = contacts
        if not isinstance(contacts, list):
            raise JcstateError(
                str(Diagnostic(_relative(target, project.root), 1, 1, "`contacts` is not a list"))
            )
        contacts.extend(canonical_entry(entry) for entry in entries)
        texts[target] = dump_roundtrip_str(data)
    else:
        texts[target] = render_contacts_file(entries)
    glob_edit = ensure_globs(project.config_path, project.root, [target])
    if glob_edit is not None:
        texts[project.config_path] = glob_edit
    write_atomically(texts, project.root)
    result.unmanaged_added = len(entries)
    result.files = sorted(_relative(path, project.root) for path in texts)
    return result


def describe(result: AdoptResult) -> Iterable[str]:
    """Lines for stderr: what was adopted and what was not."""
    if result.fields:
        yield (
            f"Adopted {result.fields} remote value{'s' if result.fields != 1 else ''} "
            f"into {result.contacts} contact{'s' if result.contacts != 1 else ''}."
        )
    if result.unmanaged_added:
        yield f"Added {result.unmanaged_added} unmanaged contacts."
    if result.deleted:
        yield (
            f"Removed {result.deleted} contact{'s' if result.deleted != 1 else ''} "
            "deleted in JustCall."
        )
    for name in result.files:
        yield f"  wrote {name}"
    for line in result.skipped:
        yield f"  skipped: {line}"

"""Canonical formatting of contacts files (`jcstate fmt`). Pure: text in, text out.

Round-trip mode keeps comments, flow/block style and the order of contacts;
what changes is the order of keys (`model.CONTACT_KEYS`, custom-field keys
sorted), quoting (only where YAML needs it, phones always double-quoted),
phones (written as E.164), indentation and explicit `null`s. Nothing a file
declares changes (tested as a property).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from jcstate.core.model import CONTACT_KEYS, ProjectConfig
from jcstate.core.normalize import normalize_phone
from jcstate.project.validate import ContactsDoc, check_contacts
from jcstate.project.yamlio import (
    YamlProblem,
    canonical_item,
    contact_spans,
    dump_roundtrip_str,
    load_roundtrip_bytes,
    ordered_keys,
    parse_fast,
    roundtrip_yaml,
    sorted_custom_keys,
)

_TOP_KEYS: tuple[str, ...] = ("version", "defaults", "contacts")
_FLOW_RISKY = frozenset(":?,[]{}#&*!|>'\"%@`")


def _reorder(mapping: CommentedMap, keys: list[Any]) -> None:
    """Reorder in place; comments are keyed by key, so they travel with their key."""
    for key in keys:
        mapping.move_to_end(key)


def _unquote(node: Any, flow: bool = False) -> Any:
    """Plain str for every string, so the dumper quotes only when YAML needs it.

    Inside flow collections (``{a: b}``) a string holding an indicator such as
    ``:`` or ``?`` is written in double quotes: ruamel's emitter would leave
    it plain, which the C loader (libyaml) refuses to read.
    """
    if isinstance(node, CommentedMap):
        inner = flow or node.fa.flow_style()
        for key in list(node.keys()):
            node[key] = _unquote(node[key], inner)
        return node
    if isinstance(node, CommentedSeq):
        inner = flow or node.fa.flow_style()
        for index, item in enumerate(node):
            node[index] = _unquote(item, inner)
        return node
    if isinstance(node, str):
        if flow and not _FLOW_RISKY.isdisjoint(node):
            return DoubleQuotedScalarString(node)
        return str(node)
    return node


def _format_entry(entry: CommentedMap, phone: Callable[[str], str] | None) -> None:
    _reorder(entry, ordered_keys(entry.keys(), CONTACT_KEYS))
    custom = entry.get("custom_fields")
    if isinstance(custom, CommentedMap):
        _reorder(custom, sorted_custom_keys(custom.keys()))
    written = entry.get("phone")
    if phone is not None and isinstance(written, str):
        entry["phone"] = DoubleQuotedScalarString(phone(written))


def format_document(document: Any, region: str) -> Any:
    """Bring a round-trip-loaded contacts document into canonical form, in place."""

    def to_e164(written: str) -> str:
        try:
            return normalize_phone(written, region)
        except ValueError:
            return written  # validation reports it; fmt never loses what was written

    if not isinstance(document, CommentedMap):
        return document
    _unquote(document)
    _reorder(document, ordered_keys(document.keys(), _TOP_KEYS))
    defaults = document.get("defaults")
    if isinstance(defaults, CommentedMap):
        _format_entry(defaults, None)
    contacts = document.get("contacts")
    if isinstance(contacts, CommentedSeq):
        for entry in contacts:
            if isinstance(entry, CommentedMap):
                _format_entry(entry, to_e164)
    return document


def format_contacts_text(text: str, region: str = "US") -> str:
    """The canonical text of a contacts file's text (idempotent)."""
    yaml = roundtrip_yaml(preserve_quotes=False)
    # Through the validating loader first: fmt reads a file exactly as validate does.
    document = load_roundtrip_bytes(text.encode("utf-8"), yaml)
    if document is None:
        return text
    formatted = dump_roundtrip_str(format_document(document, region), yaml)
    # Moving the last top-level key can carry the file's final newline along.
    return formatted.rstrip("\n") + "\n"


def declared_contacts(text: str, config: ProjectConfig) -> list[tuple[Any, ...]] | None:
    """What a contacts file's text declares (None when it does not validate)."""
    try:
        doc = parse_fast(text.encode("utf-8"), index_key="contacts")
    except YamlProblem:
        return None
    contacts, issues = check_contacts(config, [ContactsDoc("-", doc.data, doc.item_marks)])
    if issues:
        return None
    return [(c.phone, c.id, dict(c.fields), dict(c.custom_fields)) for c in contacts]


_MINI_HEADER = "version: 1\ncontacts:\n"


def format_file(
    text: str,
    config: ProjectConfig,
    phones: Mapping[int, str] | None = None,
    exact: AbstractSet[int] = frozenset(),
) -> tuple[str, bool]:
    """The canonical text of a contacts file, and whether it declares what `text` declares.

    A file in the shape `yamlio.contact_spans` describes is formatted one
    contact at a time: a contact already canonical (`yamlio.canonical_item`,
    its phone already the E.164 one) is kept byte for byte, and only the
    others take the comment-keeping round trip, each on its own lines. So a
    canonical file costs a line scan, and one changed contact costs one small
    round trip. Any other file takes the whole-file round trip.

    `phones`: the E.164 phone of each contact by its 1-based line, as the
    project load worked them out (saves parsing every phone again). `exact`:
    the 1-based first lines of the contacts the load read from these same
    bytes in the exact canonical form, phone already E.164
    (`Project.canonical_lines`): kept without a second look.
    """
    quick = _format_by_contact(text, config, phones, exact)
    if quick is not None:
        return quick, True
    formatted = format_contacts_text(text, config.default_region)
    if formatted == text:
        return text, True
    return formatted, declared_contacts(formatted, config) == declared_contacts(text, config)


def _format_by_contact(
    text: str, config: ProjectConfig, phones: Mapping[int, str] | None, exact: AbstractSet[int]
) -> str | None:
    spans = contact_spans(text)
    if spans is None:
        return None
    starts, lines = spans
    if phones is not None and set(phones) != set(lines):
        return None  # the load saw other contacts: let the whole-file path decide
    region = config.default_region
    out: list[str] = []
    kept = 0  # text[kept:] is not in `out` yet
    bounds = [*starts, len(text)]
    for number, line in enumerate(lines):
        if line in exact:
            continue
        first, end = starts[number], bounds[number + 1]
        segment = text[first:end].split("\n")
        segment.pop()  # after the contact's final newline
        item = canonical_item(segment)
        if item is not None:
            written = item["phone"]
            e164 = phones.get(line) if phones is not None else _e164(written, region)
            if written == e164:
                continue
        formatted = _format_contact(segment, config)
        if formatted is None:
            return None
        out += [text[kept:first], "\n".join(formatted), "\n"]
        kept = end
    out.append(text[kept:])
    return "".join(out)


def _e164(written: str, region: str) -> str | None:
    try:
        return normalize_phone(written, region)
    except ValueError:
        return None


def _format_contact(segment: list[str], config: ProjectConfig) -> list[str] | None:
    """One contact's lines through the round trip, alone; None if that is not safe."""
    body = list(segment)
    blanks: list[str] = []
    while body and not body[-1].strip():
        blanks.append(body.pop())
    alone = _MINI_HEADER + "\n".join(body) + "\n"
    try:
        formatted = format_contacts_text(alone, config.default_region)
    except YamlProblem:
        return None
    if not formatted.startswith(_MINI_HEADER):
        return None
    before = declared_contacts(alone, config)
    if before is None or declared_contacts(formatted, config) != before:
        return None
    return formatted[len(_MINI_HEADER) :].rstrip("\n").split("\n") + blanks

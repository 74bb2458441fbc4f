"""The canonical form, read without a YAML parser."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML

from jcstate.core.model import CONTACT_KEYS, STANDARD_FIELDS
from jcstate.project.yamlio.canonical import SCHEMA_COMMENT_PREFIX
from jcstate.project.yamlio.events import (
    _MISSING,
    _PLAIN_CACHE_CHARS,
    _PLAIN_CACHE_ENTRIES,
    _Sentinel,
)
from jcstate.project.yamlio.fast import parse_fast
from jcstate.project.yamlio.limits import MAX_FILE_BYTES
from jcstate.project.yamlio.loader import _NOT_PRINTABLE, FastDoc, YamlProblem

#
# `jcstate fmt` writes every contacts file in one narrow shape: ``version: 1``,
# ``contacts:``, then each contact as ``  - key: value`` lines in
# `CONTACT_KEYS` order, custom fields sorted, phones double-quoted, every other
# value plain. `parse_canonical` reads exactly that shape line by line (the
# common case: files fmt wrote) and gives the very value and item positions
# `parse_fast` gives; anything else returns None, and the caller takes the
# general path (which also words every error). A contact written in another,
# still simple shape (comments, single quotes, another key order) is read by
# `parse_fast` on its own lines, so a file fmt has not been run on since one
# contact changed still reads quickly. The agreement with `parse_fast` is
# tested on a corpus and on generated files (tests/project/test_canonical.py).

_CANON_RANK: dict[str, int] = {key: rank for rank, key in enumerate(CONTACT_KEYS)}
_CANON_TEXT = re.compile(r"[^\W\d_][\w.@+\-]*(?: [\w.@+\-]+)*\Z")
_CANON_INT = re.compile(r"(?:0|[1-9][0-9]{0,17})\Z")
_CANON_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
#: Words YAML 1.2 reads as something other than text (the canonical form writes
#: ``true``, ``false`` and ``null`` for those values).
_CANON_NOT_TEXT = frozenset(
    {"true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL"}
)
_CANON_WORDS: dict[str, Any] = {"true": True, "false": False, "null": None}
_BAD: Any = _Sentinel("not canonical")

#: One line of a contact that is simple but not canonical: a comment or blank
#: line, or ``key: value`` with a plain, single- or double-quoted one-line value
#: and perhaps a comment; nothing that can span lines, alias or tag.
_SIMPLE_LINE = re.compile(
    r"""(?:[ ]*(?:\#.*)?"""
    r"""|(?:[ ][ ]-[ ]|[ ]{4}|[ ]{6})[A-Za-z_][A-Za-z0-9_]*:"""
    r"""(?:[ ]+(?:[A-Za-z0-9(+](?:[A-Za-z0-9()+\-.@_]|[ ](?![ ]*\#))*"""
    r"""|'[^'\n]*'|"[^"\\\n]*"))?"""
    r"""(?:[ ]+\#.*)?[ ]*)\Z""",
    re.VERBOSE,
)


def _canon_scalar(text: str) -> Any:
    """The value of a plain scalar in the canonical form, or `_BAD` (short ones remembered)."""
    value = _CANON_MEMO.get(text, _MISSING)
    if value is not _MISSING:
        return value
    value = _CANON_WORDS.get(text, _MISSING)
    if value is _MISSING:
        if _CANON_TEXT.match(text):
            value = _BAD if text in _CANON_NOT_TEXT else text
        elif _CANON_INT.match(text):
            value = int(text)
        elif _CANON_DATE.match(text):
            try:
                value = dt.date.fromisoformat(text)
            except ValueError:
                value = _BAD
        else:
            value = _BAD
    if len(text) <= _PLAIN_CACHE_CHARS and len(_CANON_MEMO) < _PLAIN_CACHE_ENTRIES:
        _CANON_MEMO[text] = value  # all immutable: str, int, bool, None, date
    return value


_CANON_MEMO: dict[str, Any] = {}
_CANON_NAMES: set[str] = set()  # custom-field keys already seen to be plain names


def _canon_name(name: str) -> bool:
    if name in _CANON_NAMES:
        return True
    if _CANON_NAME.match(name) and name not in _CANON_NOT_TEXT:
        if len(_CANON_NAMES) < _PLAIN_CACHE_ENTRIES:
            _CANON_NAMES.add(name)
        return True
    return False


_CANON_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _canon_phone(text: str) -> str | None:
    if (
        len(text) > 3
        and text[0] == '"'
        and text[-1] == '"'
        and text[1] == "+"
        and len(text) <= 23
        and text[2:-1].isdigit()
        and text.isascii()
    ):
        return text[1:-1]
    return None


def canonical_item(lines: Sequence[str]) -> dict[str, Any] | None:
    """One contact's lines (the first starts ``  - ``) in the canonical form, as a mapping.

    None when they are not exactly canonical (or hold no phone). Each line is
    split with plain string operations (no pattern per line): this runs for
    every contact of a file.
    """
    item: dict[str, Any] = {}
    last = -1
    count = len(lines)
    index = 0
    rank_of = _CANON_RANK
    scalar = _canon_scalar
    while index < count:
        line = lines[index]
        if not line.startswith("  - " if index == 0 else "    ") or line[4:5] == " ":
            return None
        key, sep, text = line[4:].partition(": ")
        index += 1
        if not sep:
            if key != "custom_fields:":
                return None
            key = "custom_fields"
        rank = rank_of.get(key)
        if rank is None or rank <= last:
            return None
        last = rank
        if key == "custom_fields":
            if sep:
                return None
            custom: dict[str, Any] = {}
            previous = ""
            while index < count:
                line = lines[index]
                if not line.startswith("      ") or line[6:7] == " ":
                    break
                name, sep, text = line[6:].partition(": ")
                if not sep or name <= previous or not _canon_name(name):
                    return None
                previous = name
                value = scalar(text)
                if value is _BAD:
                    return None
                custom[name] = value
                index += 1
            if not custom:
                return None
            item[key] = custom
        elif key == "phone":
            phone = _canon_phone(text)
            if phone is None:
                return None
            item[key] = phone
        else:
            value = scalar(text)
            if value is _BAD or (key == "id" and type(value) is not int):
                return None
            item[key] = value
    return item if "phone" in item else None


def split_contacts(text: str) -> tuple[list[str], int, list[int]] | None:
    """A contacts file's lines, where its list starts, and the line index of each ``  - ``.

    None unless the file is ``version: 1`` then ``contacts:`` (after, at most,
    the schema comment), each contact starts at ``  - ``, and every later line
    is blank or indented: the shape in which a contact's lines run exactly
    from its ``  - `` to the next one.
    """
    if not text.endswith("\n"):
        return None
    lines = text.split("\n")
    lines.pop()  # after the final newline
    start = 1 if lines and lines[0].startswith(SCHEMA_COMMENT_PREFIX) else 0
    if lines[start : start + 2] != ["version: 1", "contacts:"]:
        return None
    begin = start + 2
    starts = [index for index in range(begin, len(lines)) if lines[index].startswith("  - ")]
    if not starts or starts[0] != begin:
        return None
    for line in itertools.islice(lines, begin, None):
        if line and not line.startswith("  "):
            return None
    return lines, begin, starts


_CONTACT_LINE = re.compile(r"\n  - ")  # a literal: the engine finds it fast (unlike ^)
_NOT_INDENTED = re.compile(r"\n(?:[^ \n]| [^ ])")
_HEADER_TEXT = "version: 1\ncontacts:\n"


def _first_contact(text: str) -> int | None:
    """The offset of the first contact of a file with the canonical header, else None."""
    if not text.endswith("\n"):
        return None
    begin = text.index("\n") + 1 if text.startswith(SCHEMA_COMMENT_PREFIX) else 0
    if not text.startswith(_HEADER_TEXT + "  - ", begin):
        return None
    return begin + len(_HEADER_TEXT)


def contact_spans(text: str) -> tuple[list[int], list[int]] | None:
    """Where each contact of a file starts: its offset in `text` and its 1-based line.

    The same shape as `split_contacts` asks (None otherwise), without cutting
    the file into lines: a contact's text runs from its offset to the next
    one's (the last one's to the end of the file).
    """
    at = _first_contact(text)
    if at is None or _NOT_INDENTED.search(text, at - 1):
        return None
    starts = [match.start() + 1 for match in _CONTACT_LINE.finditer(text, at - 1)]
    lines: list[int] = []
    line = text.count("\n", 0, at) + 1
    previous = at
    for start in starts:
        line += text.count("\n", previous, start)
        lines.append(line)
        previous = start
    return starts, lines


def parse_canonical(raw: bytes, yaml: YAML | None = None) -> FastDoc | None:
    """`parse_fast(raw, index_key="contacts")` for a file in (or near) the canonical form.

    None when the file is not in that shape; the caller then reads it with
    `parse_fast`, which gives the same value, or the error.
    """
    if len(raw) > MAX_FILE_BYTES or b"\t" in raw or b"\r" in raw:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if _NOT_PRINTABLE.search(text) or text.startswith("\ufeff"):
        return None
    at = _first_contact(text)
    if at is None:
        return None
    read = _read_contacts(text, at, text.count("\n", 0, at) + 1, yaml)
    if read is None:
        return None
    items, marks, exact = read
    shape = len(exact) == len(items)
    return FastDoc({"version": 1, "contacts": items}, tuple(marks), shape, frozenset(exact))


def _contact_pattern() -> re.Pattern[str]:
    """One contact in the exact canonical form: each key's line, in `CONTACT_KEYS` order.

    The values are taken as written (the groups: id, phone digits, each
    standard field, the custom fields' lines) and checked by `_canonical_groups`.
    """
    fields = "".join(f"(?:    {name}: ([^\\n]*)\\n)?" for name in STANDARD_FIELDS)
    return re.compile(
        r"  - (?:id: ([^\n]*)\n    )?phone: \"(\+[0-9]{1,20})\"\n"
        + fields
        + r"(?:    custom_fields:\n((?:      [^ \n][^\n]*\n)+))?"
    )


_CANON_CONTACT = _contact_pattern()


def _canonical_groups(groups: Sequence[str | None]) -> dict[str, Any] | None:
    """The mapping of a contact `_CANON_CONTACT` matched, as `canonical_item` reads it; or None."""
    id_text, phone, *standard, custom_text = groups
    scalar = _canon_scalar
    memo = _CANON_MEMO  # looked up here first: most values are short and repeated
    item: dict[str, Any] = {}
    if id_text is not None:
        value = scalar(id_text)
        if type(value) is not int:
            return None
        item["id"] = value
    item["phone"] = phone
    for name, text in zip(STANDARD_FIELDS, standard, strict=True):
        if text is not None:
            value = memo.get(text, _MISSING)
            if value is _MISSING:
                value = scalar(text)
            if value is _BAD:
                return None
            item[name] = value
    if custom_text is not None:
        custom: dict[str, Any] = {}
        previous = ""
        for line in custom_text[:-1].split("\n"):
            name, sep, text = line[6:].partition(": ")
            if not sep or name <= previous or not _canon_name(name):
                return None
            previous = name
            value = memo.get(text, _MISSING)
            if value is _MISSING:
                value = scalar(text)
            if value is _BAD:
                return None
            custom[name] = value
        item["custom_fields"] = custom
    return item


def _read_contacts(
    text: str, at: int, line: int, yaml: YAML | None
) -> tuple[list[Any], list[tuple[int, int]], list[int]] | None:
    """The contacts of `text` from offset `at` (a ``  - `` on 1-based `line`) to its end.

    Also each contact's (line, col) and the numbers of those read in the exact
    canonical form. A contact's text runs from its ``  - `` to the next one. One
    in the exact canonical form is read by one pattern match on the text,
    without cutting it into lines (`_canonical_groups` gives what
    `canonical_item` gives for its lines); any other is read line by line
    (`canonical_item`, else `_simple_item`). None when a line is neither blank nor indented, or a
    contact is not simple.
    """
    items: list[Any] = []
    marks: list[tuple[int, int]] = []
    exact: list[int] = []
    end = len(text)
    match_contact = _CANON_CONTACT.match
    while at < end:
        match = match_contact(text, at)
        item = None
        if match is not None:
            stop = match.end()
            if stop == end or text.startswith("  - ", stop):
                item = _canonical_groups(match.groups())
        if item is None:
            stop = text.find("\n  - ", at) + 1 or end
            segment = text[at:stop].split("\n")
            segment.pop()  # after the contact's final newline
            read = _segment_item(segment, yaml)
            if read is None:
                return None
            item, canonical = read
            if canonical:
                exact.append(len(items))
        else:
            exact.append(len(items))
        items.append(item)
        marks.append((line, 5))
        line += text.count("\n", at, stop)
        at = stop
    return items, marks, exact


def _segment_item(segment: list[str], yaml: YAML | None) -> tuple[Any, bool] | None:
    """One contact's lines (indented or blank, else None) as its value, and whether exact."""
    for line in segment:
        if line and not line.startswith("  "):
            return None
    item = canonical_item(segment)
    if item is not None:
        return item, True
    simple = _simple_item(segment, yaml)
    return None if simple is None else (simple, False)


#: A contact whose first bytes have a crc32 of 0 modulo this starts a new chunk:
#: about this many contacts a chunk, cut where the contacts' own bytes say.
CHUNK_SPREAD = 256
#: ... and never more contacts than this in one chunk.
CHUNK_MAX = 2_048
_CHUNK_WINDOW = 32
_HEADER = b"version: 1\ncontacts:\n"
_NEXT_CONTACT = re.compile(rb"\n  - ")


@dataclass(frozen=True, slots=True)
class Chunk:
    """Whole contacts of a file: its bytes ``raw[start:end]``, the first on 1-based `line`."""

    start: int
    end: int
    line: int


def contact_chunks(raw: bytes) -> list[Chunk] | None:
    """A contacts file cut into chunks of whole contacts; None unless it can be read so.

    It can when its header is ``version: 1`` then ``contacts:`` (after, at most,
    the schema comment) with the first contact right after, as
    `split_contacts` asks, and it has no tab or carriage return. A chunk starts
    at a contact whose first bytes' crc32 is 0 modulo `CHUNK_SPREAD` (or after
    `CHUNK_MAX` contacts): a contact inserted, removed or edited moves the
    bounds of its own chunk only. The lines of each chunk are checked when it is
    read (`read_chunk`): whether the file is in the line reader's shape is, past
    the header, a property of each chunk's own bytes.
    """
    if len(raw) > MAX_FILE_BYTES or not raw.endswith(b"\n") or b"\t" in raw or b"\r" in raw:
        return None
    begin = 0
    if raw.startswith(SCHEMA_COMMENT_PREFIX.encode()):
        begin = raw.index(b"\n") + 1
        try:
            comment = raw[:begin].decode("utf-8")
        except UnicodeDecodeError:
            return None
        if _NOT_PRINTABLE.search(comment):
            return None
    if not raw.startswith(_HEADER + b"  - ", begin):
        return None
    at = begin + len(_HEADER)
    line = raw.count(b"\n", 0, at) + 1
    chunks: list[Chunk] = []
    count = 1
    crc32 = zlib.crc32
    for match in _NEXT_CONTACT.finditer(raw, at):
        position = match.start() + 1
        if count >= CHUNK_MAX or not crc32(raw[position : position + _CHUNK_WINDOW]) % CHUNK_SPREAD:
            chunks.append(Chunk(at, position, line))
            line += raw.count(b"\n", at, position)
            at, count = position, 1
        else:
            count += 1
    chunks.append(Chunk(at, len(raw), line))
    return chunks


def read_chunk(
    raw: bytes, chunk: Chunk, yaml: YAML | None = None
) -> tuple[list[Any], list[tuple[int, int]], list[int]] | None:
    """A chunk's contacts as `parse_canonical` reads them in the whole file, or None.

    Their values, their (line, col), and the numbers (in the chunk) of those
    read in the exact canonical form. None when a line is not in the line
    reader's shape or a contact is not simple: the caller reads the whole file.
    """
    try:
        text = raw[chunk.start : chunk.end].decode("utf-8")
    except UnicodeDecodeError:
        return None
    if _NOT_PRINTABLE.search(text):
        return None
    if not text.startswith("  - "):
        return None
    return _read_contacts(text, 0, chunk.line, yaml)


def _simple_item(segment: Sequence[str], yaml: YAML | None) -> dict[str, Any] | None:
    """A contact written simply but not canonically, read by `parse_fast` on its own lines."""
    for line in segment:
        if not _SIMPLE_LINE.match(line):
            return None
    try:
        doc = parse_fast(
            ("contacts:\n" + "\n".join(segment) + "\n").encode("utf-8"),
            index_key="contacts",
            yaml=yaml,
        )
    except YamlProblem:
        return None
    data = doc.data
    if (
        type(data) is not dict
        or list(data) != ["contacts"]
        or type(data["contacts"]) is not list
        or len(data["contacts"]) != 1
        or doc.item_marks != ((2, 5),)
        or type(data["contacts"][0]) is not dict
    ):
        return None
    item: dict[str, Any] = data["contacts"][0]
    return item

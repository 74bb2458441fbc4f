"""A contacts file read by chunks of contacts, each chunk's meaning cached on its own.

The file-level entry of the meaning cache (`cache.MeaningCache.contacts`)
misses as soon as one byte of a file changes, so one contact edited in a
100,000-contact file used to cost reading and checking all 100,000 again. A
file in the line reader's shape (`yamlio.contact_chunks`) is instead cut into
chunks of whole contacts, and each chunk's meaning (its contacts, their places
relative to the chunk, and which were read in the exact form fmt writes) is
cached under the sha256 of the chunk's bytes. After one contact changed, only
its chunk is read and checked again.

Never authority, as the file-level entry: a corrupt or foreign entry is a
miss; a chunk is stored only when every contact read again passed all of its
own checks; and when one did not (or a contact is not in the line reader's
shape), the whole file takes the ordinary path, so every problem is reported
exactly as without a cache. The checks across contacts (duplicate phones and
ids, inside the file and across files) run on every contact of every file, in
`validate.check_contacts_files`, as for any file the cache knows.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from ruamel.yaml import YAML

from jcstate.core.model import DesiredContact, ProjectConfig
from jcstate.project.cache import CANONICAL_FACT, MeaningCache
from jcstate.project.validate import ContactsDoc, check_contacts_files
from jcstate.project.yamlio import Chunk, contact_chunks, read_chunk

#: Files smaller than this keep one entry for the whole file: reading one of
#: them again costs little, and one entry is read faster than a few chunks.
MIN_CHUNKED_BYTES = 1 << 20

#: A chunk's contacts and, for each, whether it was read exactly as fmt writes it.
_Part = tuple[tuple[DesiredContact, ...], tuple[bool, ...]]


@dataclass(frozen=True)
class ChunkedRead:
    """What a file read by chunks means: its contacts, all of them valid on their own."""

    contacts: tuple[DesiredContact, ...]
    #: The first lines of the contacts read in the exact form fmt writes, phone
    #: already E.164 (what `Project.canonical_lines` names).
    exact_lines: frozenset[int]
    #: How many chunks were read and checked again (not known to the cache).
    read_again: int


def read_by_chunks(
    raw: bytes,
    name: str,
    content: str,
    config: ProjectConfig,
    cache: MeaningCache,
    yaml: YAML | None = None,
) -> ChunkedRead | None:
    """The file `name` (bytes `raw`, sha256 `content`) by chunks; None: read it whole.

    None when the file is small (`MIN_CHUNKED_BYTES`) or not in the shape
    chunks need, or when a contact read
    again is not simple or has a problem of its own: the ordinary path then
    reads the whole file and reports each problem in its place.
    """
    if len(raw) < MIN_CHUNKED_BYTES:
        return None
    chunks = contact_chunks(raw)
    if chunks is None:
        return None
    view = memoryview(raw)
    digests = [hashlib.sha256(view[chunk.start : chunk.end]).hexdigest() for chunk in chunks]
    parts: list[_Part | None] = [
        cache.chunk(digest, name, chunk.line) for digest, chunk in zip(digests, chunks, strict=True)
    ]
    missed = [index for index, part in enumerate(parts) if part is None]
    if missed:
        fresh = _check_again(raw, name, [chunks[index] for index in missed], config, cache, yaml)
        if fresh is None:
            return None
        for index, part in zip(missed, fresh, strict=True):
            parts[index] = part
            cache.put_chunk(digests[index], chunks[index].line, *part)
    read = _joined([part for part in parts if part is not None], len(missed))
    if len(read.exact_lines) == len(read.contacts) and (
        missed or not cache.has_fact(CANONICAL_FACT, content)
    ):
        cache.put_fact(CANONICAL_FACT, content)  # fmt --check: nothing to do in this file
    return read


def _joined(parts: Sequence[_Part], read_again: int) -> ChunkedRead:
    contacts = tuple(itertools.chain.from_iterable(part[0] for part in parts))
    exact = frozenset(
        contact.source.line
        for part in parts
        for contact, flag in zip(*part, strict=True)
        if flag and contact.source is not None
    )
    return ChunkedRead(contacts, exact, read_again)


def _check_again(
    raw: bytes,
    name: str,
    chunks: Sequence[Chunk],
    config: ProjectConfig,
    cache: MeaningCache,
    yaml: YAML | None,
) -> list[_Part] | None:
    """The chunks' contacts read and checked (all in one call); None if one is not valid alone."""
    items: list[object] = []
    marks: list[tuple[int, int]] = []
    exact: set[int] = set()
    sizes: list[int] = []
    for chunk in chunks:
        read = read_chunk(raw, chunk, yaml)
        if read is None:
            return None
        chunk_items, chunk_marks, chunk_exact = read
        exact.update(len(items) + number for number in chunk_exact)
        items.extend(chunk_items)
        marks.extend(chunk_marks)
        sizes.append(len(chunk_items))
    doc = ContactsDoc(name, {"version": 1, "contacts": items}, tuple(marks))
    _contacts, issues, clean = check_contacts_files(config, [doc], cache.known_phones())
    checked = clean.get(0)
    if issues or checked is None or len(checked) != len(items):
        return None
    flags = [
        number in exact and _phone_of(items[number]) == contact.phone
        for number, contact in enumerate(checked)
    ]
    parts: list[_Part] = []
    start = 0
    for size in sizes:
        parts.append((checked[start : start + size], tuple(flags[start : start + size])))
        start += size
    return parts


def _phone_of(item: object) -> object:
    return item.get("phone") if isinstance(item, dict) else None

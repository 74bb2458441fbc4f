"""A cache of what each contacts file means, so unchanged files are not read twice.

An entry is a file's valid contacts (phones in E.164, fields normalised, the
line and column of each), keyed by the sha256 of the file's bytes and the
`salt`: jcstate's version, a fingerprint of the code that gives a file its
meaning, and the parts of `jcstate.yaml` that change it
(`config.meaning_inputs`). A hit skips parsing and validating that file; the
checks across files (duplicate phones and ids) still run on every file. A big
file may instead be kept as chunks of its contacts, each under the sha256 of
the chunk's bytes (`chunk`, `put_chunk`; see `jcstate.project.chunked`), lines
relative to the chunk.

The cache is never authority:

- it lives outside the work tree, in the user's cache folder
  (``$XDG_CACHE_HOME/jcstate`` or ``~/.cache/jcstate``; `CACHE_DIR_ENV`
  overrides), and is off when that folder is inside the project's git work
  tree or reached through a symbolic link;
- entries are plain JSON, opened without following links, checked value by
  value on load, and a corrupt, foreign (another key) or oversized entry is
  a miss;
- only a file that passed every check of its own is stored, so a file with a
  problem is always read and reported exactly as without a cache;
- writing is best effort (an unwritable folder just means no cache), atomic
  (a temporary file renamed into place).

`--no-cache` (or `NO_CACHE_ENV=1`) turns it off.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
import math
import operator
import os
import stat
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from jcstate import __version__
from jcstate.core.model import STANDARD_FIELDS, DesiredContact, SourceRef

log = logging.getLogger(__name__)

#: Where the cache lives (overrides the user's cache folder).
CACHE_DIR_ENV = "JCSTATE_CACHE_DIR"
#: Set to 1 to turn the cache off (what the global ``--no-cache`` does).
NO_CACHE_ENV = "JCSTATE_NO_CACHE"
#: The layout of entries; a change makes every older entry a miss.
FORMAT = 3
#: The fact "these bytes are already in the form `jcstate fmt` writes".
CANONICAL_FACT = "canonical"
#: An entry larger than this is not read (a 100,000-contact file's is ~15 MB).
MAX_ENTRY_BYTES = 256 * 1024 * 1024

#: The modules whose code decides what a file means: their bytes are in the key,
#: so an edited checkout never reads entries an older code wrote.
_MEANING_MODULES = (
    "jcstate.core.limits",
    "jcstate.core.model",
    "jcstate.core.normalize",
    "jcstate.core.phones",
    "jcstate.project.validate",
    "jcstate.project.yamlio.loader",
    "jcstate.project.yamlio.limits",
    "jcstate.project.yamlio.events",
    "jcstate.project.yamlio.fast",
    "jcstate.project.yamlio.roundtrip",
    "jcstate.project.yamlio.canonical",
    "jcstate.project.yamlio.linereader",
    "jcstate.project.cache",
)

_FIELDS = frozenset(STANDARD_FIELDS)


def default_cache_dir() -> Path:
    """``$JCSTATE_CACHE_DIR``, else ``$XDG_CACHE_HOME/jcstate``, else ``~/.cache/jcstate``."""
    explicit = os.environ.get(CACHE_DIR_ENV)
    if explicit:
        return Path(os.path.abspath(explicit))
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return Path(os.path.abspath(base / "jcstate"))


def cache_disabled_by_env() -> bool:
    return os.environ.get(NO_CACHE_ENV, "") not in ("", "0")


def code_fingerprint() -> str:
    """sha256 over the source of the modules that give a file its meaning."""
    digest = hashlib.sha256(__version__.encode() + b"\0")
    for name in _MEANING_MODULES:
        module = sys.modules.get(name)
        origin = getattr(module, "__file__", None)
        if origin is None:
            __import__(name)
            origin = getattr(sys.modules[name], "__file__", None)
        try:
            digest.update(Path(str(origin)).read_bytes())
        except OSError:
            digest.update(name.encode())
        digest.update(b"\0")
    try:
        import phonenumbers

        digest.update(str(phonenumbers.__version__).encode())
    except (ImportError, AttributeError):  # pragma: no cover - phonenumbers is a dependency
        pass
    return digest.hexdigest()


def make_salt(meaning_inputs: Mapping[str, Any]) -> str:
    """The part of every key that is not the file: format, code, and the config's meaning."""
    payload = json.dumps(
        {"format": FORMAT, "code": code_fingerprint(), "config": meaning_inputs},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _git_top(start: Path) -> Path | None:
    """The nearest folder at or above `start` that holds ``.git`` (a work tree's top)."""
    for directory in (start, *start.parents):
        if os.path.lexists(directory / ".git"):
            return directory
    return None


def usable_dir(directory: Path, project_root: Path) -> bool:
    """Whether `directory` may hold the cache of the project at `project_root`.

    Not inside the project, not inside the git work tree holding it (where a
    file could be tracked, or put there by a branch), and no symbolic link on
    the way to it.
    """
    directory = Path(os.path.abspath(directory))
    if os.path.realpath(directory) != str(directory):
        return False
    real_root = Path(os.path.realpath(project_root))
    tops = [real_root]
    top = _git_top(real_root)
    if top is not None:
        tops.append(top)
    return not any(directory == t or directory.is_relative_to(t) for t in tops)


class MeaningCache:
    """Entries under ``<dir>/v<FORMAT>/``: one JSON file per (salt, file content)."""

    def __init__(self, directory: Path, salt: str) -> None:
        self.directory = directory / f"v{FORMAT}"
        self.salt = salt
        self.hits = 0
        self.misses = 0

    @classmethod
    def open(
        cls, project_root: Path, meaning_inputs: Mapping[str, Any], *, enabled: bool = True
    ) -> MeaningCache | None:
        """The cache for a project, or None when it is off or its folder may not be used."""
        if not enabled or cache_disabled_by_env():
            return None
        directory = default_cache_dir()
        if not usable_dir(directory, project_root):
            log.debug("cache folder %s not used (inside the project or linked)", directory)
            return None
        return cls(directory, make_salt(meaning_inputs))

    # -- keys and raw entries ------------------------------------------------

    def key(self, kind: str, content_id: str) -> str:
        return hashlib.sha256(f"{self.salt}\0{kind}\0{content_id}".encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def _read(self, key: str) -> Any:
        """The entry's payload, or None (absent, a link, too large, corrupt, another key)."""
        path = self._path(key)
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return None
        try:
            with os.fdopen(fd, "rb") as handle:
                info = os.fstat(handle.fileno())
                if info.st_size > MAX_ENTRY_BYTES or not _regular(info.st_mode):
                    return None
                raw = handle.read(MAX_ENTRY_BYTES + 1)
        except OSError:
            return None
        try:
            entry = json.loads(raw)
        except (ValueError, RecursionError):
            return None
        if (
            type(entry) is not dict
            or entry.get("format") != FORMAT
            or entry.get("key") != key
            or "data" not in entry
        ):
            return None
        return entry["data"]

    def _write(self, key: str, data: Any) -> None:
        """Store an entry; a failure is logged and is a miss next time.

        Not the project's one writer (`project/files.py`): the cache folder is
        outside the project, `_make_dirs` refuses links on the way, and an entry
        needs no fsync (a torn or lost entry fails its checks and is a miss);
        two fsyncs an entry cost 8x the write here, 100 to 400 entries a cold run.
        """
        path = self._path(key)
        text = json.dumps(
            {"format": FORMAT, "key": key, "data": data},
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
        ).encode("utf-8")
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            _make_dirs(path.parent)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
            fd = os.open(tmp, flags, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(text)
            os.replace(tmp, path)
        except (OSError, ValueError) as exc:
            log.debug("cache entry not written: %s", exc)
            with contextlib.suppress(OSError):
                tmp.unlink()

    # -- what a file means ---------------------------------------------------

    def contacts(self, digest: str, file: str) -> tuple[DesiredContact, ...] | None:
        """The valid contacts of the file whose bytes have sha256 `digest`, named `file`."""
        data = self._read(self.key("contacts", digest))
        contacts = _contacts_from(data, file) if data is not None else None
        if contacts is None:
            self.misses += 1
        else:
            self.hits += 1
        return contacts

    def put_contacts(self, digest: str, contacts: Iterable[DesiredContact]) -> None:
        self._write(self.key("contacts", digest), _columns(contacts))

    # -- what a chunk of a file's contacts means -----------------------------

    def chunk(
        self, digest: str, file: str, line: int
    ) -> tuple[tuple[DesiredContact, ...], tuple[bool, ...]] | None:
        """The contacts of the chunk of `file` with sha256 `digest`, its first on `line`.

        Also, for each, whether the line reader read it in the exact form fmt
        writes with its phone already E.164 (`Project.canonical_lines`).
        """
        data = self._read(self.key("chunk", digest))
        found = _chunk_from(data, file, line - 1) if data is not None else None
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def put_chunk(
        self, digest: str, line: int, contacts: Iterable[DesiredContact], exact: Iterable[bool]
    ) -> None:
        data = _columns(contacts, line - 1)
        data["exact"] = list(exact)
        self._write(self.key("chunk", digest), data)

    # -- facts about a file's bytes (fmt: "already canonical") ---------------

    def has_fact(self, fact: str, digest: str) -> bool:
        return self._read(self.key(fact, digest)) is True

    def put_fact(self, fact: str, digest: str) -> None:
        self._write(self.key(fact, digest), True)

    # -- phones already seen valid ------------------------------------------

    def known_phones(self) -> KnownE164:
        """E.164 phones this project's files held when last stored (each valid)."""
        data = self._read(self.key("phones", "all"))
        if type(data) is not list or not set(map(type, data)) <= _STR:
            return KnownE164(frozenset())
        return KnownE164(frozenset(phone for phone in data if phone.startswith("+")))

    def put_phones(self, phones: Iterable[str], known: KnownE164 | None = None) -> None:
        """Store the phones, unless they are the ones `known` already holds."""
        fresh = frozenset(phones)
        if known is None or fresh != known.phones:
            self._write(self.key("phones", "all"), list(fresh))  # order means nothing


class KnownE164(Mapping[str, str]):
    """Phones known valid in E.164, as `check_contacts`'s written -> E.164 mapping."""

    def __init__(self, phones: frozenset[str]) -> None:
        self.phones = phones

    def __getitem__(self, written: str) -> str:
        if written in self.phones:
            return written
        raise KeyError(written)

    def get(self, written: str, default: Any = None) -> Any:
        """`written` when known, else `default` (a miss is the usual case: no exception)."""
        return written if written in self.phones else default

    def __iter__(self) -> Iterator[str]:
        return iter(self.phones)

    def __len__(self) -> int:
        return len(self.phones)


def file_digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _regular(mode: int) -> bool:
    return stat.S_ISREG(mode)


def _make_dirs(directory: Path) -> None:
    """Create the cache folders (private), refusing a link anywhere jcstate created."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for part in (directory, directory.parent, directory.parent.parent):
        if part.is_symlink():
            raise OSError(f"{part} is a symbolic link")


def _columns(contacts: Iterable[DesiredContact], line_offset: int = 0) -> dict[str, list[Any]]:
    """Contacts as flat columns (each checked and rebuilt in one pass on load).

    Each contact's fields (and custom fields) are the index of their keys in
    `shapes` (the distinct key lists, in order of first use) and their values
    in one flat list: no mapping per contact to encode or decode. Lines are
    stored less `line_offset` (a chunk's, relative to the chunk).
    """
    rows = list(contacts)
    shapes: dict[tuple[str, ...], int] = {}
    field_shapes: list[int] = []
    field_values: list[Any] = []
    custom_shapes: list[int] = []
    custom_values: list[Any] = []
    for contact in rows:
        fields, custom = contact.fields, contact.custom_fields
        field_shapes.append(shapes.setdefault(tuple(fields), len(shapes)))
        field_values.extend(fields.values())
        custom_shapes.append(shapes.setdefault(tuple(custom), len(shapes)))
        custom_values.extend(custom.values())
    return {
        "lines": [c.source.line - line_offset if c.source else 0 for c in rows],
        "cols": [c.source.col if c.source else 0 for c in rows],
        "phones": [c.phone for c in rows],
        "ids": [c.id for c in rows],
        "shapes": [list(keys) for keys in shapes],
        "fields": field_shapes,
        "field_values": field_values,
        "custom": custom_shapes,
        "custom_values": custom_values,
    }


def _plain_dict(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """`mapping` as a dict for JSON (the checks build dicts: no copy then)."""
    return mapping if type(mapping) is dict else dict(mapping)


def _chunk_from(
    data: Any, file: str, line_offset: int
) -> tuple[tuple[DesiredContact, ...], tuple[bool, ...]] | None:
    """A chunk entry back into its contacts and their exact flags; None if anything is off."""
    if type(data) is not dict:
        return None
    exact = data.get("exact")
    contacts = _contacts_from(data, file, line_offset)
    if (
        contacts is None
        or not contacts
        or type(exact) is not list
        or len(exact) != len(contacts)
        or not set(map(type, exact)) <= _BOOL
    ):
        return None
    return contacts, tuple(exact)


def _contacts_from(data: Any, file: str, line_offset: int = 0) -> tuple[DesiredContact, ...] | None:
    """Columns back into contacts, every value checked; None if anything is off.

    Each check runs over a whole column at once (the types of every line,
    phone and value), so checking costs little next to reading the JSON.
    """
    if type(data) is not dict:
        return None
    try:
        columns = [data[name] for name in _COLUMNS]
    except KeyError:
        return None
    if any(type(column) is not list for column in columns):
        return None
    lines, cols, phones, ids, shapes, fields, field_values, custom, custom_values = columns
    count = len(lines)
    if any(len(column) != count for column in (cols, phones, ids, fields, custom)):
        return None
    if not count:
        return ()
    keys = _shapes(shapes)
    if (
        keys is None
        or not set(map(type, lines)) <= _INT
        or not set(map(type, cols)) <= _INT
        or min(lines) < 1
        or min(cols) < 1
        or not set(map(type, phones)) <= _STR
        or not all(map(_starts_with_plus, phones))
        or not set(map(type, ids)) <= _ID
        or any(number <= 0 for number in ids if number is not None)
        or not _values_fit(fields, field_values, keys, _TEXT)
        or not _FIELDS.issuperset(itertools.chain.from_iterable(keys[i] for i in set(fields)))
        or not _values_fit(custom, custom_values, keys, _CUSTOM)
        or not all(math.isfinite(value) for value in custom_values if type(value) is float)
    ):
        return None
    if line_offset:
        lines = [line + line_offset for line in lines]
    sources = map(SourceRef, itertools.repeat(file), lines, cols)
    # zip stops at the end of the keys before taking a value: each takes its own
    # (maps all the way down: no Python frame per contact).
    field_maps = _maps(map(keys.__getitem__, fields), field_values)
    custom_maps = _maps(map(keys.__getitem__, custom), custom_values)
    return tuple(map(DesiredContact, phones, field_maps, custom_maps, ids, sources))


def _maps(key_lists: Iterable[tuple[str, ...]], values: list[Any]) -> Iterator[dict[str, Any]]:
    """One dict per key list, taking its values in turn from `values`."""
    return map(dict, map(zip, key_lists, itertools.repeat(iter(values))))


def _shapes(shapes: list[Any]) -> list[tuple[str, ...]] | None:
    """The key lists of an entry, each of distinct strings; None if one is not."""
    keys: list[tuple[str, ...]] = []
    for shape in shapes:
        if (
            type(shape) is not list
            or not set(map(type, shape)) <= _STR
            or len(set(shape)) != len(shape)
        ):
            return None
        keys.append(tuple(shape))
    return keys


def _values_fit(
    indexes: list[Any], values: list[Any], keys: list[tuple[str, ...]], kinds: frozenset[Any]
) -> bool:
    """Every index names a key list, the values are exactly as many as their keys, of `kinds`."""
    if not set(map(type, indexes)) <= _INT or min(indexes) < 0 or max(indexes) >= len(keys):
        return False
    counted = sum(map(len, map(keys.__getitem__, indexes)))
    return counted == len(values) and set(map(type, values)) <= kinds


_COLUMNS = (
    "lines",
    "cols",
    "phones",
    "ids",
    "shapes",
    "fields",
    "field_values",
    "custom",
    "custom_values",
)
_starts_with_plus = operator.methodcaller("startswith", "+")
_ID = frozenset({int, type(None)})
_DICT = frozenset({dict})
_BOOL = frozenset({bool})
_INT = frozenset({int})
_STR = frozenset({str})
_TEXT = frozenset({str, type(None)})
_CUSTOM = frozenset({str, int, float, bool, type(None)})

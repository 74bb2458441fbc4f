"""The sandbox's storage: contacts in one SQLite file (stdlib sqlite3, WAL).

One transaction per request. Connections are per thread (FastAPI may call
from its thread pool, the in-process client from its own loop), opened
lazily so the app needs no lifespan events.

Listing without filters must not slow down as the page number grows, so the
store keeps the sorted id list of the current snapshot in memory and turns a
page into an id range (and its length is the total: no COUNT(*), which scans
an index, on every page). The snapshot key is (sqlite_sequence.seq, number of
deletions): ids are assigned by AUTOINCREMENT and never reused, so every
insert raises `seq`, and a trigger counts deletions; equal keys mean equal id
sets. (A row inserted with an explicit id below `seq` would go unnoticed;
the API never does that.)
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jcstate.sandbox.seeddata import generated_contacts
from jcstate.sandbox.validation import ContactInput, merge_custom

#: Column order of every row the store returns.
COLUMNS: tuple[str, ...] = (
    "id",
    "first_name",
    "last_name",
    "phone",
    "email",
    "company",
    "custom_fields",
    "created_at",
    "updated_at",
)
_SELECT = "SELECT " + ", ".join(COLUMNS) + " FROM contacts"
_WRITABLE = ("first_name", "last_name", "phone", "email", "company")

Row = tuple[Any, ...]

#: One row as the API's contact object, in SQLite's JSON functions (same keys as `row_to_contact`).
_JSON_CONTACT = (
    "json_object('id', id, 'first_name', first_name, 'last_name', last_name, 'phone', phone,"
    " 'email', email, 'company', company, 'custom_fields', json(custom_fields),"
    " 'created_at', created_at, 'updated_at', updated_at)"
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS contacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    first_name TEXT,
    last_name TEXT,
    phone TEXT NOT NULL,
    email TEXT,
    company TEXT,
    custom_fields TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS contacts_phone ON contacts (phone);
CREATE INDEX IF NOT EXISTS contacts_email ON contacts (email COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS contacts_company ON contacts (company COLLATE NOCASE);
-- Deletions are counted by a trigger (deletes are rare, one row each); inserts
-- need no trigger because AUTOINCREMENT raises sqlite_sequence. See `_sorted_ids`.
DROP TRIGGER IF EXISTS contacts_counted_insert;
DROP TRIGGER IF EXISTS contacts_counted_delete;
DROP TABLE IF EXISTS contacts_meta;
CREATE TABLE IF NOT EXISTS contacts_deletions (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    deleted INTEGER NOT NULL
);
INSERT OR IGNORE INTO contacts_deletions (singleton, deleted) VALUES (1, 0);
CREATE TRIGGER IF NOT EXISTS contacts_count_deletions AFTER DELETE ON contacts
    BEGIN UPDATE contacts_deletions SET deleted = deleted + 1 WHERE singleton = 1; END;
"""

# SQLite's default limit on bound parameters is 32766; stay well below it.
_CHUNK = 900


def utc_now_text() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def dump_custom(values: Mapping[str, Any]) -> str:
    return json.dumps(dict(values), separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def row_to_contact(row: Row) -> dict[str, Any]:
    """The API's contact object for a stored row."""
    return {
        "id": row[0],
        "first_name": row[1],
        "last_name": row[2],
        "phone": row[3],
        "email": row[4],
        "company": row[5],
        "custom_fields": json.loads(row[6]),
        "created_at": row[7],
        "updated_at": row[8],
    }


@dataclass(frozen=True, slots=True)
class ContactFilters:
    """List filters; None means "not filtered". `phone` is already E.164."""

    search: str | None = None
    phone: str | None = None
    email: str | None = None
    company: str | None = None

    def is_empty(self) -> bool:
        return not (self.search or self.phone or self.email or self.company)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def filters_sql(filters: ContactFilters) -> tuple[str, list[Any]]:
    """A WHERE clause (without the keyword) and its parameters."""
    clauses: list[str] = []
    params: list[Any] = []
    if filters.phone:
        clauses.append("phone = ?")
        params.append(filters.phone)
    if filters.email:
        clauses.append("email = ? COLLATE NOCASE")
        params.append(filters.email)
    if filters.company:
        clauses.append("company = ? COLLATE NOCASE")
        params.append(filters.company)
    if filters.search:
        pattern = f"%{_escape_like(filters.search)}%"
        alternatives = [
            f"{column} LIKE ? ESCAPE '\\'"
            for column in ("first_name", "last_name", "phone", "email")
        ]
        params.extend([pattern] * 4)
        # "(415) 555-98" should find +14155559876: also match the digits alone.
        digits = "".join(ch for ch in filters.search if ch.isdigit())
        if digits and digits != filters.search and set(filters.search) <= set("0123456789+-(). "):
            alternatives.append("phone LIKE ?")
            params.append(f"%{digits}%")
        clauses.append("(" + " OR ".join(alternatives) + ")")
    return (" AND ".join(clauses) or "1"), params


def _new_row_values(values: Mapping[str, Any], now: str) -> tuple[Any, ...]:
    return (
        values.get("first_name"),
        values.get("last_name"),
        values["phone"],
        values.get("email"),
        values.get("company"),
        dump_custom(values.get("custom_fields") or {}),
        now,
        now,
    )


def _apply_input(target: dict[str, Any], contact: ContactInput) -> None:
    """Set the fields present in `contact` on a mutable row dict (PUT semantics)."""
    target.update(contact.fields)
    if contact.custom_fields is not None:
        target["custom_fields"] = merge_custom(
            target.get("custom_fields") or {}, contact.custom_fields
        )


def _storable_id(contact_id: int) -> bool:
    """Whether SQLite can hold this id at all (beyond 64 bits it cannot even be bound)."""
    return -(2**63) <= contact_id < 2**63


class ContactStore:
    """Contacts in a SQLite file. Thread-safe: one connection per thread."""

    def __init__(self, path: Path, clock: Callable[[], str] = utc_now_text) -> None:
        self.path = Path(path)
        self._clock = clock
        self._local = threading.local()
        self._schema_lock = threading.Lock()
        self._schema_ready = False
        self._connections: list[sqlite3.Connection] = []
        self._ids_lock = threading.Lock()
        self._ids_key: tuple[int, int] | None = None
        self._ids: array[int] = array("q")

    # -- connections and transactions -------------------------------------

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30.0
            )
            conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a commit survives a crash of the process.
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA cache_size=-32000")
            with self._schema_lock:
                if not self._schema_ready:
                    conn.executescript(_SCHEMA)
                    self._schema_ready = True
                self._connections.append(conn)
            self._local.conn = conn
        return conn

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[sqlite3.Connection]:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        with self._schema_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    # -- reads -------------------------------------------------------------

    def _sorted_ids(self, conn: sqlite3.Connection) -> array[int]:
        seq, deleted = conn.execute(
            "SELECT (SELECT seq FROM sqlite_sequence WHERE name = 'contacts'),"
            " (SELECT deleted FROM contacts_deletions WHERE singleton = 1)"
        ).fetchone()
        key = (int(seq or 0), int(deleted))
        with self._ids_lock:
            if self._ids_key != key:
                ids = array("q")
                cursor = conn.execute("SELECT id FROM contacts ORDER BY id")
                while chunk := cursor.fetchmany(10_000):
                    ids.extend(item[0] for item in chunk)
                self._ids, self._ids_key = ids, key
            return self._ids

    def list_page(self, filters: ContactFilters, page: int, per_page: int) -> tuple[list[Row], int]:
        """One page (1-based) ordered by id, and the total matching the filters."""
        offset = (page - 1) * per_page
        with self._transaction(write=False) as conn:
            if filters.is_empty():
                ids = self._sorted_ids(conn)
                window = ids[offset : offset + per_page]
                if not window:
                    return [], len(ids)
                rows = conn.execute(
                    f"{_SELECT} WHERE id BETWEEN ? AND ? ORDER BY id", (window[0], window[-1])
                ).fetchall()
                return rows, len(ids)
            where, params = filters_sql(filters)
            total = conn.execute(f"SELECT COUNT(*) FROM contacts WHERE {where}", params).fetchone()[
                0
            ]
            rows = conn.execute(
                f"{_SELECT} WHERE {where} ORDER BY id LIMIT ? OFFSET ?", [*params, per_page, offset]
            ).fetchall()
            return rows, int(total)

    def list_page_json(
        self, filters: ContactFilters, page: int, per_page: int
    ) -> tuple[str, int, int]:
        """Like `list_page`, with the page as a JSON array of API contacts built by SQLite.

        Returns (json_array_text, contacts_on_the_page, total). Building the
        JSON in SQLite is several times cheaper than decoding custom fields
        and re-encoding every row in Python, which is most of a list request.
        """
        offset = (page - 1) * per_page
        with self._transaction(write=False) as conn:
            if filters.is_empty():
                ids = self._sorted_ids(conn)
                window = ids[offset : offset + per_page]
                if not window:
                    return "[]", 0, len(ids)
                inner = f"{_SELECT} WHERE id BETWEEN ? AND ? ORDER BY id"
                params: list[Any] = [window[0], window[-1]]
                total = len(ids)
            else:
                where, params = filters_sql(filters)
                total = conn.execute(
                    f"SELECT COUNT(*) FROM contacts WHERE {where}", params
                ).fetchone()[0]
                inner = f"{_SELECT} WHERE {where} ORDER BY id LIMIT ? OFFSET ?"
                params = [*params, per_page, offset]
            data, count = conn.execute(
                f"SELECT json_group_array({_JSON_CONTACT}), COUNT(*) FROM ({inner})", params
            ).fetchone()
            return str(data), int(count), int(total)

    def get(self, contact_id: int) -> Row | None:
        if not _storable_id(contact_id):
            return None
        with self._transaction(write=False) as conn:
            row: Row | None = conn.execute(f"{_SELECT} WHERE id = ?", (contact_id,)).fetchone()
            return row

    def count(self) -> int:
        with self._transaction(write=False) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM contacts").fetchone()[0])

    # -- writes ------------------------------------------------------------

    def create(self, contact: ContactInput) -> Row:
        values: dict[str, Any] = {}
        _apply_input(values, contact)
        now = self._clock()
        with self._transaction(write=True) as conn:
            cursor = conn.execute(
                "INSERT INTO contacts (first_name, last_name, phone, email, company,"
                " custom_fields, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                _new_row_values(values, now),
            )
            row: Row = conn.execute(f"{_SELECT} WHERE id = ?", (cursor.lastrowid,)).fetchone()
            return row

    def update(self, contact_id: int, contact: ContactInput) -> Row | None:
        if not _storable_id(contact_id):
            return None
        with self._transaction(write=True) as conn:
            current = conn.execute(f"{_SELECT} WHERE id = ?", (contact_id,)).fetchone()
            if current is None:
                return None
            values = dict(zip(COLUMNS, current, strict=True))
            values["custom_fields"] = json.loads(values["custom_fields"])
            before = dict(values)
            _apply_input(values, contact)
            if values == before:
                # Nothing changed: keep updated_at, so it tells when data last changed.
                return tuple(current)
            conn.execute(
                "UPDATE contacts SET first_name = ?, last_name = ?, phone = ?, email = ?,"
                " company = ?, custom_fields = ?, updated_at = ? WHERE id = ?",
                (
                    *(values[name] for name in _WRITABLE),
                    dump_custom(values["custom_fields"]),
                    self._clock(),
                    contact_id,
                ),
            )
            row: Row = conn.execute(f"{_SELECT} WHERE id = ?", (contact_id,)).fetchone()
            return row

    def delete(self, contact_id: int) -> bool:
        if not _storable_id(contact_id):
            return False
        with self._transaction(write=True) as conn:
            cursor = conn.execute("DELETE FROM contacts WHERE id = ?", (contact_id,))
            return cursor.rowcount > 0

    def bulk_upsert(self, contacts: Sequence[ContactInput]) -> tuple[int, int]:
        """Upsert valid records by phone in one transaction; returns (created, updated).

        A phone already stored updates its lowest-id contact; a phone repeated
        within the batch updates the contact the earlier record created.
        """
        now = self._clock()
        created = updated = 0
        with self._transaction(write=True) as conn:
            phones = list({c.fields["phone"] for c in contacts})
            lowest: dict[str, int] = {}
            for start in range(0, len(phones), _CHUNK):
                chunk = phones[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                for phone, contact_id in conn.execute(
                    f"SELECT phone, MIN(id) FROM contacts WHERE phone IN ({marks}) GROUP BY phone",
                    chunk,
                ):
                    lowest[phone] = contact_id
            current: dict[int, dict[str, Any]] = {}
            ids = list(lowest.values())
            for start in range(0, len(ids), _CHUNK):
                chunk_ids = ids[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk_ids))
                for row in conn.execute(f"{_SELECT} WHERE id IN ({marks})", chunk_ids):
                    values = dict(zip(COLUMNS, row, strict=True))
                    values["custom_fields"] = json.loads(values["custom_fields"])
                    current[row[0]] = values
            changed: dict[int, dict[str, Any]] = {}
            to_create: dict[str, dict[str, Any]] = {}
            for contact in contacts:
                phone = contact.fields["phone"]
                assert phone is not None
                if phone in lowest:
                    target = changed.setdefault(lowest[phone], current[lowest[phone]])
                    updated += 1
                elif phone in to_create:
                    target = to_create[phone]
                    updated += 1
                else:
                    target = to_create[phone] = {}
                    created += 1
                _apply_input(target, contact)
            conn.executemany(
                "INSERT INTO contacts (first_name, last_name, phone, email, company,"
                " custom_fields, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [_new_row_values(values, now) for values in to_create.values()],
            )
            conn.executemany(
                "UPDATE contacts SET first_name = ?, last_name = ?, phone = ?, email = ?,"
                " company = ?, custom_fields = ?, updated_at = ? WHERE id = ?",
                [
                    (
                        *(values[name] for name in _WRITABLE),
                        dump_custom(values["custom_fields"]),
                        now,
                        contact_id,
                    )
                    for contact_id, values in changed.items()
                ],
            )
        return created, updated

    def insert_rows(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Insert already-valid contacts in one transaction (seeding); returns the count."""
        now = self._clock()
        with self._transaction(write=True) as conn:
            cursor = conn.executemany(
                "INSERT INTO contacts (first_name, last_name, phone, email, company,"
                " custom_fields, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (_new_row_values(values, now) for values in rows),
            )
            return cursor.rowcount

    def seed(self, count: int, custom_fields: bool = False) -> int:
        """Add `count` generated contacts whose phones differ from earlier seeded ones."""
        start = self.last_id()
        return self.insert_rows(generated_contacts(start, count, custom_fields))

    def reset(self) -> None:
        """Remove every contact and restart the ids at 1, as in a new file.

        The deletion count only grows (by one more for the reset itself), so no
        snapshot key (seq, deletions) after a reset repeats one from before it:
        another store on this file (a served sandbox) never lists stale ids.
        """
        with self._transaction(write=True) as conn:
            conn.execute("DELETE FROM contacts")
            conn.execute("DELETE FROM sqlite_sequence WHERE name = 'contacts'")
            conn.execute("UPDATE contacts_deletions SET deleted = deleted + 1 WHERE singleton = 1")

    def last_id(self) -> int:
        with self._transaction(write=False) as conn:
            row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'contacts'").fetchone()
            return int(row[0]) if row else 0

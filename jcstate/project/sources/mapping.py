"""Rows -> contacts, with the same rules as a contacts file (values in, values out).

Each row is mapped (`map`), translated (`values`) and dropped when `skip_if`
says so; then it is checked by `validate.check_contacts` itself, in chunks,
so a generated file holds exactly what a hand-written one could: phones in
E.164 with `default_region`, e-mail addresses checked, custom values typed
and enums checked. A problem names the source, the row and the column:
`crm:row 7, column "Phone Number": invalid phone number ...`.

Given a `phones.PhonePool`, the phones of each chunk after the first two are
normalised by its worker processes while this one checks the chunk before;
chunks are still taken in row order, so the result does not depend on it.

An empty cell is "not set": the field is left out (unmanaged), not cleared.
Two rows with one phone and the same values are merged (counted); with
different values both rows are reported.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jcstate.core.model import DesiredContact, ProjectConfig
from jcstate.core.normalize import normalize_phone
from jcstate.core.rules import RuleSet
from jcstate.core.rules import check_contacts as check_contact_rules
from jcstate.project.sources.config import CUSTOM_PREFIX, Source, _scalar_text
from jcstate.project.sources.phones import PendingPhones, PhonePool
from jcstate.project.sources.readers import Row
from jcstate.project.validate import ContactsDoc, Issue, check_contacts

#: rows checked per `check_contacts` call (its pydantic pass is per chunk)
CHUNK = 2_000
#: chunks of a source whose phones are always normalised in this process
_LOCAL_CHUNKS = 2


@dataclass(frozen=True, slots=True, order=True)
class RowProblem:
    """One bad row of a source, at a column (None: the whole row)."""

    source: str
    row: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f', column "{self.column}"' if self.column is not None else ""
        return f"{self.source}:row {self.row}{where}: {self.message}"


@dataclass
class Collected:
    """What the rows of one source gave."""

    rows_read: int = 0
    skipped_by_skip_if: int = 0
    merged_duplicates: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    #: phone -> (row number, contacts-file entry)
    contacts: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    invalid_rows: set[int] = field(default_factory=set)

    def entries(self) -> list[dict[str, Any]]:
        """The entries to write, sorted by phone."""
        return [self.contacts[phone][1] for phone in sorted(self.contacts)]


def _is_blank(cell: Any) -> bool:
    """An empty cell: missing, null, or only spaces (a fallback column is tried instead)."""
    return cell is None or (isinstance(cell, str) and (not cell or cell.isspace()))


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, bytes):
        return "binary data"
    return type(value).__name__


def _as_text(value: Any) -> str | None:
    """A cell as text for a standard field or the phone; None when it cannot be text."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return None


def _translated(cell: Any, table: Mapping[str, Any]) -> Any:
    """A cell through its `values:` table (unchanged when the table has no such key)."""
    if isinstance(cell, Mapping | list):
        return cell
    key = cell.strip() if isinstance(cell, str) else _scalar_text(cell)
    return table.get(key, cell)


class RowMapper:
    """Maps the rows of one source to contacts; `feed` gathers every problem."""

    def __init__(self, source: Source, config: ProjectConfig, rules: RuleSet | None = None) -> None:
        self.name = source.name
        self.config = config
        #: the contact rules of `rules:`: a row breaking an error rule is a bad row
        self.rules = rules if rules is not None and rules.of("contact") else None
        self.region = config.default_region
        settings = source.config
        #: per mapped field: (target, its first column, its `values` table, custom key or
        #: None, the fallback columns tried when the first cell is empty)
        self.plan = [
            (
                target,
                source.columns_of(target)[0],
                settings.values.get(target),
                target.removeprefix(CUSTOM_PREFIX) if target.startswith(CUSTOM_PREFIX) else None,
                source.columns_of(target)[1:],
            )
            for target in settings.map
        ]
        self.phone_columns = source.columns_of("phone") if "phone" in settings.map else ("",)
        self.phone_column = self.phone_columns[0]
        self.columns = {target: source.columns_of(target)[0] for target in settings.map}
        #: (row, field) -> the fallback column its value came from (when not the first)
        self.fallbacks: dict[tuple[int, str], str] = {}
        self.skip_if = {
            column: {str(v).strip().casefold() for v in values}
            for column, values in settings.skip_if.items()
        }
        self.defs = config.custom_fields
        self.dates = frozenset(key for key, d in self.defs.items() if d.type == "date")

    # -- one row --------------------------------------------------------------------

    def _skipped(self, values: Mapping[str, Any]) -> bool:
        for column, dropped in self.skip_if.items():
            cell = values.get(column)
            if type(cell) is str:
                text = cell.strip().casefold()
            else:
                text = "" if cell is None else str(_scalar_text(cell)).strip().casefold()
            if text in dropped:
                return True
        return False

    def _entry(self, number: int, values: Mapping[str, Any]) -> dict[str, Any] | None:
        """The raw contacts-file entry of a row (None, with problems, when it has none).

        The hot loop of an import: a text cell (every CSV cell) takes the short path.
        """
        entry: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        ok = True
        for target, column, table, custom_key, fallbacks in self.plan:
            cell = values.get(column)
            if fallbacks and _is_blank(cell):
                cell, column = self._fallback(number, target, values, fallbacks, cell, column)
            if table is not None and cell is not None:
                cell = _translated(cell, table)
            if type(cell) is str:
                if cell and not cell.isspace():  # an empty cell is "not set"
                    if custom_key is not None:
                        custom[custom_key] = cell
                    else:
                        entry[target] = cell
                continue
            if cell is None:
                continue
            if custom_key is not None:
                if hasattr(cell, "as_integer_ratio") and not isinstance(cell, int | float):
                    cell = float(cell)  # a Decimal
                custom[custom_key] = cell
                continue
            text = _as_text(cell)
            if text is None:
                self._problem(number, column, f"{target}: expected text, got {_kind(cell)}")
                ok = False
                continue
            entry[target] = text
        if "phone" not in entry and ok:
            self._missing_phone(number)
            return None
        if custom:
            entry["custom_fields"] = custom
        return entry if ok else None

    def _fallback(
        self,
        number: int,
        target: str,
        values: Mapping[str, Any],
        fallbacks: Sequence[str],
        cell: Any,
        column: str,
    ) -> tuple[Any, str]:
        """The first non-blank cell of the fallback columns (noted), else the blank one."""
        for fallback in fallbacks:
            other = values.get(fallback)
            if not _is_blank(other):
                self.fallbacks[(number, target)] = fallback
                return other, fallback
        return cell, column

    def _missing_phone(self, number: int) -> None:
        if len(self.phone_columns) == 1:
            why = "the cell is empty"
        else:
            names = [f'"{name}"' for name in self.phone_columns]
            why = f"the cells of {', '.join(names[:-1])} and {names[-1]} are empty"
        self._problem(number, self.phone_column, f"missing phone ({why})")

    # -- all rows -------------------------------------------------------------------

    def _problem(self, number: int, column: str | None, message: str) -> None:
        self.collected.problems.append(RowProblem(self.name, number, column, message))
        self.collected.invalid_rows.add(number)

    def feed(self, rows: Iterable[Row], pool: PhonePool | None = None) -> Collected:
        """Map and check every row; with `pool`, phones of later chunks are normalised there."""
        self.collected = collected = Collected()
        self._first_row: dict[str, int] = {}
        self._later: list[tuple[int, dict[str, Any]]] = []  # rows whose phone an earlier row has
        in_process = PhonePool(self.region, workers=0)
        queued: deque[tuple[list[tuple[int, dict[str, Any]]], PendingPhones]] = deque()
        depth = 2 + (pool.workers if pool is not None else 0)
        batch: list[tuple[int, dict[str, Any]]] = []
        batches = 0

        def send() -> None:
            nonlocal batch, batches
            batches += 1
            # The first chunks are done here: a small source never waits for a worker to start.
            normaliser = in_process if batches <= _LOCAL_CHUNKS else (pool or in_process)
            queued.append((batch, normaliser.submit([entry["phone"] for _, entry in batch])))
            batch = []
            while len(queued) > (depth if batches > _LOCAL_CHUNKS else 0):
                self._map_chunk(*queued.popleft())

        for number, values in rows:
            collected.rows_read += 1
            if isinstance(values, str):
                self._problem(number, None, values)
                continue
            if self._skipped(values):
                collected.skipped_by_skip_if += 1
                continue
            entry = self._entry(number, values)
            if entry is None:
                continue
            batch.append((number, entry))
            if len(batch) >= CHUNK:
                send()
        if batch:
            send()
        while queued:
            self._map_chunk(*queued.popleft())
        self._duplicates(self._later, self._first_row)
        collected.problems.sort()
        return collected

    def _map_chunk(self, batch: list[tuple[int, dict[str, Any]]], pending: PendingPhones) -> None:
        """Check a chunk of mapped rows whose phones `pending` normalises (None: invalid)."""
        collected, first_row = self.collected, self._first_row
        known: dict[str, str] = {}
        unique: list[tuple[int, dict[str, Any]]] = []
        for (number, entry), phone in zip(batch, pending.result(), strict=True):
            if phone is None:
                # The check reports the phone, and whatever else is wrong with the row.
                collected.contacts.update(self._check([(number, entry)]))
                continue
            if phone in first_row:
                self._later.append((number, entry))
                continue
            first_row[phone] = number
            known[entry["phone"]] = phone
            unique.append((number, entry))
        collected.contacts.update(self._check(unique, known))

    def _check(
        self, pending: list[tuple[int, dict[str, Any]]], known: Mapping[str, str] | None = None
    ) -> dict[str, tuple[int, Any]]:
        """Check a chunk with the contacts-file rules; keep the good rows' contacts."""
        if not pending:
            return {}
        document = {"version": 1, "contacts": [entry for _, entry in pending]}
        marks = [(number, 1) for number, _ in pending]
        docs = [ContactsDoc(self.name, document, marks)]
        contacts, issues = check_contacts(self.config, docs, known_phones=known)
        bad: set[int] = set()
        for issue in issues:
            number, column, message = self._located(issue, pending)
            self._problem(number, column, message)
            bad.add(number)
        if self.rules is not None:
            self._check_rules(contacts, bad)
        kept: dict[str, tuple[int, Any]] = {}
        for contact in contacts:
            assert contact.source is not None
            number = contact.source.line
            if number not in bad:
                kept[contact.phone] = (number, self._written(contact))
        return kept

    def _check_rules(self, contacts: Sequence[DesiredContact], bad: set[int]) -> None:
        """Each row whose contact breaks an error rule is a problem (and a bad row)."""
        assert self.rules is not None
        good = [c for c in contacts if c.source is not None and c.source.line not in bad]
        for violation in check_contact_rules(self.rules, good):
            if not violation.is_error or violation.source is None:
                continue
            message = (
                f"{violation.message} (rule {violation.rule}, "
                f"{violation.rule_file}:{violation.rule_line})"
            )
            if violation.detail is not None:
                message += f": {violation.detail}"
            self._problem(violation.source.line, None, message)
            bad.add(violation.source.line)

    def _located(
        self, issue: Issue, pending: list[tuple[int, dict[str, Any]]]
    ) -> tuple[int, str | None, str]:
        path = issue.path
        number = pending[int(path[1])][0] if len(path) > 1 else 0
        target: str | None = None
        if len(path) > 3 and path[2] == "custom_fields":
            target = f"{CUSTOM_PREFIX}{path[3]}"
        elif len(path) > 2:
            target = str(path[2])
        column = None
        if target is not None:
            column = self.fallbacks.get((number, target), self.columns.get(target))
        message = issue.message
        if target is not None and target.startswith(CUSTOM_PREFIX):
            definition = self.defs.get(target.removeprefix(CUSTOM_PREFIX))
            if definition is not None and definition.type == "enum":
                message += f"; add it to sources.{self.name}.values.{target} in jcstate.yaml"
        return number, column, message

    def _written(self, contact: DesiredContact) -> dict[str, Any]:
        """The entry a generated file holds for a checked contact."""
        fields = contact.fields
        entry: dict[str, Any] = {"phone": contact.phone, **fields}
        if None in fields.values():  # not from a set cell; never written as null
            entry = {k: v for k, v in entry.items() if v is not None}
        dates = self.dates
        custom: dict[str, Any] = dict(contact.custom_fields)
        if dates or None in custom.values():
            custom = {
                # A date is written as a YAML date (unquoted), as a user would type it.
                key: dt.date.fromisoformat(str(value)) if key in dates else value
                for key, value in custom.items()
                if value is not None
            }
        if custom:
            entry["custom_fields"] = custom
        return entry

    def _duplicates(
        self, later: list[tuple[int, dict[str, Any]]], first_row: dict[str, int]
    ) -> None:
        """Rows whose phone an earlier row has: merged when equal, else both rows reported."""
        collected = self.collected
        conflicted: set[str] = set()
        message = "duplicate phone {phone}: also in row {other}, with different values"
        for number, entry in later:
            phone = normalize_phone(entry["phone"], self.region)
            first = first_row[phone]
            kept = self._check([(number, entry)])
            if phone not in kept:
                continue  # the row is bad for another reason, already reported
            held = collected.contacts.get(phone)
            if phone not in conflicted and held is not None and held[1] == kept[phone][1]:
                collected.merged_duplicates += 1
                continue
            self._problem(number, self.phone_column, message.format(phone=phone, other=first))
            if phone not in conflicted:
                conflicted.add(phone)
                self._problem(first, self.phone_column, message.format(phone=phone, other=number))
                collected.contacts.pop(phone, None)

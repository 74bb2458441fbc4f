"""Stream the rows of a source: CSV, JSON Lines or an SQL query (the I/O of an import).

Each reader yields `(row number, values)` one row at a time, never the whole
source: `values` maps each column the source reads to its cell (a CSV cell is
text, "" when empty; JSON and SQL cells keep their type), or is a `str`
explaining why the row cannot be read (a JSON line that is not an object).

Row numbers are what a user finds the row by: in a CSV the spreadsheet row
(the header is row 1, the first contact row 2, a quoted field spanning
several lines is still one row); in a JSON Lines file the line number; in a
query result the position of the row (1 = first row).

A database password never appears in an error: URLs are shown with
`render_as_string(hide_password=True)` and the password is scrubbed from any
message a driver gives.
"""

from __future__ import annotations

import codecs
import csv
import decimal
import json
import operator
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote
from urllib.request import pathname2url

from jcstate.errors import SourceError
from jcstate.project.files import leads_out
from jcstate.project.sources.config import Source, query_problem

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Engine

Row = tuple[int, dict[str, Any] | str]
#: A byte the encoding could not decode, as `surrogateescape` keeps it.
_UNDECODED = re.compile("[\udc80-\udcff]")
_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: the extra to install for a database's driver
DRIVER_EXTRAS = {"postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql"}


def _display(path: Path, cwd: Path) -> str:
    try:
        return Path(os.path.relpath(path, cwd)).as_posix()
    except ValueError:  # pragma: no cover - another drive on Windows
        return path.as_posix()


def read_rows(source: Source, root: Path, cwd: Path | None = None) -> Iterator[Row]:
    """The rows of `source` (paths relative to the project `root`), one at a time."""
    kind = source.config.kind
    if kind == "csv":
        return csv_rows(source, root, cwd or Path.cwd())
    if kind == "jsonl":
        return jsonl_rows(source, root, cwd or Path.cwd())
    return sql_rows(source, root, os.environ)


def _open_text(source: Source, path: Path, cwd: Path, encoding: str, errors: str = "strict") -> Any:
    try:
        return open(path, encoding=encoding, errors=errors, newline="")
    except OSError as exc:
        raise SourceError(
            f"{source.name}: cannot read {_display(path, cwd)}: {exc.strerror or exc}"
        ) from None


def _source_path(source: Source, root: Path, cwd: Path) -> Path:
    """The file of a CSV or JSONL source, refused if a link on its way leads out of the project.

    jcstate runs on branches other people wrote: a `path:` committed as a
    symlink to a file of the user's machine would copy it into generated
    contacts (and from there to the account). A link that stays inside the
    project is followed.
    """
    assert source.config.path is not None
    path = root / source.config.path
    reason = leads_out(path, root)
    if reason is not None:
        raise SourceError(
            f"{source.name}: refusing to read {_display(path, cwd)} (sources.{source.name}.path): "
            f"{reason}; remove the link, or copy the file into the project"
        )
    return path


def _missing_columns(source: Source, have: Sequence[str], where: str) -> None:
    missing = [column for column in source.columns if column not in have]
    if missing:
        names = ", ".join(f'"{column}"' for column in missing)
        found = ", ".join(f'"{column}"' for column in have) or "none"
        raise SourceError(
            f"{source.name}: {where} has no column{'s' if len(missing) > 1 else ''} {names} "
            f"(named in sources.{source.name} of jcstate.yaml); its columns are: {found}"
        )


def _cell(cells: list[str], index: int, width: int) -> str:
    """A CSV cell ("" past the row's end); a line end inside a quoted cell reads as \\n."""
    if index >= width:
        return ""
    cell = cells[index]
    return cell.replace("\r\n", "\n") if "\r" in cell else cell


def csv_rows(source: Source, root: Path, cwd: Path) -> Iterator[Row]:
    """A CSV as CRMs export it: BOM or not, CRLF, quoted commas and newlines, any column order."""
    config = source.config
    path = _source_path(source, root, cwd)
    encoding = _csv_encoding(config.encoding)
    shown = _display(path, cwd)
    encoding_name = config.encoding or "utf-8"
    row = 0  # the last row read: the header is row 1
    # Bytes the encoding cannot decode are kept as surrogates, so the row holding them is
    # found and named (a decoding error in the middle of a chunk names no row).
    with _open_text(source, path, cwd, encoding, "surrogateescape") as handle:
        reader = csv.reader(handle, delimiter=config.delimiter or ",")
        try:
            try:
                header = [name.strip() for name in next(reader)]
                row = 1
            except StopIteration:
                raise SourceError(
                    f"{source.name}: {shown} is empty (expected a header row)"
                ) from None
            picks = _column_picks(source, header, shown)
            columns = [column for column, _ in picks]
            take = operator.itemgetter(*(i for _, i in picks)) if len(picks) > 1 else None
            full = max((i for _, i in picks), default=-1) + 1
            for cells in reader:
                row += 1
                if not cells:
                    continue  # a blank line: a blank spreadsheet row
                width = len(cells)
                if take is not None and width >= full:
                    # The usual row: every mapped cell there, no line end inside one.
                    taken = take(cells)
                    joined = "".join(taken)
                    if "\r" not in joined and (joined.isascii() or not _UNDECODED.search(joined)):
                        yield row, dict(zip(columns, taken, strict=True))
                        continue
                yield row, _checked_row(source, shown, encoding_name, row, cells, picks)
        except UnicodeError:  # bytes no handler can keep, or utf-16 with no BOM
            raise SourceError(
                f"{source.name}: {shown}: cannot be read as {encoding_name} text from row "
                f"{row + 1} on (set sources.{source.name}.encoding, e.g. cp1252)"
            ) from None
        except csv.Error as exc:
            raise SourceError(f"{source.name}: {shown}: row {row + 1}: {exc}") from None


def _csv_encoding(declared: str | None) -> str:
    """The codec a CSV is read with: utf-8 by default, where a BOM (Excel, HubSpot) is not
    part of the first column's name."""
    encoding = declared or "utf-8"
    return "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding


def _column_picks(source: Source, header: list[str], shown: str) -> list[tuple[str, int]]:
    """Each mapped column and its position (the first of a repeated name); a mapped
    column missing from the header is a SourceError."""
    index: dict[str, int] = {}
    for position, name in enumerate(header):
        index.setdefault(name, position)
    _missing_columns(source, header, shown)
    return [(column, index[column]) for column in source.columns]


def _checked_row(
    source: Source,
    shown: str,
    encoding_name: str,
    row: int,
    cells: list[str],
    picks: list[tuple[str, int]],
) -> dict[str, str]:
    """The mapped cells of a row off the fast path (short, or with a line end or an
    undecodable byte in a cell); undecodable bytes are a SourceError naming the row."""
    width = len(cells)
    values = {c: _cell(cells, i, width) for c, i in picks}
    if any(_UNDECODED.search(value) for value in values.values()):
        raise SourceError(
            f"{source.name}: {shown}: row {row}: not valid {encoding_name} text "
            f"(set sources.{source.name}.encoding, e.g. cp1252)"
        )
    return values


def jsonl_rows(source: Source, root: Path, cwd: Path) -> Iterator[Row]:
    """One JSON object per line; blank lines are skipped (and counted)."""
    path = _source_path(source, root, cwd)
    shown = _display(path, cwd)
    columns = source.columns
    number = 0
    with _open_text(source, path, cwd, "utf-8-sig") as handle:
        try:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line.rstrip("\r\n"))
                except json.JSONDecodeError as exc:
                    yield number, f"not valid JSON: {exc.msg} (column {exc.colno})"
                    continue
                if not isinstance(value, dict):
                    yield number, f"expected a JSON object, got {type(value).__name__}"
                    continue
                yield number, {column: value.get(column) for column in columns}
        except UnicodeError:
            raise SourceError(
                f"{source.name}: {shown}: line {number + 1}: not valid utf-8 text"
            ) from None


# -- SQL ---------------------------------------------------------------------------------


def expand_env(
    text: str, env: Mapping[str, str], what: str, used: dict[str, str] | None = None
) -> str:
    """`${NAME}` replaced by the variable's value (percent-encoded inside a URL).

    A URL that is one `${NAME}` alone is the variable's value as it is (a
    whole URL kept in a secret); a variable inside a URL is percent-encoded,
    so a password holding `@` or `/` still reads as a password. Each variable
    expanded is recorded in `used` (name -> value), so that every message can
    hide its value.
    """
    whole = _ENV_RE.fullmatch(text)

    def value_of(name: str) -> str:
        value = env.get(name)
        if value is None:
            raise SourceError(f"{what} uses ${{{name}}}, but the environment variable is not set")
        if used is not None:
            used[name] = value
        return value

    if whole is not None:
        return value_of(whole.group(1))
    return _ENV_RE.sub(lambda match: quote(value_of(match.group(1)), safe=""), text)


class _Scrubber:
    """Hides secrets in a message: each expanded `${NAME}` shows as `${NAME}` again.

    Every variable the URL expanded is hidden, not only the password: a path
    or a host may be as secret (`sqlite:///${API_SECRET}.db`). Each value is
    hidden as written, percent-encoded and percent-decoded; the password of
    the URL (written in it or expanded) shows as `***`.
    """

    def __init__(self, secrets: Sequence[str], variables: Mapping[str, str] | None = None) -> None:
        pairs: dict[str, str] = {}
        for secret in secrets:
            for form in (secret, quote(secret, safe=""), unquote(secret)):
                if form:
                    pairs[form] = "***"
        for name, value in (variables or {}).items():
            for form in (value, quote(value, safe=""), quote(value), unquote(value)):
                if form:
                    pairs.setdefault(form, f"${{{name}}}")
        self.pairs = sorted(pairs.items(), key=lambda pair: len(pair[0]), reverse=True)

    def __call__(self, text: str) -> str:
        for secret, shown in self.pairs:
            text = text.replace(secret, shown)
        return text


def _database_url(source: Source, root: Path, env: Mapping[str, str]) -> tuple[URL, _Scrubber]:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    assert source.config.url is not None
    where = f"sources.{source.name}.url"
    variables: dict[str, str] = {}
    expanded = expand_env(source.config.url, env, where, variables)
    try:
        url = make_url(expanded)
    except ArgumentError:
        raise SourceError(
            f"{source.name}: {where} is not an SQLAlchemy URL "
            "(expected dialect+driver://user:password@host/database)"
        ) from None
    password = url.password if isinstance(url.password, str) else None
    scrub = _Scrubber([password or ""], variables)
    database = url.database
    if (
        url.get_backend_name() == "sqlite"
        and database
        and database != ":memory:"
        and not database.startswith("file:")
        and not os.path.isabs(database)
    ):
        url = url.set(database=str(root / database))  # relative to jcstate.yaml, like path
    return url, scrub


def shown_url(url: URL) -> str:
    """The URL as messages show it: never the password."""
    return url.render_as_string(hide_password=True)


def _decimal(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


#: How each database is told that this connection only reads (run before the query, in
#: its transaction). PostgreSQL: the implicit transaction is made read-only before any
#: query; MySQL/MariaDB: a read-only transaction is started explicitly.
_READ_ONLY_SQL = {
    "postgresql": "SET TRANSACTION READ ONLY",
    "mysql": "START TRANSACTION READ ONLY",
    "mariadb": "START TRANSACTION READ ONLY",
}


def read_only_url(url: URL) -> URL:
    """An SQLite file opened with `mode=ro` (never written, never created); others unchanged."""
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return url
    if database.startswith("file:"):
        return url.update_query_dict({"uri": "true", "mode": "ro"})
    path = pathname2url(os.path.abspath(database))
    return url.set(database=f"file:{path}").update_query_dict({"uri": "true", "mode": "ro"})


def read_only_engine(url: URL) -> Engine:
    """An engine whose every connection only reads (see `_READ_ONLY_SQL`, `read_only_url`)."""
    from sqlalchemy import create_engine, event

    engine = create_engine(read_only_url(url))
    if url.get_backend_name() == "sqlite":

        @event.listens_for(engine, "connect")
        def query_only(dbapi_connection: Any, _record: Any) -> None:
            # Also for `:memory:` and `file:` URIs: this connection may not write at all.
            dbapi_connection.execute("PRAGMA query_only = ON")

    return engine


def sql_rows(source: Source, root: Path, env: Mapping[str, str]) -> Iterator[Row]:
    """The rows of the source's query, streamed (`stream_results`: a server-side cursor).

    The query was checked to be one reading statement (`query_problem`, at
    validate); the connection is read-only as well, so a statement that writes
    anyway (a data-modifying function) fails instead of changing the source.
    """
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    assert source.config.query is not None
    problem = query_problem(source.config.query)
    if problem is not None:  # validate refuses it at its line; never run it
        raise SourceError(f"{source.name}: sources.{source.name}.query: {problem}")
    url, scrub = _database_url(source, root, env)
    backend = url.get_backend_name()
    shown = scrub(shown_url(url))
    if _ENV_RE.fullmatch(source.config.url or ""):
        shown = source.config.url or shown  # a whole URL from a variable: not even its host
    if backend != "sqlite" and backend not in _READ_ONLY_SQL:
        raise SourceError(
            f"{source.name}: jcstate reads only SQLite, PostgreSQL, MySQL and MariaDB sources "
            f"(each opened read-only), not {backend}"
        )

    def failure(exc: Exception) -> SourceError:
        if isinstance(exc, DBAPIError) and exc.orig is not None:
            detail = str(exc.orig)
        else:
            detail = str(exc).split("\n", 1)[0]
        detail = " ".join(scrub(detail).split())
        return SourceError(f"{source.name}: cannot read {shown}: {detail}")

    try:
        engine = read_only_engine(url)
    except ImportError as exc:
        extra = DRIVER_EXTRAS.get(backend)
        hint = f" (install it: pip install 'jcstate[{extra}]')" if extra else ""
        raise SourceError(
            f"{source.name}: the database driver for {backend} is not installed{hint}: "
            f"{scrub(str(exc))}"
        ) from None
    except SQLAlchemyError as exc:
        raise failure(exc) from None
    try:
        with engine.connect() as connection:
            if backend in _READ_ONLY_SQL:
                connection.exec_driver_sql(_READ_ONLY_SQL[backend])
            streaming = connection.execution_options(stream_results=True, yield_per=1000)
            result = streaming.execute(text(source.config.query))
            keys = [str(key) for key in result.keys()]  # noqa: SIM118 - a Result, not a dict
            _missing_columns(source, keys, f"the query of sources.{source.name}")
            picks = [(column, keys.index(column)) for column in source.columns]
            for number, record in enumerate(result, 1):
                yield number, {column: _decimal(record[i]) for column, i in picks}
    except SQLAlchemyError as exc:
        raise failure(exc) from None
    finally:
        engine.dispose()

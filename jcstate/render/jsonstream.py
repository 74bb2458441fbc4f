"""A JSON object written member by member, its long lists item by item. Pure.

`iter_object(members)` yields the text of `json.dumps(dict(members), indent=2,
ensure_ascii=False)` in chunks: a member whose value is `Items(...)` is a list
encoded a few hundred items at a time, so a report of 300,000 contacts is never
one string (or one dict) in memory. Every cut falls between members or list
items, outside any string, so a chunk can be escaped (`core.safe.json_safe`) and
masked on its own and give the bytes of the whole document.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

#: list items encoded into one chunk
ITEMS_PER_CHUNK = 500


@dataclass(frozen=True)
class Items:
    """A list member whose items are encoded as they come."""

    items: Iterable[Any]


def _dumps(value: Any, level: int, options: dict[str, Any]) -> str:
    """`value` as `json.dumps(indent=2)` writes it nested `level` levels deep.

    A string in a JSON document never holds a raw line feed (it is escaped), so
    every line feed is layout and takes the deeper indent.
    """
    text = json.dumps(value, ensure_ascii=False, indent=2, **options)
    return text.replace("\n", "\n" + "  " * level)


def _list(items: Iterable[Any], opening: str, options: dict[str, Any]) -> Iterator[str]:
    """The chunks of a list member's value; the first begins with `opening`, the last
    chunk yielded is the closing bracket (an empty list is `[]`)."""
    batch: list[str] = []
    written = 0
    for item in items:
        batch.append("    " + _dumps(item, 2, options))
        if len(batch) == ITEMS_PER_CHUNK:
            yield opening + ("[\n" if not written else ",\n") + ",\n".join(batch)
            opening, written, batch = "", written + len(batch), []
    if batch:
        yield opening + ("[\n" if not written else ",\n") + ",\n".join(batch)
        opening, written = "", written + len(batch)
    yield opening + ("\n  ]" if written else "[]")


def iter_object(
    members: Iterable[tuple[str, Any]], *, end: str = "", **options: Any
) -> Iterator[str]:
    """The chunks of `json.dumps(dict(members), indent=2, ensure_ascii=False, **options)`
    followed by `end`; a value given as `Items` is streamed."""
    pending = "{"
    separator = "\n"
    for key, value in members:
        pending += separator + "  " + json.dumps(key, ensure_ascii=False) + ": "
        separator = ",\n"
        if not isinstance(value, Items):
            pending += _dumps(value, 1, options)
            continue
        held: str | None = None  # each chunk is written once the next one exists
        for chunk in _list(value.items, pending, options):
            if held is not None:
                yield held
            held = chunk
        pending = held or ""
    yield pending + ("\n}" if separator == ",\n" else "}") + end

"""A cache entry holds a file's contacts as flat columns; anything off in one is a miss.

The entry keeps each contact's keys as an index into the entry's distinct
key lists and its values in one flat list (no mapping per contact to write
or read). Reading it back must give the very contacts stored, types
included, and an entry whose columns do not fit together must be a miss,
never contacts made up from it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jcstate.core.model import DesiredContact, SourceRef
from jcstate.project.cache import MeaningCache

CONTACTS = (
    DesiredContact(
        "+14155550100",
        {"first_name": "Ada", "last_name": None},
        {"tier": "Pro", "seats": 3, "score": 1.5, "vip": True, "gone": None},
        7,
        SourceRef("contacts/a.yaml", 3, 5),
    ),
    DesiredContact("+14155550101", {}, {}, None, SourceRef("contacts/a.yaml", 9, 5)),
    DesiredContact(
        "+442079460000",
        {"first_name": "Zoë", "email": "z@example.com", "company": "Acme"},
        {"vip": False, "seats": 0, "score": -2},
        None,
        SourceRef("contacts/a.yaml", 11, 5),
    ),
    DesiredContact(
        "+14155550102",
        {"first_name": "Ada", "last_name": None},
        {"tier": "Free", "seats": 3, "score": 1.5, "vip": True, "gone": None},
        None,
        SourceRef("contacts/a.yaml", 20, 5),
    ),
)


def typed(contacts: Any) -> list[Any]:
    return [
        (
            c.phone,
            [(k, type(v), v) for k, v in c.fields.items()],
            [(k, type(v), v) for k, v in c.custom_fields.items()],
            c.id,
            c.source,
        )
        for c in contacts
    ]


@pytest.fixture
def cache(tmp_path: Path) -> MeaningCache:
    return MeaningCache(tmp_path / "cache", "salt")


def entry_path(cache: MeaningCache) -> Path:
    (path,) = cache.directory.rglob("*.json")
    return path


def test_contacts_read_back_are_the_contacts_stored(cache: MeaningCache) -> None:
    cache.put_contacts("d" * 64, CONTACTS)
    assert typed(cache.contacts("d" * 64, "contacts/a.yaml") or ()) == typed(CONTACTS)


def test_a_chunk_reads_back_with_its_lines_and_flags(cache: MeaningCache) -> None:
    cache.put_chunk("c" * 64, 3, CONTACTS, [True, False, True, True])
    found = cache.chunk("c" * 64, "contacts/a.yaml", 3)
    assert found is not None
    assert typed(found[0]) == typed(CONTACTS)
    assert found[1] == (True, False, True, True)


def test_repeated_keys_are_written_once(cache: MeaningCache) -> None:
    cache.put_contacts("d" * 64, CONTACTS)
    text = entry_path(cache).read_text(encoding="utf-8")
    assert text.count('"first_name"') == 2  # two key lists hold it, four contacts use them


DAMAGES: dict[str, Callable[[dict[str, Any]], None]] = {
    "shape index out of range": lambda d: d["fields"].__setitem__(0, 99),
    "negative shape index": lambda d: d["custom"].__setitem__(1, -1),
    "one value too many": lambda d: d["field_values"].append("x"),
    "one value too few": lambda d: d["custom_values"].pop(),
    "a key twice in a shape": lambda d: d["shapes"][0].append(d["shapes"][0][0]),
    "a key that is not a field": lambda d: d["shapes"][0].__setitem__(0, "nickname"),
    "a field value not text": lambda d: d["field_values"].__setitem__(0, 3),
    "a custom value not a scalar": lambda d: d["custom_values"].__setitem__(0, [1]),
    "a shape not a list": lambda d: d["shapes"].__setitem__(0, "first_name"),
    "a column missing": lambda d: d.pop("shapes"),
    "a column shorter": lambda d: d["custom"].pop(),
    "a phone not E.164": lambda d: d["phones"].__setitem__(0, "14155550100"),
    "an id of zero": lambda d: d["ids"].__setitem__(0, 0),
    "a line of zero": lambda d: d["lines"].__setitem__(0, 0),
}


@pytest.mark.parametrize("name", list(DAMAGES))
def test_an_entry_whose_columns_do_not_fit_is_a_miss(cache: MeaningCache, name: str) -> None:
    cache.put_contacts("d" * 64, CONTACTS)
    path = entry_path(cache)
    entry = json.loads(path.read_text(encoding="utf-8"))
    DAMAGES[name](entry["data"])
    path.write_text(json.dumps(entry), encoding="utf-8")
    assert cache.contacts("d" * 64, "contacts/a.yaml") is None


def test_an_infinite_number_is_a_miss(cache: MeaningCache) -> None:
    cache.put_contacts("d" * 64, CONTACTS)
    path = entry_path(cache)
    path.write_text(path.read_text(encoding="utf-8").replace("1.5", "Infinity"), encoding="utf-8")
    assert cache.contacts("d" * 64, "contacts/a.yaml") is None

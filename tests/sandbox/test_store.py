"""The SQLite store: ids, upserts, filters and the listing snapshot."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import phonenumbers
import pytest

from jcstate.sandbox.seeddata import generated_contact, generated_phone
from jcstate.sandbox.store import ContactFilters, ContactStore, row_to_contact
from jcstate.sandbox.validation import ContactInput, validate_contact


def contact(**body: object) -> ContactInput:
    return validate_contact(body, partial=False)


@pytest.fixture
def store(tmp_path: Path) -> ContactStore:
    return ContactStore(tmp_path / "store.db")


def all_contacts(store: ContactStore) -> list[dict[str, object]]:
    rows, _ = store.list_page(ContactFilters(), 1, 100)
    return [row_to_contact(row) for row in rows]


def test_database_is_wal_with_indexes(store: ContactStore) -> None:
    store.count()
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    indexes = {row[1] for row in conn.execute("PRAGMA index_list(contacts)")}
    assert {"contacts_phone", "contacts_email", "contacts_company"} <= indexes


def test_ids_increase_and_are_never_reused(store: ContactStore) -> None:
    first = store.create(contact(phone="+14155550101"))
    second = store.create(contact(phone="+14155550102"))
    assert store.delete(second[0])
    third = store.create(contact(phone="+14155550103"))
    assert first[0] < second[0] < third[0]


def test_update_merges_custom_fields_and_null_clears(store: ContactStore) -> None:
    row = store.create(
        contact(phone="+14155550101", company="Acme", custom_fields={"a": "1", "b": 2})
    )
    patch = validate_contact(
        {"company": None, "custom_fields": {"a": None, "c": True}}, partial=True
    )
    updated = store.update(row[0], patch)
    assert updated is not None
    result = row_to_contact(updated)
    assert result["company"] is None
    assert result["custom_fields"] == {"b": 2, "c": True}
    assert result["phone"] == "+14155550101"


def test_update_without_change_keeps_updated_at(tmp_path: Path) -> None:
    stamps = iter(["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"])
    store = ContactStore(tmp_path / "s.db", clock=lambda: next(stamps))
    row = store.create(contact(phone="+14155550101", first_name="Ann"))
    same = store.update(row[0], validate_contact({"first_name": "Ann"}, partial=True))
    assert same is not None and row_to_contact(same)["updated_at"] == "2026-01-01T00:00:00Z"
    changed = store.update(row[0], validate_contact({"first_name": "Bea"}, partial=True))
    assert changed is not None and row_to_contact(changed)["updated_at"] == "2026-01-02T00:00:00Z"


def test_bulk_upserts_the_lowest_id_and_repeats_within_a_batch(store: ContactStore) -> None:
    low = store.create(contact(phone="+14155550101", first_name="Low"))
    high = store.create(contact(phone="+14155550101", first_name="High"))
    created, updated = store.bulk_upsert(
        [
            contact(phone="+14155550101", last_name="Updated"),
            contact(phone="+14155550199", first_name="New"),
            contact(phone="+14155550199", last_name="Again"),
        ]
    )
    assert (created, updated) == (1, 2)
    by_id = {c["id"]: c for c in all_contacts(store)}
    assert by_id[low[0]]["last_name"] == "Updated"
    assert by_id[low[0]]["first_name"] == "Low"  # fields not sent stay
    assert by_id[high[0]]["last_name"] is None
    new = [c for c in by_id.values() if c["phone"] == "+14155550199"]
    assert len(new) == 1
    assert (new[0]["first_name"], new[0]["last_name"]) == ("New", "Again")


def test_listing_snapshot_follows_deletes_and_inserts(store: ContactStore) -> None:
    store.seed(250)
    rows, total = store.list_page(ContactFilters(), 3, 100)
    assert total == 250 and len(rows) == 50
    store.delete(1)
    store.delete(120)
    rows, total = store.list_page(ContactFilters(), 2, 100)
    assert total == 248
    ids = [row[0] for row in rows]
    assert ids[0] == 102 and 120 not in ids and len(ids) == 100
    store.create(contact(phone="+14155550101"))
    rows, total = store.list_page(ContactFilters(), 3, 100)
    assert total == 249 and rows[-1][0] == 251


def test_filters(store: ContactStore) -> None:
    store.create(contact(phone="+14155550101", first_name="Jordan", email="J@Example.com"))
    store.create(contact(phone="+14155550102", first_name="Sam", company="Acme Corp"))
    store.create(contact(phone="+14155550103", first_name="100%_real"))

    def phones(**filters: str) -> list[str]:
        rows, total = store.list_page(ContactFilters(**filters), 1, 100)
        assert total == len(rows)
        return [row[3] for row in rows]

    assert phones(email="j@example.com") == ["+14155550101"]
    assert phones(company="acme corp") == ["+14155550102"]
    assert phones(phone="+14155550102") == ["+14155550102"]
    assert phones(search="JORD") == ["+14155550101"]
    assert phones(search="%_") == ["+14155550103"]  # wildcards are literal
    assert phones(search="(415) 555-0102") == ["+14155550102"]
    assert phones(search="nobody") == []


def test_seed_adds_distinct_valid_phones_each_time(store: ContactStore) -> None:
    assert store.seed(120, custom_fields=True) == 120
    assert store.seed(30) == 30
    rows, total = store.list_page(ContactFilters(), 1, 100)
    more, _ = store.list_page(ContactFilters(), 2, 100)
    phones = [row[3] for row in rows + more]
    assert total == 150 and len(set(phones)) == 150
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(p)) for p in phones)
    assert row_to_contact(rows[0])["custom_fields"]["lead_source"] == "Website"


def test_generated_phones_are_valid_and_distinct_across_blocks() -> None:
    indexes = [0, 9_999, 10_000, 123_456, 799_999, 800_000]
    phones = [generated_phone(i) for i in indexes]
    assert len(set(phones)) == len(phones)
    for phone in phones:
        assert phonenumbers.is_valid_number(phonenumbers.parse(phone))
    assert generated_contact(5)["phone"] == generated_phone(5)

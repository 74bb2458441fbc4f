"""A mixed change set over a seeded sandbox, and how to check its outcome (issue 9).

The remote side starts as generated contacts 0..existing-1 (`jcstate sandbox
seed --custom-fields`). The project then declares, for those indexes, in order:

- ``updates``: last name and plan tier changed;
- ``clears``: e-mail set to ``null`` and the ``seats`` custom field to ``null``;
- ``deletes``: not declared (so `--prune` deletes them);
- ``protected``: not declared but listed in ``safety.protected`` (prune keeps them);
- ``partial``: declared with the phone and first name only (nothing to change);
- ``unchanged``: declared exactly as stored;

and ``creates`` new contacts after them. Contacts in the last three groups are
outside the plan: they must keep their stored record byte for byte, including
``updated_at``.

Everything here is plain data and plain HTTP (httpx), independent of the code
under test: the expected state is computed from the generator, and the remote
state is listed straight from the sandbox.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from jcstate.project.yamlio import render_contacts_file
from jcstate.sandbox.seeddata import generated_contact

STANDARD = ("first_name", "last_name", "email", "company")
CUSTOM_FIELDS_YAML = """\
custom_fields:
  lead_source: {type: enum, values: [Website, Referral, Event]}
  plan_tier: {type: enum, values: [Free, Pro, Enterprise, Premium]}
  seats: {type: integer}
"""
NEW_TIER = {"Free": "Pro", "Pro": "Enterprise", "Enterprise": "Premium", "Premium": "Free"}


@dataclass(frozen=True)
class Scenario:
    creates: int
    updates: int
    clears: int
    deletes: int
    protected: int
    partial: int
    unchanged: int

    @property
    def existing(self) -> int:
        return (
            self.updates + self.clears + self.deletes + self.protected + self.partial
            + self.unchanged
        )  # fmt: skip

    def _range(self, group: str) -> range:
        order = ("updates", "clears", "deletes", "protected", "partial", "unchanged")
        start = 0
        for name in order:
            size = getattr(self, name)
            if name == group:
                return range(start, start + size)
            start += size
        if group == "creates":
            return range(self.existing, self.existing + self.creates)
        raise KeyError(group)

    def phones(self, group: str) -> list[str]:
        return [generated_contact(i)["phone"] for i in self._range(group)]

    @property
    def untouched_phones(self) -> list[str]:
        """Stored contacts that no change may touch."""
        return self.phones("protected") + self.phones("partial") + self.phones("unchanged")

    @property
    def planned_changes(self) -> dict[str, int]:
        return {
            "create": self.creates,
            "update": self.updates + self.clears,
            "delete": self.deletes,
        }

    def declared_entries(self) -> list[dict[str, Any]]:
        """The contacts as written in the YAML files."""
        entries: list[dict[str, Any]] = []
        for index in self._range("updates"):
            contact = generated_contact(index, custom_fields=True)
            contact["last_name"] = f"Moved{contact['last_name']}"
            contact["custom_fields"]["plan_tier"] = NEW_TIER[contact["custom_fields"]["plan_tier"]]
            entries.append(contact)
        for index in self._range("clears"):
            contact = generated_contact(index, custom_fields=True)
            contact["email"] = None
            contact["custom_fields"]["seats"] = None
            entries.append(contact)
        for index in self._range("partial"):
            contact = generated_contact(index)
            entries.append({"phone": contact["phone"], "first_name": contact["first_name"]})
        for group in ("unchanged", "creates"):
            entries.extend(generated_contact(i, custom_fields=True) for i in self._range(group))
        return entries

    def expected_state(self) -> dict[str, dict[str, Any]]:
        """phone -> normalised contact, for every contact that must exist afterwards."""
        expected: dict[str, dict[str, Any]] = {}
        for group in ("protected", "partial", "unchanged", "creates"):
            for index in self._range(group):
                contact = generated_contact(index, custom_fields=True)
                expected[contact["phone"]] = normalised(contact)
        for entry in self.declared_entries()[: self.updates + self.clears]:
            expected[entry["phone"]] = normalised(entry)
        return expected


def normalised(contact: Mapping[str, Any]) -> dict[str, Any]:
    """The comparable content of a contact: standard fields and non-empty custom fields.

    An absent, null or blank value is "empty"; e-mails compare case-insensitively.
    """
    out: dict[str, Any] = {"phone": contact["phone"]}
    for name in STANDARD:
        value = contact.get(name)
        if isinstance(value, str):
            value = value.strip() or None
            if name == "email" and value is not None:
                value = value.lower()
        out[name] = value
    custom = contact.get("custom_fields") or {}
    if isinstance(custom, list):
        custom = {item["key"]: item.get("value") for item in custom}
    out["custom_fields"] = {
        str(key): value for key, value in custom.items() if value is not None and value != ""
    }
    return out


# ---------------------------------------------------------------------------
# Files, seeding, commands
# ---------------------------------------------------------------------------


def seed_db(db: Path, count: int) -> None:
    """Generated contacts 0..count-1 (with custom fields), written straight into `db`."""
    subprocess.run(
        [sys.executable, "-m", "jcstate", "sandbox", "seed", "--db", str(db),
         "--count", str(count), "--custom-fields"],
        check=True,
        capture_output=True,
    )  # fmt: skip


def write_project(
    root: Path,
    entries: Sequence[Mapping[str, Any]],
    *,
    protected: Sequence[str] = (),
    files: int = 3,
    rate_limit_per_minute: int | None = None,
    concurrency: int = 4,
) -> None:
    """A project of `entries` over `files` contacts files; the API URL comes from outside."""
    root.mkdir(parents=True, exist_ok=True)
    rate = (
        f"  rate_limit: {{per_minute: {rate_limit_per_minute}}}\n" if rate_limit_per_minute else ""
    )
    (root / "jcstate.yaml").write_text(
        "version: 1\n"
        "api:\n"
        "  url: 'https://api.justcall.io'\n"
        f"{rate}"
        f"  concurrency: {concurrency}\n"
        "default_region: US\n"
        'contacts: ["contacts/*.yaml"]\n'
        f"{CUSTOM_FIELDS_YAML}"
        "safety:\n"
        "  max_delete_percent: 60\n"
        "  max_update_percent: 100\n"
        "  min_existing: 10\n"
        f"  protected: {json.dumps(list(protected))}\n"
    )
    write_contact_parts(root, entries, files)


def write_contact_parts(root: Path, entries: Sequence[Mapping[str, Any]], files: int) -> None:
    """Replace `root/contacts/*.yaml` with `files` canonical files sharing `entries`."""
    folder = root / "contacts"
    folder.mkdir(exist_ok=True)
    for old in folder.glob("*.yaml"):
        old.unlink()
    for number in range(files):
        part = list(entries[number::files])
        (folder / f"part{number}.yaml").write_text(render_contacts_file(part))


def write_scenario_project(root: Path, scenario: Scenario, **options: Any) -> None:
    write_project(
        root, scenario.declared_entries(), protected=scenario.phones("protected"), **options
    )


def jcstate_env(url: str, api_key: str, api_secret: str) -> dict[str, str]:
    env = {**os.environ, "NO_COLOR": "1"}
    env.update(
        {"JCSTATE_API_URL": url, "JUSTCALL_API_KEY": api_key, "JUSTCALL_API_SECRET": api_secret}
    )
    return env


def run_jcstate(
    root: Path, env: Mapping[str, str], *args: str, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jcstate", "-C", str(root), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=dict(env),
        timeout=timeout,
    )


# ---------------------------------------------------------------------------
# The remote state, read with plain httpx
# ---------------------------------------------------------------------------


def list_remote(url: str, headers: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every stored contact, page by page; injected 5xx and 429 answers are retried."""
    contacts: list[dict[str, Any]] = []
    with httpx.Client(base_url=url, headers=dict(headers), timeout=60) as http:
        page = 1
        while True:
            response = None
            for _attempt in range(60):
                try:
                    response = http.get("/v2/contacts", params={"page": page, "per_page": 100})
                except httpx.TransportError:
                    continue
                if response.status_code == 429:
                    time.sleep(float(response.headers.get("Retry-After", "1")))
                    continue
                if response.status_code < 500:
                    break
            assert response is not None
            response.raise_for_status()
            data = response.json()["data"]
            contacts.extend(data)
            if len(data) < 100:
                return contacts
            page += 1


def by_phone(contacts: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """phone -> contact; fails naming the phones that appear more than once."""
    counts = Counter(contact["phone"] for contact in contacts)
    duplicates = sorted(phone for phone, count in counts.items() if count > 1)
    assert not duplicates, f"{len(duplicates)} duplicated phones, e.g. {duplicates[:5]}"
    return {contact["phone"]: contact for contact in contacts}


def state_differences(
    expected: Mapping[str, Mapping[str, Any]], remote: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """Readable differences between the expected and the remote state (empty: equal)."""
    problems: list[str] = []
    missing = sorted(set(expected) - set(remote))
    extra = sorted(set(remote) - set(expected))
    if missing:
        problems.append(f"{len(missing)} missing, e.g. {missing[:5]}")
    if extra:
        problems.append(f"{len(extra)} not expected, e.g. {extra[:5]}")
    for phone in sorted(set(expected) & set(remote)):
        have = normalised(remote[phone])
        if have != expected[phone]:
            problems.append(f"{phone}: expected {dict(expected[phone])}, got {have}")
    return problems


def touched_outside(
    before: Mapping[str, Mapping[str, Any]],
    after: Mapping[str, Mapping[str, Any]],
    phones: Sequence[str],
) -> list[str]:
    """Phones (among `phones`) whose stored record changed in any way, or vanished."""
    return [phone for phone in phones if after.get(phone) != before.get(phone)]

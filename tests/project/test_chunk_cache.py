"""The meaning cache by chunks of contacts: one contact changed in a big file re-checks its chunk.

A file in the shape `fmt` writes is cut into chunks of contacts where the
contacts' own bytes say (not every N contacts: a contact inserted or removed
moves no other chunk's bounds). Each chunk's meaning is cached under its
bytes' sha256, so after one contact changed only the chunk holding it is read
and checked again. The cache is never authority: what a load reports and
means is exactly what a load without the cache reports and means.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from jcstate.cli import cli
from jcstate.errors import ConfigError
from jcstate.project import chunked
from jcstate.project.cache import CACHE_DIR_ENV
from jcstate.project.config import load_project
from jcstate.project.yamlio import linereader

PROJECT = """\
version: 1
default_region: US
contacts: ["contacts/*.yaml"]
custom_fields:
  tier: {type: enum, values: [Free, Pro]}
  seats: {type: integer}
"""
COUNT = 3_000


def canonical_contact(number: int) -> list[str]:
    lines = [
        f'  - phone: "+1415{200 + number // 10_000:03d}{number % 10_000:04d}"',
        f"    first_name: Person{number}",
        f"    email: person{number}@example.com",
        "    custom_fields:",
    ]
    if number % 2:
        lines.append(f"      seats: {number % 50 + 1}")
    lines.append("      tier: " + ("Pro" if number % 3 else "Free"))
    return lines


def big_file(count: int = COUNT) -> list[str]:
    lines = ["version: 1", "contacts:"]
    for number in range(count):
        lines += canonical_contact(number)
    return lines


def write(root: Path, lines: list[str], name: str = "big.yaml") -> None:
    (root / "contacts" / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def first_line_of(lines: list[str], number: int) -> int:
    """The 0-based index of contact `number`'s first line in `big_file()`'s lines."""
    phone = canonical_contact(number)[0]
    return lines.index(phone)


@pytest.fixture(autouse=True)
def _small_files_by_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files of a few hundred kilobytes read by chunks (the real floor is 1 MiB)."""
    monkeypatch.setattr(chunked, "MIN_CHUNKED_BYTES", 64 * 1024)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "contacts").mkdir(parents=True)
    (root / "jcstate.yaml").write_text(PROJECT, encoding="utf-8")
    write(root, big_file())
    return root


@pytest.fixture
def read_contacts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the contacts the line reader reads (canonical or simple), one entry per contact."""
    calls: list[int] = []
    canonical, simple = linereader.canonical_item, linereader._simple_item
    matched = linereader._canonical_groups

    def counting_canonical(lines: Any) -> Any:
        calls.append(1)
        return canonical(lines)

    def counting_matched(groups: Any) -> Any:
        calls.append(3)
        return matched(groups)

    def counting_simple(segment: Any, yaml: Any) -> Any:
        calls.append(2)
        return simple(segment, yaml)

    monkeypatch.setattr(linereader, "canonical_item", counting_canonical)
    monkeypatch.setattr(linereader, "_simple_item", counting_simple)
    monkeypatch.setattr(linereader, "_canonical_groups", counting_matched)
    return calls


def meaning(root: Path, *, use_cache: bool = True) -> list[tuple[Any, ...]]:
    project = load_project(root, cwd=root, use_cache=use_cache)
    return [
        (c.phone, dict(c.fields), dict(c.custom_fields), c.id, str(c.source), c.source.col)
        for c in project.desired.contacts
        if c.source is not None
    ]


def problems(root: Path, *, use_cache: bool = True) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_project(root, cwd=root, use_cache=use_cache)
    return [str(d) for d in raised.value.diagnostics]


def chunk_entries() -> list[Path]:
    found = []
    for path in Path(os.environ[CACHE_DIR_ENV]).rglob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
        if isinstance(data, dict) and "exact" in data:
            found.append(path)
    return found


def test_one_contact_changed_in_a_big_file_reads_only_its_chunk_again(
    project: Path, read_contacts: list[int]
) -> None:
    meaning(project)
    assert len(read_contacts) == COUNT
    lines = big_file()
    lines[first_line_of(lines, 1_500) + 1] = "    first_name: Renamed  # by hand"
    write(project, lines)
    read_contacts.clear()
    warm = meaning(project)
    assert 0 < len(read_contacts) < COUNT // 4
    assert warm == meaning(project, use_cache=False)
    assert warm[1_500][1]["first_name"] == "Renamed"


def test_an_unchanged_big_file_is_read_from_its_chunks(
    project: Path, read_contacts: list[int]
) -> None:
    cold = meaning(project)
    read_contacts.clear()
    assert meaning(project) == cold
    assert read_contacts == []


@pytest.mark.parametrize("edit", ["insert", "delete", "insert-lines", "comment-first"])
def test_moved_lines_are_placed_as_a_load_without_the_cache_places_them(
    project: Path, read_contacts: list[int], edit: str
) -> None:
    meaning(project)
    lines = big_file()
    at = first_line_of(lines, 700)
    if edit == "insert":
        lines[at:at] = canonical_contact(COUNT + 1)
    elif edit == "delete":
        lines[at : first_line_of(lines, 701)] = []
    elif edit == "insert-lines":
        lines[at + 1 : at + 1] = ["", "    # a note", "    company: Acme"]
    else:
        lines[at + 1] += "  # a comment"
    write(project, lines)
    read_contacts.clear()
    warm = meaning(project)
    assert 0 < len(read_contacts) < COUNT // 4
    assert warm == meaning(project, use_cache=False)


def test_an_error_in_a_changed_contact_is_placed_exactly_as_without_the_cache(
    project: Path,
) -> None:
    meaning(project)
    lines = big_file()
    lines[first_line_of(lines, 2_000)] = '  - phone: "nope"'
    lines[first_line_of(lines, 2_001) + 1] = "    first_name: [a, list]"
    write(project, lines)
    warm = problems(project)
    assert warm == problems(project, use_cache=False)
    assert any("invalid phone number 'nope'" in line for line in warm)
    assert any("first_name must be a string" in line for line in warm)


def test_a_duplicate_of_a_cached_contact_is_placed_exactly_as_without_the_cache(
    project: Path,
) -> None:
    meaning(project)
    lines = big_file()
    # Contact 2,900 gets contact 10's phone: 10's chunk is a hit, 2,900's a miss.
    lines[first_line_of(lines, 2_900)] = canonical_contact(10)[0]
    write(project, lines)
    warm = problems(project)
    assert warm == problems(project, use_cache=False)
    assert len(warm) == 1
    assert "duplicate phone +14152000010: also declared at contacts/big.yaml:" in warm[0]


def test_duplicates_across_files_are_still_found(project: Path) -> None:
    meaning(project)
    write(project, ["version: 1", "contacts:", *canonical_contact(1_234)], "other.yaml")
    for _ in range(2):  # the second time, both files come from the cache
        warm = problems(project)
        assert warm == problems(project, use_cache=False)
        assert len(warm) == 1
        assert "duplicate phone +14152001234" in warm[0]


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: len(text) // 2],
        lambda text: json.dumps({**json.loads(text), "key": "0" * 64}),
        lambda text: text.replace('"+1415', '"1415'),
        lambda text: text.replace('"exact":[', '"exact":["yes",'),
        lambda text: text.replace('"lines":[', '"lines":[0,'),
    ],
    ids=["truncated", "foreign-key", "not-e164", "bad-flag", "longer-column"],
)
def test_a_corrupt_chunk_entry_is_a_miss(
    project: Path, read_contacts: list[int], damage: Any
) -> None:
    cold = meaning(project)
    entries = chunk_entries()
    assert len(entries) > 1
    for entry in entries:
        entry.write_text(damage(entry.read_text(encoding="utf-8")), encoding="utf-8")
    read_contacts.clear()
    assert meaning(project) == cold
    assert len(read_contacts) == COUNT


def test_a_small_file_keeps_one_entry_for_the_whole_file(
    project: Path, read_contacts: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chunked, "MIN_CHUNKED_BYTES", 1 << 20)
    cold = meaning(project)
    assert chunk_entries() == []
    read_contacts.clear()
    assert meaning(project) == cold
    assert read_contacts == []


def test_fmt_with_the_chunks_cached_writes_what_fmt_without_the_cache_writes(
    project: Path, tmp_path: Path
) -> None:
    meaning(project)
    lines = big_file()
    at = first_line_of(lines, 1_000)
    phone = lines[at].split('"')[1]
    lines[at : at + 2] = [
        "  - first_name: Renamed  # by hand",
        f"    phone: '({phone[2:5]}) {phone[5:8]}-{phone[8:]}'",
    ]
    write(project, lines)
    before = (project / "contacts" / "big.yaml").read_text(encoding="utf-8")
    runner = CliRunner()
    cached = runner.invoke(cli, ["-C", str(project), "fmt"])
    assert cached.exit_code == 0, cached.output
    with_cache = (project / "contacts" / "big.yaml").read_text(encoding="utf-8")
    (project / "contacts" / "big.yaml").write_text(before, encoding="utf-8")
    plain = runner.invoke(cli, ["-C", str(project), "--no-cache", "fmt"])
    assert plain.exit_code == 0, plain.output
    assert with_cache == (project / "contacts" / "big.yaml").read_text(encoding="utf-8")
    changed = [
        (a, b) for a, b in zip(before.split("\n"), with_cache.split("\n"), strict=True) if a != b
    ]
    assert len(changed) == 2
    assert "# by hand" in with_cache


def test_the_base_side_of_changed_since_reads_a_big_file_from_its_chunks(
    project: Path, read_contacts: list[int]
) -> None:
    from jcstate.project.gitbase import load_base

    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(project)]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "base"]):
        subprocess.run([*git, *args], check=True, capture_output=True)
    base = meaning(project)  # the base branch was read before
    lines = big_file()
    lines[first_line_of(lines, 42) + 1] = "    first_name: Renamed"
    write(project, lines)
    current = load_project(project, cwd=project)
    read_contacts.clear()
    loaded = load_base(current, "HEAD", cwd=project)
    assert read_contacts == []
    assert [c.phone for c in loaded.contacts] == [c[0] for c in base]
    assert loaded.contacts[42].fields["first_name"] == "Person42"

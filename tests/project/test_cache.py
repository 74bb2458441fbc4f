"""The meaning cache: a file read valid before is not parsed again; the cache is never authority."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from jcstate.cli import cli
from jcstate.errors import ConfigError
from jcstate.project import config as config_module
from jcstate.project import validate as validate_module
from jcstate.project.cache import CACHE_DIR_ENV, FORMAT
from jcstate.project.config import load_project

PROJECT = """\
version: 1
api: {url: "sandbox://.jcstate/sandbox.db"}
default_region: US
contacts: ["contacts/*.yaml"]
custom_fields:
  tier: {type: enum, values: [Free, Pro]}
  seats: {type: integer}
"""


def contacts_file(first: int, count: int, *, national: bool = False) -> str:
    lines = ["version: 1", "contacts:"]
    for number in range(first, first + count):
        phone = f"(415) 555-{number:04d}" if national else f"+1415555{number:04d}"
        lines += [
            f'  - phone: "{phone}"',
            f"    first_name: Person{number}",
            "    custom_fields: {tier: Pro, seats: 3}",
        ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "contacts").mkdir(parents=True)
    (root / "jcstate.yaml").write_text(PROJECT, encoding="utf-8")
    (root / "contacts" / "a.yaml").write_text(contacts_file(100, 3), encoding="utf-8")
    (root / "contacts" / "b.yaml").write_text(contacts_file(200, 3), encoding="utf-8")
    return root


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the contacts files `load_project` parses (jcstate.yaml is always read)."""
    calls: list[int] = []
    real = config_module.parse_fast  # type: ignore[attr-defined]

    def counting(raw: bytes, **kwargs: Any) -> Any:
        if b"phone" in raw:
            calls.append(1)
        return real(raw, **kwargs)

    monkeypatch.setattr(config_module, "parse_fast", counting)
    return calls


def snapshot(root: Path) -> list[tuple[Any, ...]]:
    project = load_project(root, cwd=root)
    return [
        (c.phone, dict(c.fields), dict(c.custom_fields), c.id, str(c.source), c.source.col)
        for c in project.desired.contacts
        if c.source is not None
    ]


def entries() -> list[Path]:
    return sorted(Path(os.environ[CACHE_DIR_ENV]).rglob("*.json"))


def test_a_second_load_parses_no_unchanged_file_and_means_the_same(
    project: Path, parsed: list[int]
) -> None:
    first = snapshot(project)
    assert len(parsed) == 2
    parsed.clear()
    assert snapshot(project) == first
    assert parsed == []


def test_only_the_changed_file_is_parsed_again(project: Path, parsed: list[int]) -> None:
    snapshot(project)
    (project / "contacts" / "b.yaml").write_text(contacts_file(300, 2), encoding="utf-8")
    parsed.clear()
    contacts = snapshot(project)
    assert parsed == [1]
    assert [c[0] for c in contacts] == [
        "+14155550100",
        "+14155550101",
        "+14155550102",
        "+14155550300",
        "+14155550301",
    ]


def test_a_change_of_meaning_in_jcstate_yaml_is_a_miss(project: Path, parsed: list[int]) -> None:
    (project / "contacts" / "a.yaml").write_text(
        contacts_file(100, 1, national=True), encoding="utf-8"
    )
    assert snapshot(project)[0][0] == "+14155550100"
    text = PROJECT.replace("default_region: US", "default_region: CA")
    (project / "jcstate.yaml").write_text(text, encoding="utf-8")
    parsed.clear()
    snapshot(project)
    assert len(parsed) == 2
    # A narrower enum: the cached meaning no longer holds, the file is checked again.
    text = PROJECT.replace("values: [Free, Pro]", "values: [Free]")
    (project / "jcstate.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_project(project, cwd=project)
    assert "'Pro' is not one of the allowed values (Free)" in str(raised.value)


def test_an_api_url_change_keeps_the_cache(project: Path, parsed: list[int]) -> None:
    snapshot(project)
    text = PROJECT.replace("sandbox://.jcstate/sandbox.db", "sandbox://other.db")
    (project / "jcstate.yaml").write_text(text, encoding="utf-8")
    parsed.clear()
    snapshot(project)
    assert parsed == []


def test_duplicates_across_files_are_reported_with_every_file_cached(project: Path) -> None:
    snapshot(project)
    (project / "contacts" / "b.yaml").write_text(contacts_file(102, 1), encoding="utf-8")
    for _ in range(2):  # the second time, a.yaml comes from the cache
        with pytest.raises(ConfigError) as raised:
            load_project(project, cwd=project)
        assert [str(d) for d in raised.value.diagnostics] == [
            "contacts/b.yaml:3:12: duplicate phone +14155550102: also declared at contacts/a.yaml:9"
        ]


def test_a_duplicate_inside_a_cached_file_is_placed_in_it(project: Path) -> None:
    snapshot(project)
    (project / "contacts" / "a.yaml").write_text(contacts_file(201, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_project(project, cwd=project)
    assert [str(d) for d in raised.value.diagnostics] == [
        "contacts/b.yaml:6:12: duplicate phone +14155550201: also declared at contacts/a.yaml:3"
    ]


def test_a_file_with_a_problem_is_never_stored(project: Path) -> None:
    (project / "contacts" / "b.yaml").write_text(
        contacts_file(200, 1) + "  - phone: nope\n", encoding="utf-8"
    )
    messages = []
    for _ in range(2):
        with pytest.raises(ConfigError) as raised:
            load_project(project, cwd=project)
        messages.append([str(d) for d in raised.value.diagnostics])
    assert messages[0] == messages[1]
    assert "contacts/b.yaml:6:12: invalid phone number 'nope'" in messages[0][0]
    assert len([e for e in entries() if "phones" not in e.read_text()]) <= 2


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: len(text) // 2],
        lambda text: "[]",
        lambda text: json.dumps({**json.loads(text), "key": "0" * 64}),
        lambda text: text.replace('"+1415555', '"1415555'),
    ],
    ids=["truncated", "not-an-entry", "foreign-key", "not-e164"],
)
def test_a_corrupt_or_foreign_entry_is_a_miss(
    project: Path, parsed: list[int], damage: Any
) -> None:
    first = snapshot(project)
    for entry in entries():
        entry.write_text(damage(entry.read_text(encoding="utf-8")), encoding="utf-8")
    parsed.clear()
    assert snapshot(project) == first
    assert len(parsed) == 2


def test_a_linked_entry_is_not_read(project: Path, parsed: list[int], tmp_path: Path) -> None:
    first = snapshot(project)
    for entry in entries():
        target = tmp_path / f"elsewhere-{entry.name}"
        target.write_text(entry.read_text(encoding="utf-8"), encoding="utf-8")
        entry.unlink()
        entry.symlink_to(target)
    parsed.clear()
    assert snapshot(project) == first
    assert len(parsed) == 2


def test_a_cache_folder_inside_the_work_tree_is_not_used(
    project: Path, parsed: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / ".git").mkdir()
    monkeypatch.setenv(CACHE_DIR_ENV, str(project / ".cache"))
    snapshot(project)
    parsed.clear()
    snapshot(project)
    assert len(parsed) == 2
    assert not (project / ".cache").exists()


def test_a_linked_cache_folder_is_not_used(
    project: Path, parsed: list[int], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "real-cache").mkdir()
    (tmp_path / "linked-cache").symlink_to(tmp_path / "real-cache")
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "linked-cache"))
    snapshot(project)
    parsed.clear()
    snapshot(project)
    assert len(parsed) == 2
    assert list((tmp_path / "real-cache").iterdir()) == []


@pytest.mark.parametrize("args", [["--no-cache", "validate"], ["validate", "--no-cache"]])
def test_no_cache_reads_and_stores_nothing(
    project: Path, parsed: list[int], args: list[str]
) -> None:
    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(cli, ["-C", str(project), *args])
        assert result.exit_code == 0, result.output
        assert "OK: 6 contacts in 2 files" in result.output
    assert len(parsed) == 4
    assert entries() == []


def test_phones_already_seen_in_e164_are_not_parsed_again(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot(project)
    (project / "contacts" / "b.yaml").write_text(
        contacts_file(200, 3).replace("Person201", "Renamed"), encoding="utf-8"
    )
    parsed_phones: list[str] = []
    real = validate_module.normalize_phone  # type: ignore[attr-defined]

    def counting(written: str, region: str) -> str:
        parsed_phones.append(written)
        return real(written, region)

    monkeypatch.setattr(validate_module, "normalize_phone", counting)
    contacts = snapshot(project)
    assert [c[1].get("first_name") for c in contacts][4] == "Renamed"
    assert parsed_phones == []


def test_entries_are_private_plain_json(project: Path) -> None:
    snapshot(project)
    found = entries()
    assert found
    for entry in found:
        assert entry.stat().st_mode & 0o077 == 0
        assert json.loads(entry.read_text(encoding="utf-8"))["format"] == FORMAT

"""`jcstate fmt` touches only what changed: contacts, files, and nothing when canonical."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from jcstate.cli import cli
from jcstate.project import fmt as fmt_module

PROJECT = """\
version: 1
default_region: US
contacts: ["contacts/*.yaml"]
custom_fields:
  tier: {type: enum, values: [Free, Pro]}
  seats: {type: integer}
"""


def canonical_contact(number: int, comment: str = "") -> str:
    return (
        f'  - phone: "+1415555{number:04d}"\n'
        f"    first_name: Person{number}{comment}\n"
        f"    email: person{number}@example.com\n"
        "    custom_fields:\n"
        "      seats: 3\n"
        "      tier: Pro\n"
    )


def canonical_file(first: int, count: int) -> str:
    body = "".join(
        canonical_contact(n, "  # kept as written" if n % 5 == 0 else "")
        for n in range(first, first + count)
    )
    return "version: 1\ncontacts:\n" + body


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "proj"
    (root / "contacts").mkdir(parents=True)
    (root / "jcstate.yaml").write_text(PROJECT)
    (root / "contacts" / "a.yaml").write_text(canonical_file(100, 20))
    (root / "contacts" / "b.yaml").write_text(canonical_file(200, 20))
    return root


@pytest.fixture
def no_round_trip(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records each round trip fmt makes (the costly, comment-keeping path), by text."""
    seen: list[str] = []
    real = fmt_module.format_contacts_text

    def recording(text: str, region: str = "US") -> str:
        seen.append(text)
        return real(text, region)

    monkeypatch.setattr(fmt_module, "format_contacts_text", recording)
    return seen


def hand_edit(path: Path, number: int) -> None:
    """Rewrite one contact by hand: phone typed as people do, keys out of order."""
    text = path.read_text()
    old = canonical_contact(number)
    assert old in text
    new = (
        f"  - first_name: Person{number}   # renamed later\n"
        f"    phone: '(415) 555-{number:04d}'\n"
        f"    email: person{number}@example.com\n"
        "    custom_fields:\n"
        "      tier: Pro\n"
        "      seats: 3\n"
    )
    path.write_text(text.replace(old, new))


def test_check_on_a_canonical_project_takes_no_round_trip_but_for_commented_contacts(
    project: Path, no_round_trip: list[str]
) -> None:
    result = run("-C", "proj", "--no-cache", "fmt", "--check")
    assert result.exit_code == 0, result.output
    assert "2 files already formatted" in result.stderr
    # Only the contacts with a comment (8 of 40) went through the round trip, each alone.
    assert len(no_round_trip) == 8
    assert all(text.count("  - ") == 1 for text in no_round_trip)


def test_one_changed_contact_is_formatted_and_every_other_line_kept(
    project: Path, no_round_trip: list[str]
) -> None:
    path = project / "contacts" / "a.yaml"
    canonical = path.read_text()
    hand_edit(path, 107)
    result = run("-C", "proj", "--no-cache", "fmt")
    assert result.exit_code == 0, result.output
    assert result.stdout == "formatted proj/contacts/a.yaml\n"
    after = path.read_text()
    before_lines, after_lines = canonical.split("\n"), after.split("\n")
    assert len(after_lines) == len(before_lines)
    differing = [
        i for i, (a, b) in enumerate(zip(before_lines, after_lines, strict=True)) if a != b
    ]
    assert [after_lines[i] for i in differing] == ["    first_name: Person107   # renamed later"]
    assert run("-C", "proj", "fmt", "--check").exit_code == 0


def test_a_second_check_reads_no_file_it_knows_canonical(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run("-C", "proj", "fmt", "--check").exit_code == 0

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("formatted again")

    monkeypatch.setattr(fmt_module, "format_file", refuse)
    result = run("-C", "proj", "fmt", "--check")
    assert result.exit_code == 0, result.output
    assert run("-C", "proj", "--no-cache", "fmt", "--check").exit_code == 1  # it did read


def test_fmt_files_formats_only_the_files_named(project: Path) -> None:
    hand_edit(project / "contacts" / "a.yaml", 101)
    hand_edit(project / "contacts" / "b.yaml", 201)
    b_before = (project / "contacts" / "b.yaml").read_text()
    result = run("-C", "proj", "fmt", "proj/contacts/a.yaml")
    assert result.exit_code == 0, result.output
    assert result.stdout == "formatted proj/contacts/a.yaml\n"
    assert "1 of 1 file reformatted" in result.stderr
    assert (project / "contacts" / "b.yaml").read_text() == b_before
    # Naming jcstate.yaml (its meaning may have changed) formats every file.
    result = run("-C", "proj", "fmt", "--check", "proj/jcstate.yaml")
    assert result.exit_code == 1
    assert result.stdout == "proj/contacts/b.yaml\n"


def test_fmt_refuses_a_file_that_is_not_a_contacts_file(project: Path) -> None:
    (project / "notes.yaml").write_text("a: 1\n")
    result = run("-C", "proj", "fmt", "proj/notes.yaml")
    assert result.exit_code == 1
    assert "proj/notes.yaml is not a contacts file of this project" in result.stderr


def test_fmt_diff_prints_the_change_and_writes_nothing(project: Path) -> None:
    hand_edit(project / "contacts" / "b.yaml", 203)
    before = (project / "contacts" / "b.yaml").read_text()
    result = run("-C", "proj", "fmt", "--diff")
    assert result.exit_code == 1
    assert result.stdout.startswith("--- a/proj/contacts/b.yaml\n+++ b/proj/contacts/b.yaml\n")
    assert "-    phone: '(415) 555-0203'\n" in result.stdout
    assert '+  - phone: "+14155550203"\n' in result.stdout
    assert "1 of 2 files would be reformatted" in result.stderr
    assert (project / "contacts" / "b.yaml").read_text() == before


def test_a_file_the_load_read_in_canonical_form_is_not_scanned_again_by_fmt(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cold `fmt --check` costs what `validate` costs: the load already saw the form."""
    (project / "contacts" / "a.yaml").write_text(
        "version: 1\ncontacts:\n" + "".join(canonical_contact(n) for n in range(100, 110))
    )
    formatted: list[str] = []
    real = fmt_module.format_file

    def recording(text: str, *args: Any) -> Any:
        formatted.append(text)
        return real(text, *args)

    monkeypatch.setattr(fmt_module, "format_file", recording)
    result = run("-C", "proj", "fmt", "--check")
    assert result.exit_code == 0, result.output
    # b.yaml has commented contacts (not the exact form): fmt looks at it; a.yaml not.
    assert len(formatted) == 1 and "# kept as written" in formatted[0]

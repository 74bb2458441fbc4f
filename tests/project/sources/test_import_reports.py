"""`jcstate import` reports what happened: nothing written is never shown as written."""

from __future__ import annotations

import json
from pathlib import Path

from tests.project.sources.conftest import GOOD_ROWS, Run, set_project, write_csv

BAD_ROW = "9,Bad,Seats,bad@example.com,+1 415 555 0177,X,web,,many"


def test_a_failed_import_says_what_would_have_been_written_and_that_nothing_was(
    project: Path, run: Run
) -> None:
    write_csv(project, [*GOOD_ROWS, BAD_ROW])
    result = run("import")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "crm -> contacts/crm.yaml: 4 rows read, 2 to write, 1 skipped by skip_if, "
        "0 merged duplicates; 2 to add, 0 to change, 0 to remove (nothing written)",
    ]
    assert "nothing written" in result.stderr
    assert not (project / "contacts" / "crm.yaml").exists()


def test_a_failed_import_in_json_writes_no_count_it_did_not_write(project: Path, run: Run) -> None:
    write_csv(project, [*GOOD_ROWS, BAD_ROW])
    document = json.loads(run("import", "--format", "json").stdout)
    assert document["ok"] is False and document["written"] == []
    (source,) = document["sources"]
    assert source["written"] == 0
    assert source["contacts"] == 2  # what would have been written
    done = json.loads(run("import", "--format", "json", "--skip-invalid").stdout)
    assert done["written"] == ["contacts/crm.yaml"]
    assert done["sources"][0]["written"] == 2


def test_with_two_sources_the_good_one_says_nothing_was_written_either(
    project: Path, run: Run
) -> None:
    text = (project / "jcstate.yaml").read_text()
    crm = text.split("sources:\n", 1)[1]
    second = crm.replace("  crm:", "  crm2:").replace("exports/crm.csv", "exports/crm2.csv")
    set_project(project, text + second.replace("contacts/crm.yaml", "contacts/crm2.yaml"))
    (project / "exports" / "crm2.csv").write_bytes((project / "exports" / "crm.csv").read_bytes())
    write_csv(project, [BAD_ROW])
    result = run("import")
    assert result.exit_code == 1
    (good,) = [line for line in result.stdout.splitlines() if line.startswith("crm2 ")]
    assert good.endswith("2 to add, 0 to change, 0 to remove (nothing written)")
    assert "added" not in result.stdout
    assert not (project / "contacts" / "crm2.yaml").exists()


def test_check_with_skip_invalid_checks_the_good_rows(project: Path, run: Run) -> None:
    assert run("import").exit_code == 0
    write_csv(project, [*GOOD_ROWS, BAD_ROW])
    result = run("import", "--check", "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert "skipped crm:row 5" in result.stderr
    assert "Every generated file is up to date." in result.stdout
    write_csv(project, [GOOD_ROWS[0].replace(",10", ",11"), *GOOD_ROWS[1:], BAD_ROW])
    changed = run("import", "--check", "--skip-invalid")
    assert changed.exit_code == 2
    assert "contacts/crm.yaml would change" in changed.stdout


FALLBACK_PROJECT = """\
version: 1
api: {url: "sandbox://.jcstate/sandbox.db"}
default_region: US
contacts: ["contacts/*.yaml"]
sources:
  crm:
    kind: csv
    path: exports/crm.csv
    map:
      phone: ["Phone Number", "Mobile Phone Number"]
      first_name: "First Name"
    into: contacts/crm.yaml
"""


def test_a_field_maps_to_fallback_columns_the_first_non_empty_wins(project: Path, run: Run) -> None:
    set_project(project, FALLBACK_PROJECT)
    (project / "exports" / "crm.csv").write_text(
        '"First Name","Phone Number","Mobile Phone Number"\n'
        "Ann,(415) 555-0101,(415) 555-0191\n"
        "Bob,,415-555-0102\n"
        'Cy,"  ",+1 415 555 0103\n'
        "Dee,,\n",
        encoding="utf-8",
    )
    result = run("import")
    assert result.exit_code == 1
    assert (
        'crm:row 5, column "Phone Number": missing phone (the cells of "Phone Number" and '
        '"Mobile Phone Number" are empty)' in result.stderr
    )
    assert run("import", "--skip-invalid").exit_code == 0
    text = (project / "contacts" / "crm.yaml").read_text()
    for phone in ("+14155550101", "+14155550102", "+14155550103"):
        assert phone in text
    assert "+14155550191" not in text
    assert run("validate").exit_code == 0


def test_a_bad_value_in_a_fallback_column_names_that_column(project: Path, run: Run) -> None:
    set_project(project, FALLBACK_PROJECT)
    (project / "exports" / "crm.csv").write_text(
        '"First Name","Phone Number","Mobile Phone Number"\nBob,,not a phone\n',
        encoding="utf-8",
    )
    result = run("import")
    assert result.exit_code == 1
    assert 'crm:row 2, column "Mobile Phone Number": ' in result.stderr


def test_an_empty_list_of_columns_is_refused(project: Path, run: Run) -> None:
    set_project(project, FALLBACK_PROJECT.replace('["Phone Number", "Mobile Phone Number"]', "[]"))
    result = run("validate")
    assert result.exit_code == 1
    assert "sources.crm.map.phone: a list of columns must name at least one column" in (
        result.output
    )

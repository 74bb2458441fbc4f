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

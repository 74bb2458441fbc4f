"""Export core: type inference, file layout, values that validate, jcstate.yaml edits."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from jcstate.core.model import CustomFieldDef, Ownership
from jcstate.errors import RefuseOverwriteError
from jcstate.project.export import (
    build_export,
    check_overwrite,
    contacts_dir_of,
    edit_project_file,
    infer_type,
    matches_globs,
    slugify,
)
from jcstate.project.yamlio import render_contacts_file
from tests.support.builders import remote


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1, "2", 30], "integer"),
        ([1, 2.5, "3.25"], "number"),
        ([True, "false", "TRUE"], "boolean"),
        (["2027-03-01", dt.date(2026, 1, 2)], "date"),
        (["00123", "00456"], "string"),  # zip codes keep their zeros
        (["2027-02-30"], "string"),  # not a real date
        ([1, "two"], "string"),
        ([None, "", 5], "integer"),
        ([], "string"),
        ([0, 1], "integer"),  # never boolean from numbers
    ],
)
def test_infer_type(values: list[Any], expected: str) -> None:
    assert infer_type(values) == expected


def test_slugify() -> None:
    assert slugify("Acme Corp, Inc.") == "acme-corp-inc"
    assert slugify("Café Zürich") == "cafe-zurich"
    assert slugify("   ") == "no-company"
    assert slugify(None) == "no-company"


def test_one_file_sorted_by_phone_with_e164_phones_and_typed_custom_values() -> None:
    plan = build_export(
        [
            remote(2, "+14155550102", {"seats": "12", "tier": "Pro"}, first_name=" Bob "),
            remote(1, "+14155550101", {"seats": 3, "renew": "2027-03-01"}, email="A@X.example"),
        ],
        defs={"tier": CustomFieldDef(type="enum", values=["Pro"])},
    )
    assert plan.new_definitions == {"renew": "date", "seats": "integer"}
    (exported,) = plan.files
    assert exported.name == "exported.yaml"
    assert exported.entries == (
        {
            "phone": "+14155550101",
            "email": "a@x.example",
            "custom_fields": {"renew": dt.date(2027, 3, 1), "seats": 3},
        },
        {
            "phone": "+14155550102",
            "first_name": "Bob",
            "custom_fields": {"seats": 12, "tier": "Pro"},
        },
    )


def test_values_that_would_not_validate_are_left_out_with_a_warning() -> None:
    plan = build_export(
        [
            remote(1, "+14155550101", {"tier": "Gold"}, email="not-an-address", first_name="A"),
            remote(2, "12", first_name="Bad phone"),
        ],
        defs={"tier": CustomFieldDef(type="enum", values=["Pro"])},
    )
    assert plan.files[0].entries == ({"phone": "+14155550101", "first_name": "A"},)
    assert len(plan.warnings) == 3
    assert any("contact id 2 skipped" in w for w in plan.warnings)


def test_ownership_scope_and_marker_left_out() -> None:
    owner = Ownership(field="managed_by", value="ops")
    plan = build_export(
        [
            remote(1, "+14155550101", {"managed_by": "ops", "n": "x"}),
            remote(2, "+14155550102", {"managed_by": "other"}),
            remote(3, "+14155550103"),
        ],
        defs={},
        ownership=owner,
    )
    assert plan.files[0].entries == ({"phone": "+14155550101", "custom_fields": {"n": "x"}},)
    assert plan.new_definitions == {"n": "string"}


def test_remote_duplicates_export_the_lowest_id() -> None:
    plan = build_export(
        [
            remote(9, "+14155550101", first_name="Late"),
            remote(4, "+14155550101", first_name="Early"),
        ],
        defs={},
    )
    assert plan.files[0].entries == ({"phone": "+14155550101", "first_name": "Early"},)
    assert "id 9 skipped" in plan.warnings[0]


def test_split_by_company_uses_defaults_when_a_file_has_one_company() -> None:
    plan = build_export(
        [
            remote(1, "+14155550101", company="Acme Corp"),
            remote(2, "+14155550102", company="Acme Corp"),
            remote(3, "+14155550103", company="Globex"),
            remote(4, "+14155550104"),
        ],
        defs={},
        split_by="company",
    )
    files = {f.name: f for f in plan.files}
    assert sorted(files) == ["acme-corp.yaml", "globex.yaml", "no-company.yaml"]
    assert files["acme-corp.yaml"].defaults == {"company": "Acme Corp"}
    assert files["acme-corp.yaml"].entries == ({"phone": "+14155550101"}, {"phone": "+14155550102"})
    assert files["globex.yaml"].entries == ({"phone": "+14155550103", "company": "Globex"},)


def test_an_empty_account_still_writes_one_file() -> None:
    plan = build_export([], defs={})
    assert [f.name for f in plan.files] == ["exported.yaml"]
    assert render_contacts_file(plan.files[0].entries) == "version: 1\ncontacts: []\n"


def test_contacts_dir_and_glob_matching() -> None:
    assert contacts_dir_of(["contacts/*.yaml"]) == "contacts"
    assert contacts_dir_of(["data/people/**/*.yaml"]) == "data/people"
    assert contacts_dir_of(["*.yaml"]) == "."
    assert matches_globs("contacts/exported.yaml", ["contacts/*.yaml"])
    assert not matches_globs("contacts/sub/x.yaml", ["contacts/*.yaml"])
    assert matches_globs("contacts/sub/x.yaml", ["contacts/**/*.yaml"])
    assert matches_globs("contacts/x.yaml", ["contacts/**/*.yaml"])
    assert not matches_globs("other/x.yaml", ["contacts/*.yaml"])


def test_edit_project_file_adds_definitions_and_glob_keeping_comments(tmp_path: Path) -> None:
    config = tmp_path / "jcstate.yaml"
    config.write_text(
        '# my project\nversion: 1\ncontacts: ["people/*.yaml"]  # where they live\n'
        "safety:\n  min_existing: 10\n"
    )
    text = edit_project_file(
        config,
        tmp_path,
        files=[tmp_path / "contacts" / "exported.yaml"],
        new_definitions={"seats": "integer", "tier": "string"},
    )
    assert text == (
        "# my project\nversion: 1\n"
        'contacts: ["people/*.yaml", "contacts/*.yaml"] # where they live\n'
        "custom_fields:\n  seats: {type: integer}\n  tier: {type: string}\n"
        "safety:\n  min_existing: 10\n"
    )
    assert edit_project_file(config, tmp_path, files=[tmp_path / "people" / "a.yaml"]) is None


def test_check_overwrite_refuses_without_force(tmp_path: Path) -> None:
    existing = tmp_path / "contacts" / "exported.yaml"
    existing.parent.mkdir()
    existing.write_text("version: 1\n")
    with pytest.raises(RefuseOverwriteError, match=r"contacts/exported\.yaml"):
        check_overwrite([existing, tmp_path / "new.yaml"], force=False, root=tmp_path)
    check_overwrite([existing], force=True, root=tmp_path)


def test_a_remote_key_with_control_characters_is_left_out_with_a_warning() -> None:
    contacts = [
        remote(1, "+14155550100", {"\x1b[31m": "red", "a\nb": "x", "tier": "Pro"}),
        remote(2, "+14155550101", {"\x1b[31m": "red again"}),
    ]
    plan = build_export(contacts, defs={})
    assert plan.new_definitions == {"tier": "string"}
    assert [dict(entry.get("custom_fields", {})) for entry in plan.files[0].entries] == [
        {"tier": "Pro"},
        {},
    ]
    assert plan.warnings == (
        "custom field '\\x1b[31m' left out: its name holds a control character "
        "(U+001B at character 1), which the API does not accept",
        "custom field 'a\\nb' left out: its name holds a control character "
        "(U+000A at character 2), which the API does not accept",
    )

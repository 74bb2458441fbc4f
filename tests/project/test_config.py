"""load_project: finding the project, what a loaded project declares, limits."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import pytest

from jcstate.core.model import CustomFieldDef
from jcstate.errors import ConfigError, ProjectNotFoundError
from jcstate.project import yamlio
from jcstate.project.config import find_project_file, load_config_only, load_project

PROJECT = """\
version: 1
api: {url: "sandbox://.jcstate/sandbox.db"}
default_region: GB
contacts: ["contacts/*.yaml"]
custom_fields:
  tier: {type: enum, values: [Free, Pro]}
  seats: {type: integer}
  renewal_on: {type: date}
  vip: {type: boolean}
ownership: {field: managed_by, value: ops}
safety:
  protected: ["020 7946 0018"]
"""

CONTACTS = """\
version: 1
defaults:
  company: Acme Ltd
  custom_fields: {tier: Free}
contacts:
  - phone: "020 7946 0000"
    first_name: "  Ada "
    email: Ada@Example.COM
    custom_fields: {seats: "12", renewal_on: 2025-01-31, vip: "yes"}
  - phone: "+1 415 555 0100"
    company: null
    last_name: ""
    custom_fields: {tier: Pro}
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    return write(tmp_path, {"jcstate.yaml": PROJECT, "contacts/a.yaml": CONTACTS})


def test_loads_normalised_managed_fields_only(project_dir: Path) -> None:
    project = load_project(cwd=project_dir)
    first, second = project.desired.contacts
    assert first.phone == "+442079460000"
    # defaults applied, strings stripped, e-mail lower-cased, custom values typed
    assert dict(first.fields) == {
        "company": "Acme Ltd",
        "first_name": "Ada",
        "email": "ada@example.com",
    }
    assert dict(first.custom_fields) == {
        "tier": "Free",
        "seats": 12,
        "renewal_on": "2025-01-31",
        "vip": True,
    }
    # explicit null and empty string both mean "must be empty"; omitted fields are not managed
    assert second.phone == "+14155550100"
    assert dict(second.fields) == {"company": None, "last_name": None}
    assert dict(second.custom_fields) == {"tier": "Pro"}


def test_sources_point_at_each_contact(project_dir: Path) -> None:
    project = load_project(cwd=project_dir)
    assert [str(c.source) for c in project.desired.contacts] == [
        "contacts/a.yaml:6",
        "contacts/a.yaml:10",
    ]


def test_ownership_field_is_an_implicit_string_field(project_dir: Path) -> None:
    desired = load_project(cwd=project_dir).desired
    assert desired.custom_field_defs["managed_by"] == CustomFieldDef(type="string")
    assert desired.ownership is not None and desired.ownership.value == "ops"


def test_protected_phones_are_normalised(project_dir: Path) -> None:
    assert load_project(cwd=project_dir).desired.safety.protected == ["+442079460018"]


def test_found_from_a_subdirectory_with_paths_relative_to_cwd(project_dir: Path) -> None:
    (project_dir / "contacts" / "a.yaml").write_text(
        "version: 1\ncontacts:\n  - phone: nope\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as caught:
        load_project(cwd=project_dir / "contacts")
    assert [d.file for d in caught.value.diagnostics] == ["a.yaml"]


def test_project_dir_option_is_relative_to_cwd(project_dir: Path) -> None:
    project = load_project(project_dir=Path(project_dir.name), cwd=project_dir.parent)
    assert project.config_path == project_dir / "jcstate.yaml"
    assert str(project.desired.contacts[0].source).startswith(f"{project_dir.name}/contacts/")


def test_missing_project_explains_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ProjectNotFoundError, match="jcstate init"):
        find_project_file(cwd=tmp_path)
    with pytest.raises(ProjectNotFoundError, match="does not exist"):
        load_project(project_dir=Path("nowhere"), cwd=tmp_path)


def test_digest_changes_with_any_file(project_dir: Path) -> None:
    before = load_project(cwd=project_dir).digest
    assert load_project(cwd=project_dir).digest == before
    contacts = project_dir / "contacts" / "a.yaml"
    contacts.write_text(contacts.read_text().replace("Ada", "Ava"), encoding="utf-8")
    assert load_project(cwd=project_dir).digest != before


def test_errors_from_every_file_are_gathered_and_sorted(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "jcstate.yaml": 'version: 1\ncontacts: ["contacts/*.yaml"]\n',
            "contacts/b.yaml": 'version: 1\ncontacts:\n  - phone: "1"\n',
            "contacts/a.yaml": 'version: 1\ncontacts:\n  - phone: "2"\n    nmae: x\n',
            "contacts/c.yaml": "version: 1\ncontacts: [\n",
        },
    )
    with pytest.raises(ConfigError) as caught:
        load_project(cwd=tmp_path)
    places = [(d.file, d.line) for d in caught.value.diagnostics]
    assert places == [
        ("contacts/a.yaml", 3),
        ("contacts/a.yaml", 4),
        ("contacts/b.yaml", 3),
        ("contacts/c.yaml", 3),
    ]


def test_a_file_matched_by_two_globs_is_loaded_once(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "jcstate.yaml": 'version: 1\ncontacts: ["contacts/*.yaml", "contacts/a.*"]\n',
            "contacts/a.yaml": 'version: 1\ncontacts:\n  - phone: "+14155550100"\n',
        },
    )
    project = load_project(cwd=tmp_path)
    assert len(project.contact_files) == 1
    assert len(project.desired.contacts) == 1


def test_an_oversized_file_is_refused_unread(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(yamlio.limits, "MAX_FILE_BYTES", 100)
    with pytest.raises(ConfigError) as caught:
        load_project(cwd=project_dir)
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.file == "jcstate.yaml"
    assert diagnostic.message == (
        "file is 318 bytes; the limit is 100 bytes per file (split it into several files)"
    )


def test_empty_contacts_list_is_valid(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"jcstate.yaml": "version: 1\n", "contacts/a.yaml": "version: 1\ncontacts: []\n"},
    )
    assert load_project(cwd=tmp_path).desired.contacts == ()


def test_config_only_loads_without_reading_contacts(tmp_path: Path) -> None:
    write(tmp_path, {"jcstate.yaml": PROJECT, "contacts/a.yaml": "version: 1\ncontacts: [\n"})
    config_path, config = load_config_only(cwd=tmp_path)
    assert config_path == tmp_path / "jcstate.yaml"
    assert config.default_region == "GB"
    (tmp_path / "jcstate.yaml").write_text("version: 1\nsafty: {}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config_only(cwd=tmp_path)
    assert [str(d) for d in caught.value.diagnostics] == [
        "jcstate.yaml:2:1: unknown field 'safty' (did you mean 'safety'?)"
    ]


def test_symlink_loops_under_a_double_star_glob_are_not_followed_forever(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "jcstate.yaml": 'version: 1\ncontacts: ["contacts/**/*.yaml"]\n',
            "contacts/a.yaml": 'version: 1\ncontacts:\n  - phone: "+14155550100"\n',
        },
    )
    for name in ("a1", "a2", "a3"):
        (tmp_path / "contacts" / name).symlink_to(".")
    project = load_project(cwd=tmp_path)
    assert len(project.contact_files) == 1
    assert len(project.desired.contacts) == 1


def test_a_file_reached_through_a_symlink_and_directly_is_read_once(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "jcstate.yaml": 'version: 1\ncontacts: ["contacts/**/*.yaml"]\n',
            "contacts/real/a.yaml": 'version: 1\ncontacts:\n  - phone: "+14155550100"\n',
        },
    )
    (tmp_path / "contacts" / "link").symlink_to("real")
    (tmp_path / "contacts" / "b.yaml").symlink_to("real/a.yaml")
    project = load_project(cwd=tmp_path)
    assert len(project.contact_files) == 1
    assert len(project.desired.contacts) == 1


@pytest.mark.parametrize("pattern", ["/**/*.yaml", "../other/*.yaml", "contacts/../../*.yaml"])
def test_a_glob_leaving_the_project_is_refused_at_its_place(tmp_path: Path, pattern: str) -> None:
    outside = tmp_path / "other"
    write(outside, {"x.yaml": 'version: 1\ncontacts:\n  - phone: "+14155550100"\n'})
    root = tmp_path / "project"
    project = f'version: 1\ncontacts:\n  - "contacts/*.yaml"\n  - "{pattern}"\n'
    write(root, {"jcstate.yaml": project})
    write(root, {"contacts/a.yaml": "version: 1\ncontacts: []\n"})
    with pytest.raises(ConfigError) as caught:
        load_project(cwd=root)
    assert [str(d) for d in caught.value.diagnostics] == [
        f"jcstate.yaml:4:5: contacts glob {pattern!r} leaves the project: write it relative "
        "to jcstate.yaml, without a leading / or .."
    ]


def test_double_star_lists_each_folder_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five `**` on a 25-level chain: the walk lists each of the 26 folders once.

    The folders listed are counted (os.scandir calls), not seconds: the old
    walk listed them again for every way of splitting the chain between the
    `**`s, which grows as depth^count.
    """
    chain = "/".join(["d"] * 25)
    write(
        tmp_path,
        {
            "jcstate.yaml": 'version: 1\ncontacts: ["**/d/**/d/**/d/**/d/**/*.yaml"]\n',
            f"{chain}/deep.yaml": 'version: 1\ncontacts:\n  - phone: "+14155550100"\n',
        },
    )
    listed: list[str] = []
    real_scandir = os.scandir

    def counting_scandir(path: str) -> object:
        if Path(path).is_relative_to(tmp_path):
            listed.append(str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", counting_scandir)
    project = load_project(cwd=tmp_path)
    monkeypatch.undo()
    assert [p.name for p in project.contact_files] == ["deep.yaml"]
    assert len(listed) == len(set(listed)) == 26


def test_custom_field_names_with_control_characters_are_refused(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "jcstate.yaml": 'version: 1\ncontacts: ["contacts/*.yaml"]\ncustom_fields:\n'
            '  "\\e[31m": {type: string}\n  "a\\nb": {type: string}\n  ok: {type: string}\n',
            "contacts/a.yaml": 'version: 1\ncontacts:\n  - phone: "+14155550100"\n'
            '    custom_fields: {"\\e[32m": x, ok: y}\n',
        },
    )
    with pytest.raises(ConfigError) as caught:
        load_project(cwd=tmp_path)
    assert [str(d) for d in caught.value.diagnostics] == [
        "jcstate.yaml:4:3: custom field name '\\x1b[31m' holds a control character "
        "(U+001B at character 1), which the API does not accept",
        "jcstate.yaml:5:3: custom field name 'a\\nb' holds a control character "
        "(U+000A at character 2), which the API does not accept",
    ]
    (tmp_path / "jcstate.yaml").write_text(
        'version: 1\ncontacts: ["contacts/*.yaml"]\ncustom_fields:\n  ok: {type: string}\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_project(cwd=tmp_path)
    assert [str(d) for d in caught.value.diagnostics] == [
        "contacts/a.yaml:4:21: custom field name '\\x1b[32m' holds a control character "
        "(U+001B at character 1), which the API does not accept",
    ]


@pytest.mark.parametrize(
    "database", ["../x.db", ".jcstate/../../x.db", "/tmp/jcstate-elsewhere.db", "C:/x.db"]
)
@pytest.mark.parametrize("load", [load_project, load_config_only])
def test_a_sandbox_database_leaving_the_project_is_refused_at_its_place(
    tmp_path: Path, database: str, load: Any
) -> None:
    """`api.url: sandbox://PATH` from a branch may not put the database outside the project."""
    write(
        tmp_path,
        {
            "jcstate.yaml": f'version: 1\napi:\n  url: "sandbox://{database}"\n'
            'contacts: ["contacts/*.yaml"]\n',
            "contacts/a.yaml": "version: 1\ncontacts: []\n",
        },
    )
    with pytest.raises(ConfigError) as caught:
        load(cwd=tmp_path)
    assert [str(d) for d in caught.value.diagnostics] == [
        f"jcstate.yaml:3:8: api.url 'sandbox://{database}' puts the sandbox database outside "
        "the project: write sandbox://PATH with PATH relative to jcstate.yaml, without a "
        "leading / or .. (or name another database with --api-url)"
    ]


@pytest.mark.parametrize("link", [".jcstate", ".jcstate/sandbox.db", "db/sandbox.db"])
@pytest.mark.parametrize("load", [load_project, load_config_only])
def test_a_sandbox_database_behind_a_link_out_of_the_project_is_refused_at_its_place(
    tmp_path: Path, link: str, load: Any
) -> None:
    """A committed symlink on the way to the database, leading out: the database is not opened."""
    root = tmp_path / "project"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "sandbox.db").write_bytes(b"precious")
    url = "sandbox://db/sandbox.db" if link.startswith("db/") else "sandbox://.jcstate/sandbox.db"
    write(
        root,
        {
            "jcstate.yaml": f'version: 1\napi:\n  url: "{url}"\ncontacts: ["contacts/*.yaml"]\n',
            "contacts/a.yaml": "version: 1\ncontacts: []\n",
        },
    )
    (root / link).parent.mkdir(parents=True, exist_ok=True)
    (root / link).symlink_to(outside if link == ".jcstate" else outside / "sandbox.db")
    with pytest.raises(ConfigError) as caught:
        load(cwd=root)
    shown = [str(d) for d in caught.value.diagnostics]
    assert shown == [
        f"jcstate.yaml:3:8: api.url {url!r}: {link} is a symbolic link that leads out of the "
        f"project (to {os.path.realpath(root / link)}); remove the link, or name the "
        "database with --api-url"
    ]
    assert (outside / "sandbox.db").read_bytes() == b"precious"


def test_a_sandbox_database_behind_a_link_inside_the_project_is_used(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "jcstate.yaml": 'version: 1\napi:\n  url: "sandbox://.jcstate/sandbox.db"\n'
            'contacts: ["contacts/*.yaml"]\n',
            "contacts/a.yaml": "version: 1\ncontacts: []\n",
        },
    )
    (tmp_path / "state").mkdir()
    (tmp_path / ".jcstate").symlink_to("state")
    assert load_project(cwd=tmp_path).config.api.url == "sandbox://.jcstate/sandbox.db"


@pytest.mark.parametrize("userinfo", ["u:pw-c0ffee42@", ":pw-c0ffee42@", "pw-c0ffee42@"])
def test_an_api_url_with_a_user_name_or_password_is_refused_at_its_place(
    tmp_path: Path, userinfo: str
) -> None:
    write(
        tmp_path,
        {
            "jcstate.yaml": f'version: 1\napi:\n  url: "https://{userinfo}api.example.com"\n'
            'contacts: ["contacts/*.yaml"]\n',
            "contacts/a.yaml": "version: 1\ncontacts: []\n",
        },
    )
    with pytest.raises(ConfigError) as caught:
        load_project(cwd=tmp_path)
    assert [str(d) for d in caught.value.diagnostics] == [
        "jcstate.yaml:3:8: api.url holds a user name or password (an '@'): jcstate sends "
        "only JUSTCALL_API_KEY and JUSTCALL_API_SECRET, in the JustCall header; remove it "
        "from the URL"
    ]

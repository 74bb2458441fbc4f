"""The load tells `fmt` which contacts it read in the exact form fmt writes.

`Project.canonical_lines` names, per contacts file, the sha256 of the bytes
read and the first line of each contact the line reader took in the canonical
form with its phone already E.164. `fmt` keeps those byte for byte without
looking at them again, and still rewrites every other contact.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from click.testing import CliRunner

from jcstate.cli import cli
from jcstate.project.config import load_project

CONFIG = "version: 1\ndefault_region: US\ncontacts: [contacts/*.yaml]\n"
TEXT = (
    "version: 1\n"
    "contacts:\n"
    '  - phone: "+14155550100"\n'  # line 3: canonical
    "    first_name: Ada\n"
    '  - phone: "4155550101"\n'  # line 5: canonical shape, phone not E.164
    "    first_name: Bo\n"
    "  - first_name: Cy\n"  # line 7: keys out of order
    '    phone: "+14155550102"\n'
    '  - phone: "+14155550103"\n'  # line 9: canonical
    "    last_name: Dee\n"
)


def project(tmp_path: Path) -> Path:
    (tmp_path / "jcstate.yaml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "contacts").mkdir()
    (tmp_path / "contacts" / "a.yaml").write_text(TEXT, encoding="utf-8")
    return tmp_path


def test_the_load_names_the_contacts_read_in_the_canonical_form(tmp_path: Path) -> None:
    root = project(tmp_path)
    loaded = load_project(cwd=root, use_cache=False)
    content, lines = loaded.canonical_lines["contacts/a.yaml"]
    assert content == hashlib.sha256(TEXT.encode()).hexdigest()
    assert lines == {3, 9}


def test_fmt_rewrites_only_the_others(tmp_path: Path) -> None:
    root = project(tmp_path)
    result = CliRunner().invoke(cli, ["-C", str(root), "--no-cache", "fmt"])
    assert result.exit_code == 0, result.output
    after = (root / "contacts" / "a.yaml").read_text(encoding="utf-8")
    assert after == (
        "version: 1\n"
        "contacts:\n"
        '  - phone: "+14155550100"\n'
        "    first_name: Ada\n"
        '  - phone: "+14155550101"\n'
        "    first_name: Bo\n"
        '  - phone: "+14155550102"\n'
        "    first_name: Cy\n"
        '  - phone: "+14155550103"\n'
        "    last_name: Dee\n"
    )

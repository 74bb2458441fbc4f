"""`validate` and `fmt` read a file the same way: the same error, or the same value."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from jcstate.cli import cli

CONFIG = """\
version: 1
api: {url: "sandbox://.jcstate/sandbox.db"}
contacts: ["contacts/*.yaml"]
custom_fields:
  website: {type: string}
  call_at: {type: string}
"""


def run(tmp_path: Path, text: str, *args: str) -> Result:
    (tmp_path / "jcstate.yaml").write_text(CONFIG)
    (tmp_path / "contacts").mkdir(exist_ok=True)
    (tmp_path / "contacts" / "a.yaml").write_text(text)
    return CliRunner().invoke(cli, ["-C", str(tmp_path), *args])


@pytest.mark.parametrize("pure", [False, True], ids=["c", "pure"])
def test_a_url_and_a_time_in_a_flow_mapping_validate_and_format(
    tmp_path: Path, pure: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if pure:
        monkeypatch.setenv("JCSTATE_PURE_YAML", "1")
    else:
        monkeypatch.delenv("JCSTATE_PURE_YAML", raising=False)
    text = (
        "version: 1\ncontacts:\n"
        '  - phone: "+14155550100"\n'
        "    custom_fields: {website: https://acme.example, call_at: 12:30}\n"
    )
    assert run(tmp_path, text, "validate").exit_code == 0
    assert run(tmp_path, text, "fmt").exit_code == 0
    formatted = (tmp_path / "contacts" / "a.yaml").read_text()
    assert '"https://acme.example"' in formatted and '"12:30"' in formatted
    assert run(tmp_path, formatted, "validate").exit_code == 0


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "version: 1\nbase: &b {last_name: Lee}\ncontacts:\n"
            '  - <<: *b\n    phone: "+14155550100"\n    first_name: Ann\n    first_name: Bob\n',
            "contacts/a.yaml:7:5: YAML syntax error: duplicate key",
        ),
        (
            'version: 1\ncontacts:\n  - phone: &p "+14155550100"\n  - phone: &p "+14155550101"\n',
            "contacts/a.yaml:4:12: YAML syntax error: duplicate anchor",
        ),
    ],
    ids=["duplicate-key-beside-merge", "reused-anchor"],
)
def test_validate_and_fmt_refuse_with_the_same_error(tmp_path: Path, text: str, where: str) -> None:
    validated = run(tmp_path, text, "validate")
    formatted = run(tmp_path, text, "fmt")
    assert validated.exit_code == formatted.exit_code == 1
    assert where in validated.output
    assert where in formatted.output
    assert (tmp_path / "contacts" / "a.yaml").read_text() == text

"""`validate` refuses every value the API would refuse, or that breaks JSON, at file:line:col."""

from __future__ import annotations

from pathlib import Path

import pytest

from jcstate.errors import ConfigError
from jcstate.project.config import load_project

CONFIG = """\
version: 1
api: {url: "sandbox://.jcstate/sandbox.db"}
contacts: ["contacts/*.yaml"]
custom_fields:
  seats: {type: integer}
  nps: {type: number}
  renewal_on: {type: date}
  note: {type: string}
"""


def diagnostics(tmp_path: Path, contact_lines: str) -> list[str]:
    (tmp_path / "jcstate.yaml").write_text(CONFIG)
    (tmp_path / "contacts").mkdir(exist_ok=True)
    text = 'version: 1\ncontacts:\n  - phone: "+14155550100"\n' + contact_lines
    (tmp_path / "contacts" / "a.yaml").write_text(text, encoding="utf-8")
    try:
        load_project(tmp_path, cwd=tmp_path)
    except ConfigError as exc:
        return [str(d) for d in exc.diagnostics]
    return []


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            "    custom_fields: {nps: .nan}\n",
            "contacts/a.yaml:4:26: custom field 'nps' (number): nan is not a finite number",
        ),
        (
            "    custom_fields: {nps: .inf}\n",
            "contacts/a.yaml:4:26: custom field 'nps' (number): inf is not a finite number",
        ),
        (
            "    custom_fields:\n      nps: -.inf\n",
            "contacts/a.yaml:5:12: custom field 'nps' (number): -inf is not a finite number",
        ),
        (
            "    custom_fields: {seats: 1.0e+20}\n",
            "contacts/a.yaml:4:28: custom field 'seats' (integer): 100000000000000000000 is outside the 64-bit integer range",  # noqa: E501
        ),
        (
            "    custom_fields: {seats: 9223372036854775808}\n",
            "contacts/a.yaml:4:28: custom field 'seats' (integer): 9223372036854775808 is outside",
        ),
        (
            f"    first_name: {'x' * 10_000}\n",
            "contacts/a.yaml:4:17: first_name is 10,000 characters long; the limit is 255",
        ),
        (
            f"    custom_fields: {{note: {'n' * 256}}}\n",
            "contacts/a.yaml:4:27: custom field 'note' (string): is 256 characters long; the limit is 255",  # noqa: E501
        ),
        (
            '    custom_fields: {renewal_on: "2026-01-31 plus garbage"}\n',
            "contacts/a.yaml:4:33: custom field 'renewal_on' (date): expected a date (YYYY-MM-DD), got '2026-01-31 plus garbage'",  # noqa: E501
        ),
        (
            "    custom_fields: {renewal_on: 2026-01-31 10:00:00}\n",
            "contacts/a.yaml:4:33: custom field 'renewal_on' (date): expected a date (YYYY-MM-DD), got a date and time",  # noqa: E501
        ),
        (
            '    first_name: "Ann\\0"\n',
            "contacts/a.yaml:4:17: first_name holds a control character (U+0000 at character 4)",
        ),
        (
            '    last_name: "Lee\\x1b[31m"\n',
            "contacts/a.yaml:4:16: last_name holds a control character (U+001B",
        ),
        (
            '    company: "two\\nlines"\n',
            "contacts/a.yaml:4:14: company holds a control character (U+000A",
        ),
        (
            '    custom_fields: {note: "a\\0b"}\n',
            "contacts/a.yaml:4:27: custom field 'note' (string): holds a control character (U+0000",
        ),
        (
            '    first_name: "\\ud800"\n',
            "contacts/a.yaml:4:18: YAML syntax error: found invalid Unicode character escape code",
        ),
    ],
)
def test_a_value_the_api_refuses_is_a_positioned_error(
    tmp_path: Path, lines: str, expected: str
) -> None:
    found = diagnostics(tmp_path, lines)
    assert len(found) == 1, found
    assert found[0].startswith(expected), found


def test_a_phone_extension_is_an_error_at_the_phone(tmp_path: Path) -> None:
    found = diagnostics(tmp_path, '  - phone: "+1 415 555 9876 ext. 5"\n')
    assert found == [
        "contacts/a.yaml:4:12: phone number '+1 415 555 9876 ext. 5' has an extension (5), "
        "which the API does not store: remove it (keep it in a custom field if it is needed)"
    ]


def test_values_within_the_limits_pass(tmp_path: Path) -> None:
    lines = (
        f"    first_name: {'x' * 255}\n"
        "    custom_fields:\n"
        "      seats: 9223372036854775807\n"
        "      nps: 1.0e+20\n"
        "      renewal_on: 2026-01-31\n"
        '      note: "first line\\n\\tsecond line"\n'
    )
    assert diagnostics(tmp_path, lines) == []

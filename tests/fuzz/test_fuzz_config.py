"""Fuzzing the YAML loader and validator: any file gives a valid project or a clean error.

Three kinds of input, written to a real project directory and loaded with
`load_project` (the function every command starts from):

- random text and bytes as `jcstate.yaml` or as a contacts file;
- mutations of the quickstart files (cut, insert, duplicate, swap a value for
  a hostile YAML scalar such as `*a`, `!!binary`, `.nan`, `1e999`, a tab);
- well-formed YAML documents of random structure over the real key names.

The only acceptable outcomes are a `Project` whose declared phones are
distinct E.164 numbers, or a `JcstateError` whose message names the file
(with `file:line:col` for a `ConfigError`). Anything else, a `TypeError`, a
`RecursionError`, a ruamel exception, is a bug. `jcstate validate` (in
process, through click) is fuzzed the same way: exit 0 or 1, never a traceback.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from jcstate.cli import cli
from jcstate.core.limits import scalar_problem
from jcstate.core.model import Project
from jcstate.errors import ConfigError, JcstateError
from jcstate.project.config import load_project

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"
CONFIG_TEXT = (QUICKSTART / "jcstate.yaml").read_text(encoding="utf-8")
CUSTOMERS_TEXT = (QUICKSTART / "contacts" / "customers.yaml").read_text(encoding="utf-8")
PARTNERS_TEXT = (QUICKSTART / "contacts" / "partners.yaml").read_text(encoding="utf-8")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
DIAGNOSTIC = re.compile(r"^(?P<file>[^\n:]+):(?P<line>\d+):(?P<col>\d+): ", re.MULTILINE)

#: CI runs 60 examples per property; `JCSTATE_FUZZ_EXAMPLES=5000` for a long local hunt.
EXAMPLES = int(os.environ.get("JCSTATE_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

HOSTILE_SCALARS = [
    "null", "~", "[]", "{}", "''", '""', "&a x", "*a", "*undefined", "!!binary AAAA",
    "!!python/object:os.system", "!custom tag", "1e999", "-1e999", ".nan", ".inf", "0x1F",
    "0o17", "yes", "on", "2024-13-45", "2024-02-30", "12:30:00", "<<: *a", "? complex",
    "- item", "|", ">", "'unterminated", '"\\ud800"', '"\\x00"', "\t", "9" * 400,
    "+1 415 555 0100", "not-a-phone", "+999999", "[+14155550100, +14155550100]",
    "{type: enum}", "{type: enum, values: []}", "{per_minute: 0}", "-5", "3.5", "true",
    "'\u202e'", "\U0001f600", "%YAML 1.1", "---", "...",
]  # fmt: skip
KEYS = [
    "version", "api", "url", "rate_limit", "per_minute", "per_hour", "concurrency",
    "default_region", "contacts", "custom_fields", "ownership", "field", "value", "safety",
    "max_delete_percent", "max_update_percent", "min_existing", "protected", "defaults",
    "phone", "id", "first_name", "last_name", "email", "company", "type", "values",
    "lead_source", "plan_tier", "seats", "renewal_on", "nps", "vip", "unknown_key",
]  # fmt: skip


def load_outcome(config_text: str | bytes, contact_files: dict[str, str | bytes]) -> str:
    """Write a project, load it; the outcome, after checking it is an acceptable one."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        _write(root / "jcstate.yaml", config_text)
        (root / "contacts").mkdir()
        for name, text in contact_files.items():
            _write(root / "contacts" / name, text)
        try:
            project = load_project(root, cwd=root)
        except ConfigError as exc:
            _check_config_error(exc, {"jcstate.yaml", *(f"contacts/{n}" for n in contact_files)})
            return "config-error"
        except JcstateError as exc:
            assert str(exc).strip(), "an error without a message"
            return f"error: {type(exc).__name__}"
        _check_project(project)
        return "valid"


def _write(path: Path, text: str | bytes) -> None:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")


def _check_config_error(exc: ConfigError, files: set[str]) -> None:
    assert exc.diagnostics, "a ConfigError without a diagnostic"
    for diagnostic in exc.diagnostics:
        assert diagnostic.file in files, f"diagnostic names an unknown file: {diagnostic}"
        assert diagnostic.line >= 1 and diagnostic.col >= 1, str(diagnostic)
        assert diagnostic.message.strip(), str(diagnostic)
    assert DIAGNOSTIC.search(str(exc)), str(exc)


def _check_project(project: Project) -> None:
    phones = [contact.phone for contact in project.desired.contacts]
    assert len(phones) == len(set(phones)), "two declared contacts share a phone"
    for phone in phones:
        assert E164.match(phone), f"declared phone {phone!r} is not E.164"
    json.dumps(project.config.model_dump(mode="json"))  # a plain, serialisable config
    # What a plan sends is strict JSON (no NaN, no infinity) within the field limits.
    for contact in project.desired.contacts:
        json.dumps([dict(contact.fields), dict(contact.custom_fields)], allow_nan=False)
        for value in [*contact.fields.values(), *contact.custom_fields.values()]:
            assert scalar_problem(value, notes=True) is None, (contact.source, value)


# ---------------------------------------------------------------------------
# Mutations
# ---------------------------------------------------------------------------


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    """`text` after 1-4 random edits: cut, insert, duplicate a line, swap a value."""
    for _ in range(draw(st.integers(1, 4))):
        lines = text.splitlines(keepends=True) or [""]
        kind = draw(st.sampled_from(["cut", "insert", "duplicate", "scalar", "indent", "key"]))
        position = draw(st.integers(0, max(0, len(text) - 1)))
        if kind == "cut":
            length = draw(st.integers(1, 40))
            text = text[:position] + text[position + length :]
        elif kind == "insert":
            piece = draw(st.one_of(st.sampled_from(HOSTILE_SCALARS), st.text(max_size=8)))
            text = text[:position] + piece + text[position:]
        elif kind == "duplicate":
            index = draw(st.integers(0, len(lines) - 1))
            lines.insert(index, lines[index])
            text = "".join(lines)
        elif kind == "indent":
            index = draw(st.integers(0, len(lines) - 1))
            lines[index] = draw(st.sampled_from(["", " ", "  ", "\t", "      "])) + lines[
                index
            ].lstrip(" ")
            text = "".join(lines)
        elif kind == "key":
            index = draw(st.integers(0, len(lines) - 1))
            line = lines[index]
            if ":" in line:
                key = draw(st.sampled_from(KEYS))
                lines[index] = re.sub(r"[\w-]+(?=:)", key, line, count=1)
                text = "".join(lines)
        else:  # replace the value after a colon
            index = draw(st.integers(0, len(lines) - 1))
            line = lines[index]
            if ": " in line:
                head = line.split(": ", 1)[0]
                lines[index] = f"{head}: {draw(st.sampled_from(HOSTILE_SCALARS))}\n"
                text = "".join(lines)
    return text


yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["+14155550100", "+1 415 555 0101", "415-555-0102", "Website", "Pro"]),
)
yaml_values = st.recursive(
    yaml_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), children, max_size=5
        ),
    ),
    max_leaves=25,
)


# ---------------------------------------------------------------------------
# The properties
# ---------------------------------------------------------------------------


def test_the_quickstart_itself_is_valid() -> None:
    # The mutations below start from these files: they must be valid to begin with.
    outcome = load_outcome(
        CONFIG_TEXT, {"customers.yaml": CUSTOMERS_TEXT, "partners.yaml": PARTNERS_TEXT}
    )
    assert outcome == "valid"


@FUZZ
@given(text=mutated(CONFIG_TEXT))
def test_mutated_project_file(text: str) -> None:
    event(load_outcome(text, {"customers.yaml": CUSTOMERS_TEXT}))


@FUZZ
@given(text=mutated(CUSTOMERS_TEXT), other=mutated(PARTNERS_TEXT))
@example(text=CUSTOMERS_TEXT, other=CUSTOMERS_TEXT)  # every phone declared twice
def test_mutated_contacts_files(text: str, other: str) -> None:
    event(load_outcome(CONFIG_TEXT, {"customers.yaml": text, "partners.yaml": other}))


@FUZZ
@given(raw=st.one_of(st.binary(max_size=300), st.text(max_size=300)))
@example(raw=b"\xff\xfe\x00\x00")
@example(raw=b"a: &a [*a]")
@example(raw=("[" * 5000).encode())
@example(raw=b"version: 1\ncontacts:\n" + b"  - phone: '+14155550100'\n" * 2)
def test_random_bytes_as_contacts_file(raw: bytes | str) -> None:
    event(load_outcome(CONFIG_TEXT, {"customers.yaml": raw}))


@FUZZ
@given(raw=st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_random_bytes_as_project_file(raw: bytes | str) -> None:
    event(load_outcome(raw, {"customers.yaml": CUSTOMERS_TEXT}))


@FUZZ
@given(
    config=st.fixed_dictionaries(
        {"version": st.one_of(st.just(1), yaml_values)},
        optional={key: yaml_values for key in KEYS[1:14]},
    ),
    contacts=st.fixed_dictionaries(
        {"version": st.just(1), "contacts": st.lists(yaml_values, max_size=5)},
        optional={"defaults": yaml_values},
    ),
)
def test_random_documents_over_the_real_keys(config: dict[str, Any], contacts: Any) -> None:
    # JSON is YAML: these are well-formed documents of random structure.
    event(load_outcome(json.dumps(config), {"a.yaml": json.dumps(contacts)}))


@st.composite
def random_contact(draw: st.DrawFn) -> dict[str, Any]:
    contact: dict[str, Any] = {"phone": draw(yaml_scalars)}
    for key in ("first_name", "email", "custom_fields", "id"):
        if draw(st.booleans()):
            contact[key] = draw(yaml_values)
    return contact


@FUZZ
@given(entries=st.lists(random_contact(), max_size=6))
def test_random_contact_entries_in_a_valid_project(entries: list[dict[str, Any]]) -> None:
    event(load_outcome(CONFIG_TEXT, {"a.yaml": json.dumps({"version": 1, "contacts": entries})}))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=mutated(CUSTOMERS_TEXT))
def test_validate_command_never_shows_a_traceback(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "jcstate.yaml").write_text(CONFIG_TEXT)
        (root / "contacts").mkdir()
        _write(root / "contacts" / "customers.yaml", text)
        result = CliRunner().invoke(cli, ["-C", str(root), "validate"])
    assert result.exit_code in (0, 1), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output


# Found by the fuzzing above: a scalar that looks like a date or an integer but
# is none (an impossible day, 5,000 digits) used to escape as a bare ValueError
# from the YAML constructor, i.e. a traceback instead of `file:line:col`.
IMPOSSIBLE_SCALARS = ["2024-02-30", "2023-13-01", "9" * 5000]


@pytest.mark.parametrize("scalar", IMPOSSIBLE_SCALARS)
def test_impossible_scalar_in_a_contacts_file_is_a_diagnostic(scalar: str) -> None:
    text = CUSTOMERS_TEXT.replace("version: 1\n", f"version: 1\nnote_on: {scalar}\n", 1)
    assert load_outcome(CONFIG_TEXT, {"customers.yaml": text}) == "config-error"


@pytest.mark.parametrize("scalar", IMPOSSIBLE_SCALARS)
def test_impossible_scalar_in_the_project_file_is_a_diagnostic(scalar: str) -> None:
    text = CONFIG_TEXT.replace("min_existing: 10", f"min_existing: {scalar}")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "jcstate.yaml").write_text(text)
        (root / "contacts").mkdir()
        (root / "contacts" / "customers.yaml").write_text(CUSTOMERS_TEXT)
        with pytest.raises(ConfigError) as caught:
            load_project(root, cwd=root)
    (diagnostic,) = caught.value.diagnostics
    line = 1 + text.splitlines().index(f"  min_existing: {scalar}")
    assert (diagnostic.file, diagnostic.line) == ("jcstate.yaml", line)


@pytest.mark.parametrize(
    "ownership",
    [
        "{field: [managed_by], value: sales-ops}",
        "{field: {a: 1}, value: sales-ops}",
        "{field: managed_by, value: [sales-ops]}",
    ],
)
def test_an_ownership_of_the_wrong_shape_is_a_diagnostic(ownership: str) -> None:
    # Found by the fuzzing above: a list as ownership.field was a TypeError (unhashable).
    config = CONFIG_TEXT.replace(
        "ownership:\n  field: managed_by\n  value: sales-ops",
        f"ownership: {ownership}\n",
    ).replace(
        "lead_source: {type: enum",
        "managed_by: {type: enum, values: [sales-ops]}\n  lead_source: {type: enum",
    )
    assert config != CONFIG_TEXT
    assert load_outcome(config, {"customers.yaml": CUSTOMERS_TEXT}) == "config-error"

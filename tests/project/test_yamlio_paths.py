"""The loader gives the same values and the same errors with and without the C parser."""

from __future__ import annotations

from typing import Any

import pytest
import ruamel.yaml.main as ruamel_main

from jcstate.project import yamlio
from jcstate.project.yamlio import YamlProblem, parse_fast

VALID = [
    "a: 1\n",
    "",
    "- x\n- 2\n- 3.5\n- true\n- null\n- 2024-01-02\n",
    "version: 1\ncontacts:\n  - phone: '+1'\n    first_name: Sam\n  - phone: \"+2\"\n",
    "a: &x {b: [1, 2]}\nc: *x\nd:\n  <<: *x\n  e: f\n",
    "a: !!str 12\nb: !!int '7'\nc: |\n  text [ {\n",
    "? [a, b]\n: x\n",
    "%YAML 1.1\n---\na: yes\nb: 010\n",
]

#: Refused after parsing: the same message and position on both paths.
ERRORS = [
    "a: 1\na: 2\n",
    "x: !!python/name:os.system\n",
    "a: 2024-02-30\n",
    "a: 1\n---\nb: 2\n",
    "a: &a [1, *a]\n",
]

#: Refused by the scanner or parser: the pure parser words every error (the C
#: one only reads files it accepts), so both paths give the same message and place.
SYNTAX_ERRORS = [
    "a: [1\n",
    "a: b: c\n",
    "a: *nope\n",
    "a: 'x\n",
    "- a\nb: c\n",
    "a:\n\tb: 1\n",
    "a: 1\nb:\t\n",  # libyaml takes a tab here, the pure parser (and so fmt) does not
    'a: "\\ud800"\n',
]


@pytest.fixture(params=["c", "pure"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "pure":
        monkeypatch.setenv("JCSTATE_PURE_YAML", "1")
    else:
        monkeypatch.delenv("JCSTATE_PURE_YAML", raising=False)
    return str(request.param)


def outcome(text: str) -> Any:
    try:
        doc = parse_fast(text.encode(), index_key="contacts")
    except YamlProblem as problem:
        return ("error", problem.message, problem.line, problem.col)
    return ("ok", repr(doc.data), doc.item_marks)


def both(text: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    monkeypatch.delenv("JCSTATE_PURE_YAML", raising=False)
    fast = outcome(text)
    monkeypatch.setenv("JCSTATE_PURE_YAML", "1")
    pure = outcome(text)
    monkeypatch.delenv("JCSTATE_PURE_YAML")
    return fast, pure


@pytest.mark.parametrize("text", VALID + ERRORS)
def test_same_result_on_both_paths(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, pure = both(text, monkeypatch)
    assert fast == pure
    assert fast[0] == ("ok" if text in VALID else "error")


@pytest.mark.parametrize("text", SYNTAX_ERRORS)
def test_syntax_errors_at_the_same_place_on_both_paths(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, pure = both(text, monkeypatch)
    assert fast[0] == "error"
    assert fast == pure
    assert fast[1].startswith("YAML syntax error: ")


def test_env_var_forces_the_pure_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JCSTATE_PURE_YAML", "1")
    assert not yamlio.c_loader_in_use()
    monkeypatch.delenv("JCSTATE_PURE_YAML")
    assert yamlio.c_loader_in_use() == yamlio.c_loader_available()


@pytest.mark.parametrize("raw", [b"a: 1\nb: x\xff\n", b"\xfe", b"a: [\xc3]\n"])
def test_invalid_utf8_is_the_same_error_on_both_paths(
    raw: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = []
    for pure in (False, True):
        if pure:
            monkeypatch.setenv("JCSTATE_PURE_YAML", "1")
        with pytest.raises(YamlProblem) as problem:
            parse_fast(raw)
        results.append((problem.value.message, problem.value.line, problem.value.col))
    assert results[0] == results[1]
    assert results[0][0] == "file is not valid UTF-8 text"


def test_loads_without_the_c_extension(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JCSTATE_PURE_YAML", raising=False)
    monkeypatch.setattr(ruamel_main, "CParser", None)
    monkeypatch.setattr(yamlio.loader, "CParser", None)
    assert parse_fast(b"a: 1\n").data == {"a": 1}
    with pytest.raises(YamlProblem) as problem:
        parse_fast(b"a: [1\n")
    assert (problem.value.line, problem.value.col) == (2, 1)
    assert yamlio.compose_node(b"a: 1\n") is not None


def test_one_yaml_object_reused_for_several_files(path: str) -> None:
    yaml = yamlio.fast_yaml()
    assert parse_fast(b"a: 1\n", yaml=yaml).data == {"a": 1}
    assert parse_fast(b"b: [x]\n", yaml=yaml).data == {"b": ["x"]}
    with pytest.raises(YamlProblem):
        parse_fast(b"a: [\n", yaml=yaml)
    with pytest.raises(YamlProblem):
        parse_fast(b"a: \xff\n", yaml=yaml)
    assert parse_fast(b"%YAML 1.1\n---\nc: 010\n", yaml=yaml).data == {"c": 10}
    assert parse_fast(b"c: 2\n", yaml=yaml).data == {"c": 2}

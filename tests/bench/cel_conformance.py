"""How far a Python CEL library agrees with the CEL conformance tests, for what rules use.

Reads `tests/simple/testdata/*.textproto` of a google/cel-spec checkout (not
vendored here) and runs every test whose expected result is a scalar (bool,
int, uint, double, string, null) or an evaluation error and that needs no
bindings, type environment or protobuf message: enough for the features of
`rules:` (has(), ==, &&, ||, !, ?:, in, size(), comparisons of ints, doubles
and strings, string functions, list macros).

    python -m tests.bench.cel_conformance CEL_SPEC_DIR [--library cel_expr|cel|celpy]
        [--files logic comparisons string macros fields lists basic]

The library must be installed (`cel_expr`: cel-expr-python, jcstate's choice;
`cel`: common-expression-language; `celpy`: cel-python). Prints
`LIBRARY: agreed/run agree` and the first disagreements.
"""

from __future__ import annotations

import argparse
import codecs
import math
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

FILES = ("logic", "comparisons", "string", "macros", "fields", "lists", "basic")
_SKIP = re.compile(
    r"\b(type_env|bindings|container|check_only|unknown|any_value|object_value|map_value|"
    r"list_value|bytes_value|type_value|enum_value|duration|timestamp_value)\b"
)
_QUOTED = r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\''

Outcome = tuple[str, Any]


def _blocks(text: str) -> Iterator[str]:
    """The body of each `test { ... }` (braces inside quoted strings skipped)."""
    position = 0
    opener = re.compile(r"\btest\s*\{")
    while (found := opener.search(text, position)) is not None:
        depth, index = 1, found.end()
        while depth:
            char = text[index]
            if char in "\"'":
                index += 1
                while text[index] != char:
                    index += 2 if text[index] == "\\" else 1
            elif char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
            index += 1
        yield text[found.end() : index - 1]
        position = index


def _unquote(literal: str) -> str:
    warnings.simplefilter("ignore", DeprecationWarning)  # \U... escapes of textproto
    return codecs.escape_decode(literal[1:-1].encode("utf-8"))[0].decode("utf-8", "replace")


def _case(body: str) -> tuple[str, str, bool, Outcome] | None:
    if _SKIP.search(body):
        return None
    name = re.search(r'name:\s*("(?:[^"\\]|\\.)*")', body)
    expr = re.search(rf"\bexpr:\s*((?:(?:{_QUOTED})\s*)+)", body)
    if name is None or expr is None:
        return None
    text = "".join(_unquote(part) for part in re.findall(_QUOTED, expr.group(1)))
    unchecked = "disable_check: true" in body
    if "eval_error" in body:
        return _unquote(name.group(1)), text, unchecked, ("error", None)
    value = re.search(r"value:\s*\{\s*(\w+)_value:\s*(.*?)\s*\}", body)
    if value is None:
        return None
    kind, raw = value.groups()
    expected: Any
    if kind == "bool":
        expected = raw == "true"
    elif kind in ("int64", "uint64"):
        expected = int(raw)
    elif kind == "double":
        expected = float(raw.lower().replace("infinity", "inf"))
    elif kind == "string":
        expected = _unquote(raw)
    elif kind == "null":
        expected = None
    else:
        return None
    return _unquote(name.group(1)), text, unchecked, ("value", expected)


def _runner(library: str) -> Callable[[str, bool], Outcome]:
    if library == "cel_expr":
        from cel_expr_python import cel

        env = cel.NewEnv()

        def run(expr: str, unchecked: bool) -> Outcome:
            try:
                result = env.compile(expr, disable_check=unchecked).eval()
            except RuntimeError as exc:
                return ("error", str(exc))
            if result.type() == cel.Type.ERROR:
                return ("error", None)
            return ("value", result.plain_value())

        return run
    if library == "cel":
        import cel as rust_cel  # type: ignore[import-not-found]

        def run_rust(expr: str, unchecked: bool) -> Outcome:
            try:
                return ("value", rust_cel.evaluate(expr))
            except Exception as exc:
                return ("error", str(exc))

        return run_rust
    import celpy  # type: ignore[import-not-found]

    environment = celpy.Environment()

    def run_celpy(expr: str, unchecked: bool) -> Outcome:
        try:
            result = environment.program(environment.compile(expr)).evaluate({})
        except Exception as exc:
            return ("error", str(exc))
        if isinstance(result, celpy.CELEvalError):
            return ("error", None)
        return ("value", result)

    return run_celpy


def _agrees(got: Outcome, want: Outcome) -> bool:
    if got[0] != want[0]:
        return False
    if want[0] == "error":
        return True
    have, expected = got[1], want[1]
    if isinstance(expected, float) and math.isnan(expected):
        return isinstance(have, float) and math.isnan(have)
    if isinstance(expected, bool) or isinstance(have, bool):
        # cel-python answers with its own bool type (BoolType), equal to the Python one
        boolean = isinstance(have, bool) or type(have).__name__ == "BoolType"
        return boolean and bool(have == expected)
    return bool(have == expected) and isinstance(have, float) == isinstance(expected, float)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("cel_spec", type=Path)
    parser.add_argument("--library", default="cel_expr", choices=["cel_expr", "cel", "celpy"])
    parser.add_argument("--files", nargs="*", default=list(FILES))
    parser.add_argument("--show", type=int, default=10)
    args = parser.parse_args(argv)
    run = _runner(args.library)
    folder = args.cel_spec / "tests" / "simple" / "testdata"
    agreed = total = 0
    misses: list[str] = []
    for stem in args.files:
        for body in _blocks((folder / f"{stem}.textproto").read_text(encoding="utf-8")):
            case = _case(body)
            if case is None:
                continue
            name, expr, unchecked, want = case
            total += 1
            got = run(expr, unchecked)
            if _agrees(got, want):
                agreed += 1
            else:
                misses.append(f"  {stem}/{name}: {expr!r}: want {want}, got {got[0]}")
    print(f"{args.library}: {agreed}/{total} agree")
    print("\n".join(misses[: args.show]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

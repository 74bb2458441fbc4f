"""The package layout is the architecture: these tests keep its rules.

They read the imports of every module under `jcstate/` (an AST walk, so an
import inside a function or under TYPE_CHECKING counts too) and fail naming
the file, the line and the import when a rule is broken:

- each package imports only the packages below it (ALLOWED, read from the
  import-rule table in docs/development/architecture.md);
- nothing below `commands/` prints or prompts;
- there are no import cycles between modules.

A small walk instead of a tool such as import-linter: the rules fit in a
table, the messages name the line, and the print rule (which a linter of
imports cannot express) uses the same walk.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "jcstate"

ARCHITECTURE_PAGE = PACKAGE_ROOT.parent / "docs" / "development" / "architecture.md"
_RULES_START, _RULES_END = "<!-- import-rules", "<!-- /import-rules -->"


def _layer_name(cell: str) -> str:
    """`core/` -> core, `cli.py` -> cli, `__init__.py` -> jcstate (the package's own)."""
    name = cell.strip().strip("`").removesuffix("/").removesuffix(".py")
    return "jcstate" if name == "__init__" else name


def read_import_rules(page: Path) -> dict[str, frozenset[str]]:
    """The import-rule table of the architecture page: layer -> the layers it may import.

    The table is written once, in the docs; this test reads it rather than
    repeating it. Each row is `| `layer` | what lives there | `a/`, `b.py` |`
    (or `nothing`).
    """
    text = page.read_text(encoding="utf-8")
    table = text[text.index(_RULES_START) : text.index(_RULES_END)]
    rules: dict[str, frozenset[str]] = {}
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        may = cells[-1]
        names = re.findall(r"`([^`]+)`", may)
        assert names or may == "nothing", f"{page.name}: {line!r}: say `nothing` or name layers"
        rules[_layer_name(cells[0])] = frozenset(_layer_name(name) for name in names)
    return rules


#: layer -> the layers it may import (besides itself), from the table in the docs.
#: `jcstate` is the package's __init__ (the version), `errors` the one exception tree.
ALLOWED: dict[str, frozenset[str]] = read_import_rules(ARCHITECTURE_PAGE)

#: Only these layers may write to the terminal or ask the user anything.
MAY_PRINT = frozenset({"commands", "cli"})

PRINTING_CALLS = frozenset(
    {
        "print",
        "input",
        "breakpoint",
        "click.echo",
        "click.secho",
        "click.prompt",
        "click.confirm",
        "click.pause",
        "click.progressbar",
        "click.edit",
        "click.launch",
        "sys.stdout.write",
        "sys.stderr.write",
    }
)


@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    source_module: str
    target_module: str

    def where(self, root: Path) -> str:
        return f"{self.path.relative_to(root.parent)}:{self.line}"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str:
    """`jcstate.core.plan` -> `core`; `jcstate.cli` -> `cli`; `jcstate` -> `jcstate`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _resolve(node: ast.ImportFrom, current: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = current.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(path: Path, root: Path) -> Iterator[Import]:
    """Every first-party import of one module, submodules of `from x import y` included."""
    current = module_name(path, root)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "jcstate":
                    yield Import(path, node.lineno, current, alias.name)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(node, current, path.name == "__init__.py")
            if target.split(".")[0] != "jcstate":
                continue
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                # `from jcstate.project import yamlio` imports the module yamlio.
                submodule = root.parent / Path(*candidate.split("."))
                if submodule.with_suffix(".py").is_file() or submodule.is_dir():
                    yield Import(path, node.lineno, current, candidate)
                else:
                    yield Import(path, node.lineno, current, target)


def modules(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*.py") if "__pycache__" not in path.parts)


def layer_violations(root: Path) -> list[str]:
    problems: list[str] = []
    for path in modules(root):
        for found in imports_of(path, root):
            source, target = layer_of(found.source_module), layer_of(found.target_module)
            if source == target:
                continue
            allowed = ALLOWED.get(source)
            if allowed is None:
                problems.append(
                    f"{found.where(root)}: {found.source_module} is in no known package "
                    "(add it to one, or to ALLOWED)"
                )
            elif target not in allowed:
                problems.append(
                    f"{found.where(root)}: {found.source_module} imports "
                    f"{found.target_module}, but {source}/ may import only "
                    f"{', '.join(sorted(allowed)) or 'nothing of jcstate'}"
                )
    return problems


def _call_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_call_name(node.value)}.{node.attr}"
    return ""


def printing_violations(root: Path) -> list[str]:
    problems: list[str] = []
    for path in modules(root):
        module = module_name(path, root)
        if layer_of(module) in MAY_PRINT:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _call_name(node.func) in PRINTING_CALLS:
                problems.append(
                    f"{path.relative_to(root.parent)}:{node.lineno}: {module} calls "
                    f"{_call_name(node.func)}(); only commands/ and cli.py print or prompt"
                )
    return problems


def import_cycles(root: Path) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    graph: dict[str, set[str]] = {module_name(path, root): set() for path in modules(root)}
    for path in modules(root):
        for found in imports_of(path, root):
            if found.target_module in graph and found.target_module != found.source_module:
                graph[found.source_module].add(found.target_module)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            group: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_each_package_imports_only_what_lies_below_it() -> None:
    assert layer_violations(PACKAGE_ROOT) == []


def test_nothing_below_commands_prints_or_prompts() -> None:
    assert printing_violations(PACKAGE_ROOT) == []


def test_no_import_cycles() -> None:
    assert import_cycles(PACKAGE_ROOT) == []


def test_every_module_lives_in_a_known_package() -> None:
    unknown = {
        layer_of(module_name(path, PACKAGE_ROOT))
        for path in modules(PACKAGE_ROOT)
        if layer_of(module_name(path, PACKAGE_ROOT)) not in ALLOWED
    }
    assert unknown == set()


def test_the_import_rules_are_read_from_the_architecture_page() -> None:
    """The table in docs/development/architecture.md is the rule; this is what it says."""
    assert ALLOWED["core"] == {"errors", "jcstate"}
    assert ALLOWED["remote"] == {"core", "errors", "jcstate", "sandbox"}
    assert ALLOWED["sandbox"] == {"core", "errors", "jcstate"}
    assert ALLOWED["errors"] == ALLOWED["jcstate"] == frozenset()
    assert ALLOWED["__main__"] == {"cli"}
    assert set(ALLOWED) >= {"render", "project", "execute", "commands", "cli"}


def test_a_run_has_its_own_layer_between_the_commands_and_the_work() -> None:
    """`runs/` (a plan run, an apply run) builds on the layers that do the work; the
    commands call it, and it never calls them back."""
    assert ALLOWED["runs"] == {
        "core",
        "render",
        "project",
        "remote",
        "execute",
        "errors",
        "jcstate",
    }
    assert "runs" in ALLOWED["commands"]
    assert all("runs" not in ALLOWED[layer] for layer in ALLOWED if layer != "commands")


def test_the_commands_never_import_the_cli() -> None:
    """`cli.py` imports the commands (by name, through importlib, which the walk does not
    see): an import back from a command would be a cycle the cycle check misses."""
    assert "cli" not in ALLOWED["commands"]


def test_a_rule_row_that_names_no_layer_is_refused(tmp_path: Path) -> None:
    page = tmp_path / "architecture.md"
    page.write_text(
        "<!-- import-rules -->\n| package | lives | may import |\n|---|---|---|\n"
        "| `core/` | models | everything below |\n<!-- /import-rules -->\n",
        encoding="utf-8",
    )
    with pytest.raises(AssertionError, match="say `nothing` or name layers"):
        read_import_rules(page)


def test_every_package_says_what_it_must_never_import() -> None:
    for init in sorted(PACKAGE_ROOT.glob("*/__init__.py")):
        docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert "never" in docstring.lower(), f"{init}: the docstring names no rule"


# --- the checker itself: a forbidden import, a print and a cycle are caught --------


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "jcstate"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("source", "text", "expected"),
    [
        (
            "core/plan.py",
            "from jcstate.remote.client import JustCallClient\n",
            "jcstate/core/plan.py:1: jcstate.core.plan imports jcstate.remote.client",
        ),
        (
            "render/text.py",
            "def f():\n    from jcstate.execute import apply\n",
            "jcstate/render/text.py:2: jcstate.render.text imports jcstate.execute.apply",
        ),
        (
            "sandbox/app.py",
            "import jcstate.remote.client\n",
            "jcstate/sandbox/app.py:1: jcstate.sandbox.app imports jcstate.remote.client",
        ),
        (
            "project/config.py",
            "from ..commands import plan\n",
            "jcstate/project/config.py:1: jcstate.project.config imports jcstate.commands.plan",
        ),
    ],
)
def test_a_forbidden_import_is_named_with_file_and_line(
    tmp_path: Path, source: str, text: str, expected: str
) -> None:
    root = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "remote/__init__.py": "",
            "remote/client.py": "",
            "execute/__init__.py": "",
            "execute/apply.py": "",
            "commands/__init__.py": "",
            "commands/plan.py": "",
            source: text,
        },
    )
    problems = layer_violations(root)
    assert len(problems) == 1
    assert problems[0].startswith(expected)


def test_a_print_below_commands_is_named(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "remote/listing.py": "import click\n\n\ndef f():\n    click.echo('x')\n",
            "commands/plan.py": "print('fine here')\n",
        },
    )
    assert printing_violations(root) == [
        "jcstate/remote/listing.py:5: jcstate.remote.listing calls click.echo(); "
        "only commands/ and cli.py print or prompt"
    ]


def test_an_import_cycle_is_found_even_under_type_checking(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "execute/apply.py": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from jcstate.execute.journal import Journal\n",
            "execute/journal.py": "from jcstate.execute.apply import ItemResult\n",
        },
    )
    assert import_cycles(root) == [["jcstate.execute.apply", "jcstate.execute.journal"]]

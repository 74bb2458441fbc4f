"""Where the `rules:` of jcstate.yaml are written, and their problems at `jcstate.yaml:line:col`.

The pure checks are in `jcstate.core.rules`; this module maps a position
inside a rule's CEL text to the file: the expression starts where its YAML
scalar starts (one column later when quoted; the next lines for a block
scalar).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from jcstate.core.model import ProjectConfig
from jcstate.core.rules import RuleProblem, RuleSet, compile_rules
from jcstate.errors import Diagnostic
from jcstate.project.yamlio import YamlProblem, compose_node, read_limited


def _child(node: Node | None, step: str | int) -> Node | None:
    if isinstance(node, MappingNode) and isinstance(step, str):
        for key, value in node.value:
            if isinstance(key, ScalarNode) and key.value == step:
                return value  # type: ignore[no-any-return]
    if isinstance(node, SequenceNode) and isinstance(step, int) and step < len(node.value):
        return node.value[step]  # type: ignore[no-any-return]
    return None


def _mark(node: Node | None) -> tuple[int, int]:
    if node is None:
        return (1, 1)
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _problem_position(root: Node | None, lines: list[str], problem: RuleProblem) -> tuple[int, int]:
    item = _child(_child(root, "rules"), problem.index)
    if problem.key == "name":
        return _mark(_child(item, "name") or item)
    node = _child(item, problem.key)
    if not isinstance(node, ScalarNode):
        return _mark(node or item)
    line, col = _mark(node)
    style: Any = node.style
    if style in ("|", ">"):
        # The text starts on the line after the indicator, indented as its first line.
        first = lines[line] if line < len(lines) else ""
        indent = len(first) - len(first.lstrip(" "))
        return (line + problem.line, indent + problem.col)
    if problem.line > 1:
        return (line, col)
    return (line, col + (1 if style in ("'", '"') else 0) + problem.col - 1)


def rule_marks(raw: bytes) -> tuple[tuple[int, int], ...]:
    """(line, col) of each item of `rules:` (none when the file has no rules)."""
    try:
        root = compose_node(raw)
    except YamlProblem:
        return ()
    rules = _child(root, "rules")
    if not isinstance(rules, SequenceNode):
        return ()
    return tuple(_mark(item) for item in rules.value)


def check_rules(raw: bytes, config: ProjectConfig, file: str) -> tuple[RuleSet, list[Diagnostic]]:
    """The project's rules, and every problem of them at `file:line:col` (CEL's message)."""
    if not config.rules:
        return RuleSet((), (), file), []
    marks = rule_marks(raw)
    rules = RuleSet(tuple(config.rules), marks, file)
    problems = compile_rules(config.rules, config.custom_fields)
    if not problems:
        return rules, []
    root = compose_node(raw)
    lines = raw.decode("utf-8", "replace").splitlines()
    out: list[Diagnostic] = []
    for problem in problems:
        line, col = _problem_position(root, lines, problem)
        name = config.rules[problem.index].name
        prefix = f"rules[{problem.index}]" if problem.key == "name" else f"rule {name!r}"
        where = "" if problem.key == "name" else f" {problem.key}"
        out.append(Diagnostic(file, line, col, f"{prefix}{where}: {problem.message}"))
    return rules, out


def rules_of(config_path: Path, config: ProjectConfig, cwd: Path) -> RuleSet:
    """The rules of an already checked jcstate.yaml, with their lines (for `import`)."""
    if not config.rules:
        return RuleSet((), ())
    try:
        raw = read_limited(config_path)
    except OSError:
        raw = b""
    name = Path(os.path.relpath(config_path, cwd)).as_posix()
    return RuleSet(tuple(config.rules), rule_marks(raw), name)

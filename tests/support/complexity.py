"""No function in `jcstate/` above cyclomatic complexity `LIMIT` (radon), but the listed.

The exceptions are in `.ci/complexity-allow.txt`, one a line, each with a reason::

    jcstate/project/yamlio/events.py::_EventBuilder._run: one state machine over the YAML events

`python -m tests.support.complexity` prints each problem and exits 1 when there
is one: a function above the limit that is not listed, a listed one without a
reason, or a listed one that no longer needs its place (then remove the line).
`tests/test_complexity.py` runs the same check.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from radon.complexity import cc_visit
from radon.visitors import Class, Function

LIMIT = 20
ROOT = Path(__file__).resolve().parents[2]
ALLOW_FILE = ROOT / ".ci" / "complexity-allow.txt"


@dataclass(frozen=True)
class Measure:
    #: `path::Class.function` (path relative to the repository)
    name: str
    complexity: int


def _functions(blocks: list[Function | Class]) -> Iterator[tuple[str, int]]:
    # radon lists the methods of a class beside the functions (`fullname`: Class.method).
    for block in blocks:
        if isinstance(block, Function):
            yield block.fullname, block.complexity
            yield from _closures(block.closures, f"{block.fullname}.")


def _closures(blocks: list[Function], prefix: str) -> Iterator[tuple[str, int]]:
    for block in blocks:
        yield f"{prefix}{block.name}", block.complexity
        yield from _closures(block.closures, f"{prefix}{block.name}.")


def measure(package: Path, root: Path = ROOT) -> list[Measure]:
    """Every function, method and closure under `package`, most complex first."""
    found: list[Measure] = []
    for path in sorted(package.rglob("*.py")):
        where = path.relative_to(root).as_posix()
        blocks = cc_visit(path.read_text(encoding="utf-8"))
        found.extend(Measure(f"{where}::{name}", cc) for name, cc in _functions(blocks))
    return sorted(found, key=lambda m: (-m.complexity, m.name))


def read_allowed(text: str) -> dict[str, str]:
    """`name: reason` lines (blank lines and `#` comments skipped) -> {name: reason}."""
    allowed: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, reason = line.partition(": ")
        allowed[name.strip().rstrip(":")] = reason.strip()
    return allowed


def problems(measures: list[Measure], allowed: Mapping[str, str], limit: int = LIMIT) -> list[str]:
    """What breaks the rule (empty: nothing)."""
    out: list[str] = []
    above = {m.name: m.complexity for m in measures if m.complexity > limit}
    for name, complexity in above.items():
        if name not in allowed:
            out.append(f"{name}: complexity {complexity} is above {limit}; split it")
        elif not allowed[name]:
            out.append(f"{name}: listed without a reason")
    for name in allowed:
        if name not in above:
            out.append(f"{name}: listed, but not above {limit} (any more): remove the line")
    return out


def main() -> int:
    measures = measure(ROOT / "jcstate")
    allowed = read_allowed(ALLOW_FILE.read_text(encoding="utf-8"))
    found = problems(measures, allowed)
    above = [m for m in measures if m.complexity > LIMIT]
    print(f"{len(above)} functions above complexity {LIMIT} ({len(allowed)} allowed); top 5:")
    for item in above[:5]:
        print(f"  {item.complexity:3d}  {item.name}")
    for problem in found:
        print(problem, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

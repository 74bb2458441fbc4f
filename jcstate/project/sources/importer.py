"""One import, end to end: read a source, map its rows, render and compare its file.

`import_source` computes everything in memory and writes nothing;
`write_results` then writes every changed file atomically (a temporary file in
the same directory, then a rename), so a failed import leaves each old file
byte for byte as it was.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from jcstate.core.model import ProjectConfig
from jcstate.core.rules import RuleSet
from jcstate.errors import RefuseOverwriteError
from jcstate.project.export import write_atomically
from jcstate.project.sources.config import Source
from jcstate.project.sources.mapping import Collected, RowMapper
from jcstate.project.sources.phones import PhonePool, default_workers
from jcstate.project.sources.readers import Row, read_rows
from jcstate.project.sources.writer import Changes, compare, is_generated, render_generated


@dataclass(frozen=True)
class SourceResult:
    """What importing one source gives (nothing written yet)."""

    source: Source
    path: Path
    shown: str
    collected: Collected
    text: str
    old: bytes | None
    changes: Changes

    @property
    def file_changed(self) -> bool:
        return self.old != self.text.encode("utf-8")

    @property
    def written(self) -> int:
        return len(self.collected.contacts)


def _display(path: Path, cwd: Path) -> str:
    try:
        return Path(os.path.relpath(path, cwd)).as_posix()
    except ValueError:  # pragma: no cover - another drive on Windows
        return path.as_posix()


def import_source(
    source: Source,
    config: ProjectConfig,
    root: Path,
    cwd: Path | None = None,
    rows: Iterable[Row] | None = None,
    workers: int | None = None,
    rules: RuleSet | None = None,
) -> SourceResult:
    """Read, map and render one source; refuse to take over a hand-written file.

    `workers`: processes that normalise phones of a large source (None: one
    fewer than the CPUs, at most 4; 0: none, everything in this process).
    """
    here = cwd or Path.cwd()
    path = root / source.config.into
    shown = _display(path, here)
    try:
        old: bytes | None = path.read_bytes()
    except FileNotFoundError:
        old = None
    if old is not None and not is_generated(old):
        raise RefuseOverwriteError(
            f"{shown} exists and was not written by `jcstate import`: refusing to replace it "
            f"(move its contacts to another file, or point sources.{source.name}.into at a new "
            "file)"
        )
    mapper = RowMapper(source, config, rules)
    count = default_workers() if workers is None else workers
    with PhonePool(config.default_region, count) as pool:
        collected = mapper.feed(rows if rows is not None else read_rows(source, root, here), pool)
    entries = collected.entries()
    text = render_generated(source.name, entries)
    changes = compare(old, text, entries, config.default_region)
    return SourceResult(source, path, shown, collected, text, old, changes)


def write_results(
    results: Sequence[SourceResult], root: Path, also: Mapping[Path, str] | None = None
) -> list[SourceResult]:
    """Write every changed file of the project at `root` (each whole or untouched).

    `also`: other files written in the same change (the hand-written files an
    import takes contacts from).
    """
    changed = [result for result in results if result.file_changed]
    write_atomically({**{result.path: result.text for result in changed}, **(also or {})}, root)
    return changed

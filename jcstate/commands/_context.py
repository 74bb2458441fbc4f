"""The global options every command reads: the click context object that `cli.py` builds.

It lives here, not in `cli.py`, so that the commands import it normally: `cli.py`
imports the commands, and the commands never import `cli.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class AppContext:
    """Global options, passed to every command as the click context object."""

    project_dir: Path | None
    verbose: int
    color: bool
    #: `--no-cache`: read every contacts file, use and store no cached meaning.
    no_cache: bool = False

"""The shared project load of every command: `-C DIR` from the global options."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from jcstate.core.model import Project


def project_dir_from_ctx(ctx: click.Context) -> Path | None:
    app = ctx.find_root().obj
    return getattr(app, "project_dir", None)


def use_cache_from_ctx(ctx: click.Context) -> bool:
    """False under `--no-cache` (before or after the command's name)."""
    return not getattr(ctx.find_root().obj, "no_cache", False)


def project_from_ctx(ctx: click.Context) -> Project:
    """Load and validate the project the global options point at (raises ConfigError)."""
    from jcstate.project.config import load_project  # pydantic: not for `--help`

    return load_project(project_dir_from_ctx(ctx), use_cache=use_cache_from_ctx(ctx))

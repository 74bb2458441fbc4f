"""`--changed-since REF`, shared by plan and apply: the option and its one rule.

The changed set and its plan are part of a run: `jcstate.runs.plan`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from jcstate.errors import JcstateError

F = TypeVar("F", bound=Callable[..., object])


def changed_since_option(func: F) -> F:
    return click.option(
        "--changed-since",
        "changed_since",
        metavar="REF",
        help="Plan only the contacts whose declaration changed since the merge base of REF "
        "and HEAD (git; uncommitted files count), e.g. origin/main. Contacts outside that "
        "set are not read (jcstate drift still checks them).",
    )(func)


def check_changed_since(changed_since: str | None, targets: tuple[str, ...]) -> None:
    if changed_since is not None and targets:
        raise JcstateError(
            "--changed-since cannot be combined with --target: both pick the contacts to "
            "plan; use one of them"
        )

"""Options and small pieces shared by the commands that talk to the API."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, TypeVar

import click

from jcstate.commands._context import AppContext
from jcstate.errors import JcstateError

if TYPE_CHECKING:
    from jcstate.core.model import Project, RemoteState
    from jcstate.remote.client import ClientSettings
    from jcstate.remote.listing import Progress, ProgressFactory

F = TypeVar("F", bound=Callable[..., object])


#: ctx.meta key of `--max-outage` (kept out of every command's signature)
MAX_OUTAGE_KEY = "jcstate.max_outage_s"


def _remember_max_outage(ctx: click.Context, _param: click.Parameter, value: float) -> float:
    ctx.meta[MAX_OUTAGE_KEY] = value
    return value


def api_options(func: F) -> F:
    """`--api-url`, `--insecure-http` and `--max-outage`, the same on every command that
    calls the API."""
    func = click.option(
        "--max-outage",
        type=click.FloatRange(min=0),
        default=60.0,
        show_default=True,
        metavar="SECONDS",
        expose_value=False,
        callback=_remember_max_outage,
        help="Stop when every API request failed (no connection, timeout, 5xx) for this "
        "long (0: retry without end).",
    )(func)
    func = click.option(
        "--insecure-http",
        is_flag=True,
        help="Allow plain http:// to a host that is not loopback.",
    )(func)
    return click.option(
        "--api-url",
        metavar="URL",
        help="API base URL (overrides JCSTATE_API_URL and api.url).",
    )(func)


def lock_option(func: F) -> F:
    """`--lock-timeout SECONDS`: how long to wait for another run's `.jcstate/lock`."""
    return click.option(
        "--lock-timeout",
        type=click.FloatRange(min=0),
        default=0,
        show_default=True,
        metavar="SECONDS",
        help="Wait up to SECONDS for another jcstate run to release .jcstate/lock.",
    )(func)


def plan_format_option(func: F) -> F:
    """`--format text|markdown|json` for a plan document: one definition, because
    `jcstate show` must print a saved plan exactly as `jcstate plan` printed it."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(["text", "markdown", "json"]),
        default="text",
        show_default=True,
        help="The document on stdout (markdown: one pull-request comment).",
    )(func)


def mask_options(func: F) -> F:
    """`--mask-pii` and `--mask-pii-json` (JSON is never masked silently)."""
    func = click.option(
        "--mask-pii-json",
        is_flag=True,
        help="With --format json and --mask-pii: mask the JSON too (scripts can then no "
        "longer identify contacts).",
    )(func)
    return click.option(
        "--mask-pii",
        is_flag=True,
        help="Mask phones and e-mail addresses in text and markdown output (for public CI logs).",
    )(func)


def check_mask_options(output_format: str, mask_pii: bool, mask_pii_json: bool) -> None:
    if mask_pii and output_format == "json" and not mask_pii_json:
        raise JcstateError(
            "--mask-pii does not mask JSON silently: JSON is for scripts that need the real "
            "phones; add --mask-pii-json to mask it anyway, or use --format text|markdown"
        )
    if mask_pii_json and not mask_pii:
        raise JcstateError("--mask-pii-json only makes sense with --mask-pii")


def app_context(ctx: click.Context) -> AppContext:

    app = ctx.find_root().obj
    if isinstance(app, AppContext):
        return app
    return AppContext(project_dir=None, verbose=0, color=False)


def client_settings(
    ctx: click.Context, project: Project | None, api_url: str | None, insecure_http: bool
) -> ClientSettings:
    """Client settings from the options, the environment and the project (no request made)."""
    from jcstate.remote.client import resolve_settings
    from jcstate.remote.pacing import DEFAULT_MAX_OUTAGE_S

    return resolve_settings(
        project,
        api_url=api_url,
        env=os.environ,
        insecure_http=insecure_http,
        verbose=app_context(ctx).verbose,
        max_outage_s=float(ctx.meta.get(MAX_OUTAGE_KEY, DEFAULT_MAX_OUTAGE_S)),
    )


def warn_undeclared_targets(
    targets: Sequence[str], project: Project, *, prune: bool = False
) -> None:
    """A warning on stderr for each `--target` that no declared contact has.

    Such a target plans nothing (`No changes.` would look like "all is well"),
    except a delete with --prune.
    """
    if not targets:
        return
    from jcstate.core.normalize import try_normalize_phone

    region = project.config.default_region
    declared = {contact.phone for contact in project.desired.contacts}
    for raw in targets:
        if try_normalize_phone(raw, region) in declared:
            continue
        tail = (
            "; with --prune only a remote contact with this phone can be deleted"
            if prune
            else "; nothing can be planned for it"
        )
        click.echo(f"Warning: --target {raw} matches no declared contact{tail}", err=True)


def progress_enabled() -> bool:
    """Progress bars only on a terminal, and never with NO_COLOR (set and not empty)."""
    return sys.stderr.isatty() and not os.environ.get("NO_COLOR")


#: A listing of more pages than this shows a progress bar (on a TTY).
PROGRESS_MIN_PAGES = 5


def listing_progress() -> ProgressFactory | None:
    """The progress bar a listing reports its pages to, or None where bars are off."""
    if not progress_enabled():
        return None

    def bar(pages: int) -> AbstractContextManager[Progress | None]:
        if pages > PROGRESS_MIN_PAGES:
            return click.progressbar(
                length=pages,
                label="Listing contacts",
                file=sys.stderr,
                show_pos=True,
                show_eta=True,
            )
        return nullcontext()

    return bar


async def fetch_full_listing(settings: ClientSettings, concurrency: int) -> RemoteState:
    """The complete, verified listing (drift and export need every contact in scope)."""
    from jcstate.remote.client import JustCallClient
    from jcstate.remote.listing import fetch_remote

    async with JustCallClient(settings) as client:
        return await fetch_remote(
            client,
            refresh="full",
            prune=True,
            concurrency=concurrency,
            progress=listing_progress(),
        )

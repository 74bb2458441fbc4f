"""`jcstate sandbox serve|seed`: run the local JustCall API, fill it with contacts."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from jcstate.core.text import plural
from jcstate.errors import JcstateError

DEFAULT_DB = Path(".jcstate/sandbox.db")


def _rate(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise click.BadParameter("must be between 0 and 1")
    return value


@click.group("sandbox")
def command() -> None:
    """A local JustCall Contacts API on a SQLite file, for trying jcstate and for tests."""


@command.command("serve")
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_DB,
    show_default=True,
    help="SQLite file holding the contacts (created if missing).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8787,
    show_default=True,
    help="0: any free port.",
)
@click.option("--api-key", envvar="JCSTATE_SANDBOX_API_KEY", default=None, help="Accepted API key.")
@click.option(
    "--api-secret", envvar="JCSTATE_SANDBOX_API_SECRET", default=None, help="Accepted API secret."
)
@click.option(
    "--custom-field",
    "custom_fields",
    multiple=True,
    metavar="KEY",
    help="A defined custom-field key (repeatable); with any, unknown keys are refused (400).",
)
@click.option(
    "--rate-limit-per-minute", type=click.IntRange(min=1), default=None, help="Burst limit."
)
@click.option(
    "--rate-limit-per-hour", type=click.IntRange(min=1), default=None, help="Hourly limit."
)
@click.option("--no-retry-after", is_flag=True, help="Answer 429 without a Retry-After header.")
@click.option(
    "--fail-rate", type=float, default=0.0, callback=_rate, help="Share of requests answered 503."
)
@click.option(
    "--ambiguous-rate",
    type=float,
    default=0.0,
    callback=_rate,
    help="Share of writes committed, then answered 500 or dropped.",
)
@click.option(
    "--ambiguous-mode",
    type=click.Choice(["mixed", "error", "drop"]),
    default="mixed",
    show_default=True,
    help="How an ambiguous write is answered: 500, dropped connection, or either.",
)
@click.option(
    "--latency-ms", type=click.IntRange(min=0), default=0, help="Delay before every answer."
)
@click.option("--fault-seed", type=int, default=None, help="Seed for reproducible faults.")
@click.option(
    "--churn-after",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="After N listing requests, each one deletes a contact and creates one.",
)
@click.option(
    "--churn-limit",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="With --churn-after: change the account at most N times.",
)
@click.option(
    "--max-body-bytes",
    type=click.IntRange(min=1),
    default=None,
    help="Largest request body; larger is a 413 (default 16 MiB).",
)
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="warning",
    show_default=True,
)
def serve_command(
    db_path: Path,
    host: str,
    port: int,
    api_key: str | None,
    api_secret: str | None,
    custom_fields: tuple[str, ...],
    rate_limit_per_minute: int | None,
    rate_limit_per_hour: int | None,
    no_retry_after: bool,
    fail_rate: float,
    ambiguous_rate: float,
    ambiguous_mode: str,
    latency_ms: int,
    fault_seed: int | None,
    churn_after: int | None,
    churn_limit: int | None,
    max_body_bytes: int | None,
    log_level: str,
) -> None:
    """Serve the sandbox API over HTTP until interrupted (Ctrl+C).

    On an address other than loopback, the well-known default credentials are
    refused: pass --api-key and --api-secret (or their variables).
    """
    from jcstate.remote.client import is_loopback_host
    from jcstate.sandbox.config import (
        DEFAULT_API_KEY,
        DEFAULT_API_SECRET,
        DEFAULT_MAX_BODY_BYTES,
        SandboxConfig,
    )
    from jcstate.sandbox.serve import bind_socket, serve

    key = api_key or DEFAULT_API_KEY
    secret = api_secret or DEFAULT_API_SECRET
    if not is_loopback_host(host) and not (api_key and api_secret):
        raise JcstateError(
            f"refusing to serve on {host}, which is not a loopback address, with the sandbox's "
            "well-known default credentials: pass --api-key and --api-secret (or set "
            "JCSTATE_SANDBOX_API_KEY and JCSTATE_SANDBOX_API_SECRET)"
        )
    ctx = click.get_current_context()
    credentials = _credentials_line(
        _origin(ctx, "api_key", "--api-key", "JCSTATE_SANDBOX_API_KEY"),
        _origin(ctx, "api_secret", "--api-secret", "JCSTATE_SANDBOX_API_SECRET"),
        key,
        secret,
    )
    config = SandboxConfig(
        db_path=db_path.resolve(),
        api_key=key,
        api_secret=secret,
        custom_fields=custom_fields or None,
        rate_limit_per_minute=rate_limit_per_minute,
        rate_limit_per_hour=rate_limit_per_hour,
        fail_rate=fail_rate,
        ambiguous_rate=ambiguous_rate,
        ambiguous_mode=ambiguous_mode,  # type: ignore[arg-type]
        latency_ms=latency_ms,
        fault_seed=fault_seed,
        churn_after=churn_after,
        churn_limit=churn_limit,
        max_body_bytes=max_body_bytes or DEFAULT_MAX_BODY_BYTES,
        retry_after=not no_retry_after,
    )
    try:
        sock = bind_socket(host, port)
    except OSError as exc:
        raise JcstateError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    bound_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{bound_port}"

    def announce() -> None:
        click.echo(f"Listening on {url}")
        click.echo(credentials)
        click.echo(f"Database: {config.db_path}")
        if api_key is None and api_secret is None:
            click.echo(f'Try: curl -H "Authorization: {key}:{secret}" {url}/v2/contacts')
        else:
            auth = "$JUSTCALL_API_KEY:$JUSTCALL_API_SECRET"
            click.echo(f'Try: curl -H "Authorization: {auth}" {url}/v2/contacts')
        click.echo("Press Ctrl+C to stop.")
        sys.stdout.flush()

    serve(config, sock, log_level=log_level, on_started=announce)


def _origin(ctx: click.Context, name: str, option: str, variable: str) -> str | None:
    """Where a credential came from (the option or the variable), None for the default."""
    source = ctx.get_parameter_source(name)
    if source == click.core.ParameterSource.COMMANDLINE:
        return option
    if source == click.core.ParameterSource.ENVIRONMENT:
        return variable
    return None


def _credentials_line(key_from: str | None, secret_from: str | None, key: str, secret: str) -> str:
    """The banner's credentials: the documented defaults as they are, any other only by origin.

    A secret a user chose is never printed (it may come from the environment of
    a CI job); the key is shown only when it is the default, for symmetry.
    """
    if key_from is None and secret_from is None:
        # Local, documented sandbox credentials: printing them is the point.
        return f"Credentials: JUSTCALL_API_KEY={key} JUSTCALL_API_SECRET={secret}"
    key_text = (
        f"JUSTCALL_API_KEY={key} (default)"
        if key_from is None
        else (f"JUSTCALL_API_KEY from {key_from}")
    )
    secret_text = (
        f"JUSTCALL_API_SECRET={secret} (default)"
        if secret_from is None
        else (f"JUSTCALL_API_SECRET from {secret_from} (not printed)")
    )
    return f"Credentials: {key_text}, {secret_text}"


@command.command("seed")
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_DB,
    show_default=True,
    help="SQLite file to fill (created if missing).",
)
@click.option("--count", type=click.IntRange(min=0), required=True, help="Contacts to add.")
@click.option(
    "--custom-fields",
    is_flag=True,
    help="Also fill custom fields lead_source, plan_tier and seats.",
)
def seed_command(db_path: Path, count: int, custom_fields: bool) -> None:
    """Add COUNT generated, valid contacts with distinct phones (one transaction)."""
    from jcstate.sandbox.store import ContactStore

    started = time.perf_counter()
    store = ContactStore(db_path)
    try:
        added = store.seed(count, custom_fields=custom_fields)
        total = store.count()
    finally:
        store.close()
    elapsed = time.perf_counter() - started
    click.echo(
        f"Seeded {plural(added, 'contact')} into {db_path} ({total} in total) in {elapsed:.2f}s"
    )

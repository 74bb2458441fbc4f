"""The command line: a thin click group. Each command lives in `jcstate/commands/`."""

from __future__ import annotations

import atexit
import gc
import importlib
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from jcstate import __version__
from jcstate.commands._context import AppContext
from jcstate.commands._shown import error_text, log_text
from jcstate.errors import JcstateError

#: command name -> module under jcstate.commands (each exposes `command`).
COMMANDS: dict[str, str] = {
    "init": "init",
    "validate": "validate",
    "fmt": "fmt",
    "schema": "schema",
    "sandbox": "sandbox",
    "plan": "plan",
    "show": "show",
    "apply": "apply",
    "drift": "drift",
    "export": "export",
    "import": "import_",
}


#: The exit code of a usage error: 2 means only "changes" or "drift" (click's own is 2).
EXIT_USAGE = 1


@contextmanager
def usage_errors_exit_1() -> Iterator[None]:
    """An unknown option, a bad value or a missing argument exits 1, in every command.

    click exits 2 on a usage error; here 2 means only "changes" (`plan
    --detailed-exitcode`) or "drift", so a typo in a CI job's arguments must
    fail the job rather than look like a result. click still prints the usage
    and the message on stderr.
    """
    try:
        yield
    except click.UsageError as exc:
        # click declares exit_code on the class; this error (of whichever subclass,
        # so its message and usage are shown as click shows them) exits 1.
        setattr(exc, "exit_code", EXIT_USAGE)  # noqa: B010
        raise


class LazyGroup(click.Group):
    """Imports a command's module only when that command runs (fast start-up)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module_name = COMMANDS.get(cmd_name)
        if module_name is None:
            return None
        try:
            module = importlib.import_module(f"jcstate.commands.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"jcstate.commands.{module_name}":
                return None
            raise
        command = getattr(module, "command", None)
        if not isinstance(command, click.Command):
            return None
        accept_global_options(command)
        return command

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        # The group's own options (`jcstate --bad plan`) are parsed here.
        with usage_errors_exit_1():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> object:
        # Errors a user can meet are printed as one message (never a traceback),
        # the same under CliRunner as from the console script.
        try:
            # Each command's (and subcommand's) arguments are parsed in here.
            with usage_errors_exit_1():
                return super().invoke(ctx)
        except JcstateError as exc:
            # Escaped (jcstate.core.safe): a message may quote a server.
            click.echo(error_text(exc), err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)
        finally:
            # What the project load froze (jcstate.project.config) is collectable
            # again once the command is done, for a process that goes on.
            gc.unfreeze()


def _more_verbose(ctx: click.Context, _param: click.Parameter, value: int) -> int:
    app = ctx.find_root().obj
    if value and isinstance(app, AppContext):
        app.verbose += value
    return value


def _no_color(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    app = ctx.find_root().obj
    if value and isinstance(app, AppContext):
        app.color = False
    return value


def _no_cache(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    app = ctx.find_root().obj
    if value and isinstance(app, AppContext):
        app.no_cache = True
    return value


_NO_CACHE_HELP = "Read every contacts file; use and store no cached meaning of any file."


#: marks a command that already accepts the global options after its name
_GLOBALS_ADDED = "_jcstate_global_options"

#: commands that send no API request: `-v` ("log each API request") is not offered after them
NO_REQUESTS = frozenset({"init", "validate", "fmt", "schema", "show"})


def accept_global_options(command: click.Command) -> None:
    """Let `-v` and `--no-color` come after the command too (`jcstate plan -v`), as `-h` can.

    They update the same global settings as before the command; a group's
    subcommands get them as well (`jcstate sandbox serve -v`). A command that
    sends no request (`NO_REQUESTS`) is not offered `-v`.
    """
    if getattr(command, _GLOBALS_ADDED, False):
        return
    setattr(command, _GLOBALS_ADDED, True)
    names = {name for param in command.params for name in param.opts}
    if not names & {"-v", "--verbose"} and command.name not in NO_REQUESTS:
        command.params.append(
            click.Option(
                ["-v", "--verbose"],
                count=True,
                expose_value=False,
                callback=_more_verbose,
                help="Log each API request to stderr (-vv: more); as before the command.",
            )
        )
    if "--no-color" not in names:
        command.params.append(
            click.Option(
                ["--no-color"],
                is_flag=True,
                expose_value=False,
                callback=_no_color,
                help="No colours (also: NO_COLOR set to anything but empty).",
            )
        )
    if "--no-cache" not in names:
        command.params.append(
            click.Option(
                ["--no-cache"],
                is_flag=True,
                expose_value=False,
                callback=_no_cache,
                help=_NO_CACHE_HELP,
            )
        )
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            accept_global_options(sub)


class _StderrLines(logging.Handler):
    """Shows jcstate's log lines (the `-v` request log) on stderr, one per record.

    Each record is one line, escaped: a line may quote a server's answer.
    """

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(log_text(record.getMessage()), err=True)


def show_logs_on_stderr() -> None:
    """The library logs and never prints; the command line is where logs reach stderr."""
    logger = logging.getLogger("jcstate")
    if not any(isinstance(handler, _StderrLines) for handler in logger.handlers):
        logger.addHandler(_StderrLines())
    logger.setLevel(logging.INFO)
    logger.propagate = False


def no_color_env() -> bool:
    """NO_COLOR set to a non-empty value (no-color.org: an empty one does not count)."""
    return bool(os.environ.get("NO_COLOR"))


def use_color(no_color_flag: bool) -> bool:
    if no_color_flag or no_color_env():
        return False
    return sys.stdout.isatty()


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-C",
    "--project",
    "project_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Project directory (default: the current directory or its nearest parent "
    "holding jcstate.yaml).",
)
@click.option("-v", "--verbose", count=True, help="Log each API request to stderr (-vv: more).")
@click.option(
    "--no-color", is_flag=True, help="No colours (also: NO_COLOR set to anything but empty)."
)
@click.option("--no-cache", is_flag=True, help=_NO_CACHE_HELP)
@click.version_option(__version__, prog_name="jcstate")
@click.pass_context
def cli(
    ctx: click.Context, project_dir: Path | None, verbose: int, no_color: bool, no_cache: bool
) -> None:
    """Contacts-as-code for the JustCall Contacts API."""
    show_logs_on_stderr()
    ctx.obj = AppContext(
        project_dir=project_dir, verbose=verbose, color=use_color(no_color), no_cache=no_cache
    )


def main() -> None:
    # What a command built stays in memory until the process ends: at exit the
    # collector's generations are frozen, so CPython's finalisation skips a full
    # collection over all of it (0.1 s at 100,000 contacts); the memory goes back
    # with the process.
    atexit.register(gc.freeze)
    cli()

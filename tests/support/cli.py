"""Run `python -m jcstate ARGS` in this test process, answered as `subprocess.run` answers.

    done = run_jcstate(["plan", "--format", "json"], cwd=root, env={**os.environ, **server.env})
    assert done.returncode == 0, done.stderr

Starting Python and importing jcstate costs about 0.3 s of CPU per run; an
end-to-end test that runs the command line a dozen times against a served
sandbox (still over real HTTP) spends most of its time there. Tests about the
process itself (exit on a signal, a terminal on stdin, memory, what a crash
leaves behind) keep a real subprocess.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from click.testing import CliRunner

from jcstate.cli import cli

#: What click shows as the program in usage lines, as under `python -m jcstate`.
PROG_NAME = "python -m jcstate"


def run_jcstate(
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Exit code, stdout and stderr of `jcstate ARGS` run in `cwd` with exactly `env`.

    `env`, as for subprocess.run, is the whole environment (a variable it lacks
    is unset for the run); None keeps this process's. An exception that would
    end a subprocess with a traceback is raised here instead.
    """
    overrides: dict[str, str | None] = {}
    if env is not None:
        overrides = {name: None for name in os.environ if name not in env}
        overrides.update(env)
    previous = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        result = CliRunner(env=overrides).invoke(
            cli, list(args), input=input, catch_exceptions=False, prog_name=PROG_NAME
        )
    finally:
        os.chdir(previous)
    return subprocess.CompletedProcess(
        [PROG_NAME, *args], result.exit_code, result.stdout, result.stderr
    )

"""A server cannot exhaust jcstate's memory or time.

The real `jcstate` command runs as a child process against a hostile server
on loopback (tests/e2e/exhaustion_server.py): a lying `total`, endless pages,
a gzip bomb, an endless body and a slow drip. Each run must end with exit 1
and one `Error:` line (no traceback), with the child's peak RSS under
300 MB, within the `--max-outage` window plus one request deadline (and a
few seconds to start Python). The child runs under an address-space limit
of 3 GiB, so a run that would grow without bound fails here with a
MemoryError instead of taking the machine with it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.exhaustion_server import exhaustion_server

KEY = "hostile-key-51c3"
SECRET = "hostile-secret-a9e0"
PEAK_RSS_LIMIT_MB = 300
ADDRESS_SPACE_LIMIT = 3 << 30
#: Starting Python and importing jcstate on a busy machine.
STARTUP_SLACK_S = 8.0
#: A run still going after this long is killed (and the test fails).
KILL_AFTER_S = 40.0

#: Runs `python -m MODULE ARGS` (or `python -c CODE ARGS`) in this process under an
#: address-space limit and, at exit, writes its own peak RSS (VmHWM, in KiB) to a file.
#: Not the ru_maxrss that wait4 reports: Linux carries the peak of the process that
#: started the child into the child's, and a test process's own peak is large.
_LIMITED = """
import atexit, resource, runpy, sys
limit, peak_file, mode, target, *args = sys.argv[1:]
resource.setrlimit(resource.RLIMIT_AS, (int(limit), int(limit)))

def record_peak():
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(peak_file, "w") as out:
        out.write(peak)

atexit.register(record_peak)
if mode == "-m":
    sys.argv = [target, *args]
    runpy.run_module(target, run_name="__main__", alter_sys=True)
else:
    sys.argv = ["-c", *args]
    exec(compile(target, "<string>", "exec"), {"__name__": "__main__"})
"""


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mb: float
    killed: bool

    def error_lines(self) -> list[str]:
        """stderr without the `retrying: ...` status lines."""
        return [
            line for line in self.stderr.splitlines() if line and not line.startswith("retrying:")
        ]


def run_measured(folder: Path, env: dict[str, str], *python_args: str) -> Run:
    """`python -m ...` or `python -c ...` in a child with an address-space limit; its peak RSS."""
    out, err, peak = folder / "stdout.txt", folder / "stderr.txt", folder / "peak-kib.txt"
    peak.unlink(missing_ok=True)
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", _LIMITED, str(ADDRESS_SPACE_LIMIT), str(peak), *python_args],
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            env=env,
        )
    started = time.monotonic()
    killed = False
    try:
        process.wait(timeout=KILL_AFTER_S)
    except subprocess.TimeoutExpired:
        process.kill()
        killed = True
        process.wait()
    seconds = time.monotonic() - started
    # No figure (killed, or a crash before the exit handlers): not a number, never below a limit.
    peak_mb = int(peak.read_text()) / 1024 if peak.exists() else float("nan")
    return Run(
        exit_code=process.returncode,
        stdout=out.read_text(errors="replace"),
        stderr=err.read_text(errors="replace"),
        seconds=seconds,
        peak_rss_mb=peak_mb,
        killed=killed,
    )


def run_limited(root: Path, env: dict[str, str], *args: str) -> Run:
    """`jcstate -C root ARGS` in a child with an address-space limit; its own peak RSS."""
    return run_measured(root, env, "-m", "jcstate", "-C", str(root), *args)


def project(root: Path) -> Path:
    (root / "contacts").mkdir(parents=True)
    (root / "jcstate.yaml").write_text(
        'version: 1\napi:\n  url: "https://api.justcall.io"\n  concurrency: 4\n'
        'default_region: US\ncontacts: ["contacts/*.yaml"]\n'
    )
    (root / "contacts" / "a.yaml").write_text(
        'version: 1\ncontacts:\n  - phone: "+14155550100"\n    first_name: Ada\n'
    )
    return root


def environment(**extra: str) -> dict[str, str]:
    env = {**os.environ, "NO_COLOR": "1", "JUSTCALL_API_KEY": KEY, "JUSTCALL_API_SECRET": SECRET}
    env.pop("JCSTATE_API_URL", None)
    env.update(extra)
    return env


CASES = [
    # mode, command, extra environment, words the error must hold
    ("lying_total", ["plan", "--refresh", "full"], {}, ["1000000000000", "1,000,000"]),
    ("lying_total", ["plan", "--prune"], {}, ["1000000000000", "JCSTATE_MAX_CONTACTS"]),
    ("lying_total", ["drift"], {}, ["1000000000000", "JCSTATE_MAX_CONTACTS"]),
    ("endless_pages", ["drift"], {"JCSTATE_MAX_CONTACTS": "2000"}, ["2,000"]),
    ("endless_pages", ["plan", "--refresh", "full"], {"JCSTATE_MAX_CONTACTS": "2000"}, ["2,000"]),
    ("gzip_bomb", ["plan"], {}, ["16 MiB"]),
    ("endless_body", ["plan"], {}, ["16 MiB"]),
]


def assert_one_line_error(run: Run, words: list[str]) -> None:
    assert not run.killed, f"still running after {KILL_AFTER_S} s; stderr: {run.stderr[-2000:]}"
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert run.exit_code == 1, run.stderr[-2000:]
    lines = run.error_lines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), run.stderr[-2000:]
    for word in words:
        assert word in lines[0]
    assert run.peak_rss_mb < PEAK_RSS_LIMIT_MB, f"peak RSS {run.peak_rss_mb:.0f} MB"
    assert SECRET not in run.stderr + run.stdout


@pytest.mark.parametrize(("mode", "command", "extra", "words"), CASES)
def test_a_hostile_server_ends_in_one_error_line_with_bounded_memory(
    tmp_path: Path, mode: str, command: list[str], extra: dict[str, str], words: list[str]
) -> None:
    root = project(tmp_path / "project")
    with exhaustion_server(mode) as server:
        run = run_limited(
            root, environment(**extra), *command, "--api-url", server.url, "--max-outage", "5"
        )
    print(f"{mode} {' '.join(command)}: {run.seconds:.1f} s, peak RSS {run.peak_rss_mb:.0f} MB")
    assert_one_line_error(run, words)
    assert run.seconds < 5 + STARTUP_SLACK_S


def test_a_slow_drip_stops_within_the_outage_window_plus_one_deadline(tmp_path: Path) -> None:
    """One byte every 0.5 s: no single read times out, the request deadline does."""
    root = project(tmp_path / "project")
    max_outage, deadline = 2.0, 1.5
    with exhaustion_server("drip") as server:
        run = run_limited(
            root,
            environment(JCSTATE_REQUEST_DEADLINE=str(deadline)),
            "plan",
            "--api-url",
            server.url,
            "--max-outage",
            str(max_outage),
        )
    print(f"drip: {run.seconds:.1f} s, peak RSS {run.peak_rss_mb:.0f} MB")
    assert_one_line_error(run, ["has not answered for 2 s"])
    assert run.seconds < max_outage + deadline + STARTUP_SLACK_S
    assert server.requests >= 2  # the deadline failure was retried until the window closed


def test_peak_rss_measure_sees_the_child_and_only_the_child(tmp_path: Path) -> None:
    """The measure itself: a child that holds 400 MB is seen holding that much, and a
    child started by a process that once held 200 MB is not charged for them."""
    env = {**os.environ}
    big = run_measured(tmp_path, env, "-c", "x = b'1' * (400 << 20); print(len(x))")
    assert big.exit_code == 0, big.stderr
    assert big.peak_rss_mb > 390
    held = b"1" * (200 << 20)
    del held
    small = run_measured(tmp_path, env, "-c", "print('small')")
    assert small.exit_code == 0, small.stderr
    assert small.peak_rss_mb < 100

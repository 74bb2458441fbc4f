"""The `jcstate` process skips the collector's walk over what it built when it exits.

A plan of 100,000 contacts holds them until the process ends; CPython's
finalisation then runs a full collection over every one of them (0.07 to
0.13 s, a tenth of what `plan` may spend besides its fetch). `main()` freezes
the collector's generations at exit instead: the memory goes back with the
process. Each case runs the real entry point in a fresh interpreter; a probe
registered before it (so run after it) reports what the collector holds.
"""

from __future__ import annotations

import subprocess
import sys

_PROBE = """
import atexit, gc, sys
atexit.register(lambda: print("frozen:", gc.get_freeze_count() > 0))
sys.argv = ["jcstate", *sys.argv[1:]]
{entry}
"""


def _frozen_at_exit(entry: str, *args: str) -> tuple[int, str]:
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE.format(entry=entry), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return completed.returncode, completed.stdout.rstrip("\n").rpartition("\n")[2]


def test_the_entry_point_freezes_the_collector_at_exit() -> None:
    code, last = _frozen_at_exit("from jcstate.cli import main; main()", "--version")
    assert code == 0
    assert last == "frozen: True"


def test_also_when_the_command_fails() -> None:
    code, last = _frozen_at_exit("from jcstate.cli import main; main()", "no-such-command")
    assert code != 0
    assert last == "frozen: True"


def test_the_probe_sees_a_process_that_does_not_freeze() -> None:
    """The check can fail: importing the CLI (as the tests do) freezes nothing."""
    code, last = _frozen_at_exit("import jcstate.cli")
    assert code == 0
    assert last == "frozen: False"

"""`jcstate sandbox serve` stopped with Ctrl-C exits as docs/guide/commands.md says."""

from __future__ import annotations

import re
import signal
from pathlib import Path

from tests.support.sandbox_server import launch_sandbox

COMMANDS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "guide" / "commands.md"


def test_sandbox_serve_exits_130_on_ctrl_c_as_documented(tmp_path: Path) -> None:
    server = launch_sandbox(tmp_path / "sandbox.db")
    try:
        server.process.send_signal(signal.SIGINT)
        code = server.process.wait(timeout=30)
    finally:
        server.stop()
        server.stderr_path.unlink(missing_ok=True)
    assert code == 130
    row = next(
        line
        for line in COMMANDS_PAGE.read_text().splitlines()
        if line.startswith("| `jcstate sandbox serve`")
    )
    exit_codes = row.rstrip(" |").rsplit("|", 1)[1]
    assert re.search(rf"\b{code} stopped with Ctrl-C", exit_codes), exit_codes

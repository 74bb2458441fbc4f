"""Peak RSS of every output format of `plan`, `drift` and `export` (issue 24: < 1 GB at 300,000).

The served sandbox holds contacts 0..N-1 (`jcstate sandbox seed --custom-fields`);
the project declares contacts N/2..3N/2-1 in files of 1,000. So `plan --prune`
has N/2 creates, N/2 deletes and N/2 unchanged contacts (its JSON document is
the largest a plan of N contacts gets), `drift` finds N/2 missing and N/2 not
declared, and `export` writes all N. Each command is its own child process;
its peak RSS is the kernel's ru_maxrss for that child (`os.wait4`). The first
command reads the project cold (an empty cache folder); the others warm.
`export` writes into a project of the same configuration that declares nothing.

Run alone: `python -m tests.bench.rss_bench [--contacts N] [--smoke]`
(300,000 contacts unless told otherwise; at that size it takes about 7 minutes).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from jcstate.sandbox.seeddata import generated_contact
from tests.bench.common import BenchRow, bench_main, verdict
from tests.bench.memory_bench import measure
from tests.support.sandbox_server import start_sandbox
from tests.support.scenario import jcstate_env, seed_db, write_project

TARGET_MB = 1024
FULL_SIZE = 300_000
SMOKE_SIZE = 400


def run(contacts: int, smoke: bool) -> list[BenchRow]:
    size = SMOKE_SIZE if smoke else contacts
    rows: list[BenchRow] = []
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "sandbox.db"
        root = Path(folder) / "project"
        seed_db(db, size)
        declared = [
            generated_contact(i, custom_fields=True) for i in range(size // 2, size * 3 // 2)
        ]
        write_project(root, declared, files=max(1, len(declared) // 1000))
        del declared
        with start_sandbox(db) as server:
            env = jcstate_env(server.url, server.api_key, server.api_secret)
            env["JCSTATE_CACHE_DIR"] = str(Path(folder) / "cache")
            base = [sys.executable, "-m", "jcstate", "-C", str(root)]
            commands: list[tuple[str, list[str]]] = [
                (f"plan --prune --format {f}", ["plan", "--prune", "--format", f])
                for f in ("json", "text", "markdown")
            ]
            commands += [
                (f"drift --format {f}", ["drift", "--format", f])
                for f in ("json", "text", "markdown")
            ]
            empty = Path(folder) / "empty"  # the same configuration, no contacts declared
            empty.mkdir()
            (empty / "jcstate.yaml").write_bytes((root / "jcstate.yaml").read_bytes())
            commands.append(("export", ["-C", str(empty), "export"]))
            for name, args in commands:
                result = measure([*base, *args], env)
                ok = result.returncode in (0, 2)
                rows.append(
                    BenchRow(
                        f"peak RSS: jcstate {name}, {size:,} contacts",
                        f"{result.peak_rss_mb:.0f} MB, wall {result.wall_s:.1f} s, "
                        f"{len(result.stdout) / 1e6:.1f} MB on stdout (exit {result.returncode})",
                        f"< {TARGET_MB} MB",
                        verdict(ok and result.peak_rss_mb < TARGET_MB),
                    )
                )
                if not ok:
                    print(result.stderr[-2000:])
    return rows


def main() -> None:
    bench_main("rss_bench", run, FULL_SIZE)


if __name__ == "__main__":
    main()

"""`--changed-since` figures (issue 12): `python -m tests.bench.changed_since_bench [--smoke]`.

A served sandbox seeded with N generated contacts (`jcstate sandbox seed`,
no API calls), a git repository declaring exactly those N contacts over
files of 1,000, and `jcstate -v` subprocesses whose request log is counted.

1. Plan requests for a change of k contacts in an account of N, beside the
   lower bound min(k, ceil(N/100)): k lookups or one listing of 100 a page.
   The ratio must be 1.00.
2. The requests of a whole pull-request cycle at N = 100,000 and k = 3: two
   pushes, then the merge apply. Before: each push plans twice (markdown for
   the comment, text for the log) over the whole account and the merge
   applies after a full listing. After: each push plans once with
   `--changed-since` and renders with `jcstate show`; the merge applies with
   `--changed-since` the commit before the push.
3. The time of the git part (load the base from git objects, diff the
   resolved contacts) from `--timings`, beside the plain parse.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from jcstate.project.yamlio import render_contacts_file
from jcstate.sandbox.seeddata import generated_contact
from tests.bench.common import BenchRow, bench_main, verdict
from tests.support.sandbox_server import SandboxServer, start_sandbox
from tests.support.scenario import jcstate_env, seed_db, write_project

PER_FILE = 1000
FULL_SIZES = (10_000, 100_000)
FULL_KS = (1, 10, 100, 1000)
CYCLE_SIZE = 100_000
GIT_TARGET_S = 1.5
REQUEST = re.compile(r"^jcstate: (GET|POST|PUT|DELETE) ", re.MULTILINE)
TIMING = re.compile(r"Timings: (.*)$", re.MULTILINE)
GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=repo, env={**os.environ, **GIT_ENV}, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {done.stderr}")
    return done.stdout.strip()


class Repo:
    """The project in git: contact `i` lives in file `i % files` (as write_project puts it)."""

    def __init__(self, root: Path, size: int) -> None:
        self.root = root
        self.size = size
        self.files = max(1, math.ceil(size / PER_FILE))
        self.entries = [generated_contact(i, custom_fields=True) for i in range(size)]
        write_project(root, self.entries, files=self.files)
        (root / ".gitignore").write_text(".jcstate/\n")
        git(root, "init", "-q", "-b", "main")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "contacts")

    def change(self, indexes: Sequence[int], label: str) -> None:
        """Rename the given contacts in the working tree (rewrites only their files)."""
        touched = {i % self.files for i in indexes}
        for i in indexes:
            self.entries[i] = {**self.entries[i], "first_name": f"{label}{i}"}
        for number in touched:
            part = self.entries[number :: self.files]
            (self.root / "contacts" / f"part{number}.yaml").write_text(render_contacts_file(part))

    def reset(self) -> None:
        git(self.root, "checkout", "-q", "--", "contacts")
        self.entries = [generated_contact(i, custom_fields=True) for i in range(self.size)]


def spread(k: int, size: int) -> list[int]:
    """k contact indexes spread over the account."""
    return sorted({(j * size) // k for j in range(k)})


def jc(root: Path, server: SandboxServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = jcstate_env(server.url, server.api_key, server.api_secret)
    done = subprocess.run(
        [sys.executable, "-m", "jcstate", "-v", "-C", str(root), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )
    if done.returncode not in (0, 2):
        raise RuntimeError(f"jcstate {' '.join(args)} failed: {done.stderr[-2000:]}")
    return done


def requests(done: subprocess.CompletedProcess[str]) -> int:
    return len(REQUEST.findall(done.stderr))


def timings(done: subprocess.CompletedProcess[str]) -> dict[str, float]:
    match = TIMING.search(done.stderr)
    if not match:
        return {}
    out: dict[str, float] = {}
    for part in match.group(1).split(", "):
        name, value, _unit = part.split(" ")
        out[name] = float(value)
    return out


def seeded_db(folder: Path, size: int) -> Path:
    db = folder / f"seed-{size}.db"
    if not db.exists():
        seed_db(db, size)
    return db


def copy_db(db: Path, name: str) -> Path:
    target = db.with_name(name)
    shutil.copyfile(db, target)
    return target


def plan_requests(folder: Path, sizes: Sequence[int], ks: Sequence[int]) -> list[BenchRow]:
    rows: list[BenchRow] = []
    for size in sizes:
        repo = Repo(folder / f"repo-{size}", size)
        with start_sandbox(copy_db(seeded_db(folder, size), f"plan-{size}.db")) as server:
            for k in ks:
                if k > size:
                    continue
                repo.change(spread(k, size), "Changed")
                done = jc(repo.root, server, "plan", "--changed-since", "main", "--timings")
                repo.reset()
                count = requests(done)
                bound = min(k, math.ceil(size / 100))
                planned = done.stdout.splitlines()[-1]
                rows.append(
                    BenchRow(
                        f"plan requests, k = {k:,} changed of N = {size:,}",
                        f"{count} requests vs min(k, ceil(N/100)) = {bound}: ratio "
                        f"{count / bound:.2f} ({planned})",
                        "1.00",
                        verdict(count == bound and f"{k} to update" in planned),
                    )
                )
    return rows


def pr_cycle(folder: Path, size: int) -> list[BenchRow]:
    """Two pushes (2 then 1 more changed contact), then the merge apply: before and after."""
    rows: list[BenchRow] = []
    seed = seeded_db(folder, size)
    figures: dict[str, tuple[int, str]] = {}
    for mode in ("before", "after"):
        repo = Repo(folder / f"cycle-{mode}", size)
        root = repo.root
        git(root, "checkout", "-q", "-b", "pr")
        with start_sandbox(copy_db(seed, f"cycle-{mode}.db")) as server:
            total = 0
            parts: list[str] = []
            for push, indexes in enumerate(([5, size // 2], [size - 7]), start=1):
                repo.change(indexes, "Pushed")
                git(root, "commit", "-q", "-am", f"push {push}")
                if mode == "before":
                    count = requests(jc(root, server, "plan", "--format", "markdown"))
                    count += requests(jc(root, server, "plan"))
                else:
                    planfile = str(folder / f"plan-{push}.json")
                    count = requests(
                        jc(root, server, "plan", "--changed-since", "main", "--out", planfile)
                    )
                    count += requests(jc(root, server, "show", planfile, "--format", "markdown"))
                    count += requests(jc(root, server, "show", planfile))
                parts.append(f"push {push}: {count}")
                total += count
            before_merge = git(root, "rev-parse", "main")
            git(root, "checkout", "-q", "main")
            git(root, "merge", "-q", "--ff-only", "pr")
            apply_args = ["apply", "--auto-approve"]
            if mode == "after":
                apply_args += ["--changed-since", before_merge]
            applied = jc(root, server, *apply_args)
            count = requests(applied)
            parts.append(f"merge apply: {count}")
            total += count
            figures[mode] = (total, ", ".join(parts))
    before, after = figures["before"], figures["after"]
    rows.append(
        BenchRow(
            f"PR cycle, k = 3 of N = {size:,}, before (2 full plans a push, full apply)",
            f"{before[0]:,} requests ({before[1]})",
            "-",
            "info",
        )
    )
    rows.append(
        BenchRow(
            f"PR cycle, k = 3 of N = {size:,}, after (--changed-since, show, apply)",
            f"{after[0]:,} requests ({after[1]}): {before[0] / max(1, after[0]):.0f}x fewer",
            "fewer",
            verdict(after[0] < before[0]),
        )
    )
    return rows


def git_time(folder: Path, size: int, smoke: bool = False) -> list[BenchRow]:
    repo = Repo(folder / f"git-{size}", size)
    rows: list[BenchRow] = []
    with start_sandbox(copy_db(seeded_db(folder, size), f"git-{size}.db")) as server:
        plain = timings(jc(repo.root, server, "plan", "--timings"))
        repo.change(spread(3, size), "Timed")
        narrow = timings(jc(repo.root, server, "plan", "--changed-since", "main", "--timings"))
        every: dict[str, float] = {}
        if not smoke:
            config = repo.root / "jcstate.yaml"
            # A change of meaning in jcstate.yaml: every file is read from git again.
            config.write_text(config.read_text().replace("seats: {type: integer}", "seats: {}"))
            every = timings(jc(repo.root, server, "plan", "--changed-since", "main", "--timings"))
            git(repo.root, "checkout", "-q", "--", "jcstate.yaml")
        repo.reset()
    rows.append(
        BenchRow(
            f"git part of --changed-since, N = {size:,}, k = 3 in 3 files",
            f"{narrow.get('git', -1):.2f} s beyond the parse (plain plan parse "
            f"{plain.get('parse', -1):.2f} s; this run's parse {narrow.get('parse', -1):.2f} s)",
            f"< {GIT_TARGET_S} s",
            verdict(0 <= narrow.get("git", 99) < GIT_TARGET_S),
        )
    )
    if smoke:
        return rows
    rows.append(
        BenchRow(
            f"git part, N = {size:,}, custom-field type changed (every file re-read from git)",
            f"{every.get('git', -1):.2f} s (parse {every.get('parse', -1):.2f} s)",
            "info",
            "info",
        )
    )
    return rows


def run(contacts: int, smoke: bool) -> list[BenchRow]:
    sizes: tuple[int, ...] = (min(contacts, 500),) if smoke else FULL_SIZES
    ks: tuple[int, ...] = (1, 10) if smoke else FULL_KS
    cycle = min(contacts, 500) if smoke else CYCLE_SIZE
    rows: list[BenchRow] = []
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        rows += plan_requests(folder, sizes, ks)
        rows += pr_cycle(folder, cycle)
        rows += git_time(folder, cycle, smoke)
    return rows


def main(argv: list[str] | None = None) -> None:
    bench_main("changed_since_bench", run, 10_000, argv)


if __name__ == "__main__":
    main()

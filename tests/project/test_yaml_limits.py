"""Hostile YAML costs little: aliases bounded by the text they repeat (RSS measured), and
characters YAML refuses reported where they are."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jcstate.project.yamlio import ALIAS_TEXT_BASE, YamlProblem, alias_text_limit, parse_fast

CONFIG = "version: 1\napi: {url: 'sandbox://.jcstate/sandbox.db'}\ncontacts: ['contacts/*.yaml']\n"

#: Peak RSS allowed to a command refusing an alias attack (Python and jcstate's imports
#: alone take about 60 MB).
MAX_RSS_MB = 200


def alias_attack(scalar_bytes: int, aliases: int) -> bytes:
    """One big scalar, then `aliases` contacts that repeat it (the issue's attack files)."""
    lines = [
        "version: 1",
        "contacts:",
        '  - phone: "+14155550100"',
        f"    first_name: &big {'A' * scalar_bytes}",
    ]
    lines += [f'  - {{phone: "+1415{n:07d}", first_name: *big}}' for n in range(aliases)]
    return ("\n".join(lines) + "\n").encode()


def run_measured(args: list[str], cwd: Path) -> tuple[int, str, float]:
    """Exit code, stdout+stderr and peak RSS (MB) of `jcstate ARGS`, in a fresh child process."""
    probe = (
        "import json, resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(json.dumps([done.returncode, done.stdout + done.stderr, peak]))\n"
    )
    env = {**os.environ, "JUSTCALL_API_KEY": "sandbox-key", "JUSTCALL_API_SECRET": "s"}
    out = subprocess.run(
        [sys.executable, "-c", probe, sys.executable, "-m", "jcstate", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    code, output, peak_kb = json.loads(out.stdout)
    return code, output, peak_kb / 1024


@pytest.fixture
def attack_project(tmp_path: Path) -> Path:
    (tmp_path / "jcstate.yaml").write_text(CONFIG)
    (tmp_path / "contacts").mkdir()
    return tmp_path


@pytest.mark.parametrize(
    ("scalar_bytes", "aliases", "command"),
    [
        (160_000, 5_000, "validate"),  # ~190 KB: validate peaked at 2.5 GB, printed 500 MB
        (100_000, 5_000, "validate"),
        (290_000, 5_000, "plan"),  # ~330 KB: plan peaked at 2.0 GB
    ],
)
def test_an_alias_attack_is_refused_at_the_alias_with_bounded_memory(
    attack_project: Path, scalar_bytes: int, aliases: int, command: str
) -> None:
    raw = alias_attack(scalar_bytes, aliases)
    (attack_project / "contacts" / "a.yaml").write_bytes(raw)
    code, output, peak_mb = run_measured([command], attack_project)
    assert code == 1, output[:2000]
    assert len(output) < 5_000, f"printed {len(output):,} characters"
    # The first alias past the limit: contact number limit // scalar size, on its line.
    first_refused = alias_text_limit(len(raw)) // scalar_bytes + 1
    line = 4 + first_refused
    col = len(f'  - {{phone: "+1415{0:07d}", first_name: ') + 1
    assert f"contacts/a.yaml:{line}:{col}: YAML aliases repeat more than" in output, output
    assert peak_mb < MAX_RSS_MB, f"peak RSS {peak_mb:.0f} MB"


def test_modest_aliases_of_large_text_still_load() -> None:
    # 100 aliases of a 2 KB note: 200 KB repeated, well within the limit.
    note = "n" * 2_000
    text = f"common: &note {note}\nnotes: [{', '.join(['*note'] * 100)}]\n"
    assert len(parse_fast(text.encode()).data["notes"]) == 100
    assert ALIAS_TEXT_BASE >= 1024 * 1024


@pytest.mark.parametrize("pure", [False, True], ids=["c", "pure"])
@pytest.mark.parametrize(
    ("raw", "where", "code"),
    [
        (
            b'version: 1\ncontacts:\n  - phone: "+14155550100"\n    first_name: "a\x00b"\n',
            (4, 19),
            "0000",
        ),
        (b"a: 1\nb: 2\nc: x\x07y\n", (3, 5), "0007"),
        (b"\x00", (1, 1), "0000"),
        (b"a: 1\n\n\n\n      \x1b\n", (5, 7), "001B"),
    ],
)
def test_a_control_character_is_reported_where_it_is(
    raw: bytes, where: tuple[int, int], code: str, pure: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if pure:
        monkeypatch.setenv("JCSTATE_PURE_YAML", "1")
    else:
        monkeypatch.delenv("JCSTATE_PURE_YAML", raising=False)
    with pytest.raises(YamlProblem) as problem:
        parse_fast(raw)
    assert (problem.value.line, problem.value.col) == where
    assert f"control character (U+{code})" in problem.value.message

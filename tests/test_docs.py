"""The documentation test: every `jcstate ...` line of README.md and examples/ runs.

Each README shell block (and each workflow file) runs in a copy of
examples/quickstart with its own `sandbox://` database, in-process through
click's CliRunner; `jcstate sandbox serve` starts a real server on a free port
and later lines talking to `http://127.0.0.1:8787` are pointed at it. How
lines are found and the `<!-- doctest: ... -->` directives are described in
`tests/support/doc_commands.py`. A README that lies fails here.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.support.doc_commands import (
    DEFAULT_START,
    REPO_ROOT,
    START_STATES,
    DocBlock,
    DocShell,
    example_blocks,
    make_start_state,
    option_problems,
    readme_blocks,
)

README = REPO_ROOT / "README.md"
README_BLOCKS = readme_blocks(README)
EXAMPLE_BLOCKS = example_blocks()


@pytest.fixture(scope="module")
def start_states(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Template projects for each start state, built once and copied per block."""
    root = tmp_path_factory.mktemp("doc-states")
    return {state: make_start_state(state, root / state) for state in sorted(START_STATES)}


def _block_id(block: DocBlock) -> str:
    return block.where


def _starts_at_repo_root(block: DocBlock) -> bool:
    """A block that `cd`s into examples/ before running jcstate is run from the repo root."""
    for line in block.lines:
        for segment in line.segments:
            if segment.is_jcstate:
                return False
            if segment.argv[:1] == ("cd",) and segment.argv[1:2][0].startswith("examples/"):
                return True
    return False


def _run_block(block: DocBlock, states: dict[str, Path], workspace: Path) -> list[DocShell]:
    at_root = _starts_at_repo_root(block)
    start = block.start or ("fresh" if at_root else DEFAULT_START)
    runs = [[line] for line in block.lines] if block.independent else [block.lines]
    shells: list[DocShell] = []
    for number, lines in enumerate(runs):
        repo = workspace / f"run{number}"
        project = repo / "examples" / "quickstart"
        shutil.copytree(states[start], project)
        shell = DocShell(cwd=repo if at_root else project)
        try:
            for line in lines:
                if line.synopsis:
                    for segment in line.jcstate_segments:
                        problems = option_problems(segment.jcstate_argv, synopsis=True)
                        assert not problems, f"{line.where}: synopsis: " + "; ".join(problems)
                else:
                    shell.run_line(line)
        finally:
            shell.close()
        shells.append(shell)
    return shells


def _check_block_options(block: DocBlock) -> None:
    for line in block.lines:
        for segment in line.jcstate_segments:
            problems = option_problems(segment.jcstate_argv, synopsis=line.synopsis)
            assert not problems, f"{line.where}: " + "; ".join(problems)


@pytest.mark.parametrize("block", README_BLOCKS, ids=_block_id)
def test_readme_block_runs(block: DocBlock, start_states: dict[str, Path], tmp_path: Path) -> None:
    _check_block_options(block)
    if block.skip:
        return
    shells = _run_block(block, start_states, tmp_path)
    ran = sum(len(shell.outcomes) for shell in shells)
    assert ran > 0 or all(line.synopsis for line in block.lines), f"{block.where}: nothing ran"


@pytest.mark.parametrize("block", EXAMPLE_BLOCKS, ids=_block_id)
def test_example_commands_run(
    block: DocBlock, start_states: dict[str, Path], tmp_path: Path
) -> None:
    _check_block_options(block)
    shells = _run_block(block, start_states, tmp_path)
    assert sum(len(shell.outcomes) for shell in shells) == len(block.lines)


def test_the_doc_test_finds_the_commands_users_copy() -> None:
    """The extraction itself: a README without runnable commands would pass vacuously."""
    readme_commands = [
        " ".join(segment.jcstate_argv)
        for block in README_BLOCKS
        for line in block.lines
        if not line.synopsis
        for segment in line.jcstate_segments
    ]
    for expected in ("plan", "apply --auto-approve", "drift", "validate", "fmt"):
        assert expected in readme_commands, f"README shows no `jcstate {expected}` line"
    example_commands = {line.text for block in EXAMPLE_BLOCKS for line in block.lines}
    assert any(text.startswith("jcstate validate --format github") for text in example_commands)
    assert any(text.startswith("jcstate apply --auto-approve") for text in example_commands)
    assert any(text.startswith("jcstate drift") for text in example_commands)


def test_a_lying_readme_fails(start_states: dict[str, Path], tmp_path: Path) -> None:
    """The runner catches an unknown option, a wrong exit code and a missing directory."""
    bad = tmp_path / "BAD.md"
    bad.write_text(
        "```sh\njcstate plan --no-such-option\n```\n\n"
        "```sh\njcstate apply missing-plan.json\n```\n\n"
        "```sh\ncd nowhere && jcstate plan\n```\n",
        encoding="utf-8",
    )
    blocks = readme_blocks(bad, display="BAD.md")
    assert len(blocks) == 3
    with pytest.raises(AssertionError, match="no option --no-such-option"):
        _check_block_options(blocks[0])
    for number, block in enumerate(blocks[1:]):
        with pytest.raises(AssertionError, match=re.escape(f"BAD.md:{6 + 4 * number}")):
            _run_block(block, start_states, tmp_path / f"bad{number}")


def test_readme_inline_commands_name_real_options() -> None:
    """`jcstate ...` in inline code names real commands and options, too.

    Inline code is prose (`jcstate plan --out` mentions an option), so a value
    may be left out; a value that is given must be a valid choice.
    """
    text = README.read_text(encoding="utf-8")
    problems: list[str] = []
    for match in re.finditer(r"`(jcstate [^`]+)`", text):
        words = [word.strip("[]") for word in match.group(1).split()[1:]]
        words = [word for word in words if word and not re.search(r"[<>…]|\.\.\.", word)]
        line = text.count("\n", 0, match.start()) + 1
        problems += [f"README.md:{line}: {p}" for p in option_problems(words, synopsis=True)]
    assert not problems, "\n".join(problems)

"""The documentation test: every `jcstate ...` line of README.md, docs/ and examples/ runs.

Each shell block of README.md and of every page under docs/ (and each workflow
file) runs in a copy of
examples/quickstart with its own `sandbox://` database, in-process through
click's CliRunner; `jcstate sandbox serve` starts a real server on a free port
and later lines talking to `http://127.0.0.1:8787` are pointed at it. How
lines are found and the `<!-- doctest: ... -->` directives are described in
`tests/support/doc_commands.py`. A README or a page that lies fails here.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from jcstate.cli import cli
from tests.support.config_reference import render_reference
from tests.support.doc_commands import (
    CLEAN_ENV,
    DEFAULT_START,
    DOC_PAGES,
    REPO_ROOT,
    START_STATES,
    DocBlock,
    DocShell,
    doc_blocks,
    example_blocks,
    load_yaml,
    make_start_state,
    option_problems,
    readme_blocks,
)

README = REPO_ROOT / "README.md"
README_BLOCKS = readme_blocks(README)
#: README.md first, then every docs/ page: the blocks a reader may copy.
DOC_BLOCKS = doc_blocks()
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


@pytest.mark.parametrize("block", DOC_BLOCKS, ids=_block_id)
def test_doc_block_runs(block: DocBlock, start_states: dict[str, Path], tmp_path: Path) -> None:
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
    blocks_per_file = {block.where.rsplit(":", 1)[0] for block in DOC_BLOCKS}
    assert "README.md" in blocks_per_file
    assert "docs/guide/apply.md" in blocks_per_file, "the docs pages' blocks are not run"
    readme_commands = [
        " ".join(segment.jcstate_argv)
        for block in DOC_BLOCKS
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


def _display(path: Path) -> str:
    return path.relative_to(REPO_ROOT).as_posix()


@pytest.mark.parametrize("page", [README, *DOC_PAGES], ids=_display)
def test_inline_commands_name_real_options(page: Path) -> None:
    """`jcstate ...` in inline code names real commands and options, too.

    Inline code is prose (`jcstate plan --out` mentions an option), so a value
    may be left out; a value that is given must be a valid choice.
    """
    text = page.read_text(encoding="utf-8")
    problems: list[str] = []
    for match in re.finditer(r"`(jcstate [^`]+)`", text):
        words = [word.strip("[]") for word in match.group(1).split()[1:]]
        words = [word for word in words if word and not re.search(r"[<>…]|\.\.\.", word)]
        line = text.count("\n", 0, match.start()) + 1
        problems += [f"{_display(page)}:{line}: {p}" for p in option_problems(words, synopsis=True)]
    assert not problems, "\n".join(problems)


# -- the user guide stays complete and true -----------------------------------------------


def _section(name: str) -> str:
    """The text between `<!-- section:NAME -->` markers, in README.md or a docs page."""
    found = []
    for page in (README, *DOC_PAGES):
        text = page.read_text(encoding="utf-8")
        if (start := text.find(f"<!-- section:{name} -->")) >= 0:
            found.append(text[start : text.index(f"<!-- /section:{name} -->", start)])
    assert len(found) == 1, f"section {name}: found {len(found)} times"
    return found[0]


def _all_commands() -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    ctx = click.Context(cli)
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        assert command is not None
        if isinstance(command, click.Group):
            sub_ctx = click.Context(command)
            for sub in command.list_commands(sub_ctx):
                sub_command = command.get_command(sub_ctx, sub)
                assert sub_command is not None
                found.append((f"{name} {sub}", sub_command))
        else:
            found.append((name, command))
    return found


#: accepted after every command too, documented once above the table
GLOBAL_OPTIONS = ("--verbose", "--no-color", "--no-cache", "--help")


def test_commands_reference_lists_every_command_option_and_exit_codes() -> None:
    """The table in "Commands" has a row per command naming each of its options."""
    section = _section("commands")
    intro = section[: section.index("| Command |")]
    for option in GLOBAL_OPTIONS:
        assert f"`{option}" in intro or f"/{option}`" in intro, option
    rows = {
        match.group(1).split(" [")[0]: line
        for line in _section("commands").splitlines()
        if (match := re.match(r"\| `jcstate ([^`]+)` \|", line))
    }
    for name, command in _all_commands():
        assert name in rows, f"the commands table has no row for `jcstate {name}`"
        options = [
            opt
            for param in command.params
            if isinstance(param, click.Option) and param.name != "help"
            for opt in param.opts
            if opt.startswith("--") and opt not in GLOBAL_OPTIONS
        ]
        missing = [opt for opt in options if f"`{opt}" not in rows[name]]
        assert not missing, f"`jcstate {name}`: options not in the commands table: {missing}"
        assert re.search(r"\| \d+\b[^|]*\|$", rows[name]), f"`jcstate {name}`: no exit codes"


def test_quickstart_samples_are_real_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The output shown in the quickstart section is what the walk-through prints."""
    section = _section("quickstart")
    samples = re.findall(r"```text\n(.*?)```", section, re.S)
    assert len(samples) >= 3
    project = make_start_state("fresh", tmp_path / "quickstart")
    monkeypatch.chdir(project)  # file names in the output are relative to the cwd
    outputs: list[str] = []

    def run(*args: str) -> None:
        result = CliRunner().invoke(cli, list(args), env=CLEAN_ENV)
        assert result.exit_code == 0, result.output
        outputs.append(result.stdout)

    run("plan")
    run("apply", "--auto-approve")
    customers = project / "contacts" / "customers.yaml"
    edited = customers.read_text(encoding="utf-8").replace("seats: 120", "seats: 150")
    customers.write_text(edited, encoding="utf-8")
    run("plan")
    for sample, output in zip(samples, outputs, strict=True):
        # Each sample is how the output ends, line for line; only timings may differ.
        shown = _untimed(sample).rstrip("\n").splitlines()
        printed = _untimed(output).rstrip("\n").splitlines()
        assert printed[-len(shown) :] == shown, (
            "the quickstart sample is not the end of the real output:\n"
            + "\n".join(printed[-len(shown) - 2 :])
        )


def _untimed(text: str) -> str:
    """Durations (`in 0.4 s.`) vary from run to run; everything else must match."""
    return re.sub(r"\b\d+(\.\d+)? s\b", "N s", text)


def test_a_quickstart_sample_missing_a_printed_line_fails(tmp_path: Path) -> None:
    """The check above catches a sample that leaves out a line of the real output."""
    printed = "Apply complete: 1 created.\n\nRequests: 3 (bulk 1) in 0.4 s.\nConverged: yes.\n"
    shown = "Apply complete: 1 created.\nConverged: yes.\n"
    lines = _untimed(shown).rstrip("\n").splitlines()
    assert _untimed(printed).rstrip("\n").splitlines()[-len(lines) :] != lines
    honest = "Apply complete: 1 created.\n\nRequests: 3 (bulk 1) in 1.7 s.\nConverged: yes.\n"
    lines = _untimed(honest).rstrip("\n").splitlines()
    assert _untimed(printed).rstrip("\n").splitlines()[-len(lines) :] == lines


def test_ci_recipes_document_the_action_and_every_example() -> None:
    section = _section("ci-recipes")
    action = load_yaml(REPO_ROOT / ".github" / "actions" / "jcstate" / "action.yml")
    for name in (*action["inputs"], *action["outputs"]):
        assert f"| `{name}` |" in section, f"action input/output {name} is not documented"
    for workflow in sorted((REPO_ROOT / "examples" / "github").glob("*.yml")):
        # linked from docs/guide/ as ../../examples/github/NAME
        assert f"/examples/github/{workflow.name})" in section, workflow.name
    for needed in ("JUSTCALL_API_KEY", "JUSTCALL_API_SECRET", "your-org/jcstate", "jcstate-fmt"):
        assert needed in section


def _slug(heading: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    outside_code = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return {_slug(h) for h in re.findall(r"^#{1,6} (.+)$", outside_code, re.M)}


def link_problems(page: Path) -> list[str]:
    """Relative links of a markdown page whose file or heading anchor does not exist."""
    outside_code = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    broken: list[str] = []
    for target in re.findall(r"\]\(([^)\s]+)\)", outside_code):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        missing_anchor = anchor and (linked.suffix != ".md" or anchor not in _anchors(linked))
        if not linked.exists() or missing_anchor:
            broken.append(target)
    return broken


@pytest.mark.parametrize("page", [README, *DOC_PAGES], ids=_display)
def test_links_to_headings_and_files_exist(page: Path) -> None:
    """README.md and every page link to files and headings that exist (GitHub's anchors,
    which mkdocs.yml makes the site's too); `mkdocs build --strict` checks the site."""
    broken = link_problems(page)
    assert not broken, f"{_display(page)} links to missing anchors or files: {broken}"


def test_a_broken_link_is_found(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    (tmp_path / "other.md").write_text("# Other\n\n## A heading\n", encoding="utf-8")
    page.write_text(
        "# Page\n\n[ok](other.md#a-heading) [self](#page) [web](https://example.com)\n"
        "[gone](missing.md) [no anchor](other.md#nope) [nor here](#nope)\n",
        encoding="utf-8",
    )
    assert link_problems(page) == ["missing.md", "other.md#nope", "#nope"]


def test_the_readme_is_short_and_starts_with_the_two_commands() -> None:
    """The front page: what it is, the two commands, the quickstart, links; the rest is in docs/."""
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines; move detail into docs/"
    first = README_BLOCKS[0]
    assert first.where == "README.md:7"
    assert [line.text.split(" && ")[0] for line in first.lines] == [
        "python3 -m venv .venv",
        "python3 -m venv .venv",
    ]


def test_every_page_is_in_the_site_navigation() -> None:
    nav = (REPO_ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    missing = [
        page.relative_to(REPO_ROOT / "docs").as_posix()
        for page in DOC_PAGES
        if f": {page.relative_to(REPO_ROOT / 'docs').as_posix()}" not in nav
    ]
    assert not missing, f"docs pages not in mkdocs.yml's nav: {missing}"


def test_the_configuration_reference_is_the_schema() -> None:
    """docs/reference/configuration.md is generated from `jcstate schema`; regenerate it
    with `python -m tests.support.config_reference > docs/reference/configuration.md`."""
    page = REPO_ROOT / "docs" / "reference" / "configuration.md"
    assert page.read_text(encoding="utf-8") == render_reference()
    for key in ("`api.url`", "`safety.max_delete_percent`", "`contacts[].phone`"):
        assert key in page.read_text(encoding="utf-8")

"""Find the `jcstate ...` command lines in README.md, docs/ and examples/, and run them.

The documentation test (`tests/test_docs.py`) uses this module to make sure a
command a user copies from the README or a workflow works as written.

**README blocks.** Every fenced block whose language is `sh`, `bash`, `shell`,
`console` or empty is read as a small shell script: lines joined at a trailing
backslash, a leading `$ ` prompt dropped, `# comments` dropped, segments split
at `&&`, `||`, `;` and `|`. A segment runs when its command is `jcstate` (any
path ending in `/jcstate`, or `python -m jcstate`); `cd`, `mkdir`, `rm` and
`export NAME=value` change the block's state; anything else (pip, curl, git)
is recorded as skipped. A line that is a usage synopsis (`[--prune]`,
`PHONE ...`) is not run: its options are checked against the command instead.

**Directives.** An HTML comment on the line just before a fence tunes how the
block runs (keep them rare; none is needed for an ordinary example):

- `<!-- doctest: skip -->` -- a placeholder block: not run, only its options checked;
- `<!-- doctest: independent -->` -- each line is an alternative: every line
  runs from the block's starting state, not after the previous line;
- `<!-- doctest: start=STATE -->` -- the starting state (see `START_STATES`).

Several directives go in one comment, comma-separated.

**git.** A `--changed-since REF` line runs in a git repository: the block's
project is committed once (twice, so `HEAD~1` exists) and REF (`main`,
`origin/main`) is made to point at HEAD, as in a reader's clone.

**Examples.** A workflow step that uses the jcstate action (`uses:` ending in
`.github/actions/jcstate@...`) becomes `jcstate <command> <args>`; a `run:`
script contributes its literal jcstate lines (lines built from `$VARIABLES`
are left to the action's own test).
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from click.testing import CliRunner, Result
from ruamel.yaml import YAML

from jcstate.cli import cli
from tests.support.sandbox_server import SandboxServer, launch_sandbox

REPO_ROOT = Path(__file__).resolve().parents[2]
#: The documentation site's pages (mkdocs.yml), whose blocks run like the README's.
DOC_PAGES = sorted((REPO_ROOT / "docs").rglob("*.md"))
QUICKSTART = REPO_ROOT / "examples" / "quickstart"
SHELL_LANGUAGES = {"", "sh", "bash", "shell", "console", "zsh"}
OPERATORS = {"&&", "||", ";", "|"}
#: The block starting states a `start=` directive can name.
START_STATES = {
    # The quickstart project applied to its sandbox, after which one contact was
    # edited remotely (Jordan Lee's seats 120 -> 130): plan shows one update,
    # drift exits 2. The state a reader is in after the README's first command
    # plus a colleague's edit in the JustCall UI.
    "applied",
    # The quickstart project with an empty sandbox (nothing applied yet).
    "fresh",
    # An account not yet in git: the sandbox holds the quickstart's contacts,
    # the project declares none (its contacts files are removed).
    "onboarding",
}
DEFAULT_START = "applied"
_ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_DIRECTIVE = re.compile(r"^<!--\s*doctest:\s*(?P<body>.*?)\s*-->$")
_FENCE = re.compile(r"^(?P<fence>```+|~~~+)\s*(?P<lang>[\w+-]*)")
_SYNOPSIS = re.compile(r"\[-|\w \.\.\.|\.\.\.\]")
_LOOPBACK_URL = re.compile(r"http://(?:127\.0\.0\.1|localhost):(?P<port>\d+)")
#: Credentials and URLs from the environment must not leak into the doc runs.
CLEAN_ENV: dict[str, str | None] = {
    "JCSTATE_API_URL": None,
    "JUSTCALL_API_KEY": None,
    "JUSTCALL_API_SECRET": None,
    "JCSTATE_SANDBOX_API_KEY": None,
    "JCSTATE_SANDBOX_API_SECRET": None,
    "NO_COLOR": "1",
}


@dataclass(frozen=True)
class Segment:
    """One simple command of a shell line: `NAME=value ... argv`."""

    env: Mapping[str, str]
    argv: tuple[str, ...]
    stdout_to: str | None = None

    @property
    def is_jcstate(self) -> bool:
        return bool(self.argv) and jcstate_args(self.argv) is not None

    @property
    def jcstate_argv(self) -> tuple[str, ...]:
        args = jcstate_args(self.argv)
        assert args is not None
        return args


@dataclass(frozen=True)
class DocLine:
    """A logical command line of a block, with where it was written."""

    where: str
    text: str
    segments: tuple[Segment, ...]
    synopsis: bool = False

    @property
    def jcstate_segments(self) -> list[Segment]:
        return [segment for segment in self.segments if segment.is_jcstate]


@dataclass
class DocBlock:
    """A fenced README block or an example file: lines that run in one state."""

    where: str
    lines: list[DocLine]
    skip: bool = False
    independent: bool = False
    #: The `start=` directive, if any (None: the runner picks `DEFAULT_START`).
    start: str | None = None

    @property
    def has_jcstate(self) -> bool:
        return any(line.jcstate_segments for line in self.lines)


def jcstate_args(argv: Sequence[str]) -> tuple[str, ...] | None:
    """The arguments after the program when `argv` runs jcstate, else None."""
    if not argv:
        return None
    program = argv[0]
    if program == "jcstate" or program.endswith("/jcstate"):
        return tuple(argv[1:])
    if re.fullmatch(r"(?:.*/)?python3?(?:\.\d+)?", program) and list(argv[1:3]) == [
        "-m",
        "jcstate",
    ]:
        return tuple(argv[3:])
    return None


def split_shell_line(text: str) -> tuple[Segment, ...]:
    """Split a shell line into simple commands (no expansion, no subshells)."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    tokens = list(lexer)
    segments: list[Segment] = []
    current: list[str] = []

    def close() -> None:
        if not current:
            return
        env: dict[str, str] = {}
        words = list(current)
        while words and _ENV_ASSIGNMENT.match(words[0]):
            name, _, value = words.pop(0).partition("=")
            env[name] = value
        stdout_to: str | None = None
        if ">" in words or ">>" in words:
            at = words.index(">") if ">" in words else words.index(">>")
            stdout_to = words[at + 1]
            del words[at : at + 2]
        segments.append(Segment(env=env, argv=tuple(words), stdout_to=stdout_to))
        current.clear()

    for token in tokens:
        if token in OPERATORS:
            close()
        elif token in {"<", "<<", "&", ">&", "2>"} or token.startswith("$("):
            raise ValueError(f"unsupported shell syntax {token!r} in: {text}")
        else:
            current.append(token)
    close()
    return tuple(segments)


def _logical_lines(lines: Sequence[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    """Join backslash continuations and drop prompts; yields (first line number, text)."""
    pending: list[str] = []
    first = 0
    for number, raw in lines:
        text = raw.rstrip()
        if not pending:
            first = number
            if text.startswith("$ "):
                text = text[2:]
        if text.endswith("\\"):
            pending.append(text[:-1])
            continue
        pending.append(text)
        yield first, " ".join(pending)
        pending = []
    if pending:
        yield first, " ".join(pending)


def _parse_directives(body: str, where: str) -> dict[str, str]:
    directives: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in body.split(","))):
        name, _, value = item.partition("=")
        if name not in {"skip", "independent", "start"}:
            raise ValueError(f"{where}: unknown doctest directive {name!r}")
        if name == "start" and value not in START_STATES:
            raise ValueError(f"{where}: unknown start state {value!r} ({sorted(START_STATES)})")
        directives[name] = value
    return directives


def readme_blocks(path: Path, display: str = "README.md") -> list[DocBlock]:
    """Every shell block of a markdown file that mentions jcstate, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[DocBlock] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence, lang = opening.group("fence"), opening.group("lang").lower()
        start = index
        index += 1
        body: list[tuple[int, str]] = []
        while index < len(lines) and not lines[index].startswith(fence):
            body.append((index + 1, lines[index]))
            index += 1
        index += 1
        if lang not in SHELL_LANGUAGES:
            continue
        previous = lines[start - 1].strip() if start > 0 else ""
        where = f"{display}:{start + 1}"
        match = _DIRECTIVE.match(previous)
        directives = _parse_directives(match.group("body"), where) if match else {}
        block = DocBlock(
            where=where,
            lines=_block_lines(body, display),
            skip="skip" in directives,
            independent="independent" in directives,
            start=directives.get("start"),
        )
        if block.has_jcstate:
            blocks.append(block)
    return blocks


def _block_lines(body: Sequence[tuple[int, str]], display: str) -> list[DocLine]:
    doc_lines: list[DocLine] = []
    for number, text in _logical_lines(body):
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        code = _strip_comment(text)
        where = f"{display}:{number}"
        continues_synopsis = bool(doc_lines) and doc_lines[-1].synopsis and text[:1].isspace()
        if continues_synopsis:
            last = doc_lines.pop()
            joined = f"{last.text} {code.strip()}"
            doc_lines.append(DocLine(last.where, joined, _synopsis_segments(joined), True))
        elif _SYNOPSIS.search(code):
            doc_lines.append(DocLine(where, code.strip(), _synopsis_segments(code), True))
        else:
            doc_lines.append(DocLine(where, code.strip(), split_shell_line(code)))
    return doc_lines


def _strip_comment(text: str) -> str:
    """The line without a trailing `# comment` (a # that starts a word, outside quotes)."""
    quote = ""
    for index, char in enumerate(text):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or text[index - 1].isspace()):
            return text[:index].rstrip()
    return text.rstrip()


def _synopsis_segments(text: str) -> tuple[Segment, ...]:
    """A synopsis as one segment of its words, brackets and `|` alternatives removed."""
    words = re.sub(r"[\[\]]", " ", text).replace("...", " ").split()
    return (Segment(env={}, argv=tuple(words)),)


def doc_blocks() -> list[DocBlock]:
    """The shell blocks of README.md, then of every docs/ page, named by their path."""
    blocks = readme_blocks(REPO_ROOT / "README.md")
    for page in DOC_PAGES:
        blocks += readme_blocks(page, display=page.relative_to(REPO_ROOT).as_posix())
    return blocks


# -- examples/: workflows and the action ------------------------------------------------


def load_yaml(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def uses_jcstate_action(step: Mapping[str, Any]) -> bool:
    uses = step.get("uses")
    return isinstance(uses, str) and re.search(r"\.github/actions/jcstate(@|$)", uses) is not None


def workflow_steps(document: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(job id, step) for every step of a workflow, or of a composite action."""
    for job_id, job in (document.get("jobs") or {}).items():
        for step in job.get("steps") or []:
            yield job_id, step
    runs = document.get("runs") or {}
    for step in runs.get("steps") or []:
        yield "runs", step


def example_blocks(root: Path = REPO_ROOT) -> list[DocBlock]:
    """One block per workflow or action file under examples/ and .github/actions/."""
    paths = sorted((root / "examples").rglob("*.yml")) + sorted(
        (root / ".github" / "actions").rglob("action.yml")
    )
    blocks: list[DocBlock] = []
    for path in paths:
        display = path.relative_to(root).as_posix()
        lines: list[DocLine] = []
        for job_id, step in workflow_steps(load_yaml(path)):
            name = step.get("name") or step.get("id") or step.get("uses") or "step"
            where = f"{display}: {job_id} / {name}"
            if uses_jcstate_action(step):
                inputs = step.get("with") or {}
                # The base branch of a pull request, as GitHub expands it.
                args = re.sub(
                    r"\$\{\{\s*github\.base_ref\s*\}\}", "main", str(inputs.get("args", ""))
                )
                argv = ("jcstate", str(inputs["command"]), *shlex.split(args))
                segments: tuple[Segment, ...] = (Segment(env={}, argv=argv),)
                workdir = str(inputs.get("working-directory", ".") or ".")
                if workdir != ".":
                    segments = (Segment(env={}, argv=("cd", workdir)), *segments)
                lines.append(DocLine(where, shlex.join(argv), segments))
            run = step.get("run")
            if isinstance(run, str):
                for number, text in _logical_lines(list(enumerate(run.splitlines(), 1))):
                    code = _strip_comment(text).strip()
                    if "$" in code or not code:
                        continue
                    segments = split_shell_line(code)
                    if any(segment.is_jcstate for segment in segments):
                        lines.append(DocLine(f"{where} (run line {number})", code, segments))
        if lines:
            blocks.append(DocBlock(where=display, lines=lines))
    return blocks


# -- checking options against the click commands ----------------------------------------


def resolve_command(args: Sequence[str]) -> tuple[list[click.Command], list[str]]:
    """The chain of click commands `args` selects (group first), and the rest of `args`.

    Global options before the command name are skipped with their values.
    """
    chain: list[click.Command] = [cli]
    rest = list(args)
    ctx = click.Context(cli)
    while isinstance(chain[-1], click.Group):
        group = chain[-1]
        consumed = _consume_options(group, rest)
        if consumed is None or not rest:
            break
        name = rest[0]
        sub = group.get_command(ctx, name)
        if sub is None:
            raise LookupError(f"no such command: {' '.join(c.name or '' for c in chain)} {name}")
        chain.append(sub)
        rest = rest[1:]
    return chain, rest


def _consume_options(command: click.Command, rest: list[str]) -> int | None:
    """Drop leading options of `command` (and their values) from `rest`."""
    dropped = 0
    while rest and rest[0].startswith("-"):
        option = _find_option(command, rest[0].split("=", 1)[0])
        if option is None:
            return None
        takes_value = not option.is_flag and not option.count and "=" not in rest[0]
        del rest[: 2 if takes_value else 1]
        dropped += 1
    return dropped


def _find_option(command: click.Command, name: str) -> click.Option | None:
    for param in command.params:
        if isinstance(param, click.Option) and name in (*param.opts, *param.secondary_opts):
            return param
    return None


def option_problems(args: Sequence[str], *, synopsis: bool = False) -> list[str]:
    """What is wrong with a jcstate command line (unknown command, option, or choice).

    In a synopsis the words after an option that takes a value are placeholders
    or `a|b|c` alternatives; alternatives must all be valid choices.
    """
    try:
        chain, rest = resolve_command(args)
    except LookupError as exc:
        return [str(exc)]
    command = chain[-1]
    if isinstance(command, click.Group):
        return [f"{' '.join(args)}: names no command"]
    problems: list[str] = []
    positional = 0
    index = 0
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    while index < len(rest):
        word = rest[index]
        index += 1
        if word.startswith("-") and len(word) > 1 and not re.fullmatch(r"-\d+", word):
            name, has_inline, inline = word.partition("=")
            option = _find_option(command, name) or _find_option(cli, name)
            if option is None:
                problems.append(f"{command.name}: no option {name}")
                continue
            if option.is_flag or option.count:
                continue
            if has_inline:
                value: str | None = inline
            elif index < len(rest):
                value = rest[index]
                index += 1
            else:
                value = None
            if value is None:
                if not synopsis:
                    problems.append(f"{command.name}: {name} needs a value")
                continue
            if isinstance(option.type, click.Choice):
                values = value.split("|") if synopsis else [value]
                for choice in values:
                    if synopsis and choice.isupper():
                        continue
                    if choice not in option.type.choices:
                        problems.append(
                            f"{command.name}: {name} {choice!r} is not one of "
                            f"{list(option.type.choices)}"
                        )
        else:
            positional += 1
    if not synopsis:
        capacity = sum(1 if p.nargs > 0 else 10**6 for p in arguments)
        if positional > capacity:
            problems.append(f"{command.name}: too many arguments in {' '.join(args)}")
    return problems


# -- running -----------------------------------------------------------------------------

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "doc",
    "GIT_AUTHOR_EMAIL": "doc@example.com",
    "GIT_COMMITTER_NAME": "doc",
    "GIT_COMMITTER_EMAIL": "doc@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def as_git_clone(project: Path, ref: str) -> None:
    """Make `project` a git repository (committed twice) where `ref` names HEAD."""

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", *args], cwd=project, env={**os.environ, **_GIT_ENV},
            capture_output=True, text=True, check=False,
        )  # fmt: skip

    if not (project / ".git").exists():
        git("init", "-q", "-b", "main")
        git("add", "-A")
        git("commit", "-q", "-m", "the project")
        git("commit", "-q", "--allow-empty", "-m", "a second commit")
    if git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode == 0:
        return
    remote, _, branch = ref.partition("/")
    if branch:
        git("update-ref", f"refs/remotes/{remote}/{branch}", "HEAD")
    else:
        git("branch", ref)


class TerminalRunner(CliRunner):
    """A CliRunner whose stdin claims to be a terminal (for `jcstate apply`'s question)."""

    @contextlib.contextmanager
    def isolation(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        with super().isolation(*args, **kwargs) as streams:
            sys.stdin.isatty = lambda: True  # type: ignore[method-assign]
            yield streams


@dataclass
class Outcome:
    where: str
    command: str
    exit_code: int
    stdout: str
    stderr: str


@dataclass
class DocShell:
    """Runs doc lines in a directory, in-process, keeping cwd, env and servers."""

    cwd: Path
    env: dict[str, str] = field(default_factory=dict)
    servers: list[SandboxServer] = field(default_factory=list)
    url_map: dict[str, str] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def close(self) -> None:
        for server in self.servers:
            server.stop()
            server.stderr_path.unlink(missing_ok=True)
        self.servers.clear()

    def run_line(self, line: DocLine) -> None:
        for segment in line.segments:
            self.run_segment(line.where, segment)

    def _substitute(self, value: str) -> str:
        def replace(match: re.Match[str]) -> str:
            return self.url_map.get(match.group("port"), match.group(0))

        return _LOOPBACK_URL.sub(replace, value)

    def run_segment(self, where: str, segment: Segment) -> None:
        argv = [self._substitute(word) for word in segment.argv]
        env = {name: self._substitute(value) for name, value in segment.env.items()}
        if not argv:
            self.env.update(env)
            return
        program = argv[0]
        if program == "cd":
            target = (self.cwd / (argv[1] if len(argv) > 1 else ".")).resolve()
            assert target.is_dir(), f"{where}: cd {argv[1]}: no such directory"
            self.cwd = target
        elif program == "export" and len(argv) > 1 and _ENV_ASSIGNMENT.match(argv[1]):
            name, _, value = argv[1].partition("=")
            self.env[name] = value
        elif program == "mkdir":
            for name in (word for word in argv[1:] if not word.startswith("-")):
                (self.cwd / name).mkdir(parents=True, exist_ok=True)
        elif program == "rm":
            self._remove(where, argv[1:])
        elif jcstate_args(argv) is not None:
            self._run_jcstate(where, list(jcstate_args(argv) or ()), env, segment.stdout_to)
        else:
            self.skipped.append(f"{where}: {shlex.join(argv)}")

    def _remove(self, where: str, args: Sequence[str]) -> None:
        flags = "".join(word[1:] for word in args if word.startswith("-"))
        for name in (word for word in args if not word.startswith("-")):
            path = self.cwd / name
            if path.is_dir() and "r" in flags:
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
            else:
                assert "f" in flags, f"{where}: rm {name}: no such file"

    def _run_jcstate(
        self, where: str, args: list[str], env: Mapping[str, str], stdout_to: str | None
    ) -> None:
        command = "jcstate " + shlex.join(args)
        problems = option_problems(args)
        assert not problems, f"{where}: `{command}`: " + "; ".join(problems)
        chain, rest = resolve_command(args)
        names = [c.name or "" for c in chain[1:]]
        if names == ["sandbox", "serve"]:
            self._serve(where, rest)
            return
        full_env: dict[str, str | None] = {**CLEAN_ENV, **self.env, **env}
        for name, _, value in (word.partition("=") for word in rest):
            if name == "--changed-since":
                ref = value or rest[rest.index(name) + 1]
                as_git_clone(self.cwd, ref)
        interactive = (
            names == ["apply"]
            and "--auto-approve" not in rest
            and not any(not word.startswith("-") for word in rest)
        )
        runner: CliRunner = TerminalRunner() if interactive else CliRunner()
        previous = Path.cwd()
        os.chdir(self.cwd)
        try:
            result: Result = runner.invoke(
                cli, args, env=full_env, input="yes\n" if interactive else None
            )
        finally:
            os.chdir(previous)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(f"{where}: `{command}` raised") from result.exception
        outcome = Outcome(where, command, result.exit_code, result.stdout, result.stderr)
        self.outcomes.append(outcome)
        allowed = allowed_exit_codes(names, rest)
        assert result.exit_code in allowed, (
            f"{where}: `{command}` (in {self.cwd.name}/) exited {result.exit_code}, "
            f"expected one of {sorted(allowed)}\n--- stdout\n{result.stdout[-3000:]}"
            f"\n--- stderr\n{result.stderr[-3000:]}"
        )
        if stdout_to is not None:
            (self.cwd / stdout_to).write_text(result.stdout, encoding="utf-8")

    def _serve(self, where: str, rest: Sequence[str]) -> None:
        db = ".jcstate/sandbox.db"
        port = "8787"
        extra: list[str] = []
        words = list(rest)
        while words:
            word = words.pop(0)
            name, has_inline, inline = word.partition("=")
            if name in {"--db", "--port", "--host"}:
                value = inline if has_inline else words.pop(0)
                if name == "--db":
                    db = value
                elif name == "--port":
                    port = value
            else:
                extra.append(word)
        db_path = self.cwd / db
        db_path.parent.mkdir(parents=True, exist_ok=True)
        server = launch_sandbox(db_path, *extra)
        self.servers.append(server)
        self.url_map[port] = server.url
        self.outcomes.append(Outcome(where, "jcstate sandbox serve", 0, server.url, ""))


# -- start states -------------------------------------------------------------------------

#: The remote edit of the "applied" start state: Jordan Lee's seats, 120 in git.
EDITED_PHONE = "+14155559876"
EDITED_SEATS = 130


def _invoke(project: Path, *args: str) -> None:
    result = CliRunner().invoke(cli, ["-C", str(project), *args], env=CLEAN_ENV)
    assert result.exit_code == 0, result.output


async def _edit_remotely(project: Path) -> None:
    from jcstate.project.config import load_project
    from jcstate.remote.client import JustCallClient, resolve_settings

    settings = resolve_settings(load_project(project), api_url=None, env={})
    async with JustCallClient(settings) as client:
        (contact,) = await client.find_by_phone(EDITED_PHONE)
        await client.update_contact(contact.id, {"custom_fields": {"seats": EDITED_SEATS}})


def make_start_state(state: str, dest: Path) -> Path:
    """Build the quickstart project in `state` (see `START_STATES`) at `dest`."""
    import asyncio

    assert state in START_STATES, state
    shutil.copytree(QUICKSTART, dest, ignore=shutil.ignore_patterns(".jcstate"))
    if state == "fresh":
        return dest
    _invoke(dest, "apply", "--auto-approve")
    if state == "applied":
        asyncio.run(_edit_remotely(dest))
    else:
        for contacts_file in (dest / "contacts").glob("*.yaml"):
            contacts_file.unlink()
    return dest


def allowed_exit_codes(names: Sequence[str], rest: Sequence[str]) -> set[int]:
    """0, and 2 where the README documents 2 as a result rather than an error."""
    if names == ["drift"] or (names == ["plan"] and "--detailed-exitcode" in rest):
        return {0, 2}
    return {0}

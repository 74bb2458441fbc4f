"""The project as it was at a git commit, read straight from git objects.

`load_base(project, ref)` finds the merge base of REF and HEAD, lists its
tree once (`git ls-tree -r -z`) and reads `jcstate.yaml` and the contacts
files its globs select through ONE `git cat-file --batch` process: no
checkout, no temporary worktree, nothing written. The files are parsed and
validated by the same loaders as the working tree's.

A contacts file whose blob is byte-identical in the working tree (and whose
meaning cannot have changed: same custom-field types, same default region)
declares the same contacts on both sides, so it is not parsed again; its
contacts are outside any changed set.
"""

from __future__ import annotations

import fnmatch
import hashlib
import itertools
import operator
import os
import re
import subprocess
import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML

from jcstate.core.model import DesiredContact, Project, ProjectConfig
from jcstate.errors import (
    GitBaseError,
    NotAGitRepositoryError,
    ShallowCloneError,
    UnknownRefError,
)
from jcstate.project.cache import MeaningCache, file_digest
from jcstate.project.chunked import read_by_chunks
from jcstate.project.config import PROJECT_FILE, display_path, open_cache
from jcstate.project.validate import (
    ContactsDoc,
    KnownFile,
    check_contacts_files,
    check_project_config,
)
from jcstate.project.yamlio import YamlProblem, fast_yaml, parse_canonical, parse_fast

GIT_TIMEOUT_S = 120


@dataclass(frozen=True)
class BaseProject:
    """The project at the merge base, as far as the changed set needs it."""

    ref: str
    #: the merge base of REF and HEAD (full sha)
    commit: str
    #: `jcstate.yaml` at the base; None when it did not exist there
    config: ProjectConfig | None
    #: the contacts of the contacts files that differ from the working tree
    contacts: tuple[DesiredContact, ...] = ()
    #: display names (as the working-tree loader names them) of the contacts files
    #: that are identical at the base: their contacts are not compared
    unchanged_files: frozenset[str] = frozenset()
    #: contacts declared at the base in all (also in the unchanged files)
    declared: int = 0
    #: why the base could not be read as a valid project (the plan then widens)
    problem: str | None = None
    #: the working tree's contacts outside the unchanged files (`current_contacts`)
    current: tuple[DesiredContact, ...] | None = None


def _git(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
        )
    except FileNotFoundError:
        raise GitBaseError(
            "--changed-since needs git, and no `git` program was found; install git "
            "or plan without --changed-since"
        ) from None
    except subprocess.TimeoutExpired:
        raise GitBaseError(f"git {args[0]} did not answer in {GIT_TIMEOUT_S} s") from None


def fetch_hint(ref: str) -> str:
    """The command that brings REF into this clone, as best it can be guessed."""
    match = re.fullmatch(r"(?:refs/remotes/)?([\w.-]+)/(.+)", ref)
    if match and not re.fullmatch(r"[0-9a-f]{7,40}", ref):
        return f"git fetch {match.group(1)} {match.group(2)}"
    return "git fetch origin main"


_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def resolve_base(root: Path, ref: str) -> tuple[Path, str]:
    """The repository's top folder and the merge base of REF and HEAD (full sha).

    One `git rev-parse` answers the top folder, HEAD and REF, and `git merge-base`
    the base; only when that rev-parse fails are the questions asked one by one,
    to say which answer is missing.
    """
    if not ref.startswith("-"):
        asked = _git(
            ["rev-parse", "--show-toplevel", "HEAD^{commit}", f"{ref}^{{commit}}", "--"], root
        )
        answers = asked.stdout.split("\n")
        # the top folder, HEAD, REF, and the "--" that ends the revisions
        if asked.returncode == 0 and answers[3:] == ["--", ""]:
            top, head, wanted = answers[:3]
            if top and _SHA.fullmatch(head) and _SHA.fullmatch(wanted):
                merged = _git(["merge-base", wanted, head], root)
                if merged.returncode == 0 and merged.stdout.strip():
                    return Path(top), merged.stdout.strip()
    return _resolve_one_by_one(root, ref)


def _resolve_one_by_one(root: Path, ref: str) -> tuple[Path, str]:
    """`resolve_base`, each question its own `git` run: the exact error when one fails."""
    top = _git(["rev-parse", "--show-toplevel"], root)
    if top.returncode != 0:
        raise NotAGitRepositoryError(
            f"{root} is not inside a git repository: --changed-since REF compares the files "
            "with a git commit (run `git init` and commit, or plan without --changed-since)"
        )
    toplevel = Path(top.stdout.strip())
    if ref.startswith("-"):
        raise UnknownRefError(f"unknown git ref {ref!r}: a ref does not start with '-'")
    wanted = _git(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"], root
    )
    shallow = _git(["rev-parse", "--is-shallow-repository"], root).stdout.strip() == "true"
    if wanted.returncode != 0:
        extra = (
            "; this clone is shallow: fetch the whole history (`fetch-depth: 0` in "
            "actions/checkout, or `git fetch --unshallow`)"
            if shallow
            else ""
        )
        raise UnknownRefError(
            f"unknown git ref {ref!r}: no commit of that name in this clone; fetch it "
            f"first (for example `{fetch_hint(ref)}`){extra}"
        )
    head = _git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], root)
    if head.returncode != 0:
        raise UnknownRefError(
            "HEAD names no commit (a repository without commits): commit the project first"
        )
    merged = _git(["merge-base", wanted.stdout.strip(), head.stdout.strip()], root)
    if merged.returncode != 0 or not merged.stdout.strip():
        if shallow:
            raise ShallowCloneError(
                f"{ref} and HEAD have no common commit in this shallow clone: the merge base "
                "was not fetched; fetch the whole history (`fetch-depth: 0` in "
                "actions/checkout, or `git fetch --unshallow`)"
            )
        raise GitBaseError(
            f"{ref} and HEAD have no common history (no merge base); plan without "
            "--changed-since, or pick a REF that shares history with HEAD"
        )
    return toplevel, merged.stdout.strip()


def glob_matches(pattern: str, path: str) -> bool:
    """Whether the relative POSIX `path` matches a contacts glob, as the loader's glob does.

    `*`, `?` and `[...]` within one segment; `**` for any number of folders;
    names starting with '.' only when the pattern segment does.
    """
    parts = [p for p in pattern.split("/") if p]
    return _match(parts, path.split("/"))


def _segment(name: str, pattern: str) -> bool:
    if name.startswith(".") and not pattern.startswith("."):
        return False
    return fnmatch.fnmatchcase(name, pattern)


def _match(pattern: list[str], parts: list[str]) -> bool:
    if not pattern:
        return not parts
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        if not rest:
            return bool(parts) and not any(p.startswith(".") for p in parts)
        if _match(rest, parts):
            return True
        return len(parts) > 1 and not parts[0].startswith(".") and _match(pattern, parts[1:])
    return bool(parts) and _segment(parts[0], head) and _match(rest, parts[1:])


def blob_id(data: bytes) -> str:
    """The git blob id of `data` (what `git hash-object` prints)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


class _CatFile:
    """One `git cat-file --batch` process for every blob the base needs."""

    def __init__(self, cwd: Path) -> None:
        try:
            self._process = subprocess.Popen(
                ["git", "cat-file", "--batch"],
                cwd=cwd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except FileNotFoundError:
            raise GitBaseError("no `git` program was found") from None

    def read(self, blob_ids: Sequence[str]) -> list[bytes]:
        process = self._process
        assert process.stdin is not None and process.stdout is not None
        stdin, stdout = process.stdin, process.stdout
        request = b"".join(sha.encode() + b"\n" for sha in blob_ids)

        def feed() -> None:
            try:
                stdin.write(request)
                stdin.flush()
            except (BrokenPipeError, ValueError):  # pragma: no cover - git died
                pass

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        out: list[bytes] = []
        for sha in blob_ids:
            header = stdout.readline().split()
            if len(header) != 3 or header[1] != b"blob":
                writer.join()
                raise GitBaseError(f"git cat-file could not read blob {sha}")
            size = int(header[2])
            out.append(stdout.read(size))
            stdout.read(1)  # the newline after each object
        writer.join()
        return out

    def close(self) -> None:
        process = self._process
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _tree(toplevel: Path, commit: str) -> dict[str, str]:
    """Path (relative to the repository top, POSIX) -> blob id, for every file at `commit`."""
    listed = subprocess.run(
        ["git", "ls-tree", "-r", "-z", "--full-tree", commit],
        cwd=toplevel,
        capture_output=True,
        timeout=GIT_TIMEOUT_S,
    )
    if listed.returncode != 0:
        raise GitBaseError(f"git ls-tree failed for {commit[:12]}")
    blobs: dict[str, str] = {}
    for entry in listed.stdout.split(b"\0"):
        if not entry:
            continue
        meta, _, name = entry.partition(b"\t")
        mode, kind, sha = meta.split(b" ")
        if kind == b"blob" and mode != b"120000":
            blobs[name.decode("utf-8", "surrogateescape")] = sha.decode()
    return blobs


def _relative(path: Path, start: Path) -> str | None:
    try:
        return Path(os.path.relpath(os.path.realpath(path), os.path.realpath(start))).as_posix()
    except ValueError:  # pragma: no cover - another drive on Windows
        return None


def _relative_paths(paths: Sequence[Path], start: Path) -> dict[str, Path]:
    """`_relative` of each path, resolving each folder's links once (not once per file)."""
    real_start = os.path.realpath(start)
    folders: dict[Path, str] = {}
    out: dict[str, Path] = {}
    for path in paths:
        if os.path.islink(path):
            real = os.path.realpath(path)
        else:
            folder = folders.get(path.parent)
            if folder is None:
                folder = folders[path.parent] = os.path.realpath(path.parent)
            real = os.path.join(folder, path.name)
        try:
            out[Path(os.path.relpath(real, real_start)).as_posix()] = path
        except ValueError:  # pragma: no cover - another drive on Windows
            continue
    return out


def load_base(
    project: Project, ref: str, cwd: Path | None = None, *, use_cache: bool = True
) -> BaseProject:
    """The project at the merge base of REF and HEAD (raises GitBaseError subclasses).

    Files whose blob is the working tree's are not read at all; the others are
    read from git, and with `use_cache` their meaning may come from the cache.
    """
    here = Path(os.path.abspath(cwd or Path.cwd()))
    toplevel, commit = resolve_base(project.root, ref)
    short = commit[:7]
    prefix = _relative(project.root, toplevel) or "."
    prefix = "" if prefix == "." else prefix + "/"
    tree = _tree(toplevel, commit)
    config_blob = tree.get(prefix + PROJECT_FILE)
    if config_blob is None:
        return BaseProject(ref=ref, commit=commit, config=None)

    catfile = _CatFile(toplevel)
    try:
        (raw_config,) = catfile.read([config_blob])
        name = f"{short}:{prefix}{PROJECT_FILE}"
        yaml = fast_yaml()
        try:
            doc = parse_fast(raw_config, index_key="contacts", yaml=yaml)
        except YamlProblem as problem:
            return _invalid(ref, commit, f"{name}:{problem.line}: {problem.message}")
        config, issues = check_project_config(doc.data, name)
        if config is None:
            return _invalid(ref, commit, f"{name}: {issues[0].message if issues else 'invalid'}")

        unchanged, to_read = _unchanged_or_to_read(project, config, tree, prefix, here)
        contents = catfile.read([tree[prefix + rel] for rel in to_read])
    finally:
        catfile.close()

    # The files that differ from the working tree: what each means may be cached
    # (keyed by its bytes, as for the working tree; the base of a pull request
    # was usually read before, on the base branch).
    cache = open_cache(project.root, config, use_cache)
    read = _read_changed(to_read, contents, f"{short}:{prefix}", cache, yaml, config)
    if isinstance(read, str):
        return _invalid(ref, commit, read)
    docs, digests = read
    contacts, issues, clean = check_contacts_files(config, docs)
    if cache is not None:
        for index, content in digests.items():
            if index in clean:
                cache.put_contacts(content, clean[index])
    if issues:
        first = issues[0]
        return _invalid(ref, commit, f"{first.file}: {first.message}")
    current = _outside(project.desired.contacts, unchanged)
    return BaseProject(
        ref=ref,
        commit=commit,
        config=config,
        contacts=contacts,
        unchanged_files=frozenset(unchanged),
        declared=len(contacts) + len(project.desired.contacts) - len(current),
        current=current,
    )


def _unchanged_or_to_read(
    project: Project, config: ProjectConfig, tree: Mapping[str, str], prefix: str, here: Path
) -> tuple[set[str], list[str]]:
    """The base's contacts files: those whose blob is the working tree's (shown as the
    working tree shows them; not read), and those to read (relative to the project)."""
    files = sorted(
        path[len(prefix) :]
        for path in tree
        if path.startswith(prefix)
        and path[len(prefix) :] != PROJECT_FILE
        and any(glob_matches(pattern, path[len(prefix) :]) for pattern in config.contacts)
    )
    same_meaning = (
        config.custom_fields == project.config.custom_fields
        and config.default_region == project.config.default_region
    )
    current = _relative_paths(project.contact_files, project.root)
    unchanged: set[str] = set()
    to_read: list[str] = []
    for rel in files:
        path = current.get(rel)
        if same_meaning and path is not None and _blob_of(path) == tree[prefix + rel]:
            unchanged.add(display_path(path, here))
        else:
            to_read.append(rel)
    return unchanged, to_read


def _read_changed(
    to_read: Sequence[str],
    contents: Sequence[bytes],
    label: str,
    cache: MeaningCache | None,
    yaml: YAML,
    config: ProjectConfig,
) -> tuple[list[ContactsDoc | KnownFile], dict[int, str]] | str:
    """The files that differ from the working tree, parsed or known from the cache (with
    the digest of each parsed one, by position), or the first YAML problem's message.

    What each means may be cached (keyed by its bytes, as for the working tree;
    the base of a pull request was usually read before, on the base branch).
    """
    docs: list[ContactsDoc | KnownFile] = []
    digests: dict[int, str] = {}
    for rel, raw in zip(to_read, contents, strict=True):
        name = f"{label}{rel}"
        content = file_digest(raw) if cache is not None else ""
        known = cache.contacts(content, name) if cache is not None else None
        if known is None and cache is not None:
            chunked = read_by_chunks(raw, name, content, config, cache, yaml)
            known = chunked.contacts if chunked is not None else None
        if known is not None:
            docs.append(KnownFile(name, known))
            continue
        try:
            parsed = parse_canonical(raw, yaml) or parse_fast(raw, index_key="contacts", yaml=yaml)
        except YamlProblem as problem:
            return f"{name}:{problem.line}: {problem.message}"
        if cache is not None:
            digests[len(docs)] = content
        docs.append(ContactsDoc(name, parsed.data, parsed.item_marks))
    return docs, digests


def _blob_of(path: Path) -> str | None:
    try:
        return blob_id(path.read_bytes())
    except OSError:
        return None


def _invalid(ref: str, commit: str, problem: str) -> BaseProject:
    return BaseProject(ref=ref, commit=commit, config=None, problem=problem)


def current_contacts(project: Project, base: BaseProject) -> tuple[DesiredContact, ...]:
    """The declared contacts to compare with the base: those outside its unchanged files."""
    if base.current is not None:
        return base.current
    return _outside(project.desired.contacts, base.unchanged_files)


def _outside(
    contacts: tuple[DesiredContact, ...], files: Collection[str]
) -> tuple[DesiredContact, ...]:
    """The contacts not declared in one of `files` (one pass, in C)."""
    if not files:
        return contacts
    skipped = map(files.__contains__, _source_files(contacts))
    return tuple(itertools.compress(contacts, map(operator.not_, skipped)))


_source_of = operator.attrgetter("source")
_file_of = operator.attrgetter("file")


def _source_files(contacts: Sequence[DesiredContact]) -> list[str | None]:
    """The file each contact was declared in (None: not from a file), in one pass in C."""
    sources = list(map(_source_of, contacts))
    if any(map(operator.is_, sources, itertools.repeat(None))):
        return [None if source is None else source.file for source in sources]
    return list(map(_file_of, sources))

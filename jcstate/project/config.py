"""Find and load a project: `jcstate.yaml` and its contacts files, with line-numbered errors.

The imperative shell around `jcstate.project.validate`: reads the files (C loader),
hands the parsed documents to the pure checks and, only when they found
something, turns each issue into a `file:line:col` diagnostic by locating it
in the file's node graph. File names in diagnostics are relative to the
current directory, so they can be opened (and GitHub can annotate them) as
printed.
"""

from __future__ import annotations

import contextlib
import fnmatch
import gc
import hashlib
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from jcstate.core import limits
from jcstate.core.model import DesiredContact, Project, ProjectConfig
from jcstate.errors import ConfigError, Diagnostic, ProjectNotFoundError
from jcstate.project.cache import CANONICAL_FACT, MeaningCache, file_digest
from jcstate.project.chunked import read_by_chunks
from jcstate.project.files import leads_out
from jcstate.project.paths import glob_segments, leaves_project
from jcstate.project.validate import (
    SANDBOX_SCHEME,
    ContactsDoc,
    Issue,
    KnownFile,
    build_desired_state,
    check_contacts_files,
    check_project_config,
)
from jcstate.project.yamlio import (
    FastDoc,
    YamlProblem,
    compose_node,
    fast_yaml,
    locate,
    parse_canonical,
    parse_fast,
    read_limited,
    source_text,
)

PROJECT_FILE = "jcstate.yaml"


def find_project_file(project_dir: Path | None = None, cwd: Path | None = None) -> Path:
    """`DIR/jcstate.yaml` for `-C DIR`, else the nearest one in `cwd` or a parent."""
    here = Path(os.path.abspath(cwd or Path.cwd()))
    if project_dir is not None:
        directory = here / project_dir
        if not directory.is_dir():
            raise ProjectNotFoundError(f"project directory {project_dir} does not exist")
        candidate = directory / PROJECT_FILE
        if not candidate.is_file():
            raise ProjectNotFoundError(
                f"no {PROJECT_FILE} in {project_dir} (create one with: jcstate init {project_dir})"
            )
        return Path(os.path.abspath(candidate))
    for directory in (here, *here.parents):
        candidate = directory / PROJECT_FILE
        if candidate.is_file():
            return candidate
    raise ProjectNotFoundError(
        f"no {PROJECT_FILE} in {here} or any parent directory "
        "(create one with: jcstate init, or pick a project with -C DIR)"
    )


def display_path(path: Path, cwd: Path) -> str:
    """How a file is named in messages: relative to the current directory."""
    try:
        return Path(os.path.relpath(path, cwd)).as_posix()
    except ValueError:  # pragma: no cover - another drive on Windows
        return path.as_posix()


_MAGIC = frozenset("*?[")


def _segment_matches(name: str, segment: str) -> bool:
    """One name against one pattern segment, as `glob` does (hidden names need a leading dot)."""
    if not _MAGIC.intersection(segment):
        return name == segment
    if name.startswith(".") and not segment.startswith("."):
        return False
    return fnmatch.fnmatchcase(name, segment)


def _closure(states: Iterable[int], parts: Sequence[str]) -> frozenset[int]:
    """The states reached without reading a name: a `**` may match no folder at all."""
    out: set[int] = set()
    for state in states:
        out.add(state)
        while state < len(parts) and parts[state] == "**":
            state += 1
            out.add(state)
    return frozenset(out)


def _match(base: str, parts: Sequence[str]) -> Iterator[str]:
    """The paths under `base` matching the pattern segments `parts`, in ONE walk.

    The walk carries the set of pattern positions still possible at each
    folder (an NFA over the segments), so each folder is listed once however
    many `**` the pattern has: the cost is linear in the folders visited, not
    exponential in the count of `**`. `**` skips hidden folders and files; a
    symlinked folder is followed, but `**` does not enter a folder whose
    resolved path is already on the current walk, so a link loop ends.
    """
    end = len(parts)

    def visit(directory: str, states: frozenset[int], on_walk: frozenset[str]) -> Iterator[str]:
        if end in states:
            yield directory
        if all(state == end for state in states):
            return
        try:
            entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
        except OSError:
            return
        for entry in entries:
            name = entry.name
            following: set[int] = set()
            for state in states:
                if state == end:
                    continue
                segment = parts[state]
                if segment == "**":
                    if not name.startswith("."):
                        following.add(state)
                elif _segment_matches(name, segment):
                    following.add(state + 1)
            if not following:
                continue
            reached = _closure(following, parts)
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if not is_dir:
                if end in reached:
                    yield entry.path
                continue
            real = os.path.realpath(entry.path)
            if real in on_walk:
                # A link loop: `**` does not go round again; literal segments may.
                following = {state for state in following if parts[state] != "**"}
                if not following:
                    if end in reached:
                        yield entry.path
                    continue
                reached = _closure(following, parts)
            yield from visit(entry.path, reached, on_walk | {real})

    yield from visit(base, _closure({0}, parts), frozenset({os.path.realpath(base)}))


def expand_globs(
    root: Path, patterns: Sequence[str], exclude: Path
) -> tuple[list[Path], list[int]]:
    """The files the globs match (sorted, each once) and the indexes of globs matching none.

    "Once" is by resolved path: a file reached directly and through a symlink
    (or twice through looping links) is read a single time.
    """
    found: dict[str, Path] = {}
    empty: list[int] = []
    excluded = os.path.realpath(exclude)
    for index, pattern in enumerate(patterns):
        matched = False
        if leaves_project(pattern):
            continue  # validate refuses it at its line; never read outside the project
        for name in sorted(set(_match(str(root), glob_segments(pattern)))):
            path = Path(os.path.abspath(name))
            if not path.is_file():
                continue
            real = os.path.realpath(path)
            if real == excluded:
                continue
            matched = True
            known = found.get(real)
            if known is None or path.as_posix() < known.as_posix():
                found[real] = path
        if not matched:
            empty.append(index)
    return sorted(found.values(), key=lambda path: path.as_posix()), empty


def _diagnostics(issues: Iterable[Issue], files: dict[str, Path]) -> list[Diagnostic]:
    """Locate each issue in its file (composing each file at most once)."""
    nodes: dict[str, object] = {}
    out: list[Diagnostic] = []
    for issue in issues:
        message = issue.message
        if issue.mark is not None and issue.quote is None:
            line, col = issue.mark
        else:
            if issue.file not in nodes:
                try:
                    nodes[issue.file] = compose_node(read_limited(files[issue.file]))
                except (YamlProblem, OSError, KeyError):
                    nodes[issue.file] = None
            node = nodes[issue.file]
            line, col = issue.mark or locate(node, issue.path, issue.where)  # type: ignore[arg-type]
            if issue.quote is not None:
                key, fallback = issue.quote
                written = source_text(node, issue.path)  # type: ignore[arg-type]
                message += f' (write: {key}: "{fallback if written is None else written}")'
        out.append(Diagnostic(issue.file, line, col, message))
    return out


def _source_issues(data: Any, file: str) -> list[Issue]:
    """`check_sources`, imported only for a project that has `sources:` (a faster start)."""
    if not isinstance(data, dict) or not isinstance(data.get("sources"), dict):
        return []
    from jcstate.project.sources.config import check_sources

    return check_sources(data, file)


def _sandbox_link_issues(config: ProjectConfig, root: Path, file: str) -> list[Issue]:
    """`api.url: sandbox://PATH` with a committed symlink on the way that leads out.

    The client creates the database's folder and SQLite opens the file through
    any link, so a branch could make jcstate write a database anywhere. (A
    PATH written outside the project is refused by `check_project_config`;
    `--api-url` is the user's own and is not checked.)
    """
    url = config.api.url
    if not url.startswith(SANDBOX_SCHEME) or leaves_project(url[len(SANDBOX_SCHEME) :]):
        return []
    reason = leads_out(root / url[len(SANDBOX_SCHEME) :], root)
    if reason is None:
        return []
    message = f"api.url {url!r}: {reason}; remove the link, or name the database with --api-url"
    return [Issue(file, ("api", "url"), message)]


def meaning_inputs(config: ProjectConfig) -> dict[str, Any]:
    """The parts of `jcstate.yaml` that change what a contacts file means.

    The one place the cache key's config part is gathered (`cache.make_salt`):
    every setting that the checks of a contacts file read belongs here, so a
    change to it makes every cached meaning a miss. (`rules:` are not: they
    are evaluated on the loaded contacts, after the cache, on every run. A
    setting that one day changes what a file's own checks find goes here.)
    """
    return {
        "default_region": config.default_region,
        "custom_fields": {
            key: definition.model_dump(mode="json")
            for key, definition in sorted(config.custom_fields.items())
        },
        "ownership_field": config.ownership.field if config.ownership else None,
        "limits": {
            "text": limits.MAX_TEXT_LENGTH,
            "integers": [limits.MIN_INTEGER, limits.MAX_INTEGER],
        },
    }


def open_cache(root: Path, config: ProjectConfig, use_cache: bool = True) -> MeaningCache | None:
    """The meaning cache of this project (None when off: `--no-cache`, or no usable folder)."""
    return MeaningCache.open(root, meaning_inputs(config), enabled=use_cache)


def load_project(
    project_dir: Path | None = None, cwd: Path | None = None, *, use_cache: bool = True
) -> Project:
    """Load and validate a project; raise `ConfigError` with every problem found.

    With `use_cache`, a contacts file whose bytes were read valid before (same
    `jcstate.yaml` meaning, same jcstate) is not parsed or checked again.
    """
    with _no_cycle_collection():
        return _load_project(project_dir, cwd, use_cache)


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector paused while a load builds its (acyclic) values.

    A load creates a few objects per contact and frees almost none, which
    makes the collector walk the growing heap again and again (about a third
    of a warm load). Reference counting still frees everything; the collector
    resumes, as it was, when the load ends.

    A load that succeeds then freezes what it built (`gc.freeze`): the project
    lives as long as the command, and the collector, resuming with every
    object of the load in its youngest generation, would otherwise walk them
    all three times over (youngest, middle, then a full collection during the
    fetch that follows): 0.1 s at 100,000 contacts. Frozen objects are still
    freed by reference counting; the command's end unfreezes them
    (`jcstate.cli`), so a process that runs many commands keeps collecting.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        gc.freeze()
    finally:
        if was_enabled:
            gc.enable()


def _load_project(project_dir: Path | None, cwd: Path | None, use_cache: bool) -> Project:
    here = Path(os.path.abspath(cwd or Path.cwd()))
    config_path = find_project_file(project_dir, here)
    root = config_path.parent
    config_name = display_path(config_path, here)
    files: dict[str, Path] = {config_name: config_path}
    yaml = fast_yaml()
    digest = hashlib.sha256()

    raw, config_doc = _read_config(config_path, config_name, yaml)
    digest.update(b"jcstate.yaml\0" + raw + b"\0")
    config_raw, raw = raw, b""

    config, issues = check_project_config(config_doc.data, config_name)
    issues.extend(_source_issues(config_doc.data, config_name))
    if config is None:
        raise ConfigError(_diagnostics(issues, files))
    issues.extend(_sandbox_link_issues(config, root, config_name))

    contact_paths, empty_globs = expand_globs(root, config.contacts, config_path)
    issues.extend(_empty_glob_issues(config, config_doc, config_name, empty_globs))

    cache = open_cache(root, config, use_cache)
    diagnostics: list[Diagnostic] = []
    docs: list[ContactsDoc | KnownFile] = []
    digests: dict[int, str] = {}  # docs index -> sha256 of a parsed file, to store it
    shaped: set[int] = set()  # docs read in the exact form fmt writes
    exact: dict[int, tuple[str, frozenset[int]]] = {}  # docs index -> canonical_items
    chunk_lines: dict[str, tuple[str, frozenset[int]]] = {}  # files read by chunks
    for path in contact_paths:
        name = display_path(path, here)
        files[name] = path
        try:
            raw = read_limited(path)
            doc, content, canonical, items = _contacts_doc(
                raw, name, cache, yaml, config, chunk_lines
            )
            _note_parsed(len(docs), content, canonical, items, digests, shaped, exact)
            docs.append(doc)
        except YamlProblem as problem:
            diagnostics.append(Diagnostic(name, problem.line, problem.col, problem.message))
            continue
        except OSError as exc:
            diagnostics.append(Diagnostic(name, 1, 1, f"cannot read: {exc.strerror}"))
            continue
        digest.update(
            path.relative_to(root).as_posix().encode()
            if path.is_relative_to(root)
            else path.as_posix().encode()
        )
        digest.update(b"\0" + raw + b"\0")
        del raw

    known_phones = cache.known_phones() if digests and cache is not None else None
    contacts, contact_issues, clean = check_contacts_files(config, docs, known_phones)
    if cache is not None and digests:
        _store_meanings(cache, docs, digests, shaped, clean)
        if clean and not contact_issues and not diagnostics:
            cache.put_phones((contact.phone for contact in contacts), known_phones)
    issues.extend(contact_issues)
    rule_marks, rule_problems = _checked_rules(config_raw, config, config_name)
    if issues or diagnostics or rule_problems:
        raise ConfigError([*rule_problems, *diagnostics, *_diagnostics(issues, files)])

    return Project(
        root=root,
        config_path=config_path,
        config=config,
        contact_files=tuple(contact_paths),
        desired=build_desired_state(config, contacts),
        digest=digest.hexdigest(),
        rule_marks=rule_marks,
        config_name=config_name,
        canonical_lines={**_canonical_lines(docs, exact, clean), **chunk_lines},
    )


def _checked_rules(
    raw: bytes, config: ProjectConfig, file: str
) -> tuple[tuple[tuple[int, int], ...], list[Diagnostic]]:
    """Where each rule of `rules:` is written, and their problems (`project.rules.check_rules`).

    The rules engine (CEL) is imported only for a project that has rules.
    """
    if not config.rules:
        return (), []
    from jcstate.project.rules import check_rules

    rules, problems = check_rules(raw, config, file)
    return rules.marks, problems


def _canonical_lines(
    docs: Sequence[ContactsDoc | KnownFile],
    exact: Mapping[int, tuple[str, frozenset[int]]],
    clean: Mapping[int, Sequence[DesiredContact]],
) -> dict[str, tuple[str, frozenset[int]]]:
    """`Project.canonical_lines`: per parsed file, its contacts read exactly as fmt writes them.

    A contact counts when the line reader took it in the canonical form and
    its phone is written as the E.164 form the checks worked out.
    """
    out: dict[str, tuple[str, frozenset[int]]] = {}
    for index, (content, items) in exact.items():
        doc, contacts = docs[index], clean.get(index)
        if not isinstance(doc, ContactsDoc) or not isinstance(doc.data, dict):
            continue
        entries = doc.data.get("contacts")
        if not isinstance(entries, list) or contacts is None or len(contacts) != len(entries):
            continue
        lines = frozenset(
            doc.item_marks[number][0]
            for number in items
            if isinstance(entries[number], dict)
            and entries[number].get("phone") == contacts[number].phone
        )
        out[doc.file] = (content, lines)
    return out


def _note_parsed(
    index: int,
    content: str | None,
    canonical: bool,
    items: tuple[str, frozenset[int]] | None,
    digests: dict[int, str],
    shaped: set[int],
    exact: dict[int, tuple[str, frozenset[int]]],
) -> None:
    """Record what the load keeps of the file at `index` of the docs (see `_contacts_doc`)."""
    if items is not None:
        exact[index] = items
    if content is not None:
        digests[index] = content
        if canonical:
            shaped.add(index)


def _contacts_doc(
    raw: bytes,
    name: str,
    cache: MeaningCache | None,
    yaml: YAML,
    config: ProjectConfig,
    chunk_lines: dict[str, tuple[str, frozenset[int]]],
) -> tuple[ContactsDoc | KnownFile, str | None, bool, tuple[str, frozenset[int]] | None]:
    """A contacts file as parsed, or as the cache knows it (whole, or by chunks).

    With it: the digest to cache a parsed one under (None: no cache, or known),
    whether it is in the exact form fmt writes, and the sha256 and numbers of
    the contacts the line reader took in canonical form (None: none). A file
    read by chunks (`chunked.read_by_chunks`) has its sha256 and canonical
    lines put in `chunk_lines`.
    """
    content = None
    if cache is not None:
        content = file_digest(raw)
        known = cache.contacts(content, name)
        if known is not None:
            return KnownFile(name, known), None, False, None
        chunked = read_by_chunks(raw, name, content, config, cache, yaml)
        if chunked is not None:
            chunk_lines[name] = (content, chunked.exact_lines)
            return KnownFile(name, chunked.contacts), None, False, None
    parsed = parse_canonical(raw, yaml) or parse_fast(raw, index_key="contacts", yaml=yaml)
    doc = ContactsDoc(name, parsed.data, parsed.item_marks)
    items = (
        (content or file_digest(raw), parsed.canonical_items) if parsed.canonical_items else None
    )
    return doc, content, content is not None and parsed.canonical_shape, items


def _read_config(config_path: Path, config_name: str, yaml: YAML) -> tuple[bytes, FastDoc]:
    """jcstate.yaml's bytes and its parse; a ConfigError naming the place when it has none."""
    try:
        raw = read_limited(config_path)
        return raw, parse_fast(raw, index_key="contacts", yaml=yaml)
    except YamlProblem as problem:
        raise ConfigError(
            [Diagnostic(config_name, problem.line, problem.col, problem.message)]
        ) from None
    except OSError as exc:
        raise ConfigError([Diagnostic(config_name, 1, 1, f"cannot read: {exc.strerror}")]) from None


def _empty_glob_issues(
    config: ProjectConfig, config_doc: FastDoc, config_name: str, empty_globs: Iterable[int]
) -> list[Issue]:
    """A contacts glob that matches no file is an error, at its line."""
    issues: list[Issue] = []
    for index in empty_globs:
        mark = config_doc.item_marks[index] if index < len(config_doc.item_marks) else None
        message = f"contacts glob {config.contacts[index]!r} matches no file"
        issues.append(Issue(config_name, ("contacts", index), message, "item", mark))
    return issues


def _store_meanings(
    cache: MeaningCache,
    docs: Sequence[ContactsDoc | KnownFile],
    digests: Mapping[int, str],
    shaped: set[int],
    clean: Mapping[int, tuple[DesiredContact, ...]],
) -> None:
    """Cache what each parsed file that checked clean means (and its canonical form)."""
    for index, content in digests.items():
        if index in clean:
            cache.put_contacts(content, clean[index])
            doc = docs[index]
            if index in shaped and isinstance(doc, ContactsDoc):
                _remember_canonical(cache, content, doc, clean[index])


def _remember_canonical(
    cache: MeaningCache, content: str, doc: ContactsDoc, contacts: Sequence[DesiredContact]
) -> None:
    """Record that `jcstate fmt` would keep this file as it is, when that is certain.

    It is: every contact was read in the exact form fmt writes, and each phone
    is written as its E.164 form (so `fmt --check` right after a cold
    `validate`, or in the same run, reads nothing again).
    """
    entries = doc.data.get("contacts") if isinstance(doc.data, dict) else None
    if not isinstance(entries, list) or len(entries) != len(contacts):
        return
    for entry, contact in zip(entries, contacts, strict=True):
        if not isinstance(entry, dict) or entry.get("phone") != contact.phone:
            return
    cache.put_fact(CANONICAL_FACT, content)


def load_config_only(
    project_dir: Path | None = None, cwd: Path | None = None
) -> tuple[Path, ProjectConfig]:
    """Just `jcstate.yaml`, validated (for commands that need no contacts)."""
    here = Path(os.path.abspath(cwd or Path.cwd()))
    config_path = find_project_file(project_dir, here)
    name = display_path(config_path, here)
    try:
        raw = read_limited(config_path)
        doc = parse_fast(raw)
    except YamlProblem as problem:
        raise ConfigError([Diagnostic(name, problem.line, problem.col, problem.message)]) from None
    config, issues = check_project_config(doc.data, name)
    issues.extend(_source_issues(doc.data, name))
    if config is not None:
        issues.extend(_sandbox_link_issues(config, config_path.parent, name))
    if config is None or issues:
        raise ConfigError(_diagnostics(issues, {name: config_path}))
    rule_problems = _checked_rules(raw, config, name)[1]
    if rule_problems:
        raise ConfigError(rule_problems)
    return config_path, config

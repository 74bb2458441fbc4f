"""YAML in and out: the fast C loader for validation, round-trip mode for edits.

Reading goes through ruamel.yaml's C parser (``YAML(typ="safe", pure=False)``),
or its pure-Python one without ruamel.yaml.clib or with ``JCSTATE_PURE_YAML=1``
(same values and error positions; `_PureLoader` gives it the C loader's shape),
with a resolver that caches its version lookup (stock ruamel recomputes it for
every scalar, about a third of the load time). Only safe tags are constructed.

Hostile input is refused before it costs much: a file larger than
`MAX_FILE_BYTES` is not read, and a document whose aliases expand to far more
nodes than it contains ("billion laughs") or refer to themselves is rejected
on the composed node graph, before any value is built from it.

Positions are only computed when something is wrong: `locate` re-composes the
file (C parser, no construction) and walks the node graph to the offending
key, value or list item.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import math
import os
import re
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import ruamel.yaml.main as _ruamel_main
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import Composer, ComposerError
from ruamel.yaml.constructor import ConstructorError, SafeConstructor
from ruamel.yaml.docinfo import DocInfo
from ruamel.yaml.docinfo import version as docinfo_version
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.resolver import BaseResolver, VersionedResolver
from ruamel.yaml.scalarbool import ScalarBoolean
from ruamel.yaml.scalarstring import DoubleQuotedScalarString
from ruamel.yaml.tag import Tag

from jcstate.core.model import CONTACT_KEYS

#: ruamel.yaml.clib's parser (scanner, parser and composer in C); None without the wheel.
CParser: Any = getattr(_ruamel_main, "CParser", None)

#: Files above this size are refused unread (a contacts file of 100,000 contacts is ~18 MB).
MAX_FILE_BYTES = 50 * 1024 * 1024

#: Alias expansion allowed on top of a document's own node count (see `check_aliases`).
ALIAS_EXPANSION_BASE = 100_000
ALIAS_EXPANSION_FACTOR = 4

#: Width for round-trip dumps: never fold long values.
_WIDE = 4096

#: What a `# yaml-language-server` line looks like (fmt keeps it at the top).
SCHEMA_COMMENT_PREFIX = "# yaml-language-server: $schema="

Where = Literal["key", "value", "item"]
DocPath = tuple[str | int, ...]


class YamlProblem(Exception):
    """A file that cannot be read as YAML, with a 1-based line and column."""

    def __init__(self, message: str, line: int = 1, col: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col


class _CachedVersionResolver(VersionedResolver):
    """The YAML 1.2 resolver, with its rule table built once per document.

    Stock ruamel looks the processing version up (through a chain of failing
    attribute lookups) for every scalar. That version cannot change within a
    load (the C parser passes no ``%YAML`` directive on, and `processing_version`
    ignores it on the pure one), so a per-first-character table is exactly
    equivalent, and much cheaper.
    """

    _jcstate_rules: dict[str, list[tuple[Any, Any]]] | None = None
    _jcstate_memo: dict[str, Any] | None = None

    def _rules_for(self, first: str) -> list[tuple[Any, Any]]:
        table = self._jcstate_rules
        if table is None:
            table = self._jcstate_rules = {}
        rules = table.get(first)
        if rules is None:
            stock = self.versioned_resolver
            rules = table[first] = [*stock.get(first, []), *stock.get(None, [])]
        return rules

    @property
    def processing_version(self) -> Any:
        # YAML 1.2 always: the C parser never passes a ``%YAML`` directive on, and
        # the pure one must not either (it would also stick to the YAML object).
        return _YAML_1_2

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode and implicit[0] and not self.yaml_path_resolvers:
            # Keys and many values repeat in every contact: remember short ones.
            memo = self._jcstate_memo
            if memo is None:
                memo = self._jcstate_memo = {}
            tag = memo.get(value)
            if tag is not None:
                return tag
            tag = self.DEFAULT_SCALAR_TAG
            for suffix, regexp in self._rules_for(value[:1]):
                if regexp.match(value):
                    tag = Tag(suffix=suffix)
                    break
            if len(value) <= _MEMO_VALUE_CHARS and len(memo) < _MEMO_ENTRIES:
                memo[value] = tag
            return tag
        return super().resolve(kind, value, implicit)


_YAML_1_2 = (1, 2)
_MEMO_VALUE_CHARS = 40
_MEMO_ENTRIES = 20_000


class _SafeConstructor(SafeConstructor):
    """SafeConstructor with a shortcut for plain strings (most of a contacts file).

    For a scalar resolved to the default ``str`` tag, stock ruamel formats the
    tag, looks up `construct_yaml_str` and ends up returning ``node.value``;
    this returns it directly.
    """

    def construct_non_recursive_object(self, node: Any, tag: str | None = None) -> Any:
        if tag is None and node.ctag is _DEFAULT_STR_TAG and type(node) is ScalarNode:
            return node.value
        try:
            return super().construct_non_recursive_object(node, tag)
        except (ValueError, OverflowError, LookupError, TypeError) as exc:
            # A scalar shaped like a date or a number that is none (2024-02-30, an
            # integer of 5,000 digits), or one its explicit tag cannot build
            # (``!!bool maybe``, ``!!int ""``: stock ruamel fails with a KeyError or
            # an IndexError) is a problem in the file, reported at its place.
            if not isinstance(node, ScalarNode):
                raise
            reason = str(exc) if isinstance(exc, ValueError | OverflowError) else "invalid value"
            raise ConstructorError(
                None,
                None,
                f"{node.value[:40]!r} cannot be read as {_tag_name(node.tag)}: {reason}",
                node.start_mark,
            ) from None

    def check_mapping_key(
        self, node: Any, key_node: Any, mapping: Any, key: Any, value: Any
    ) -> bool:
        # A list key becomes a tuple, which only hashes if everything in it does
        # (``? [a, [b]]`` does not): refuse it at the key instead of a TypeError.
        _check_hashable(node, key_node, key)
        return bool(super().check_mapping_key(node, key_node, mapping, key, value))

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_mapping(node, deep=deep)
        except TypeError:
            # With a merge key (``<<``) keys are stored unchecked: find the one at fault.
            for key_node, _ in [*(getattr(node, "merge", None) or []), *node.value]:
                key = self.construct_object(key_node, deep=True)
                _check_hashable(node, key_node, tuple(key) if isinstance(key, list) else key)
            raise

    def flatten_mapping(self, node: Any) -> Any:
        # Only `<<` (merge) and `=` (value) keys need flattening; both resolve to
        # their own tags, so a mapping whose keys are all plain strings has none.
        for key_node, _ in node.value:
            if key_node.ctag is not _DEFAULT_STR_TAG:
                self._refuse_duplicate_own_keys(node)
                return super().flatten_mapping(node)
        return None

    def _refuse_duplicate_own_keys(self, node: Any) -> None:
        """A key written twice in one mapping is an error, a ``<<`` merge beside it or not.

        Stock ruamel stops checking a mapping's own keys once it holds a merge
        key (``first_name: Ann`` then ``first_name: Bob`` beside ``<<: *base``
        silently gives Bob); the round-trip loader refuses it. So does this.
        """
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if str(key_node.tag) == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, list):
                key = tuple(key)
            _check_hashable(node, key_node, key)
            if key in seen:
                raise ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f'found duplicate key "{key}"',
                    key_node.start_mark,
                )
            seen.add(key)


_DEFAULT_STR_TAG = BaseResolver.DEFAULT_SCALAR_TAG


def _check_hashable(node: Any, key_node: Any, key: Any) -> None:
    try:
        hash(key)
    except TypeError:
        raise ConstructorError(
            "while constructing a mapping",
            node.start_mark,
            "found unhashable key",
            key_node.start_mark,
        ) from None


def _tag_name(tag: Any) -> str:
    return str(tag).replace("tag:yaml.org,2002:", "!!")


class _StrictComposer(Composer):
    """The pure composer, refusing a reused anchor as the C composer does (stock only warns)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        anchor = getattr(event, "anchor", None)
        if anchor is not None and type(event) is not AliasEvent and anchor in self.anchors:
            raise ComposerError(
                "found duplicate anchor; first occurrence",
                self.anchors[anchor].start_mark,
                "second occurrence",
                event.start_mark,
            )
        return super().compose_node(parent, index)


def c_loader_available() -> bool:
    return CParser is not None


#: Set to 1 to read YAML with ruamel's pure-Python parser even when the C one is installed.
PURE_ENV = "JCSTATE_PURE_YAML"


def c_loader_in_use() -> bool:
    """Whether `fast_yaml` reads with the C parser (installed, and not turned off by `PURE_ENV`)."""
    return CParser is not None and os.environ.get(PURE_ENV) != "1"


def fast_yaml(*, pure: bool | None = None) -> YAML:
    """A safe loader using the C parser when ruamel.yaml.clib is installed (see `PURE_ENV`).

    `pure=True` asks for the pure-Python parser whatever is installed.
    """
    yaml = YAML(typ="safe", pure=True if pure else not c_loader_in_use())
    yaml.Resolver = _CachedVersionResolver
    yaml.Constructor = _SafeConstructor
    yaml.Composer = _StrictComposer  # used by the pure parser only
    return yaml


class _PureLoader:
    """ruamel's pure-Python reader, parser, composer and constructor behind one object.

    The C loader is all of these at once (``get_event``, ``get_single_node``,
    ``construct_document``, ``resolve``, ``dispose``); this offers the same
    methods so the rest of the module does not care which parser reads.
    """

    def __init__(self, yaml: YAML, raw: bytes) -> None:
        # What YAML.load does before reading (the scanner records %YAML directives there).
        yaml.doc_infos.append(DocInfo(requested_version=docinfo_version(yaml.version)))
        yaml.tags = {}
        self._version = yaml.version
        try:
            # The pure reader decodes the whole input here, so bad UTF-8 fails now.
            constructor, parser = yaml.get_constructor_parser(raw)
        except YAMLError as exc:
            yaml.doc_infos.clear()
            yaml.reader.reset_reader()
            raise _problem_from(exc, raw) from None
        self._yaml = yaml
        self._parser = parser
        resolver = yaml.resolver
        # The resolver lives as long as the YAML object: start each document afresh.
        resolver._jcstate_rules = None
        resolver._jcstate_memo = None
        self.get_event = parser.get_event
        self.get_single_node = yaml.composer.get_single_node
        self.construct_document = constructor.construct_document
        self.construct_non_recursive_object = constructor.construct_non_recursive_object
        self.resolve = resolver.resolve

    def dispose(self) -> None:
        self._parser.dispose()
        self._yaml.reader.reset_reader()
        self._yaml.scanner.reset_scanner()
        self._yaml.composer.anchors = {}
        self._yaml.constructor.constructed_objects = {}
        self._yaml.constructor.recursive_objects = {}
        self._yaml.doc_infos.clear()
        self._yaml.version = self._version  # a %YAML directive sets it


def _open_loader(yaml: YAML, raw: bytes) -> Any:
    """The C loader for `raw`, or `_PureLoader` when `yaml` reads with the pure parser."""
    if yaml.Parser is CParser and CParser is not None:
        loader, _ = yaml.get_constructor_parser(raw)
        return loader
    return _PureLoader(yaml, raw)


def read_limited(path: Path) -> bytes:
    """Read a file, refusing one larger than `MAX_FILE_BYTES` before reading it."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise YamlProblem(
            f"file is {_size(size)}; the limit is {_size(MAX_FILE_BYTES)} per file "
            "(split it into several files)"
        )
    return path.read_bytes()


def _size(count: int) -> str:
    return f"{count / 1024 / 1024:.1f} MB" if count >= 1024 * 1024 else f"{count:,} bytes"


@dataclass(frozen=True)
class FastDoc:
    """A parsed document and the 1-based (line, col) of each item of its indexed list."""

    data: Any
    item_marks: tuple[tuple[int, int], ...] = ()
    #: Read by `parse_canonical` with every contact in the exact form fmt writes
    #: (fmt then keeps the file as it is if each phone is also its E.164 form).
    canonical_shape: bool = False
    #: indices of the items `parse_canonical` read in that exact form (the others
    #: it read as simple YAML)
    canonical_items: frozenset[int] = frozenset()


def _problem_from(exc: YAMLError, raw: bytes = b"") -> YamlProblem:
    if isinstance(exc, MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        text = exc.problem or exc.context or "invalid YAML"
        tag = re.search(r"constructor for the tag '([^']*)'", text)
        if tag:
            name = _tag_name(tag.group(1))
            text = f"unsupported tag '{name}' (only plain YAML is read, no language-specific tags)"
        elif text.startswith("found duplicate key"):
            text = text.split(" with value ")[0].removeprefix("found ")
        elif exc.context == "found duplicate anchor; first occurrence" and exc.context_mark:
            first = exc.context_mark
            text = (
                f"duplicate anchor (first defined at line {first.line + 1}, column "
                f"{first.column + 1}); each anchor name may be defined once per file"
            )
        else:
            text = _LIBYAML_WORDING.get(text, text)
            text = _EXPECTED_BUT.sub(r"did not find expected \1", text)
            if exc.context and exc.problem:
                text = f"{text} ({exc.context})"
        if mark is not None:
            return YamlProblem(f"YAML syntax error: {text}", mark.line + 1, mark.column + 1)
        return YamlProblem(f"YAML syntax error: {text}")
    if isinstance(exc, ReaderError):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as bad:
            before = raw[: bad.start]
            line = before.count(b"\n") + 1
            col = bad.start - (before.rfind(b"\n") + 1) + 1
            return YamlProblem("file is not valid UTF-8 text", line, col)
        return _control_character_problem(raw, exc)
    return YamlProblem(f"cannot read YAML: {exc}")  # pragma: no cover


#: The pure parser's wording of some errors, as libyaml words them (one wording for both).
_LIBYAML_WORDING = {
    "mapping values are not allowed here": "mapping values are not allowed in this context",
}
#: The pure parser's "expected X, but found Y" is libyaml's "did not find expected X".
_EXPECTED_BUT = re.compile(r"^expected (.+?), but (?:found|got) .*$", re.DOTALL)
#: What YAML does not allow in a file, even in quotes (ruamel's reader refuses the same).
_NOT_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


def _control_character_problem(raw: bytes, exc: ReaderError) -> YamlProblem:
    """A character YAML does not allow (NUL, another control), at its real line and column."""
    text = raw.decode("utf-8", errors="replace")
    found = _NOT_PRINTABLE.search(text)
    if found is None:  # pragma: no cover - the reader only refuses what the pattern finds
        return YamlProblem(f"cannot read YAML: {exc.reason}")
    before = text[: found.start()]
    line = before.count("\n") + 1
    col = found.start() - (before.rfind("\n") + 1) + 1
    code = f"U+{ord(found.group()):04X}"
    return YamlProblem(
        f"the file holds a control character ({code}), which YAML does not allow; "
        "remove it (in a double-quoted string, an escape such as \\t writes a tab)",
        line,
        col,
    )


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def check_aliases(root: Node) -> None:
    """Refuse self-referencing aliases and alias expansion far beyond the document's size.

    Counts on the composed node graph, where an alias is a shared node, so the
    cost is linear in the file, never in the expansion.
    """
    cap = 1 << 62  # saturate: a deep doubling chain must not make huge integers
    expanded: dict[int, int] = {}
    in_progress: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in expanded:
            continue
        children = _children(node)
        if not children_done:
            in_progress.add(key)
            stack.append((node, True))
            for child in children:
                if id(child) in in_progress:
                    line, col = child.start_mark.line + 1, child.start_mark.column + 1
                    raise YamlProblem(
                        "YAML alias refers to itself (recursive structure)", line, col
                    )
                if id(child) not in expanded:
                    stack.append((child, False))
            continue
        in_progress.discard(key)
        expanded[key] = min(cap, 1 + sum(expanded[id(child)] for child in children))
    unique = len(expanded)
    total = expanded[id(root)]
    allowed = ALIAS_EXPANSION_BASE + ALIAS_EXPANSION_FACTOR * unique
    if total > allowed:
        shown = f"{total:,}" if total < cap else "astronomically many"
        raise YamlProblem(
            f"YAML aliases expand {unique:,} nodes into {shown} nodes "
            f"(more than {allowed:,}); refusing to load (alias bomb?)"
        )


#: Text that aliases may repeat: this many characters, plus `ALIAS_TEXT_FACTOR`
#: times the file's size (see `check_alias_text`).
ALIAS_TEXT_BASE = 1024 * 1024
ALIAS_TEXT_FACTOR = 4


def alias_text_limit(file_size: int) -> int:
    """Characters of scalar text aliases may add to a document of `file_size` bytes."""
    return ALIAS_TEXT_BASE + ALIAS_TEXT_FACTOR * file_size


def check_alias_text(raw: bytes, yaml: YAML | None = None) -> None:
    """Refuse aliases that repeat more text than `alias_text_limit` allows, at the alias.

    The node count of `check_aliases` does not see size: one 100 KB scalar
    aliased 5,000 times is 5,000 nodes, and 500 MB once a command prints or
    normalises it. This counts the characters of every scalar an alias
    repeats (the whole text under an aliased collection), on the parser's
    events, and stops at the first alias past the limit. Linear in the file.
    """
    limit = alias_text_limit(len(raw))
    loader = _open_loader(yaml or fast_yaml(), raw)
    texts: dict[str, int] = {}
    open_starts: list[tuple[str | None, int]] = []
    text = 0
    extra = 0
    try:
        while True:
            event = loader.get_event()
            kind = type(event)
            if kind is ScalarEvent:
                text += len(event.value)
                if event.anchor is not None:
                    texts[event.anchor] = len(event.value)
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                open_starts.append((event.anchor, text))
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                anchor, start = open_starts.pop()
                if anchor is not None:
                    texts[anchor] = text - start
            elif kind is AliasEvent:
                added = texts.get(event.anchor)
                if added is None:
                    return  # undefined or recursive: composing reports it
                text += added
                extra += added
                if extra > limit:
                    mark = event.start_mark
                    raise YamlProblem(
                        f"YAML aliases repeat more than {limit:,} characters of text "
                        f"({ALIAS_TEXT_BASE:,} plus {ALIAS_TEXT_FACTOR} times the file's size); "
                        "refusing to load (alias bomb?)",
                        mark.line + 1,
                        mark.column + 1,
                    )
            elif kind is StreamEndEvent:
                return
    except YAMLError:
        return  # a syntax error before the limit: the load itself reports it
    finally:
        loader.dispose()


def check_nesting(raw: bytes, yaml: YAML | None = None) -> None:
    """Refuse documents nested deeper than `MAX_DEPTH` before a composer sees them.

    The C composer recurses once per level and crashes the process (stack
    overflow) some ten thousand levels down. Two cheap scans bound the depth
    from above: a block level needs one more indentation or indicator character
    (space, tab, ``-``, ``?``, ``:``) at the start of a line and a flow level one
    more unclosed bracket. Only when that bound is past the limit (brackets and
    indentation inside strings count too) is the real depth measured, on the
    parser's events (the parsers keep their own stack, they do not recurse), and
    the document refused at the collection that opens level ``MAX_DEPTH + 1``.
    """
    prefix = b"\n" + raw.translate(_INDENT_AS_SPACE)
    if _DEEP_PREFIX not in prefix:
        brackets = raw.translate(None, _NOT_BRACKETS)
        if len(brackets) < MAX_DEPTH:
            return
        deepest = max(itertools.accumulate(map(_BRACKET_STEP.__getitem__, brackets)))
        if deepest < MAX_DEPTH:
            return
    _check_event_depth(raw, yaml or fast_yaml())


def _check_event_depth(raw: bytes, yaml: YAML) -> None:
    loader = _open_loader(yaml, raw)
    depth = 0
    try:
        while True:
            event = loader.get_event()
            kind = type(event)
            if kind is MappingStartEvent or kind is SequenceStartEvent:
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    raise YamlProblem(
                        f"YAML nesting is deeper than {MAX_DEPTH} levels; refusing to load",
                        mark.line + 1,
                        mark.column + 1,
                    )
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                depth -= 1
            elif kind is StreamEndEvent:
                return
    except YAMLError:
        return  # a syntax error before the limit: the load itself reports it
    finally:
        loader.dispose()


#: Deepest nesting accepted (a contacts file needs 4).
MAX_DEPTH = 400
_INDENT_AS_SPACE = bytes.maketrans(b"\t-?:", b"    ")
_DEEP_PREFIX = b"\n" + b" " * MAX_DEPTH
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_BRACKET_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def _compose(raw: bytes, yaml: YAML | None = None) -> tuple[YAML, Any, Node | None]:
    check_nesting(raw, yaml)
    return _compose_unchecked(raw, yaml)


def _compose_unchecked(raw: bytes, yaml: YAML | None = None) -> tuple[YAML, Any, Node | None]:
    yaml = yaml or fast_yaml()
    loader = _open_loader(yaml, raw)
    try:
        root = loader.get_single_node()
    except YAMLError as exc:
        loader.dispose()
        raise _problem_from(exc, raw) from None
    except RecursionError:
        loader.dispose()
        raise YamlProblem("YAML nesting is too deep") from None
    return yaml, loader, root


def parse_fast(raw: bytes, *, index_key: str | None = None, yaml: YAML | None = None) -> FastDoc:
    """Parse one YAML document safely (C parser, or the pure one: see `fast_yaml`).

    `index_key`: when the document is a mapping whose value at that key is a
    list, the position of each list item is returned as well.

    Values are built straight from the parser's events (`_EventBuilder`): no
    node graph, so memory stays close to the size of the data. Anything that
    builder does not reproduce exactly itself (every error, explicit
    collection tags, complex keys, heavy alias use) is handed to the stock
    compose-then-construct path, which is the reference for both values and
    messages.
    """
    yaml = yaml or fast_yaml()
    if _reads_with_c(yaml):
        if not _needs_pure_parser(raw):
            try:
                return _parse_once(raw, index_key, yaml)
            except YamlProblem:
                pass  # the pure parser decides (see `_needs_pure_parser`)
        yaml = fast_yaml(pure=True)
    return _parse_once(raw, index_key, yaml)


#: A ``\\uD800``-``\\uDFFF`` escape (or its ``\\U0000D800`` form) in a double-quoted scalar.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]|\\U0000[dD][89a-fA-F]")
_SURROGATE_ESCAPE_TEXT = re.compile(_SURROGATE_ESCAPE.pattern.decode())


def _check_surrogates(raw: bytes, yaml: YAML) -> None:
    """Refuse a lone surrogate escape (``"\\ud800"``), as libyaml does; stock pure ruamel takes it.

    A lone surrogate is no character: it cannot be written as UTF-8, sent as
    JSON or stored.
    """
    loader = _open_loader(yaml, raw)
    try:
        while True:
            event = loader.get_event()
            kind = type(event)
            if kind is ScalarEvent:
                try:
                    event.value.encode("utf-8")
                except UnicodeEncodeError:
                    mark = event.start_mark
                    text = raw.decode("utf-8", errors="replace")
                    found = _SURROGATE_ESCAPE_TEXT.search(text, getattr(mark, "index", 0))
                    if found is not None:
                        before = text[: found.start()]
                        line = before.count("\n") + 1
                        col = found.start() - (before.rfind("\n") + 1) + 1
                    else:  # pragma: no cover - the escape is what made the surrogate
                        line, col = mark.line + 1, mark.column + 1
                    raise YamlProblem(
                        "YAML syntax error: found invalid Unicode character escape code "
                        "(a lone surrogate; write the character itself)",
                        line,
                        col,
                    ) from None
            elif kind is StreamEndEvent:
                return
    except YAMLError:
        return  # a syntax error: the load itself reports it
    finally:
        loader.dispose()


def _reads_with_c(yaml: YAML) -> bool:
    return CParser is not None and yaml.Parser is CParser


def _needs_pure_parser(raw: bytes) -> bool:
    """Whether the C parser's verdict on `raw` cannot be taken as final.

    ruamel's pure-Python parser is the reference for what a file means: it
    reads YAML 1.2 (libyaml, inside ruamel.yaml.clib, is older), and it is the
    parser of the round-trip loader that `fmt`, `drift --adopt` and `export`
    edit with. The C parser is a fast path: its result stands when it accepts
    a file without tabs. A file it refuses is read again by the pure parser,
    which accepts what YAML 1.2 allows and libyaml does not (a ``:`` inside a
    flow scalar: ``{website: https://acme.example}``) and words every error.
    Tabs are where the two accept different files the other way round
    (libyaml takes a tab before a line's end, or inside a plain key), so a
    file holding a tab is read by the pure parser from the start.
    """
    return b"\t" in raw


def _parse_once(raw: bytes, index_key: str | None, yaml: YAML) -> FastDoc:
    check_nesting(raw, yaml)
    if not _reads_with_c(yaml) and _SURROGATE_ESCAPE.search(raw):
        _check_surrogates(raw, yaml)
    try:
        return _EventBuilder(raw, index_key, yaml).build()
    except _Fallback:
        pass
    return _parse_composed(raw, index_key, yaml)


def _parse_composed(raw: bytes, index_key: str | None, yaml: YAML) -> FastDoc:
    """The reference path: compose the node graph, check it, then construct."""
    if b"*" in raw:  # no alias: nothing repeated
        check_alias_text(raw, yaml)
    yaml, loader, root = _compose_unchecked(raw, yaml)
    try:
        if root is None:
            return FastDoc(None)
        if b"&" in raw:  # no anchor, no alias: skip the walk on the common path
            check_aliases(root)
        marks: tuple[tuple[int, int], ...] = ()
        if index_key is not None and isinstance(root, MappingNode):
            for key_node, value_node in root.value:
                if (
                    isinstance(key_node, ScalarNode)
                    and key_node.value == index_key
                    and isinstance(value_node, SequenceNode)
                ):
                    marks = tuple(
                        (item.start_mark.line + 1, item.start_mark.column + 1)
                        for item in value_node.value
                    )
        try:
            data = loader.construct_document(root)
        except YAMLError as exc:
            raise _problem_from(exc, raw) from None
        except RecursionError:
            raise YamlProblem("YAML nesting is too deep") from None
        return FastDoc(data, marks)
    finally:
        loader.dispose()


class _Fallback(Exception):
    """Input the event builder hands to the reference path, which reproduces it exactly."""


class _Sentinel:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


#: A key still to come (mapping frames), a cache miss.
_NO_KEY: Any = _Sentinel("no key")
_MISSING: Any = _Sentinel("missing")
#: Plain ``<<`` and ``=``: the merge key and the value key, meaningful only as keys.
_MERGE: Any = _Sentinel("merge key")
_VALUE_KEY: Any = _Sentinel("value key")

_MERGE_TAG = "tag:yaml.org,2002:merge"
_VALUE_TAG = "tag:yaml.org,2002:value"
_STR_TAG = "tag:yaml.org,2002:str"
#: Explicit scalar tags the builder constructs itself (any other tag: reference path).
_EXPLICIT_SCALAR_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("int", "float", "bool", "null", "timestamp", "binary")
)
#: Constructed plain scalars remembered per document (all immutable: str, int, float,
#: bool, None, date, datetime), so repeated keys and values share one object.
_PLAIN_CACHE_CHARS = 40
_PLAIN_CACHE_ENTRIES = 50_000


class _EventBuilder:
    """Python values straight from the C parser's events, as the stock safe loader builds them.

    The stock loader composes a node graph of the whole document (a dozen
    objects per scalar, marks included) before constructing anything: about
    ten times the memory and time of the parse itself. This builds each value
    as its events arrive and keeps only the open containers on a stack.

    It reproduces the stock result exactly for what it handles itself: plain
    scalars resolved and constructed by the loader's own resolver and
    constructor, quoted and block scalars as str, explicit scalar tags of the
    core schema, anchors and aliases (shared objects, like the stock loader),
    merge keys (``<<``) and the value key (``=``). Anything else raises
    `_Fallback`, and `parse_fast` re-reads the document the reference way:
    every error (so messages and positions stay those of the stock path),
    explicit collection tags, collections as keys, an indexed list given as an
    alias, and alias expansion beyond the limit counted so far (the reference
    path then refuses it, or loads it if the rest of the document is large
    enough to allow it).

    Alias expansion is counted exactly as `check_aliases` counts it: a node
    counts one, an alias counts the expanded size of its anchored node. The
    running count is checked at every alias, so neither aliases nor merges
    ever cost more than the limit.
    """

    def __init__(self, raw: bytes, index_key: str | None, yaml: YAML) -> None:
        self.raw = raw
        self.index_key = index_key
        self.yaml = yaml

    def build(self) -> FastDoc:
        loader = _open_loader(self.yaml, self.raw)
        try:
            if self.index_key is not None:
                implicit = loader.resolve(ScalarNode, self.index_key, (True, False))
                if implicit is not _DEFAULT_STR_TAG:
                    raise _Fallback  # keys are matched on their text: only the reference does that
            return self._run(loader)
        except YAMLError as exc:
            # Only the parser raises here (construction problems raise _Fallback), at
            # the first bad event: exactly where the reference path stops too.
            raise _problem_from(exc, self.raw) from None
        finally:
            loader.dispose()

    def _run(self, loader: Any) -> FastDoc:
        get_event = loader.get_event
        index_key = self.index_key
        cache: dict[str, Any] = {}
        cache_get = cache.get
        plain = self._plain
        explicit = self._explicit
        anchors: dict[str, tuple[Any, int, tuple[int, int]]] = {}
        open_anchors: set[str] = set()
        # Parent frames: (container, is_map, pending key, item marks, and for the
        # child: its anchor, the expanded count before it, its start mark).
        stack: list[tuple[Any, bool, Any, list[tuple[int, int]] | None, Any, int, Any]] = []
        nodes = 0  # distinct nodes so far
        extra = 0  # nodes added by aliases so far
        spare = ALIAS_EXPANSION_FACTOR - 1
        base = ALIAS_EXPANSION_BASE
        texts: dict[str, int] = {}  # characters of text under each anchor
        text_stack: list[int] = []  # `text` when each open collection started
        text = 0  # characters of scalar text so far, aliases expanded
        text_extra = 0  # of which added by aliases
        text_cap = alias_text_limit(len(self.raw))
        index_marks: tuple[tuple[int, int], ...] = ()

        get_event()  # stream start
        event = get_event()
        if type(event) is StreamEndEvent:
            return FastDoc(None)
        cur: Any = None
        is_map = False
        key: Any = _NO_KEY
        marks: list[tuple[int, int]] | None = None  # the indexed list's item marks
        root: Any = None
        while True:
            event = get_event()
            kind = type(event)
            if kind is ScalarEvent:
                nodes += 1
                text += len(event.value)
                if event.ctag is not None or event.anchor is not None:
                    value = explicit(loader, event, cache, anchors, open_anchors)
                    if event.anchor is not None:
                        texts[event.anchor] = len(event.value)
                elif event.implicit[0]:
                    value = cache_get(event.value, _MISSING)
                    if value is _MISSING:
                        value = plain(loader, event, cache)
                else:
                    value = event.value
                if value is _MERGE or value is _VALUE_KEY:
                    if not is_map or key is not _NO_KEY:
                        raise _Fallback  # the stock loader has no constructor for it
                    if value is _VALUE_KEY:
                        value = "="
                if marks is not None:
                    mark = event.start_mark
                    marks.append((mark.line + 1, mark.column + 1))
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                if event.ctag is not None or (is_map and key is _NO_KEY):
                    raise _Fallback  # an explicit collection tag, a collection as a key
                mark = event.start_mark
                position = (mark.line + 1, mark.column + 1)
                if marks is not None:
                    marks.append(position)
                anchor = event.anchor
                if anchor is not None:
                    if anchor in anchors or anchor in open_anchors:
                        raise _Fallback  # a duplicate anchor
                    open_anchors.add(anchor)
                stack.append((cur, is_map, key, marks, anchor, nodes + extra, position))
                text_stack.append(text)
                marks = (
                    []
                    if (
                        kind is SequenceStartEvent
                        and is_map
                        and len(stack) == 2
                        and key == index_key
                        and type(key) is str
                    )
                    else None
                )
                nodes += 1
                is_map = kind is MappingStartEvent
                cur = {} if is_map else []
                key = _NO_KEY
                continue
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                value = cur
                if is_map and _MERGE in value:
                    value = _merged(value)
                if marks is not None:
                    index_marks = tuple(marks)
                cur, is_map, key, marks, anchor, before, position = stack.pop()
                text_before = text_stack.pop()
                if anchor is not None:
                    open_anchors.discard(anchor)
                    anchors[anchor] = (value, nodes + extra - before, position)
                    texts[anchor] = text - text_before
            elif kind is AliasEvent:
                entry = anchors.get(event.anchor)
                if entry is None:
                    raise _Fallback  # undefined, or an alias inside its own anchor
                value, size, position = entry
                extra += size
                if extra > base + spare * nodes:
                    raise _Fallback  # past the expansion allowed so far
                added = texts[event.anchor]
                text += added
                text_extra += added
                if text_extra > text_cap:
                    raise _Fallback  # past the text allowed: `check_alias_text` says where
                if (
                    (type(value) is list or type(value) is dict)
                    and is_map
                    and (key is _NO_KEY or (len(stack) == 1 and key == index_key))
                ):
                    raise _Fallback  # a collection as a key, or the indexed list by alias
                if marks is not None:
                    marks.append(position)
            elif kind is DocumentEndEvent:
                break
            else:
                raise _Fallback  # pragma: no cover - the parser emits nothing else here

            if is_map:
                if key is _NO_KEY:
                    key = value
                else:
                    if key in cur:
                        raise _Fallback  # a duplicate key
                    cur[key] = value
                    key = _NO_KEY
            elif cur is not None:
                cur.append(value)
            else:
                root = value

        if type(get_event()) is not StreamEndEvent:
            raise _Fallback  # another document
        if nodes + extra > base + ALIAS_EXPANSION_FACTOR * nodes:
            raise _Fallback  # pragma: no cover - the running check catches it first
        return FastDoc(root, index_marks)

    @staticmethod
    def _plain(loader: Any, event: Any, cache: dict[str, Any]) -> Any:
        text = event.value
        tag = loader.resolve(ScalarNode, text, event.implicit)
        if tag is _DEFAULT_STR_TAG:
            value: Any = text
        else:
            name = str(tag)
            if name == _MERGE_TAG:
                value = _MERGE
            elif name == _VALUE_TAG:
                value = _VALUE_KEY
            else:
                value = _construct_scalar(loader, name, event)
        if len(text) <= _PLAIN_CACHE_CHARS and len(cache) < _PLAIN_CACHE_ENTRIES:
            cache[text] = value
        return value

    @staticmethod
    def _explicit(
        loader: Any,
        event: Any,
        cache: dict[str, Any],
        anchors: dict[str, tuple[Any, int, tuple[int, int]]],
        open_anchors: set[str],
    ) -> Any:
        """A scalar with a tag or an anchor (rare)."""
        tag = event.ctag
        if tag is not None and type(tag) is not str:
            tag = str(tag)  # the pure parser gives a Tag, the C one a str
        if tag is None:
            if event.implicit[0]:
                value = cache.get(event.value, _MISSING)
                if value is _MISSING:
                    value = _EventBuilder._plain(loader, event, cache)
            else:
                value = event.value
        elif tag == _STR_TAG:
            value = event.value
        elif tag in _EXPLICIT_SCALAR_TAGS:
            value = _construct_scalar(loader, tag, event)
        else:
            raise _Fallback  # unknown and language tags: the reference path refuses them
        anchor = event.anchor
        if anchor is not None:
            if (
                anchor in anchors
                or anchor in open_anchors
                or value is _MERGE
                or value is _VALUE_KEY
            ):
                raise _Fallback
            mark = event.start_mark
            anchors[anchor] = (value, 1, (mark.line + 1, mark.column + 1))
        return value


def _construct_scalar(loader: Any, tag: str, event: Any) -> Any:
    """A non-str scalar, built by the loader's own SafeConstructor."""
    node = ScalarNode(tag, event.value, event.start_mark, event.end_mark)
    try:
        value = loader.construct_non_recursive_object(node)
    except (YAMLError, ValueError, OverflowError, TypeError):
        raise _Fallback from None
    if isinstance(value, types.GeneratorType):  # pragma: no cover - no scalar constructor yields
        raise _Fallback
    return value


def _merged(mapping: dict[Any, Any]) -> dict[Any, Any]:
    """`mapping` with its ``<<`` merged in, as SafeConstructor.flatten_mapping does.

    Own keys win; of the merged mappings the earlier in a ``<<`` list wins; keys
    come in the stock order (merged ones first, the last merged mapping's first).
    """
    source = mapping.pop(_MERGE)
    if type(source) is dict:
        sources = [source]
    elif type(source) is list and all(type(item) is dict for item in source):
        sources = source
    else:
        raise _Fallback  # not a mapping or list of mappings: the reference path explains
    out: dict[Any, Any] = {}
    for item in reversed(sources):
        out.update(item)
    out.update(mapping)
    return out


def compose_node(raw: bytes) -> Node | None:
    """The composed node graph of a document (positions, no values built).

    Read by the same parser `parse_fast` takes its result from.
    """
    yaml = fast_yaml()
    if _reads_with_c(yaml):
        if not _needs_pure_parser(raw):
            try:
                _, loader, root = _compose(raw, yaml)
            except YamlProblem:
                pass
            else:
                loader.dispose()
                return root
        yaml = fast_yaml(pure=True)
    _, loader, root = _compose(raw, yaml)
    loader.dispose()
    return root


def locate(root: Node | None, path: DocPath, where: Where = "value") -> tuple[int, int]:
    """1-based (line, col) of the key, value or item at `path`; the deepest match found."""
    if root is None:
        return (1, 1)
    node: Node = root
    position = node.start_mark
    for index, step in enumerate(path):
        last = index == len(path) - 1
        if isinstance(node, MappingNode) and isinstance(step, str):
            for key_node, value_node in node.value:
                if isinstance(key_node, ScalarNode) and key_node.value == step:
                    position = (
                        key_node.start_mark if last and where == "key" else value_node.start_mark
                    )
                    node = value_node
                    break
            else:
                break
        elif isinstance(node, SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
            position = node.start_mark
        else:
            break
    return (position.line + 1, position.column + 1)


def source_text(root: Node | None, path: DocPath) -> str | None:
    """The text of the plain scalar at `path` as the file writes it (``+4420…``, ``0x1F``).

    None when `path` is not a plain scalar of the document.
    """
    if root is None:
        return None
    node: Node = root
    for step in path:
        if isinstance(node, MappingNode) and isinstance(step, str):
            for key_node, value_node in node.value:
                if isinstance(key_node, ScalarNode) and key_node.value == step:
                    node = value_node
                    break
            else:
                return None
        elif isinstance(node, SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
        else:
            return None
    if isinstance(node, ScalarNode) and not node.style:  # plain: None, or "" from C
        return str(node.value)
    return None


# ---------------------------------------------------------------------------
# Round-trip mode: edits that keep comments
# ---------------------------------------------------------------------------


def _represent_none(representer: Any, _data: None) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")


#: Line breaks that YAML folds like a newline in a plain or single-quoted scalar (NEL,
#: LINE SEPARATOR, PARAGRAPH SEPARATOR): a text holding one is written double-quoted,
#: where the emitter escapes them (\N, \L, \P), so it reads back as it was.
_FOLDED_BREAKS = re.compile("[\x85\u2028\u2029]")


def _represent_str(representer: Any, data: str) -> Any:
    if _FOLDED_BREAKS.search(data):
        return representer.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    return RoundTripRepresenter.represent_str(representer, data)


class _Yaml12Resolver(VersionedResolver):
    """The round-trip resolver, reading YAML 1.2 whatever ``%YAML`` directive a file has.

    The validating loader ignores the directive (the C parser never passes it
    on), so ``%YAML 1.1`` must not turn ``yes`` into true or ``12:30`` into 750
    for edits only.
    """

    @property
    def processing_version(self) -> Any:
        return _YAML_1_2


def roundtrip_yaml(*, preserve_quotes: bool = True) -> YAML:
    """Round-trip YAML with jcstate's layout: 2-space maps, ``  - `` lists, no folding."""
    yaml = YAML(typ="rt")
    yaml.Resolver = _Yaml12Resolver
    yaml.width = _WIDE
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.preserve_quotes = preserve_quotes
    yaml.representer.add_representer(type(None), _represent_none)
    yaml.representer.add_representer(str, _represent_str)
    return yaml


def load_roundtrip(path: Path) -> Any:
    """Load a file keeping comments, key order and quoting (for in-place edits)."""
    return load_roundtrip_bytes(read_limited(Path(path)))


def load_roundtrip_bytes(raw: bytes, yaml: YAML | None = None) -> Any:
    """`raw` in round-trip mode, meaning exactly what `parse_fast` reads in it.

    Every edit (`fmt`, `drift --adopt`, `export` merges) loads through here,
    so a file means the same to every command: it is first read by the
    validating loader, which raises the very error `validate` reports (a
    reused anchor, a duplicate key beside a ``<<`` merge, a tag, an alias
    bomb, ...), and what the round-trip loader then builds must equal that
    value. A difference would be a bug in one of the two, and is refused
    rather than edited.
    """
    expected = parse_fast(raw).data
    try:
        data = (yaml or roundtrip_yaml()).load(raw)
    except YAMLError as exc:
        raise _problem_from(exc, raw) from None
    if not same_plain(plain_value(data), expected):
        raise YamlProblem(
            "this file reads differently for editing than for validation; "
            "it was left as it is (please report this as a bug)"
        )
    return data


def plain_value(data: Any) -> Any:
    """A round-trip value as plain Python (dict, list, str, int, ...), as `parse_fast` gives it."""
    if isinstance(data, Mapping):
        return {plain_value(key): plain_value(value) for key, value in data.items()}
    if isinstance(data, list):
        return [plain_value(item) for item in data]
    if isinstance(data, tuple):
        return tuple(plain_value(item) for item in data)
    if isinstance(data, bool) or data is None:
        return data
    if isinstance(data, ScalarBoolean):
        return bool(data)
    if isinstance(data, str):
        return str(data)
    if isinstance(data, int):
        return int(data)
    if isinstance(data, float):
        return float(data)
    if isinstance(data, dt.datetime):
        return dt.datetime.fromisoformat(data.isoformat())
    return data


def same_plain(a: Any, b: Any) -> bool:
    """Equal plain values, types included (1 is not True, not 1.0); NaN equals NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_plain(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same_plain(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def dump_roundtrip_str(data: Any, yaml: YAML | None = None) -> str:
    stream = io.StringIO()
    (yaml or roundtrip_yaml()).dump(data, stream)
    return stream.getvalue()


# ---------------------------------------------------------------------------
# Canonical rendering (fmt, export)
# ---------------------------------------------------------------------------

_TOP_KEYS: tuple[str, ...] = ("version", "defaults", "contacts")


def ordered_keys(keys: Iterable[Any], order: Sequence[str]) -> list[Any]:
    """`keys` in canonical `order`; unknown keys after, in their written order."""
    present = list(keys)
    rank = {name: index for index, name in enumerate(order)}
    known = sorted((k for k in present if k in rank), key=lambda k: rank[k])
    return known + [k for k in present if k not in rank]


def sorted_custom_keys(keys: Iterable[Any]) -> list[Any]:
    return sorted(keys, key=str)


def canonical_entry(entry: Mapping[str, Any]) -> CommentedMap:
    """A contact (or defaults) mapping in canonical key order; phone always double-quoted."""
    out = CommentedMap()
    for key in ordered_keys(entry.keys(), CONTACT_KEYS):
        value = entry[key]
        if key == "phone" and isinstance(value, str):
            value = DoubleQuotedScalarString(value)
        elif key == "custom_fields" and isinstance(value, Mapping):
            custom = CommentedMap()
            for custom_key in sorted_custom_keys(value.keys()):
                custom[custom_key] = _plain(value[custom_key])
            value = custom
        else:
            value = _plain(value)
        out[key] = value
    return out


def _plain(value: Any) -> Any:
    """Drop any quoting style so the dumper quotes only when needed."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping):
        mapped = CommentedMap()
        for key, item in value.items():
            mapped[key] = _plain(item)
        return mapped
    if isinstance(value, list | tuple):
        return CommentedSeq([_plain(item) for item in value])
    return value


def render_contacts_file(
    entries: Sequence[Mapping[str, Any]],
    defaults: Mapping[str, Any] | None = None,
    *,
    schema_url: str | None = None,
) -> str:
    """The canonical text of a contacts file (what `jcstate fmt` writes).

    `version: 1`, then `defaults` (if any), then `contacts`; keys in
    `model.CONTACT_KEYS` order, custom-field keys sorted, strings quoted only
    when YAML would otherwise read them as something else, phones always
    double-quoted and written as given.
    """
    document = CommentedMap()
    document["version"] = 1
    if defaults:
        document["defaults"] = canonical_entry(defaults)
    document["contacts"] = CommentedSeq([canonical_entry(entry) for entry in entries])
    text = dump_roundtrip_str(document, roundtrip_yaml(preserve_quotes=False))
    if schema_url:
        text = f"{SCHEMA_COMMENT_PREFIX}{schema_url}\n{text}"
    return text


# ---------------------------------------------------------------------------
# The canonical form, read without a YAML parser
# ---------------------------------------------------------------------------
#
# `jcstate fmt` writes every contacts file in one narrow shape: ``version: 1``,
# ``contacts:``, then each contact as ``  - key: value`` lines in
# `CONTACT_KEYS` order, custom fields sorted, phones double-quoted, every other
# value plain. `parse_canonical` reads exactly that shape line by line (the
# common case: files fmt wrote) and gives the very value and item positions
# `parse_fast` gives; anything else returns None, and the caller takes the
# general path (which also words every error). A contact written in another,
# still simple shape (comments, single quotes, another key order) is read by
# `parse_fast` on its own lines, so a file fmt has not been run on since one
# contact changed still reads quickly. The agreement with `parse_fast` is
# tested on a corpus and on generated files (tests/project/test_canonical.py).

_CANON_RANK: dict[str, int] = {key: rank for rank, key in enumerate(CONTACT_KEYS)}
_CANON_TEXT = re.compile(r"[^\W\d_][\w.@+\-]*(?: [\w.@+\-]+)*\Z")
_CANON_INT = re.compile(r"(?:0|[1-9][0-9]{0,17})\Z")
_CANON_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
#: Words YAML 1.2 reads as something other than text (the canonical form writes
#: ``true``, ``false`` and ``null`` for those values).
_CANON_NOT_TEXT = frozenset(
    {"true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL"}
)
_CANON_WORDS: dict[str, Any] = {"true": True, "false": False, "null": None}
_BAD: Any = _Sentinel("not canonical")

#: One line of a contact that is simple but not canonical: a comment or blank
#: line, or ``key: value`` with a plain, single- or double-quoted one-line value
#: and perhaps a comment; nothing that can span lines, alias or tag.
_SIMPLE_LINE = re.compile(
    r"""(?:[ ]*(?:\#.*)?"""
    r"""|(?:[ ][ ]-[ ]|[ ]{4}|[ ]{6})[A-Za-z_][A-Za-z0-9_]*:"""
    r"""(?:[ ]+(?:[A-Za-z0-9(+](?:[A-Za-z0-9()+\-.@_]|[ ](?![ ]*\#))*"""
    r"""|'[^'\n]*'|"[^"\\\n]*"))?"""
    r"""(?:[ ]+\#.*)?[ ]*)\Z""",
    re.VERBOSE,
)


def _canon_scalar(text: str) -> Any:
    """The value of a plain scalar in the canonical form, or `_BAD` (short ones remembered)."""
    value = _CANON_MEMO.get(text, _MISSING)
    if value is not _MISSING:
        return value
    value = _CANON_WORDS.get(text, _MISSING)
    if value is _MISSING:
        if _CANON_TEXT.match(text):
            value = _BAD if text in _CANON_NOT_TEXT else text
        elif _CANON_INT.match(text):
            value = int(text)
        elif _CANON_DATE.match(text):
            try:
                value = dt.date.fromisoformat(text)
            except ValueError:
                value = _BAD
        else:
            value = _BAD
    if len(text) <= _PLAIN_CACHE_CHARS and len(_CANON_MEMO) < _PLAIN_CACHE_ENTRIES:
        _CANON_MEMO[text] = value  # all immutable: str, int, bool, None, date
    return value


_CANON_MEMO: dict[str, Any] = {}
_CANON_NAMES: set[str] = set()  # custom-field keys already seen to be plain names


def _canon_name(name: str) -> bool:
    if name in _CANON_NAMES:
        return True
    if _CANON_NAME.match(name) and name not in _CANON_NOT_TEXT:
        if len(_CANON_NAMES) < _PLAIN_CACHE_ENTRIES:
            _CANON_NAMES.add(name)
        return True
    return False


_CANON_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _canon_phone(text: str) -> str | None:
    if (
        len(text) > 3
        and text[0] == '"'
        and text[-1] == '"'
        and text[1] == "+"
        and len(text) <= 23
        and text[2:-1].isdigit()
        and text.isascii()
    ):
        return text[1:-1]
    return None


def canonical_item(lines: Sequence[str]) -> dict[str, Any] | None:
    """One contact's lines (the first starts ``  - ``) in the canonical form, as a mapping.

    None when they are not exactly canonical (or hold no phone). Each line is
    split with plain string operations (no pattern per line): this runs for
    every contact of a file.
    """
    item: dict[str, Any] = {}
    last = -1
    count = len(lines)
    index = 0
    rank_of = _CANON_RANK
    scalar = _canon_scalar
    while index < count:
        line = lines[index]
        if not line.startswith("  - " if index == 0 else "    ") or line[4:5] == " ":
            return None
        key, sep, text = line[4:].partition(": ")
        index += 1
        if not sep:
            if key != "custom_fields:":
                return None
            key = "custom_fields"
        rank = rank_of.get(key)
        if rank is None or rank <= last:
            return None
        last = rank
        if key == "custom_fields":
            if sep:
                return None
            custom: dict[str, Any] = {}
            previous = ""
            while index < count:
                line = lines[index]
                if not line.startswith("      ") or line[6:7] == " ":
                    break
                name, sep, text = line[6:].partition(": ")
                if not sep or name <= previous or not _canon_name(name):
                    return None
                previous = name
                value = scalar(text)
                if value is _BAD:
                    return None
                custom[name] = value
                index += 1
            if not custom:
                return None
            item[key] = custom
        elif key == "phone":
            phone = _canon_phone(text)
            if phone is None:
                return None
            item[key] = phone
        else:
            value = scalar(text)
            if value is _BAD or (key == "id" and type(value) is not int):
                return None
            item[key] = value
    return item if "phone" in item else None


def split_contacts(text: str) -> tuple[list[str], int, list[int]] | None:
    """A contacts file's lines, where its list starts, and the line index of each ``  - ``.

    None unless the file is ``version: 1`` then ``contacts:`` (after, at most,
    the schema comment), each contact starts at ``  - ``, and every later line
    is blank or indented: the shape in which a contact's lines run exactly
    from its ``  - `` to the next one.
    """
    if not text.endswith("\n"):
        return None
    lines = text.split("\n")
    lines.pop()  # after the final newline
    start = 1 if lines and lines[0].startswith(SCHEMA_COMMENT_PREFIX) else 0
    if lines[start : start + 2] != ["version: 1", "contacts:"]:
        return None
    begin = start + 2
    starts = [index for index in range(begin, len(lines)) if lines[index].startswith("  - ")]
    if not starts or starts[0] != begin:
        return None
    for line in itertools.islice(lines, begin, None):
        if line and not line.startswith("  "):
            return None
    return lines, begin, starts


def parse_canonical(raw: bytes, yaml: YAML | None = None) -> FastDoc | None:
    """`parse_fast(raw, index_key="contacts")` for a file in (or near) the canonical form.

    None when the file is not in that shape; the caller then reads it with
    `parse_fast`, which gives the same value, or the error.
    """
    if len(raw) > MAX_FILE_BYTES or b"\t" in raw or b"\r" in raw:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if _NOT_PRINTABLE.search(text) or text.startswith("\ufeff"):
        return None
    split = split_contacts(text)
    if split is None:
        return None
    lines, _begin, starts = split
    items: list[Any] = []
    marks: list[tuple[int, int]] = []
    exact: list[int] = []
    shape = True
    bounds = [*starts, len(lines)]
    for number, first in enumerate(starts):
        end = bounds[number + 1]
        segment = lines[first:end]
        item = canonical_item(segment)
        if item is None:
            shape = False
            item = _simple_item(segment, yaml)
            if item is None:
                return None
        else:
            exact.append(number)
        items.append(item)
        marks.append((first + 1, 5))
    return FastDoc({"version": 1, "contacts": items}, tuple(marks), shape, frozenset(exact))


def _simple_item(segment: Sequence[str], yaml: YAML | None) -> dict[str, Any] | None:
    """A contact written simply but not canonically, read by `parse_fast` on its own lines."""
    for line in segment:
        if not _SIMPLE_LINE.match(line):
            return None
    try:
        doc = parse_fast(
            ("contacts:\n" + "\n".join(segment) + "\n").encode("utf-8"),
            index_key="contacts",
            yaml=yaml,
        )
    except YamlProblem:
        return None
    data = doc.data
    if (
        type(data) is not dict
        or list(data) != ["contacts"]
        or type(data["contacts"]) is not list
        or len(data["contacts"]) != 1
        or doc.item_marks != ((2, 5),)
        or type(data["contacts"][0]) is not dict
    ):
        return None
    item: dict[str, Any] = data["contacts"][0]
    return item

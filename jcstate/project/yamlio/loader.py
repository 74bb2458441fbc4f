"""The safe loader: ruamel's C or pure-Python parser, a caching resolver, safe tags, errors.

Reading goes through ruamel.yaml's C parser (``YAML(typ="safe", pure=False)``),
or its pure-Python one without ruamel.yaml.clib or with ``JCSTATE_PURE_YAML=1``
(same values and error positions; `_PureLoader` gives it the C loader's shape),
with a resolver that caches its version lookup (stock ruamel recomputes it for
every scalar, about a third of the load time). Only safe tags are constructed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, Literal

import ruamel.yaml.main as _ruamel_main
from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer, ComposerError
from ruamel.yaml.constructor import ConstructorError, SafeConstructor
from ruamel.yaml.docinfo import DocInfo
from ruamel.yaml.docinfo import version as docinfo_version
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
)
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.resolver import BaseResolver, VersionedResolver
from ruamel.yaml.tag import Tag

#: ruamel.yaml.clib's parser (scanner, parser and composer in C); None without the wheel.
CParser: Any = getattr(_ruamel_main, "CParser", None)


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


def _reads_with_c(yaml: YAML) -> bool:
    return CParser is not None and yaml.Parser is CParser


_MERGE_TAG = "tag:yaml.org,2002:merge"

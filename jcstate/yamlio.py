"""YAML in and out: the fast C loader for validation, round-trip mode for edits.

Reading goes through ruamel.yaml's C parser (``YAML(typ="safe", pure=False)``)
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

import io
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import ruamel.yaml.main as _ruamel_main
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import ConstructorError, SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.resolver import BaseResolver, VersionedResolver
from ruamel.yaml.scalarstring import DoubleQuotedScalarString
from ruamel.yaml.tag import Tag

from jcstate.model import CONTACT_KEYS

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
    attribute lookups) for every scalar. With the C parser that version cannot
    change within a load (no ``%YAML`` directive reaches the resolver), so a
    per-first-character table is exactly equivalent, and much cheaper.
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
        except (ValueError, OverflowError) as exc:
            # A scalar shaped like a date or a number that is none (2024-02-30, an
            # integer of 5,000 digits) is a problem in the file, reported at its place.
            if not isinstance(node, ScalarNode):
                raise
            raise ConstructorError(
                None, None, f"{node.value[:40]!r} cannot be read: {exc}", node.start_mark
            ) from None

    def flatten_mapping(self, node: Any) -> Any:
        # Only `<<` (merge) and `=` (value) keys need flattening; both resolve to
        # their own tags, so a mapping whose keys are all plain strings has none.
        for key_node, _ in node.value:
            if key_node.ctag is not _DEFAULT_STR_TAG:
                return super().flatten_mapping(node)
        return None


_DEFAULT_STR_TAG = BaseResolver.DEFAULT_SCALAR_TAG


def c_loader_available() -> bool:
    return CParser is not None


def fast_yaml() -> YAML:
    """A safe loader using the C parser when ruamel.yaml.clib is installed."""
    yaml = YAML(typ="safe", pure=False)
    yaml.Resolver = _CachedVersionResolver
    yaml.Constructor = _SafeConstructor
    return yaml


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


def _problem_from(exc: YAMLError, raw: bytes = b"") -> YamlProblem:
    if isinstance(exc, MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        text = exc.problem or exc.context or "invalid YAML"
        tag = re.search(r"constructor for the tag '([^']*)'", text)
        if tag:
            name = tag.group(1).replace("tag:yaml.org,2002:", "!!")
            text = f"unsupported tag '{name}' (only plain YAML is read, no language-specific tags)"
        elif text.startswith("found duplicate key"):
            text = text.split(" with value ")[0].removeprefix("found ")
        elif exc.context and exc.problem:
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
        return YamlProblem(f"cannot read YAML: {exc.reason}")  # pragma: no cover
    return YamlProblem(f"cannot read YAML: {exc}")  # pragma: no cover


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


def check_nesting(raw: bytes) -> None:
    """Refuse documents nested deeper than `MAX_DEPTH` before the C composer sees them.

    The C composer recurses once per level and crashes the process (stack
    overflow) some ten thousand levels down. A block level needs one more
    indentation or indicator character (space, tab, ``-``, ``?``, ``:``) at the
    start of a line and a flow level one more unclosed bracket, so these two
    cheap scans bound the depth from above (brackets inside strings can only
    make the bound larger).
    """
    prefix = b"\n" + raw.translate(_INDENT_AS_SPACE)
    if _DEEP_PREFIX in prefix:
        raise YamlProblem(f"YAML nesting is deeper than {MAX_DEPTH} levels; refusing to load")
    brackets = raw.translate(None, _NOT_BRACKETS)
    if len(brackets) >= MAX_DEPTH:
        deepest = max(itertools.accumulate(map(_BRACKET_STEP.__getitem__, brackets)))
        if deepest >= MAX_DEPTH:
            raise YamlProblem(f"YAML nesting is deeper than {MAX_DEPTH} levels; refusing to load")


#: Deepest nesting accepted (a contacts file needs 4).
MAX_DEPTH = 400
_INDENT_AS_SPACE = bytes.maketrans(b"\t-?:", b"    ")
_DEEP_PREFIX = b"\n" + b" " * MAX_DEPTH
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_BRACKET_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def _compose(raw: bytes, yaml: YAML | None = None) -> tuple[YAML, Any, Node | None]:
    check_nesting(raw)
    yaml = yaml or fast_yaml()
    loader, parser = yaml.get_constructor_parser(raw)
    try:
        root = loader.get_single_node()
    except YAMLError as exc:
        parser.dispose()
        raise _problem_from(exc, raw) from None
    except RecursionError:
        parser.dispose()
        raise YamlProblem("YAML nesting is too deep") from None
    return yaml, loader, root


def parse_fast(raw: bytes, *, index_key: str | None = None, yaml: YAML | None = None) -> FastDoc:
    """Parse one YAML document safely with the C loader.

    `index_key`: when the document is a mapping whose value at that key is a
    list, the position of each list item is returned as well (cheap: read off
    the composed nodes the loader builds anyway).
    """
    yaml, loader, root = _compose(raw, yaml)
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


def compose_node(raw: bytes) -> Node | None:
    """The composed node graph of a document (positions, no values built)."""
    _, loader, root = _compose(raw)
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


# ---------------------------------------------------------------------------
# Round-trip mode: edits that keep comments
# ---------------------------------------------------------------------------


def _represent_none(representer: Any, _data: None) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")


def roundtrip_yaml(*, preserve_quotes: bool = True) -> YAML:
    """Round-trip YAML with jcstate's layout: 2-space maps, ``  - `` lists, no folding."""
    yaml = YAML(typ="rt")
    yaml.width = _WIDE
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.preserve_quotes = preserve_quotes
    yaml.representer.add_representer(type(None), _represent_none)
    return yaml


def load_roundtrip(path: Path) -> Any:
    """Load a file keeping comments, key order and quoting (for in-place edits)."""
    raw = read_limited(Path(path))
    yaml = roundtrip_yaml()
    try:
        return yaml.load(raw)
    except YAMLError as exc:
        raise _problem_from(exc, raw) from None


def dump_roundtrip_str(data: Any, yaml: YAML | None = None) -> str:
    stream = io.StringIO()
    (yaml or roundtrip_yaml()).dump(data, stream)
    return stream.getvalue()


def dump_roundtrip(data: Any, path: Path) -> None:
    """Write `data` (as loaded by `load_roundtrip`) back, comments included, atomically."""
    target = Path(path)
    text = dump_roundtrip_str(data)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)


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

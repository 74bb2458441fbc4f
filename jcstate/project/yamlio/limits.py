"""Hostile input refused before it costs much.

A file larger than `MAX_FILE_BYTES` is not read, and a document whose aliases
expand to far more nodes than it contains ("billion laughs") or refer to
themselves is rejected on the composed node graph, before any value is built
from it; a document nested deeper than `MAX_DEPTH` is refused before a
composer sees it.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from jcstate.project.yamlio.loader import YamlProblem, _open_loader, fast_yaml

#: Files above this size are refused unread (a contacts file of 100,000 contacts is ~18 MB).
MAX_FILE_BYTES = 50 * 1024 * 1024

#: Alias expansion allowed on top of a document's own node count (see `check_aliases`).
ALIAS_EXPANSION_BASE = 100_000
ALIAS_EXPANSION_FACTOR = 4


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

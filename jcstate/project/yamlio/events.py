"""Values built straight from the parser's events (`_EventBuilder`), no node graph."""

from __future__ import annotations

import types
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
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
from ruamel.yaml.nodes import ScalarNode

from jcstate.project.yamlio.limits import (
    ALIAS_EXPANSION_BASE,
    ALIAS_EXPANSION_FACTOR,
    alias_text_limit,
)
from jcstate.project.yamlio.loader import (
    _DEFAULT_STR_TAG,
    _MERGE_TAG,
    FastDoc,
    _open_loader,
    _problem_from,
)


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

"""`parse_fast`, and positions computed only when something is wrong.

`locate` re-composes the file (C parser, no construction) and walks the node
graph to the offending key, value or list item.
"""

from __future__ import annotations

import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import (
    ScalarEvent,
    StreamEndEvent,
)
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from jcstate.project.yamlio.events import _EventBuilder, _Fallback
from jcstate.project.yamlio.limits import check_alias_text, check_aliases, check_nesting
from jcstate.project.yamlio.loader import (
    DocPath,
    FastDoc,
    Where,
    YamlProblem,
    _open_loader,
    _problem_from,
    _reads_with_c,
    fast_yaml,
)


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

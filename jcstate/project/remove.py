"""Remove contact entries from a hand-written contacts file, keeping every comment.

Used where one owner takes a contact from another file (`import --take-over`)
and where a deletion made in JustCall is adopted (`drift --adopt-deletes`).

The entry's own lines are cut out of the text: from its `- ` line to its last
line of content (an inline comment on those lines goes with it). Every
full-line comment and blank line stays where it was, so the comment that
introduces the next entry, or ends the file, is kept. The result is read back
and must hold exactly the old contacts minus the removed ones; a layout where
cutting lines cannot be proven right (flow style, every entry removed) is
edited in ruamel's round-trip mode instead, which keeps the other comments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedSeq
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from jcstate.project.yamlio import (
    YamlProblem,
    compose_node,
    dump_roundtrip_str,
    load_roundtrip_bytes,
    parse_fast,
    plain_value,
    same_plain,
)

#: decides, from one entry as read (a plain mapping), whether it goes
Selector = Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class Removal:
    """The new text of a file, and the 1-based line of each entry removed."""

    text: str
    lines: tuple[int, ...]


def _contacts_node(root: Node | None) -> tuple[Node, SequenceNode] | None:
    if not isinstance(root, MappingNode):
        return None
    for key, value in root.value:
        if getattr(key, "value", None) == "contacts" and isinstance(value, SequenceNode):
            return key, value
    return None


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _cut_lines(text: str, raw: bytes, doomed: list[int]) -> str | None:
    """`text` without the lines of the entries at `doomed` (indexes), or None."""
    found = _contacts_node(compose_node(raw))
    if found is None or found[1].flow_style:
        return None
    key, node = found
    lines = text.splitlines(keepends=True)
    items = node.value
    remove: set[int] = set()
    for index in doomed:
        start = items[index].start_mark.line
        if index + 1 < len(items):
            stop = items[index + 1].start_mark.line
        else:
            stop = min(node.end_mark.line + 1, len(lines))
        end = start
        for number in range(start, stop):
            if _is_content(lines[number]):
                end = number
        if not lines[start].lstrip().startswith("- "):
            return None
        remove.update(range(start, end + 1))
    if len(doomed) == len(items):
        # `contacts:` with no item left would be null: it becomes `contacts: []`.
        number = key.start_mark.line
        head, hash_, comment = lines[number].partition("#")
        if head.strip() != "contacts:":
            return None
        lines[number] = head.rstrip() + " []" + (" " + hash_ + comment if hash_ else "\n")
    return "".join(line for number, line in enumerate(lines) if number not in remove)


def remove_entries(raw: bytes, selector: Selector) -> Removal | None:
    """The file `raw` without the contact entries `selector` picks; None when none is picked.

    Raises `YamlProblem` when the file cannot be read.
    """
    data = parse_fast(raw, index_key="contacts")
    listed = data.data.get("contacts") if isinstance(data.data, dict) else None
    if not isinstance(listed, list):
        return None
    doomed = [
        index
        for index, entry in enumerate(listed)
        if isinstance(entry, Mapping) and selector(entry)
    ]
    if not doomed:
        return None
    marks = data.item_marks
    lines = tuple(marks[index][0] if index < len(marks) else 1 for index in doomed)
    kept = [entry for index, entry in enumerate(listed) if index not in set(doomed)]
    expected = {**data.data, "contacts": kept}
    text = raw.decode("utf-8")
    cut = _cut_lines(text, raw, doomed)
    if cut is not None:
        try:
            if same_plain(parse_fast(cut.encode("utf-8")).data, expected):
                return Removal(cut, lines)
        except YamlProblem:
            pass
    document = load_roundtrip_bytes(raw)
    contacts = document["contacts"]
    for index in reversed(doomed):
        del contacts[index]
    if not kept:
        document["contacts"] = CommentedSeq()
    edited = dump_roundtrip_str(document)
    if not same_plain(plain_value(load_roundtrip_bytes(edited.encode("utf-8"))), expected):
        raise YamlProblem("the entries could not be removed from this file")  # pragma: no cover
    return Removal(edited, lines)

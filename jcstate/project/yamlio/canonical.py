"""Canonical rendering (fmt, export)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from jcstate.core.model import CONTACT_KEYS
from jcstate.project.yamlio.roundtrip import dump_roundtrip_str, roundtrip_yaml

#: What a `# yaml-language-server` line looks like (fmt keeps it at the top).
SCHEMA_COMMENT_PREFIX = "# yaml-language-server: $schema="


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

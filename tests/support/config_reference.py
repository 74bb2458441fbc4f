"""The configuration reference page, generated from `jcstate schema`.

`docs/reference/configuration.md` is this module's output; tests/test_docs.py
checks that the page is what the JSON Schema says today. After changing a
model, regenerate it:

    python -m tests.support.config_reference > docs/reference/configuration.md
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from jcstate.project.schema import SchemaKind, json_schema

HEADER = """# Configuration keys

Every key of `jcstate.yaml` and of a contacts file, generated from the JSON
Schema that `jcstate schema` prints (the same models the loader uses), so
this page cannot fall behind the code. `NAME` stands for a key you choose (a
custom field, a source), `[]` for each item of a list. The guide explains
the keys in context: [project files](../guide/project-files.md),
[importing](../guide/import.md#declaring-a-source).

Regenerate after changing a model (a test fails until you do):
`python -m tests.support.config_reference > docs/reference/configuration.md`.
"""

TITLES: dict[SchemaKind, str] = {
    "project": "`jcstate.yaml` (`jcstate schema --kind project`)",
    "contacts": "Contacts files (`jcstate schema --kind contacts`)",
}


def _resolve(node: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str):
        resolved: Mapping[str, Any] = defs[ref.rsplit("/", 1)[1]]
        return resolved
    return node


def _alternatives(node: Mapping[str, Any], defs: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    node = _resolve(node, defs)
    options = node.get("anyOf") or node.get("oneOf")
    if options:
        return [_resolve(option, defs) for option in options]
    return [node]


def _type_name(node: Mapping[str, Any], defs: Mapping[str, Any]) -> str:
    names: list[str] = []
    for option in _alternatives(node, defs):
        if "enum" in option:
            name = " \\| ".join(f"`{json.dumps(value)}`" for value in option["enum"])
        elif "const" in option:
            name = f"`{json.dumps(option['const'])}`"
        elif option.get("type") == "array":
            items = option.get("items")
            name = f"list of {_type_name(items, defs)}" if items else "list"
        elif option.get("type") == "object" and "properties" not in option:
            values = option.get("additionalProperties")
            name = (
                f"mapping to {_type_name(values, defs)}"
                if isinstance(values, Mapping)
                else "mapping"
            )
        elif isinstance(option.get("type"), list):
            name = " or ".join(str(kind) for kind in option["type"])
        else:
            name = str(option.get("type", "any"))
        if name not in names:
            names.append(name)
    return " or ".join(names)


def _bounds(node: Mapping[str, Any], defs: Mapping[str, Any]) -> str:
    found: list[str] = []
    for option in _alternatives(node, defs):
        for key, word in (
            ("minimum", ">="),
            ("exclusiveMinimum", ">"),
            ("maximum", "<="),
            ("exclusiveMaximum", "<"),
            ("minLength", "length >="),
            ("maxLength", "length <="),
            ("minItems", "items >="),
            ("pattern", "matches"),
        ):
            if key in option:
                value = option[key]
                found.append(f"{word} `{value}`" if key == "pattern" else f"{word} {value}")
    return ", ".join(found)


def _children(
    node: Mapping[str, Any], defs: Mapping[str, Any]
) -> Iterator[tuple[str, Mapping[str, Any], bool]]:
    """(suffix, schema, required) of what nests under a key: properties, items, NAME."""
    for option in _alternatives(node, defs):
        properties = option.get("properties")
        if isinstance(properties, Mapping):
            required = set(option.get("required", ()))
            for name, child in properties.items():
                yield f".{name}", child, name in required
        items = option.get("items")
        if isinstance(items, Mapping) and _resolve(items, defs).get("properties"):
            yield "[]", items, False
        values = option.get("additionalProperties")
        if isinstance(values, Mapping) and _resolve(values, defs).get("properties"):
            yield ".NAME", values, False


def _rows(
    path: str, node: Mapping[str, Any], required: bool, defs: Mapping[str, Any]
) -> Iterator[str]:
    children = list(_children(node, defs))
    if path:
        description = " ".join(str(node.get("description", "")).split())
        default = json.dumps(node["default"]) if "default" in node else ""
        cells = [
            f"`{path}`",
            _type_name(node, defs),
            "yes" if required else "",
            f"`{default}`" if default else "",
            _bounds(node, defs),
            description.replace("|", "\\|"),
        ]
        yield "| " + " | ".join(cells) + " |"
    for suffix, child, child_required in children:
        child_path = (path + suffix).lstrip(".")
        if suffix == "[]" or suffix == ".NAME":
            # the item itself: its keys follow, one row each
            for sub_suffix, sub, sub_required in _children(child, defs):
                yield from _rows(f"{child_path}{sub_suffix}", sub, sub_required, defs)
        else:
            yield from _rows(child_path, child, child_required, defs)


def render_reference() -> str:
    parts = [HEADER]
    for kind, title in TITLES.items():
        schema = json_schema(kind)
        defs = schema.get("$defs", {})
        parts.append(f"\n## {title}\n")
        description = " ".join(str(schema.get("description", "")).split())
        if description:
            parts.append(f"\n{description}\n")
        parts.append(
            "\n| key | type | required | default | limits | description |\n"
            "| --- | --- | --- | --- | --- | --- |\n"
        )
        parts.append("\n".join(_rows("", schema, True, defs)) + "\n")
    return "".join(parts)


if __name__ == "__main__":
    print(render_reference(), end="")

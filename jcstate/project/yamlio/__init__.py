"""YAML in and out: the fast C loader for validation, round-trip mode for edits.

One module per job:

- `loader`: the safe loader (ruamel's C parser, or its pure-Python one without
  ruamel.yaml.clib or with ``JCSTATE_PURE_YAML=1``), `YamlProblem`, `FastDoc`;
- `limits`: hostile input refused before it costs much (file size, alias
  expansion, alias text, nesting depth);
- `events`: values built straight from the parser's events, no node graph;
- `fast`: `parse_fast`, and positions (`locate`) computed only when something
  is wrong;
- `roundtrip`: round-trip mode, edits that keep comments;
- `canonical`: canonical rendering (fmt, export);
- `linereader`: the canonical form, read without a YAML parser.

The names other modules use are re-exported here.
"""

from __future__ import annotations

from jcstate.project.yamlio.canonical import (
    SCHEMA_COMMENT_PREFIX,
    canonical_entry,
    ordered_keys,
    render_contacts_file,
    sorted_custom_keys,
)
from jcstate.project.yamlio.fast import compose_node, locate, parse_fast, source_text
from jcstate.project.yamlio.limits import (
    ALIAS_EXPANSION_BASE,
    ALIAS_EXPANSION_FACTOR,
    ALIAS_TEXT_BASE,
    ALIAS_TEXT_FACTOR,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    alias_text_limit,
    check_alias_text,
    check_aliases,
    check_nesting,
    read_limited,
)
from jcstate.project.yamlio.linereader import (
    Chunk,
    canonical_item,
    contact_chunks,
    contact_spans,
    parse_canonical,
    read_chunk,
    split_contacts,
)
from jcstate.project.yamlio.loader import (
    PURE_ENV,
    CParser,
    DocPath,
    FastDoc,
    Where,
    YamlProblem,
    c_loader_available,
    c_loader_in_use,
    fast_yaml,
)
from jcstate.project.yamlio.roundtrip import (
    dump_roundtrip_str,
    load_roundtrip,
    load_roundtrip_bytes,
    plain_value,
    roundtrip_yaml,
    same_plain,
)

__all__ = [
    "ALIAS_EXPANSION_BASE",
    "ALIAS_EXPANSION_FACTOR",
    "ALIAS_TEXT_BASE",
    "ALIAS_TEXT_FACTOR",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "PURE_ENV",
    "SCHEMA_COMMENT_PREFIX",
    "CParser",
    "Chunk",
    "DocPath",
    "FastDoc",
    "Where",
    "YamlProblem",
    "alias_text_limit",
    "c_loader_available",
    "c_loader_in_use",
    "canonical_entry",
    "canonical_item",
    "check_alias_text",
    "check_aliases",
    "check_nesting",
    "compose_node",
    "contact_chunks",
    "contact_spans",
    "dump_roundtrip_str",
    "fast_yaml",
    "load_roundtrip",
    "load_roundtrip_bytes",
    "locate",
    "ordered_keys",
    "parse_canonical",
    "parse_fast",
    "plain_value",
    "read_chunk",
    "read_limited",
    "render_contacts_file",
    "roundtrip_yaml",
    "same_plain",
    "sorted_custom_keys",
    "source_text",
    "split_contacts",
]

"""Round-trip mode: edits that keep comments."""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.scalarbool import ScalarBoolean

from jcstate.project.yamlio.fast import parse_fast
from jcstate.project.yamlio.limits import read_limited
from jcstate.project.yamlio.loader import _YAML_1_2, YamlProblem, _problem_from

#: Width for round-trip dumps: never fold long values.
_WIDE = 4096


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

"""Remote strings shown as data: the one place that decides how a value is made harmless.

Anyone with access to the JustCall account, or a hostile server, controls
names, companies, e-mail addresses, custom-field keys and values, phones that
do not parse and error messages. Every output shows them as data:

- text (a terminal, a CI log): `shown(value)` writes every control character
  as an escape (`\\x1b`, `\\n`, `\\u202e`), so no escape sequence reaches the
  terminal and a value can never begin a line (a `::error` workflow command);
- JSON: `json_text(document)` writes the same characters as `\\u` escapes;
- markdown (a pull-request comment, an issue): `md_code(value)` is a code span
  whose fence is longer than any backtick run in the value; `md_text(value)`
  escapes every markdown punctuation character and breaks `@mention` and
  `#123` references with an invisible word joiner.

Pure functions, no I/O.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: Characters never written raw: C0 controls, DEL, C1 controls (U+0080..U+009F),
#: the bidi marks, embeddings, overrides and isolates, the Unicode line and
#: paragraph separators, and lone surrogates (which no terminal can encode).
UNSAFE_CHARS = (
    "\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff"
)
_UNSAFE_RE = re.compile(f"[{UNSAFE_CHARS}]")
#: the same, but keeping the line feed (text whose line breaks jcstate wrote itself)
_UNSAFE_BUT_NEWLINE_RE = re.compile(f"[\x00-\x09\x0b-{UNSAFE_CHARS.removeprefix(chr(0) + '-')}]")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    short = _SHORT.get(char)
    if short is not None:
        return short
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(text: str) -> str:
    """`text` for a terminal or a log, on one line: every unsafe character escaped."""
    return _UNSAFE_RE.sub(_escape, text)


def shown_lines(text: str) -> str:
    """`text` whose line breaks jcstate wrote itself: every unsafe character but `\\n` escaped."""
    return _UNSAFE_BUT_NEWLINE_RE.sub(_escape, text)


def is_unsafe(char: str) -> bool:
    """True for a character that `shown` escapes."""
    return _UNSAFE_RE.fullmatch(char) is not None


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group(0)):04x}"


def json_safe(text: str) -> str:
    """A JSON document with every unsafe character written as a `\\u` escape.

    `json.dumps` escapes every C0 control inside a string itself, so a raw line
    feed is the document's own layout and stays; every other unsafe character
    can only stand inside a string, where its `\\u` escape means the same: the
    document loads back to the same values.
    """
    return _UNSAFE_BUT_NEWLINE_RE.sub(_json_escape, text)


def json_text(data: Any, *, ensure_ascii: bool = False, **options: Any) -> str:
    """`json.dumps(data, ensure_ascii=False, **options)`, then `json_safe`."""
    return json_safe(json.dumps(data, ensure_ascii=ensure_ascii, **options))


_BACKTICK_RUNS = re.compile("`+")


def md_code(value: str, *, table: bool = False) -> str:
    """`value` as one markdown code span that GitHub shows literally.

    Control characters are escaped first (a line break would end a paragraph
    or a table row); the fence is one backtick longer than the longest run in
    the value, with a space inside when the value begins or ends with a
    backtick or a space (CommonMark strips one). In a table cell a `|` is
    written `\\|`, which GFM reads as a pipe even inside a code span.
    An empty value is an empty string.
    """
    text = shown(value)
    if not text:
        return ""
    if table:
        text = text.replace("|", "\\|")
    longest = max((len(run) for run in _BACKTICK_RUNS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    # CommonMark strips one space at each end, unless the content is all spaces.
    pad = " " if (text[0] in "` " or text[-1] in "` ") and text.strip(" ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


#: every ASCII punctuation character: CommonMark lets each be escaped with a backslash
_MD_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
#: U+2060 WORD JOINER: invisible, and it keeps `@name` and `#123` from being links
_JOINER = "\u2060"


def md_text(value: str) -> str:
    """`value` as markdown text that GitHub shows literally, on one line.

    Every ASCII punctuation character is backslash-escaped (no emphasis, link,
    HTML, entity, table cell break, autolink or math), control characters are
    escaped, and a word joiner follows each `@` and `#` so neither a mention
    nor an issue reference is made of it.
    """
    text = _MD_PUNCTUATION.sub(r"\\\1", shown(value))
    return text.replace("@", "@" + _JOINER).replace("#", "#" + _JOINER)

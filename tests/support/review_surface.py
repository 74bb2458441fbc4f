"""Checks that an output shows remote strings as data (shared by the e2e and render tests).

Markdown is rendered with cmarkgfm (GitHub's own cmark fork) and the GFM
extensions GitHub uses (table, autolink, tagfilter, strikethrough), raw HTML
kept (GitHub sanitises after rendering: an element that survives here is one
the comment would carry), and the HTML is inspected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html.parser import HTMLParser

import cmarkgfm
from cmarkgfm.cmark import Options

#: What no text or JSON output may hold raw (the issue's list, written here on its
#: own rather than taken from jcstate): C0 controls but the line feed, DEL, C1,
#: bidi embeddings, overrides and isolates, the line and paragraph separators.
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")

#: every element jcstate's own markdown makes (the plan comment, the drift issue)
OWN_ELEMENTS = frozenset(
    {
        "h2",
        "h3",
        "p",
        "strong",
        "em",
        "b",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "blockquote",
        "ul",
        "li",
        "details",
        "summary",
        "pre",
        "code",
    }
)
#: GitHub links `@name` and `#123` in text that is not code, after rendering
_MENTION = re.compile(r"(?<![\w`/])@[A-Za-z0-9]")
_REFERENCE = re.compile(r"(?<![\w&])#\d")


def render_gfm(markdown: str) -> str:
    return cmarkgfm.markdown_to_html_with_extensions(
        markdown,
        options=Options.CMARK_OPT_UNSAFE,
        extensions=["table", "autolink", "tagfilter", "strikethrough"],
    )


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.comments: list[str] = []
        self.stack: list[str] = []
        self.text_outside_code: list[str] = []
        self.depth: dict[str, int] = {}
        self.table_rows: list[tuple[int, int]] = []  # (cells in the row, cells in the header)
        self._cells = 0
        self._header_cells = 0
        self._in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag in ("code", "pre"):
            self.depth[tag] = self.depth.get(tag, 0) + 1
        if tag == "thead":
            self._in_head = True
            self._header_cells = 0
        if tag == "tr":
            self._cells = 0
        if tag in ("td", "th"):
            self._cells += 1

    def handle_endtag(self, tag: str) -> None:
        self.tags.append("/" + tag)
        if tag in ("code", "pre"):
            self.depth[tag] = self.depth.get(tag, 0) - 1
        if tag == "thead":
            self._in_head = False
        if tag == "tr":
            if self._in_head:
                self._header_cells = self._cells
            else:
                self.table_rows.append((self._cells, self._header_cells))

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)

    def handle_data(self, data: str) -> None:
        if not any(self.depth.values()):
            self.text_outside_code.append(data)


def markdown_problems(markdown: str, *, own_details: int | None = None) -> list[str]:
    """What GitHub's rendering of `markdown` shows that jcstate did not write (empty: none)."""
    html = render_gfm(markdown)
    parser = _Html()
    parser.feed(html)
    parser.close()
    problems: list[str] = []
    foreign = sorted({t.lstrip("/") for t in parser.tags} - OWN_ELEMENTS)
    if foreign:
        problems.append(f"elements jcstate never writes: {foreign}")
    if parser.comments or "<!--" in html:
        problems.append(f"an HTML comment: {parser.comments[:1]}")
    opened = parser.tags.count("details")
    closed = parser.tags.count("/details")
    if opened != closed:
        problems.append(f"unbalanced <details>: {opened} opened, {closed} closed")
    if own_details is not None and opened != own_details:
        problems.append(f"{opened} <details> blocks, jcstate wrote {own_details}")
    outside = "".join(parser.text_outside_code)
    if match := _MENTION.search(outside):
        problems.append(
            f"a live mention outside code: {outside[match.start() : match.end() + 20]!r}"
        )
    if match := _REFERENCE.search(outside):
        problems.append(
            f"a live reference outside code: {outside[match.start() : match.end() + 20]!r}"
        )
    bad_rows = [row for row in parser.table_rows if row[0] != row[1]]
    if bad_rows:
        problems.append(f"table rows with the wrong number of cells: {bad_rows}")
    return problems


def text_problems(text: str, *, allowed_line_starts: Iterable[str] = ()) -> list[str]:
    """Raw control, C1 or bidi characters, and lines that begin with `::` (workflow commands)."""
    problems: list[str] = []
    raw = sorted({f"U+{ord(c):04X}" for c in UNSAFE.findall(text)})
    if raw:
        problems.append(f"raw unsafe characters: {raw}")
    allowed = tuple(allowed_line_starts)
    for line in text.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith(("::", "##[")) and not stripped.startswith(allowed or ("\0",)):
            problems.append(f"a line that GitHub runs as a workflow command: {line!r}")
    return problems

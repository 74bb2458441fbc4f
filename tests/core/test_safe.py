"""core/safe.py: each escape shows the value, whole, and nothing else (property tests).

The markdown escapes are checked by rendering them with cmarkgfm, GitHub's
own cmark fork: the text GitHub shows is the value's text-rule form.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from jcstate.core.safe import is_unsafe, json_text, md_code, md_text, shown, shown_lines
from tests.support.review_surface import UNSAFE, markdown_problems, render_gfm

ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=60)
MANY = settings(max_examples=300, deadline=None)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.code: list[str] = []
        self.text: list[str] = []
        self.tags: list[str] = []
        self._in_code = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_code += tag == "code"

    def handle_endtag(self, tag: str) -> None:
        self._in_code -= tag == "code"

    def handle_data(self, data: str) -> None:
        (self.code if self._in_code else self.text).append(data)


def _read(html: str) -> _Text:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return parser


def test_shown_escapes_the_issues_characters() -> None:
    assert shown("a\x1b]0;T\x07b") == "a\\x1b]0;T\\x07b"
    assert shown("X\n::error") == "X\\n::error"
    assert shown("\u009b\u202e\u2066\u2028\u2029\x7f\t\r") == (
        "\\x9b\\u202e\\u2066\\u2028\\u2029\\x7f\\t\\r"
    )
    assert shown("jörg — ok 👍") == "jörg — ok 👍"
    assert shown_lines("one\ntwo\x1b") == "one\ntwo\\x1b"


@MANY
@given(ANY_TEXT)
def test_shown_leaves_no_unsafe_character_and_nothing_else_changed(value: str) -> None:
    out = shown(value)
    assert not UNSAFE.search(out) and "\n" not in out
    assert not any(is_unsafe(c) for c in out)
    if not any(is_unsafe(c) for c in value):
        assert out == value


@MANY
@given(ANY_TEXT)
def test_json_text_escapes_and_loads_back(value: str) -> None:
    document = {value: [value, {"k": value}]}
    text = json_text(document, indent=2)
    assert not UNSAFE.search(text)
    assert json.loads(text) == document


@MANY
@given(ANY_TEXT, st.booleans())
def test_a_code_span_shows_exactly_the_value(value: str, table: bool) -> None:
    span = md_code(value, table=table)
    if not shown(value):
        assert span == ""
        return
    markdown = f"| a |\n|---|\n| {span} |\n" if table else f"x {span} x\n"
    read = _read(render_gfm(markdown))
    assert "".join(read.code) == shown(value)
    assert markdown_problems(markdown) == []


@MANY
@given(ANY_TEXT)
def test_escaped_text_shows_exactly_the_value_and_links_nothing(value: str) -> None:
    markdown = f"> - x {md_text(value)} x\n"
    read = _read(render_gfm(markdown))
    assert read.tags == ["blockquote", "ul", "li"]
    # The word joiners after `@` and `#` are invisible: compare without them.
    shown_text = "".join(read.text).strip().replace("\u2060", "")
    assert shown_text == f"x {shown(value)} x".replace("\u2060", "")
    assert markdown_problems(markdown) == []


def test_mentions_references_and_links_are_not_made() -> None:
    markdown = f"> - {md_text('@octocat #123 a@b.co https://evil.example www.evil.example')}\n"
    html = render_gfm(markdown)
    assert "<a" not in html
    assert markdown_problems(markdown) == []

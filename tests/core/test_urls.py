"""public_url: the one form in which a URL is shown."""

from __future__ import annotations

import pytest

from jcstate.core.urls import public_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://k:s@api.example.com/v2", "https://api.example.com/v2"),
        ("http://k:s@127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://k:s@", "http://"),
        ("ftp://k:s@example.com", "ftp://example.com"),
        ("k:s@example.com", "example.com"),
        ("https://k:p@ss@example.com", "https://example.com"),
        ("https://api.example.com/a@b", "https://api.example.com/a@b"),
        ("sandbox://.jcstate/a@b.db", "sandbox://.jcstate/a@b.db"),
    ],
)
def test_userinfo_is_removed(url: str, shown: str) -> None:
    assert public_url(url) == shown

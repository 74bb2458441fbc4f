"""URLs as jcstate shows them: never with the credentials a user may write into one."""

from __future__ import annotations

import re

# An authority's userinfo: everything up to the last "@" before the path, after
# an optional "scheme://" (or at the very start, for a URL missing its scheme).
_USERINFO = re.compile(r"^((?:[A-Za-z][A-Za-z0-9+.-]*:)?//)?[^/?#]*@")


def public_url(url: str) -> str:
    """The URL without any user:password part: the only form a message, log or file shows.

    A `sandbox://` URL names a file, whose path may hold an "@": it is kept whole.
    """
    if url.startswith("sandbox://"):
        return url
    return _USERINFO.sub(r"\1", url, count=1)

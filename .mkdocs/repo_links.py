"""MkDocs hook: links from a page to a repository file outside docs/.

A page links to `../../examples/quickstart/` so the link works where the
Markdown is read (GitHub, an editor). On the site that path does not exist:
this hook checks that the file or folder is in the repository (a warning,
so `mkdocs build --strict` fails on a missing one) and points the link at
it under `repo_url`.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

log = logging.getLogger("mkdocs.hooks.repo_links")

_FENCE = re.compile(r"(^(```+|~~~+).*?^\2[ \t]*$)", re.M | re.S)
_LINK = re.compile(r"\]\((?P<target>[^)\s#]+)(?P<anchor>#[^)\s]*)?\)")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    docs_dir = Path(config["docs_dir"]).resolve()
    repo_root = docs_dir.parent
    here = Path(page.file.abs_src_path).parent
    repo_url = str(config.get("repo_url") or "").rstrip("/")

    def fix(match: re.Match[str]) -> str:
        target = match.group("target")
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("/"):
            return match.group(0)
        path = (here / target).resolve()
        if path.is_relative_to(docs_dir):
            return match.group(0)
        if not path.is_relative_to(repo_root) or not path.exists():
            log.warning("%s links to %s, which is not in the repository", page.file.src_uri, target)
            return match.group(0)
        relative = path.relative_to(repo_root).as_posix()
        kind = "tree" if path.is_dir() else "blob"
        return f"]({repo_url}/{kind}/main/{relative}{match.group('anchor') or ''})"

    parts = _FENCE.split(markdown)
    # split() with two groups yields: text, fenced block, fence marker, text, ...
    out: list[str] = []
    for index, part in enumerate(parts):
        kind = index % 3
        if kind == 0:
            out.append(_LINK.sub(fix, part))
        elif kind == 1:
            out.append(part)
    return "".join(out)

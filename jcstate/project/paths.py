"""Paths written in jcstate.yaml, as places inside the project (pure: no file is read).

Globs (`contacts:`) and the files of sources (`path:`, `into:`) are relative
to jcstate.yaml and must stay inside the project: jcstate runs on branches
other people wrote, so a path that is absolute or climbs out with `..` is
refused at its line. Two spellings of one file (`contacts/x.yaml`,
`./contacts//x.yaml`, `contacts/./x.yaml`) compare equal once normalised.
"""

from __future__ import annotations

import ntpath
import posixpath


def _posix(text: str) -> str:
    return text.replace("\\", "/")


def leaves_project(text: str) -> bool:
    """Whether a written path (or glob) is absolute or climbs out of the project with `..`."""
    written = _posix(text)
    if written.startswith("/") or ntpath.splitdrive(text)[0]:
        return True
    return ".." in written.split("/")


def project_path(text: str) -> str | None:
    """The normal form of a relative project path (`contacts/x.yaml`); None if it leaves."""
    if leaves_project(text):
        return None
    normal = posixpath.normpath(_posix(text))
    return "" if normal == "." else normal


def glob_segments(pattern: str) -> list[str]:
    """A glob's segments: `.` and empty ones dropped, `**/**` read as one `**`."""
    parts: list[str] = []
    for part in _posix(pattern).split("/"):
        if part in ("", ".") or (part == "**" and parts and parts[-1] == "**"):
            continue
        parts.append(part)
    return parts

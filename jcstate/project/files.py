"""The one way jcstate writes a file: inside the project, never through a link out of it.

jcstate runs on branches other people wrote, and git keeps a symlink wherever
one was committed (`.gitignore` does not stop it). So every file jcstate
writes (contacts files from `fmt`, `drift --adopt`, `export` and `import`;
`jcstate.yaml` when a glob is added; saved plans; the journal; the lock) goes
through this module:

- `write_file` writes a temporary file with an unpredictable name, created
  with ``O_EXCL | O_NOFOLLOW`` in the target's folder and the mode the file
  needs (0600 for anything that holds contact data), fsyncs it and renames
  it over the target: the target is whole or untouched, and no name a branch
  could have committed is ever written through.
- `safe_folder` checks (and creates) the target's folder: a folder on the way,
  or the target itself, that is a symlink leading out of the project is
  refused with `OutsideProjectError`. A symlink that stays inside the project
  is followed; a path the user named outside the project (`plan --out
  /tmp/plan.json`) is the user's choice and is written where it points.
- `leads_out` says why a place inside the project leads out of it through a
  link; what jcstate reads or opens from a branch's settings checks it too
  (a source's `path:`, the sandbox database of `api.url`).
- `open_state_file` opens the lock and the journal with ``O_NOFOLLOW``; each
  must be a regular file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

from jcstate.errors import OutsideProjectError, WriteError

#: The mode of a file that holds contact data (contacts files, plans, the journal).
PRIVATE = 0o600
_TEMP_TRIES = 16


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _shown(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _within_project(path: Path, root: Path) -> bool:
    """Whether `path` (absolute, not resolved) is written as a place inside the project."""
    lexical = os.path.normpath(path)
    return _inside(lexical, os.path.normpath(root)) or _inside(lexical, os.path.realpath(root))


def leads_out(target: Path, root: Path) -> str | None:
    """Why `target`, written as a place inside the project, leads out of it through a link.

    Every existing component of `target` from the project root down (folders
    and the target itself) is resolved; the answer names the first symlink
    whose real path is outside the project (`contacts/link is a symbolic link
    that leads out of the project (to /elsewhere)`), or None when every link
    on the way stays inside. A `target` written outside the project (a path
    the user named) is not checked: None.
    """
    target = Path(os.path.abspath(target))
    if not _within_project(target, root):
        return None
    root_real = os.path.realpath(root)
    start = Path(os.path.normpath(root))
    if not _inside(os.path.normpath(target), str(start)):
        start = Path(root_real)
    relative = Path(os.path.normpath(target)).relative_to(start).parts
    walked = start
    for part in relative:
        walked = walked / part
        if os.path.islink(walked):
            real = os.path.realpath(walked)
            if not _inside(real, root_real):
                return (
                    f"{_shown(walked, start)} is a symbolic link that leads out of the project "
                    f"(to {real})"
                )
    # The walk above reads the path as written; the system resolves a link before a
    # `..` that follows it (contacts/link/../x.yaml), so the place itself is checked too.
    real = os.path.realpath(target)
    if not _inside(real, root_real):
        return f"through symbolic links it leads out of the project (to {real})"
    return None


def real_target(target: Path, root: Path) -> Path:
    """Where a write of `target` lands: refused if a link on the way leads out of `root`.

    `OutsideProjectError` names the link (`leads_out`). The answer is the real
    path (a symlink inside the project is followed, so `fmt` on a linked
    contacts file formats the file it links to).
    """
    target = Path(os.path.abspath(target))
    reason = leads_out(target, root)
    if reason is not None:
        start = Path(os.path.normpath(root))
        if not _inside(os.path.normpath(target), str(start)):
            start = Path(os.path.realpath(root))
        raise OutsideProjectError(
            f"refusing to write {_shown(target, start)}: {reason}; remove the link and run "
            "the command again"
        )
    return Path(os.path.realpath(target))


def safe_folder(folder: Path, root: Path) -> Path:
    """`folder` checked (no link on the way leads out of the project) and created; its real path."""
    real = real_target(folder, root)
    try:
        real.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise WriteError(str(real), "a file is where its folder goes") from None
    except OSError as exc:
        raise WriteError(str(real), exc.strerror or str(exc)) from None
    # mkdir followed no link on the way: check again now that the folders exist.
    return real_target(real, root)


def write_file(
    target: Path,
    data: str | bytes,
    *,
    root: Path,
    mode: int = PRIVATE,
    keep_mode: bool = False,
) -> None:
    """Write `data` to `target` atomically; see the module's docstring.

    `mode`: the new file's permissions; with `keep_mode`, a file that exists
    keeps its own (a contacts file a user made group-readable stays so).
    """
    write_files({Path(target): data}, root=root, mode=mode, keep_mode=keep_mode)


def write_files(
    files: Mapping[Path, str | bytes],
    *,
    root: Path,
    mode: int = PRIVATE,
    keep_mode: bool = False,
) -> None:
    """Write every file, each whole or untouched (see `write_file`).

    All are checked and written to temporary files first, then renamed over
    their targets one by one, so a refused path writes nothing at all.
    """
    staged: list[tuple[int, str, str, Path]] = []  # (folder fd, temporary, final name, target)
    try:
        for target, data in files.items():
            real = real_target(Path(target), root)
            folder = safe_folder(real.parent, root)
            if real.is_dir():
                raise WriteError(str(target), "it is a folder")
            file_mode = mode
            if keep_mode:
                with contextlib.suppress(FileNotFoundError):
                    file_mode = stat.S_IMODE(real.stat().st_mode)
            try:
                folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
            except OSError as exc:
                raise WriteError(str(target), exc.strerror or str(exc)) from None
            try:
                temp = _write_temp(folder_fd, real.name, data, file_mode)
            except OSError as exc:
                os.close(folder_fd)
                raise WriteError(str(target), exc.strerror or str(exc)) from None
            except BaseException:
                os.close(folder_fd)
                raise
            staged.append((folder_fd, temp, real.name, Path(target)))
        for folder_fd, temp, name, target in staged:
            try:
                os.replace(temp, name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
                os.fsync(folder_fd)
            except OSError as exc:
                raise WriteError(str(target), exc.strerror or str(exc)) from None
    finally:
        for folder_fd, temp, _, _ in staged:
            with contextlib.suppress(OSError):  # renamed already, unless something failed
                os.unlink(temp, dir_fd=folder_fd)
            os.close(folder_fd)


def _write_temp(folder_fd: int, name: str, data: str | bytes, mode: int) -> str:
    payload = data.encode("utf-8") if isinstance(data, str) else data
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    for _ in range(_TEMP_TRIES):
        temp = f".{name}.{secrets.token_hex(8)}.tmp"
        try:
            fd = os.open(temp, flags, mode, dir_fd=folder_fd)
        except FileExistsError:
            continue
        try:
            os.fchmod(fd, mode)  # the umask may have taken bits away
            view = memoryview(payload)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            os.unlink(temp, dir_fd=folder_fd)
            raise
        os.close(fd)
        return temp
    raise WriteError(name, "no free temporary name beside it")  # pragma: no cover


def open_state_file(path: Path, root: Path, flags: int, what: str) -> int:
    """Open the lock or a journal: no link followed, a regular file, in a folder inside the project.

    `flags` are `os.open` flags (O_NOFOLLOW and O_CLOEXEC are added); the file
    is created with mode 0600. Raises `OutsideProjectError` naming `what`.
    """
    real = safe_folder(Path(os.path.abspath(path)).parent, root) / path.name
    try:
        fd = os.open(real, flags | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), PRIVATE)
    except OSError:
        if os.path.islink(real):
            raise OutsideProjectError(
                f"{_shown(real, root)} ({what}) is a symbolic link; jcstate opens only a "
                "regular file there: remove it and run the command again"
            ) from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OutsideProjectError(
            f"{_shown(real, root)} ({what}) is not a regular file: remove it and run the "
            "command again"
        )
    return fd

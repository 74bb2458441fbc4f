"""The one exception tree of jcstate.

Every error a user can meet is a ``JcstateError``; the CLI prints its message
(never a traceback) and exits with ``exit_code``. No message may contain the
API credentials: the client builds messages from method, path and the
server's own message only.

::

    JcstateError                      exit 1
    ├── ConfigError                   bad jcstate.yaml / contacts files (many diagnostics)
    ├── ProjectNotFoundError          no jcstate.yaml in this directory or a parent
    ├── RefuseOverwriteError          a command would overwrite a file without --force
    ├── CredentialsError              JUSTCALL_API_KEY / JUSTCALL_API_SECRET missing
    ├── InsecureUrlError              http:// to a non-loopback host
    ├── ApiUrlError                   an API URL holding a user name or password
    ├── StateDirError                 a file is where a state directory (.jcstate/...) goes
    ├── WriteError                    a file cannot be written (no space, no permission, ...)
    ├── OutsideProjectError           a write would follow a symlink out of the project
    ├── GitBaseError                  --changed-since: the base cannot be read from git
    │   ├── NotAGitRepositoryError    the project is not inside a git repository
    │   ├── UnknownRefError           REF names no commit (fetch it first)
    │   └── ShallowCloneError         the merge base is missing from a shallow clone
    ├── SourceError                   a source of `jcstate import` cannot be read (or has bad rows)
    ├── ApiError                      anything the remote API said or failed to say
    │   ├── AuthError                 401 / 403
    │   ├── NotFoundError             404
    │   ├── ApiValidationError        400 / 413 / 422, with the server's message
    │   ├── RateLimitedError          429 after the retries ran out
    │   │   └── BudgetExhaustedError  hourly budget at zero; names the reset time
    │   ├── ServerError               5xx after the retries ran out
    │   ├── TransportError            connection error, timeout
    │   │   └── RequestDeadlineError  no whole answer within the request deadline
    │   ├── ApiUnavailableError       every request failed for the whole --max-outage window
    │   └── ProtocolError             not JSON, wrong envelope, missing fields
    │       └── ResponseTooLargeError an answer larger than the cap on one answer
    ├── IncompleteListingError        a listing that is not provably complete
    ├── ListingTooLargeError          a listing beyond the ceiling on contacts read
    │   └── AccountChangedError       the account kept changing while it was listed
    ├── LockError                     another run holds .jcstate/lock (or no flock here)
    ├── PlanError
    │   ├── UnsafePlanError           safety thresholds exceeded, no --force
    │   ├── RuleViolationError        an error rule of `rules:` broken, no --force-rule NAME
    │   ├── PlanFileError             unreadable plan file / made from different files
    │   └── StalePlanError            remote contacts changed since the plan
    └── ApplyError                    failures or no convergence after apply
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True, order=True)
class Diagnostic:
    """One problem in one file, at a 1-based line and column."""

    file: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.message}"


class JcstateError(Exception):
    """Base of every error jcstate reports to a user.

    A message is one line: the CLI shows a line break in it escaped (`\\n`),
    as it does every control character, because a message may quote a server.
    The few errors that list several things (`multiline`) keep the line
    breaks jcstate wrote between them.
    """

    exit_code: int = 1
    #: True when the message's line breaks are jcstate's own (a list of problems)
    multiline: bool = False


class ConfigError(JcstateError):
    """One or more problems in the project's files, sorted by file and line."""

    multiline = True

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics: tuple[Diagnostic, ...] = tuple(sorted(diagnostics))
        count = len(self.diagnostics)
        summary = f"{count} error{'s' if count != 1 else ''} found"
        super().__init__("\n".join([*map(str, self.diagnostics), summary]))


class ProjectNotFoundError(JcstateError):
    pass


class RefuseOverwriteError(JcstateError):
    pass


class CredentialsError(JcstateError):
    pass


class InsecureUrlError(JcstateError):
    pass


class ApiUrlError(JcstateError):
    """An API URL jcstate will not send credentials to (it holds a user name or password)."""


class ProxyError(JcstateError):
    """The proxy the environment names cannot be used (its value is never shown: it may
    hold a password)."""


class StateDirError(JcstateError):
    pass


class WriteError(JcstateError):
    """A file jcstate writes cannot be written (names the file, never its content)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"cannot write {path}: {reason}")


class OutsideProjectError(JcstateError):
    """A write would follow a symbolic link out of the project, or open one as the lock."""


class SourceError(JcstateError):
    """A source of `jcstate import` cannot be read; never holds a database password."""


def check_state_dir(directory: Path) -> None:
    """Raise `StateDirError` if a regular file is where `directory` or a parent of it goes."""
    for path in (directory, *directory.parents):
        if path.exists() and not path.is_dir():
            raise StateDirError(
                f"{path} is not a directory (jcstate keeps its state in {directory}); "
                "remove or rename it and run the command again"
            )


def ensure_state_dir(directory: Path) -> None:
    """Create `directory` (and its parents) or raise `StateDirError` naming what is in the way.

    The one way jcstate makes its state directories (`.jcstate/`, its
    journal, a sandbox's), so a regular file in their place is an error that
    says what to do rather than a traceback or a retry loop.
    """
    check_state_dir(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StateDirError(f"cannot create {directory}: {exc.strerror or exc}") from exc


class ApiError(JcstateError):
    """An error from or about one API request; names the method and the path."""

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        path: str = "",
        status: int | None = None,
        error_code: str | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.error_code = error_code
        self.detail = message
        where = f"{method} {path}".strip()
        status_text = f" ({status})" if status is not None else ""
        super().__init__(f"{where}{status_text}: {message}" if where else message)


class AuthError(ApiError):
    pass


class NotFoundError(ApiError):
    pass


class ApiValidationError(ApiError):
    pass


class RateLimitedError(ApiError):
    pass


class BudgetExhaustedError(RateLimitedError):
    pass


class ServerError(ApiError):
    pass


class TransportError(ApiError):
    pass


class RequestDeadlineError(TransportError):
    """No whole answer within the request deadline (a slow drip): an outage failure."""


class ProtocolError(ApiError):
    pass


class ResponseTooLargeError(ProtocolError):
    """An answer whose decoded body is larger than the cap on one answer; never retried."""


class ApiUnavailableError(ApiError):
    """Every request failed (no connection, timeout, 5xx) for the whole outage window.

    Never retried: the run stops, and `apply` says how far it got.
    """

    def __init__(self, where: str, window_s: float, last_error: str = "") -> None:
        self.where = where
        self.window_s = window_s
        self.last_error = last_error
        super().__init__(f"the API at {where} has not answered for {window_s:g} s")


class GitBaseError(JcstateError):
    """`--changed-since REF`: the project as it was at the base cannot be read."""


class NotAGitRepositoryError(GitBaseError):
    pass


class UnknownRefError(GitBaseError):
    pass


class ShallowCloneError(GitBaseError):
    pass


class IncompleteListingError(JcstateError):
    pass


class AccountChangedError(IncompleteListingError):
    """The account never held still during a listing, however often it was read again."""


class ListingTooLargeError(JcstateError):
    """A listing would read more contacts than its ceiling (`JCSTATE_MAX_CONTACTS`)."""


class LockError(JcstateError):
    pass


class PlanError(JcstateError):
    pass


class UnsafePlanError(PlanError):
    multiline = True


class RuleViolationError(PlanError):
    pass


class PlanFileError(PlanError):
    multiline = True


class StalePlanError(PlanError):
    multiline = True


class ApplyError(JcstateError):
    pass

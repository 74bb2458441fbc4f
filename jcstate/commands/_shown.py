"""How an error and a log line reach stderr: as data, whatever they quote.

An error message may quote a server (its `message`, a `Location` header) and
a log line a request; both follow the text rule of `jcstate.core.safe`:
every control, C1 and bidi character is shown escaped, and so is a line
break, unless the error lists several things on lines of jcstate's own
(`JcstateError.multiline`).
"""

from __future__ import annotations

from jcstate.core.safe import shown, shown_lines
from jcstate.errors import JcstateError


def error_text(exc: JcstateError) -> str:
    """`Error: <message>`, escaped."""
    message = str(exc)
    return "Error: " + (shown_lines(message) if exc.multiline else shown(message))


def log_text(message: str) -> str:
    """One log record on one line, escaped."""
    return shown(message)

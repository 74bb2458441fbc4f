"""Errors and log lines reach stderr as data: a server's words cannot forge the log."""

from __future__ import annotations

import logging

import pytest

from jcstate.cli import show_logs_on_stderr
from jcstate.commands._shown import error_text
from jcstate.errors import ApiError, ConfigError, Diagnostic, StalePlanError

HOSTILE = "refused\x1b]0;TITLE\x07\n::error title=x::y\u009b\u202e"
#: HOSTILE as the text rule shows it
SHOWN = "refused\\x1b]0;TITLE\\x07\\n::error title=x::y\\x9b\\u202e"


def test_a_server_message_is_one_escaped_line() -> None:
    text = error_text(ApiError(HOSTILE, method="PUT", path="/v2/contacts/1", status=422))
    assert text == f"Error: PUT /v2/contacts/1 (422): {SHOWN}"


def test_an_error_that_lists_problems_keeps_its_own_lines() -> None:
    error = ConfigError([Diagnostic("contacts/a.yaml", 3, 5, "bad \x1b[2J value")])
    assert error_text(error).splitlines() == [
        "Error: contacts/a.yaml:3:5: bad \\x1b[2J value",
        "1 error found",
    ]
    assert len(error_text(StalePlanError("one\ntwo")).splitlines()) == 2


def test_a_log_line_is_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    show_logs_on_stderr()
    logging.getLogger("jcstate.requests").info("GET /v2/contacts -> 400: %s", HOSTILE)
    err = capsys.readouterr().err
    assert (
        err
        == "GET /v2/contacts -> 400: refused\\x1b]0;TITLE\\x07\\n::error title=x::y\\x9b\\u202e\n"
    )

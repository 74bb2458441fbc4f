"""Bounds a server cannot lift, and credentials that cannot travel in a header.

- every answer's decoded body is capped (`max_body_bytes`), counted while it streams;
- every attempt has a wall-clock deadline (`request_deadline_s`), and a missed
  deadline is an outage failure like a timeout;
- a listing reads at most `max_contacts` contacts, whatever `total` says;
- a key or secret with a control or non-ASCII character, and an API URL with
  a user name or password, are refused before any request, without their value.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from typing import Any

import httpx
import pytest
import respx

from jcstate.errors import (
    ApiUnavailableError,
    ApiUrlError,
    CredentialsError,
    JcstateError,
    ListingTooLargeError,
    RequestDeadlineError,
    ResponseTooLargeError,
)
from jcstate.remote.client import (
    DEFAULT_MAX_CONTACTS,
    KEY_ENV,
    MAX_BODY_ENV,
    MAX_CONTACTS_ENV,
    REQUEST_DEADLINE_ENV,
    SECRET_ENV,
    URL_ENV,
    ClientSettings,
    resolve_settings,
)
from jcstate.remote.listing import fetch_remote
from tests.support.client import (
    API_KEY,
    API_SECRET,
    BASE_URL,
    FakeClock,
    contact_json,
    ok,
    run,
)

GOOD = {KEY_ENV: "good-key", SECRET_ENV: "good-secret"}

# ---------------------------------------------------------------------------
# Credentials
# ---------------------------------------------------------------------------

BAD_VALUES = [
    "SEC\r\nX-Inj: 1",
    "SEC\nX-Inj: 1",
    "SEC\rX-Inj",
    "SEC\x00NUL",
    "SEC\tTAB",
    "SEC\x7fDEL",
    "s\u00e9cr\u00e8t-XYZ",
    "SEC\u2028LS",
]


@pytest.mark.parametrize("variable", [KEY_ENV, SECRET_ENV])
@pytest.mark.parametrize("value", BAD_VALUES)
@pytest.mark.parametrize("url", ["http://127.0.0.1:9", "sandbox://.jcstate/s.db"])
def test_a_credential_that_cannot_be_a_header_value_is_refused_by_name(
    variable: str, value: str, url: str
) -> None:
    env = {**GOOD, variable: value}
    with pytest.raises(CredentialsError) as info:
        resolve_settings(None, api_url=url, env=env)
    message = str(info.value)
    assert variable in message
    assert "\n" not in message and "\r" not in message
    for fragment in ("SEC", "X-Inj", "cr\u00e8t", "XYZ", "NUL", "TAB", "DEL", "LS"):
        assert fragment not in message.replace(variable, "")


def test_settings_built_directly_refuse_a_line_break_too() -> None:
    with pytest.raises(CredentialsError) as info:
        ClientSettings(api_url=BASE_URL, api_key=API_KEY, api_secret="abc\r\nX-Inj: 1")
    assert SECRET_ENV in str(info.value)
    assert "X-Inj" not in str(info.value)


def test_printable_credentials_with_inner_spaces_and_punctuation_are_kept() -> None:
    env = {KEY_ENV: "key with:colon", SECRET_ENV: " s3cr3t/+=~ "}
    settings = resolve_settings(None, api_url="http://127.0.0.1:9", env=env)
    assert settings.api_key == "key with:colon"
    assert settings.api_secret == "s3cr3t/+=~"


USERINFO_URLS = [
    "http://u:pw-91c7@127.0.0.1:8080",
    "https://u:pw-91c7@api.justcall.io",
    "https://:pw-91c7@api.justcall.io/",
    "https://user-only@api.justcall.io",
    "HTTPS://u:pw-91c7@API.JUSTCALL.IO",
]


@pytest.mark.parametrize("url", USERINFO_URLS)
def test_an_api_url_with_userinfo_is_refused_from_the_option(url: str) -> None:
    with pytest.raises(ApiUrlError) as info:
        resolve_settings(None, api_url=url, env=GOOD)
    message = str(info.value)
    assert "pw-91c7" not in message and "user-only" not in message
    assert "--api-url" in message
    assert "user name or password" in message


@pytest.mark.parametrize("url", USERINFO_URLS)
def test_an_api_url_with_userinfo_is_refused_from_the_environment(url: str) -> None:
    with pytest.raises(ApiUrlError) as info:
        resolve_settings(None, api_url=None, env={**GOOD, URL_ENV: url})
    assert URL_ENV in str(info.value)
    assert "pw-91c7" not in str(info.value)


def test_a_sandbox_path_may_hold_an_at_sign() -> None:
    settings = resolve_settings(None, api_url="sandbox://.jcstate/a@b.db", env={})
    assert settings.sandbox_db is not None and settings.sandbox_db.name == "a@b.db"


# ---------------------------------------------------------------------------
# Limits from the environment
# ---------------------------------------------------------------------------


def test_the_limits_default_and_come_from_the_environment() -> None:
    default = resolve_settings(None, api_url="http://127.0.0.1:9", env=GOOD)
    assert default.max_contacts == DEFAULT_MAX_CONTACTS == 1_000_000
    env = {**GOOD, MAX_CONTACTS_ENV: "2500", REQUEST_DEADLINE_ENV: "7.5", MAX_BODY_ENV: "1024"}
    tuned = resolve_settings(None, api_url="http://127.0.0.1:9", env=env)
    assert (tuned.max_contacts, tuned.request_deadline_s, tuned.max_body_bytes) == (2500, 7.5, 1024)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        (MAX_CONTACTS_ENV, "lots"),
        (MAX_CONTACTS_ENV, "0"),
        (MAX_CONTACTS_ENV, "1.5"),
        (REQUEST_DEADLINE_ENV, "0"),
        (REQUEST_DEADLINE_ENV, "-1"),
        (REQUEST_DEADLINE_ENV, "nan"),
        (REQUEST_DEADLINE_ENV, "inf"),
        (MAX_BODY_ENV, "big"),
    ],
)
def test_a_bad_limit_in_the_environment_is_an_error_naming_it(variable: str, value: str) -> None:
    with pytest.raises(JcstateError) as info:
        resolve_settings(None, api_url="http://127.0.0.1:9", env={**GOOD, variable: value})
    assert variable in str(info.value)


# ---------------------------------------------------------------------------
# The body cap
# ---------------------------------------------------------------------------


def padded_page(size: int) -> bytes:
    """A valid empty page of exactly `size` bytes (JSON whitespace inside)."""
    head, tail = b'{"data": [], "total": 0', b"}"
    return head + b" " * (size - len(head) - len(tail)) + tail


def test_an_answer_within_the_cap_is_read() -> None:
    with respx.mock(base_url=BASE_URL) as mock:
        mock.get("/v2/contacts").mock(return_value=httpx.Response(200, content=padded_page(4096)))
        page, _ = run(FakeClock(), lambda client: client.list_page(1), max_body_bytes=4096)
    assert page.contacts == [] and page.total == 0


def test_an_answer_over_the_cap_is_an_error_naming_the_cap() -> None:
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.get("/v2/contacts").mock(
            return_value=httpx.Response(200, content=padded_page(4097))
        )
        with pytest.raises(ResponseTooLargeError) as info:
            run(FakeClock(), lambda client: client.list_page(1), max_body_bytes=4096)
    assert "larger than 4 KiB" in str(info.value)
    assert route.call_count == 1  # not retried: the server would send it again


def test_the_cap_counts_decoded_bytes_not_the_bytes_on_the_wire() -> None:
    body = gzip.compress(padded_page(100_000))
    assert len(body) < 4096
    with respx.mock(base_url=BASE_URL) as mock:
        mock.get("/v2/contacts").mock(
            return_value=httpx.Response(200, content=body, headers={"Content-Encoding": "gzip"})
        )
        with pytest.raises(ResponseTooLargeError):
            run(FakeClock(), lambda client: client.list_page(1), max_body_bytes=4096)


def test_an_error_answer_over_the_cap_is_refused_too() -> None:
    with respx.mock(base_url=BASE_URL) as mock:
        mock.get("/v2/contacts/1").mock(return_value=httpx.Response(404, content=b"x" * 10_000))
        with pytest.raises(ResponseTooLargeError):
            run(FakeClock(), lambda client: client.get_contact(1), max_body_bytes=4096)


def test_a_capped_answer_keeps_its_status_and_headers() -> None:
    answer = httpx.Response(
        200,
        json={"status": "success", "data": [contact_json(1)], "page": 1, "per_page": 100},
        headers={"X-Rate-Limit-Burst-Remaining": "0", "X-Rate-Limit-Burst-Reset": "5"},
    )
    with respx.mock(base_url=BASE_URL) as mock:
        mock.get("/v2/contacts").mock(return_value=answer)
        page, client = run(FakeClock(), lambda client: client.list_page(1), per_minute=30)
    assert [c.id for c in page.contacts] == [1]
    assert client.pacer.waited_s == 0.0 and client.stats.get == 1


# ---------------------------------------------------------------------------
# The request deadline
# ---------------------------------------------------------------------------


def slow_answer(seconds: float, started: list[float] | None = None) -> Any:
    async def answer(request: httpx.Request) -> httpx.Response:
        if started is not None:
            started.append(seconds)
        await asyncio.sleep(seconds)
        return ok([])

    return answer


def test_an_attempt_past_its_deadline_is_an_error_naming_the_deadline() -> None:
    # (a request cut off by its deadline is not recorded as a call of the route)
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        mock.get("/v2/contacts/1").mock(side_effect=slow_answer(30))
        with pytest.raises(RequestDeadlineError) as info:
            run(
                FakeClock(),
                lambda client: client.get_contact(1),
                request_deadline_s=0.05,
                max_attempts=1,
            )
    assert "0.05 s" in str(info.value) and REQUEST_DEADLINE_ENV in str(info.value)


def test_missed_deadlines_count_towards_the_outage_window() -> None:
    clock = FakeClock()
    attempts: list[float] = []
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        mock.get("/v2/contacts/1").mock(side_effect=slow_answer(30, attempts))
        with pytest.raises(ApiUnavailableError):
            run(
                clock,
                lambda client: client.get_contact(1),
                request_deadline_s=0.02,
                max_outage_s=1.0,
                max_attempts=100,
                rng=lambda: 1.0,
            )
    assert 2 <= len(attempts) < 10


# ---------------------------------------------------------------------------
# The listing ceiling
# ---------------------------------------------------------------------------


def lying_page(request: httpx.Request) -> httpx.Response:
    page = int(request.url.params["page"])
    start = (page - 1) * 100 + 1
    data = [contact_json(n, phone=f"+1415{2000000 + n:07d}") for n in range(start, start + 100)]
    return ok(data, page=page, per_page=100, total=10**12)


@pytest.mark.parametrize("options", [{"refresh": "full"}, {"prune": True}, {"phones": None}])
def test_a_total_beyond_the_ceiling_stops_after_page_one(options: dict[str, Any]) -> None:
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.get("/v2/contacts").mock(side_effect=lying_page)
        with pytest.raises(ListingTooLargeError) as info:
            run(FakeClock(), lambda client: fetch_remote(client, **options))
    assert route.call_count == 1
    message = str(info.value)
    assert "1000000000000" in message and "1,000,000" in message
    assert MAX_CONTACTS_ENV in message


def test_the_ceiling_is_the_configured_one() -> None:
    contacts = [contact_json(n) for n in range(1, 301)]

    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        return ok(contacts[(page - 1) * 100 : page * 100], page=page, per_page=100, total=300)

    with respx.mock(base_url=BASE_URL) as mock:
        mock.get("/v2/contacts").mock(side_effect=answer)
        state, _ = run(FakeClock(), lambda c: fetch_remote(c, refresh="full"), max_contacts=300)
        assert len(state.contacts) == 300
        with pytest.raises(ListingTooLargeError) as info:
            run(FakeClock(), lambda c: fetch_remote(c, refresh="full"), max_contacts=299)
    assert "299" in str(info.value)


def test_endless_pages_without_a_total_stop_at_the_ceiling() -> None:
    def endless(request: httpx.Request) -> httpx.Response:
        body = json.loads(lying_page(request).content)
        del body["total"]
        return httpx.Response(200, json=body)

    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.get("/v2/contacts").mock(side_effect=endless)
        with pytest.raises(ListingTooLargeError) as info:
            run(FakeClock(), lambda c: fetch_remote(c, refresh="full"), max_contacts=250)
    assert route.call_count == 3
    assert "250" in str(info.value)


def test_pages_holding_more_than_they_say_stop_at_the_ceiling() -> None:
    """`per_page: 1` with 100 contacts a page: the count of contacts read is what is bounded."""

    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        start = (page - 1) * 100 + 1
        data = [contact_json(n, phone=f"+1415{2000000 + n:07d}") for n in range(start, start + 100)]
        return ok(data, page=page, per_page=1, total=1000)

    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.get("/v2/contacts").mock(side_effect=answer)
        with pytest.raises(JcstateError):
            run(
                FakeClock(),
                lambda c: fetch_remote(c, refresh="full", concurrency=2),
                max_contacts=1000,
            )
    assert route.call_count < 40


def test_api_key_and_secret_stay_out_of_every_limit_message() -> None:
    with respx.mock(base_url=BASE_URL) as mock:
        mock.get("/v2/contacts").mock(return_value=httpx.Response(200, content=b" " * 5000))
        with pytest.raises(ResponseTooLargeError) as info:
            run(FakeClock(), lambda client: client.list_page(1), max_body_bytes=4096)
    assert API_KEY not in str(info.value) and API_SECRET not in str(info.value)

"""Fuzzing the client's response handling: any answer gives a typed ApiError or a right value.

Each example serves a random sequence of answers (status code, headers, body)
through an `httpx.MockTransport` to one `JustCallClient` method, on a
simulated clock (so rate-limit headers that say "wait an hour" cost nothing).
Bodies range from random bytes, through random JSON, to near-valid envelopes
with one part wrong (an id that is a float, a phone that is a list, `total`
of 1e999, `status: "error"` under a 200, ...).

Acceptable outcomes:

- an `ApiError` of the type the last answer's status calls for (401/403
  AuthError, 404 NotFoundError, 400/413/422 ApiValidationError, 429
  RateLimitedError, 5xx ServerError), or ProtocolError for a 2xx answer the
  client cannot read;
- a value that is exactly what the last answer said, checked by an oracle
  written independently of the client: the same ids, phones (as E.164 of
  what was sent) and counts. A 2xx error envelope, a non-integral id, or a
  contact without a phone never becomes a value.

Anything else (a KeyError, an OverflowError, an AssertionError from inside
the client, a value that differs from the answer) is a bug.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx
import phonenumbers
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from jcstate.errors import (
    ApiError,
    ApiUnavailableError,
    ApiValidationError,
    AuthError,
    BudgetExhaustedError,
    NotFoundError,
    ProtocolError,
    RateLimitedError,
    ServerError,
)
from jcstate.remote.client import ClientSettings, JustCallClient

EXAMPLES = int(os.environ.get("JCSTATE_FUZZ_EXAMPLES", "80"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SETTINGS = ClientSettings(
    api_url="http://127.0.0.1:9",
    api_key="fuzz-key-7f3a",
    api_secret="fuzz-secret-91bc",
    max_attempts=3,
)
PHONES = ["+14155550100", "+1 (415) 555-0101", "4155550102", "+442079460958", "12", "", "x"]


class SimulatedTime:
    """A clock that only moves when the client sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def wall(self) -> float:
        return 1_800_000_000.0 + self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


# ---------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),  # json.dumps writes inf as Infinity (Python reads it back)
    st.text(max_size=12),
    st.sampled_from(PHONES),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
ids: st.SearchStrategy[Any] = st.one_of(
    st.integers(min_value=1, max_value=10**6),
    st.integers(min_value=1, max_value=10**6).map(str),
    st.sampled_from([0, -1, 1.0, 1.5, 2**63, "1e3", "abc", None, True, [], {}, 1e999, math.nan]),
)


@st.composite
def contact_objects(draw: st.DrawFn) -> Any:
    """A contact as an API might send it: mostly right, sometimes one part wrong."""
    contact: dict[str, Any] = {"id": draw(ids)}
    phone_key = draw(st.sampled_from(["phone", "contact_number", "both", "none"]))
    phone = draw(st.one_of(st.sampled_from(PHONES), json_scalars))
    if phone_key in ("phone", "both"):
        contact["phone"] = phone
    if phone_key in ("contact_number", "both"):
        contact["contact_number"] = draw(st.sampled_from(PHONES))
    for name in ("first_name", "last_name", "email", "company"):
        if draw(st.booleans()):
            contact[name] = draw(st.one_of(st.text(max_size=10), json_scalars))
    if draw(st.booleans()):
        contact["custom_fields"] = draw(
            st.one_of(
                st.dictionaries(st.text(max_size=6), json_scalars, max_size=3),
                st.lists(
                    st.fixed_dictionaries({"key": st.text(max_size=5), "value": json_scalars}),
                    max_size=3,
                ),
                json_values,
            )
        )
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)  # not a contact at all
    return contact


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(
        st.sampled_from(["envelope", "envelope", "envelope", "list", "bulk", "json", "bytes"])
    )
    status_field = draw(st.sampled_from(["success", "success", "error", "failed", None, 1]))
    if kind == "bytes":
        return draw(st.binary(max_size=40))
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    body: dict[str, Any] = {}
    if status_field is not None:
        body["status"] = status_field
    if draw(st.booleans()):
        body["message"] = draw(st.one_of(st.text(max_size=20), json_scalars))
    if kind == "envelope":
        data = draw(contact_objects())
        body["data"] = [data] if draw(st.integers(0, 4)) == 0 else data
    elif kind == "list":
        body["data"] = draw(st.lists(contact_objects(), max_size=4))
        for key in ("page", "per_page", "total"):
            if draw(st.booleans()):
                body[key] = draw(st.one_of(st.integers(-5, 500), json_scalars))
    else:
        summary = {
            key: draw(st.one_of(st.integers(0, 5000), json_scalars))
            for key in ("created", "updated", "failed")
            if draw(st.integers(0, 5)) > 0
        }
        if draw(st.booleans()):
            summary["errors"] = draw(
                st.one_of(
                    st.lists(
                        st.fixed_dictionaries(
                            {"index": json_scalars, "phone": json_scalars, "message": json_scalars}
                        ),
                        max_size=2,
                    ),
                    json_values,
                )
            )
        if draw(st.booleans()):
            body["data"] = summary
        else:
            body.update(summary)
    return json.dumps(body).encode()


header_values = st.one_of(
    st.integers(-10, 10**10).map(str),
    st.sampled_from(["0", "1", "nan", "inf", "-inf", "1e999", "", "abc"]),
    st.just("Wed, 21 Oct 2015 07:28:00 GMT"),
)
RATE_HEADERS = [
    "Retry-After", "X-Rate-Limit-Limit", "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset",
    "X-Rate-Limit-Burst-Limit", "X-Rate-Limit-Burst-Remaining", "X-Rate-Limit-Burst-Reset",
]  # fmt: skip
answers = st.tuples(
    st.sampled_from([200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 409, 413, 422, 429, 500,
                     502, 503, 504, 299, 418]),
    st.dictionaries(st.sampled_from(RATE_HEADERS), header_values, max_size=3),
    bodies(),
)  # fmt: skip


# ---------------------------------------------------------------------------
# Running a method against the answers
# ---------------------------------------------------------------------------


def call(
    method: Callable[[JustCallClient], Awaitable[Any]],
    script: list[tuple[int, dict[str, str], bytes]],
) -> tuple[Any, BaseException | None, list[tuple[int, dict[str, str], bytes]]]:
    """Serve `script` (the last answer repeats) to one call; what it returned or raised."""
    served: list[tuple[int, dict[str, str], bytes]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        answer = script[min(len(served), len(script) - 1)]
        served.append(answer)
        status, headers, body = answer
        return httpx.Response(
            status, headers={"content-type": "application/json", **headers}, content=body
        )

    time = SimulatedTime()

    async def go() -> Any:
        async with JustCallClient(
            SETTINGS,
            httpx.MockTransport(handler),
            clock=time.clock,
            wall_clock=time.wall,
            sleep=time.sleep,
            rng=lambda: 0.5,
            log=lambda _line: None,
        ) as client:
            return await method(client)

    try:
        return asyncio.run(go()), None, served
    except ApiError as exc:
        return None, exc, served


def said_budget_is_spent(served: list[tuple[int, dict[str, str], bytes]]) -> bool:
    """Whether some answer's headers said to stop: no hourly budget left, or Retry-After."""
    for _status, headers, _body in served:
        names = {name.lower() for name in headers}
        if "retry-after" in names or "x-rate-limit-remaining" in names:
            return True
    return False


def check_error(exc: BaseException, served: list[tuple[int, dict[str, str], bytes]]) -> None:
    """The error type the last answer's status calls for."""
    assert SETTINGS.api_key not in str(exc) and SETTINGS.api_secret not in str(exc)
    status = served[-1][0]
    if isinstance(exc, BudgetExhaustedError):
        # The server's rate-limit headers may stop the run before the next attempt.
        assert said_budget_is_spent(served), f"{exc} without a header saying so"
        event("error BudgetExhaustedError")
        return
    expected: type[ApiError] | tuple[type[ApiError], ...]
    if status in (401, 403):
        expected = AuthError
    elif status == 404:
        expected = NotFoundError
    elif status in (400, 413, 422):
        expected = ApiValidationError
    elif status == 429:
        expected = RateLimitedError
    elif status >= 500:
        # Rate-limit headers on the 5xx answers may hold the client long enough (on the
        # simulated clock) that only failures filled the outage window: it stops then.
        expected = (ServerError, ApiUnavailableError)
    elif 200 <= status < 300:
        expected = (ProtocolError, ApiValidationError)  # unreadable, or a 2xx error envelope
    else:
        expected = ApiError
    assert isinstance(exc, expected), f"{type(exc).__name__} for a {status}: {exc}"
    event(f"error {type(exc).__name__}")


def e164(raw: Any) -> str | None:
    """What a phone sent by the server must become (None: not a phone we could read)."""
    try:
        number = phonenumbers.parse(str(raw), "US")
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def integral(value: Any) -> int | None:
    """The id an answer gave, if it is unmistakably an integer."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        return int(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def check_contact(contact: Any, raw: Any) -> None:
    """The parsed contact says what the server's object said."""
    assert isinstance(raw, Mapping), f"a value from a non-object: {raw!r}"
    assert contact.id == integral(raw.get("id")), (contact.id, raw.get("id"))
    phone_raw = raw.get("phone")
    if phone_raw is None or (isinstance(phone_raw, str) and not phone_raw.strip()):
        phone_raw = raw.get("contact_number")
    assert phone_raw is not None and str(phone_raw).strip(), f"a contact without a phone: {raw}"
    normalised = e164(phone_raw)
    if normalised is not None and phonenumbers.is_valid_number(phonenumbers.parse(normalised)):
        assert contact.phone == normalised, (contact.phone, phone_raw)


def success_body(served: list[tuple[int, dict[str, str], bytes]]) -> Any:
    status, _headers, body = served[-1]
    assert 200 <= status < 300, f"a value from a {status} answer"
    parsed = json.loads(body) if body.strip() else None
    if isinstance(parsed, Mapping):
        assert str(parsed.get("status", "")).lower() not in ("error", "failed"), (
            "an error envelope became a value"
        )
    event(f"value from {status}")
    return parsed


def single(parsed: Any) -> Any:
    data = parsed["data"]
    if isinstance(data, list):
        assert len(data) == 1
        data = data[0]
    return data


# ---------------------------------------------------------------------------
# The properties
# ---------------------------------------------------------------------------


@FUZZ
@given(script=st.lists(answers, min_size=1, max_size=4))
@example(script=[(200, {}, b'{"status":"success","data":{"id":1e999,"phone":"+14155550100"}}')])
@example(script=[(200, {}, b'{"status":"success","data":{"id":1.5,"phone":"+14155550100"}}')])
@example(script=[(200, {}, b'{"status":"error","data":{"id":1,"phone":"+14155550100"}}')])
@example(script=[(429, {"Retry-After": "1e999"}, b"{}")])
@example(script=[(429, {"Retry-After": "inf"}, b"{}")])
@example(script=[(200, {"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": "inf"}, b"{}")])
def test_get_contact(script: list[tuple[int, dict[str, str], bytes]]) -> None:
    value, error, served = call(lambda client: client.get_contact(7), script)
    if error is not None:
        check_error(error, served)
        return
    check_contact(value, single(success_body(served)))


@FUZZ
@given(script=st.lists(answers, min_size=1, max_size=4))
@example(script=[(200, {}, b'{"status":"success","data":[],"total":1e999}')])
def test_list_page(script: list[tuple[int, dict[str, str], bytes]]) -> None:
    value, error, served = call(lambda client: client.list_page(1), script)
    if error is not None:
        check_error(error, served)
        return
    parsed = success_body(served)
    data = parsed["data"]
    assert isinstance(data, list) and len(value.contacts) == len(data)
    for contact, raw in zip(value.contacts, data, strict=True):
        check_contact(contact, raw)
    total = parsed.get("total")
    if total is not None:
        assert value.total == integral(total), (value.total, total)


@FUZZ
@given(script=st.lists(answers, min_size=1, max_size=4))
def test_update_contact(script: list[tuple[int, dict[str, str], bytes]]) -> None:
    value, error, served = call(
        lambda client: client.update_contact(7, {"first_name": "Ann"}), script
    )
    if error is not None:
        check_error(error, served)
        return
    check_contact(value, single(success_body(served)))


@FUZZ
@given(script=st.lists(answers, min_size=1, max_size=4))
def test_create_contact(script: list[tuple[int, dict[str, str], bytes]]) -> None:
    value, error, served = call(
        lambda client: client.create_contact({"phone": "+14155550100", "first_name": "Ann"}),
        script,
    )
    if error is not None:
        check_error(error, served)
        return
    parsed = success_body(served)
    data = parsed["data"]
    if isinstance(data, list) and len(data) != 1:
        # After an unknown outcome the client looks the phone up: a listing answer.
        matches = [c for c in data if isinstance(c, Mapping) and c.get("id") == value.id]
        assert matches and value.phone == "+14155550100"
        return
    check_contact(value, single(parsed))


@FUZZ
@given(script=st.lists(answers, min_size=1, max_size=4))
def test_delete_contact(script: list[tuple[int, dict[str, str], bytes]]) -> None:
    value, error, served = call(lambda client: client.delete_contact(7), script)
    if error is not None:
        check_error(error, served)
        return
    assert value is None
    status = served[-1][0]
    if status == 404:
        assert len(served) > 1, "a 404 on the first attempt is not a deleted contact"
        event("404 on a retry")
        return
    success_body(served)


@FUZZ
@given(script=st.lists(answers, min_size=1, max_size=4))
@example(script=[(200, {}, b'{"created":1e999,"updated":0,"failed":0}')])
@example(script=[(200, {}, b'{"created":1.5,"updated":0,"failed":0}')])
def test_bulk_upsert(script: list[tuple[int, dict[str, str], bytes]]) -> None:
    value, error, served = call(
        lambda client: client.bulk_upsert([{"phone": "+14155550100"}]), script
    )
    if error is not None:
        check_error(error, served)
        return
    parsed = success_body(served)
    summary = parsed["data"] if isinstance(parsed.get("data"), Mapping) else parsed
    for key in ("created", "updated", "failed"):
        assert getattr(value, key) == integral(summary[key]), (key, summary[key])

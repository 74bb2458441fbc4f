"""Client unit tests (respx, simulated clock): settings, envelopes, errors, retries, logging."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st

from jcstate.core.model import DesiredState, Project, ProjectConfig
from jcstate.core.normalize import try_normalize_phone
from jcstate.errors import (
    ApiError,
    ApiValidationError,
    AuthError,
    CredentialsError,
    InsecureUrlError,
    NotFoundError,
    ProtocolError,
    ServerError,
    TransportError,
)
from jcstate.remote.client import (
    BulkItemError,
    JustCallClient,
    RequestRecord,
    normalize_remote_phone,
    parse_contact,
    resolve_settings,
)
from jcstate.remote.tolerant import _parse_contact_slowly
from tests.support.client import (
    API_KEY,
    API_SECRET,
    BASE_URL,
    FakeClock,
    contact_json,
    ok,
    run,
)

CREDS = {"JUSTCALL_API_KEY": API_KEY, "JUSTCALL_API_SECRET": API_SECRET}


def project(tmp_path: Path, **config: Any) -> Project:
    return Project(
        root=tmp_path,
        config_path=tmp_path / "jcstate.yaml",
        config=ProjectConfig.model_validate({"version": 1, **config}),
        contact_files=(),
        desired=DesiredState(contacts=()),
        digest="0",
    )


# ---------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------


def test_api_url_precedence_is_flag_then_env_then_config(tmp_path: Path) -> None:
    proj = project(tmp_path, api={"url": "https://config.example.com"})
    env = {**CREDS, "JCSTATE_API_URL": "https://env.example.com"}
    assert resolve_settings(proj, api_url=None, env=CREDS).api_url == "https://config.example.com"
    assert resolve_settings(proj, api_url=None, env=env).api_url == "https://env.example.com"
    flagged = resolve_settings(proj, api_url="https://flag.example.com", env=env)
    assert flagged.api_url == "https://flag.example.com"
    assert resolve_settings(None, api_url=None, env=CREDS).api_url == "https://api.justcall.io"


def test_missing_credentials_name_both_variables_before_any_request() -> None:
    with respx.mock(assert_all_mocked=True) as mock:
        with pytest.raises(CredentialsError) as excinfo:
            resolve_settings(None, api_url=None, env={"JUSTCALL_API_KEY": API_KEY})
        assert not mock.calls
    message = str(excinfo.value)
    assert "JUSTCALL_API_KEY" in message and "JUSTCALL_API_SECRET" in message
    assert API_KEY not in message


def test_plain_http_is_refused_for_remote_hosts_only() -> None:
    with pytest.raises(InsecureUrlError, match=r"api\.example\.com"):
        resolve_settings(None, api_url="http://api.example.com", env=CREDS)
    for url in ("http://127.0.0.1:8080", "http://localhost:9000", "http://[::1]:8000"):
        assert resolve_settings(None, api_url=url, env=CREDS).base_url == url
    forced = resolve_settings(None, api_url="http://api.example.com", env=CREDS, insecure_http=True)
    assert forced.base_url == "http://api.example.com"


def test_unknown_url_scheme_is_an_error() -> None:
    with pytest.raises(Exception, match="not valid"):
        resolve_settings(None, api_url="ftp://api.example.com", env=CREDS)


def test_pacing_defaults_are_conservative_for_justcall_and_unlimited_locally(
    tmp_path: Path,
) -> None:
    remote = resolve_settings(None, api_url=None, env=CREDS)
    assert (remote.per_minute, remote.per_hour) == (30, 1800)
    local = resolve_settings(None, api_url="http://127.0.0.1:8000", env=CREDS)
    assert (local.per_minute, local.per_hour) == (None, None)
    sandbox = resolve_settings(project(tmp_path), api_url="sandbox://db.sqlite", env={})
    assert (sandbox.per_minute, sandbox.per_hour) == (None, None)
    configured = resolve_settings(
        project(tmp_path, api={"rate_limit": {"per_minute": 90}, "concurrency": 8}),
        api_url=None,
        env=CREDS,
    )
    assert (configured.per_minute, configured.per_hour, configured.concurrency) == (90, 1800, 8)


def test_sandbox_path_is_relative_to_the_project_root_with_default_credentials(
    tmp_path: Path,
) -> None:
    proj = project(tmp_path, custom_fields={"plan_tier": {"type": "string"}})
    sandbox = resolve_settings(proj, api_url="sandbox://.jcstate/sandbox.db", env={})
    assert sandbox.sandbox_db == (tmp_path / ".jcstate" / "sandbox.db").resolve()
    assert sandbox.base_url == "http://sandbox"
    assert (sandbox.api_key, sandbox.api_secret) == ("sandbox-key", "sandbox-secret")
    assert sandbox.sandbox_custom_fields == ("plan_tier",)
    own = resolve_settings(proj, api_url="sandbox://x.db", env=CREDS)
    assert (own.api_key, own.api_secret) == (API_KEY, API_SECRET)


def test_settings_repr_hides_the_credentials() -> None:
    text = repr(resolve_settings(None, api_url=None, env=CREDS))
    assert API_KEY not in text and API_SECRET not in text


# ---------------------------------------------------------------------------
# Tolerant parsing
# ---------------------------------------------------------------------------


def test_parse_contact_normalises_phone_and_strings_and_keeps_custom_values_raw() -> None:
    contact = parse_contact(
        {
            "id": "42",
            "contact_number": " (415) 555-9876 ",
            "first_name": "  Jordan ",
            "email": " Jordan@Example.COM ",
            "company": "",
            "custom_fields": [{"key": "seats", "value": "12"}, {"key": "vip", "value": True}],
            "created_at": "2026-03-12T14:30:00Z",
        }
    )
    assert contact.id == 42
    assert contact.phone == "+14155559876"
    assert contact.fields == {
        "first_name": "Jordan",
        "last_name": None,
        "email": "jordan@example.com",
        "company": None,
    }
    assert contact.custom_fields == {"seats": "12", "vip": True}
    assert contact.created_at == "2026-03-12T14:30:00Z"


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.from_regex(r"\A\+1[0-9]{10}\Z"),
        st.from_regex(r"\A\+[0-9]{6,15}\Z"),
        st.from_regex(r"\A ?\+?[0-9 ()-]{4,18}\Z"),
    )
)
def test_the_remote_phone_shortcut_agrees_with_normalisation(raw: str) -> None:
    assert normalize_remote_phone(raw) == try_normalize_phone(raw)


_text = st.one_of(st.none(), st.text(max_size=8), st.integers())


@settings(max_examples=200, deadline=None)
@given(
    st.fixed_dictionaries(
        {
            "id": st.integers(min_value=1),
            "phone": st.from_regex(r"\A\+1[0-9]{10}\Z"),
            "first_name": _text,
            "email": _text,
            "company": _text,
            "custom_fields": st.dictionaries(st.text(max_size=5), _text, max_size=3),
            "created_at": st.one_of(st.none(), st.text(max_size=5)),
        }
    )
)
def test_the_common_shape_shortcut_parses_like_the_general_path(raw: dict[str, Any]) -> None:
    assert parse_contact(raw) == _parse_contact_slowly(raw, "US")


def test_parse_contact_keeps_an_unparseable_phone_as_written() -> None:
    assert parse_contact({"id": 1, "phone": " 12 "}).phone == "12"


@pytest.mark.parametrize(
    "raw",
    [{"phone": "+14155559876"}, {"id": 3}, {"id": "x", "phone": "+14155559876"}, ["id"]],
)
def test_parse_contact_rejects_missing_required_fields(raw: Any) -> None:
    with pytest.raises(ValueError):
        parse_contact(raw)


@respx.mock(base_url=BASE_URL)
def test_single_contact_data_may_be_an_object_or_a_one_element_list(
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.get("/v2/contacts/7").mock(return_value=ok(contact_json(7)))
    respx_mock.get("/v2/contacts/8").mock(return_value=ok([contact_json(8)]))
    clock = FakeClock()
    seven, _ = run(clock, lambda client: client.get_contact(7))
    eight, _ = run(clock, lambda client: client.get_contact(8))
    assert (seven.id, eight.id) == (7, 8)


@respx.mock(base_url=BASE_URL)
def test_a_list_of_two_where_one_contact_is_expected_is_a_protocol_error(
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.get("/v2/contacts/8").mock(return_value=ok([contact_json(8), contact_json(9)]))
    with pytest.raises(ProtocolError, match=r"GET /v2/contacts/8: .*list of 2"):
        run(FakeClock(), lambda client: client.get_contact(8))


@respx.mock(base_url=BASE_URL)
def test_an_html_page_is_a_protocol_error_naming_method_and_path(
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.get("/v2/contacts").mock(
        return_value=httpx.Response(
            200, text="<html><body>Bad gateway</body></html>", headers={"content-type": "text/html"}
        )
    )
    with pytest.raises(ProtocolError) as excinfo:
        run(FakeClock(), lambda client: client.list_page(3))
    message = str(excinfo.value)
    assert message.startswith("GET /v2/contacts?page=3&per_page=100")
    assert "not JSON" in message and "text/html" in message


@respx.mock(base_url=BASE_URL)
def test_a_truncated_json_body_is_a_protocol_error(respx_mock: respx.MockRouter) -> None:
    respx_mock.get("/v2/contacts").mock(
        return_value=httpx.Response(200, text='{"status":"success","data":[{"id":1,')
    )
    with pytest.raises(ProtocolError, match="not JSON"):
        run(FakeClock(), lambda client: client.list_page(1))


def test_a_page_with_an_unreadable_contact_names_the_contact() -> None:
    page = [contact_json(1), {"phone": "+14155550002"}, contact_json(3)]
    with respx.mock(base_url=BASE_URL) as mock:
        mock.get("/v2/contacts").mock(return_value=ok(page))
        with pytest.raises(
            ProtocolError, match=r"\?page=1&per_page=100.*contact #1: contact without an id"
        ):
            run(FakeClock(), lambda client: client.list_page(1))


#: Values a lying or hostile server may put anywhere in a contact (all valid JSON).
_json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["", " ", "\u2003x\u2003", "+14155550123", " +1 415 555 0123 ", "12"]),
)
_json_value = st.recursive(
    _json_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
_hostile_contact = st.one_of(
    st.fixed_dictionaries(
        {
            "id": st.one_of(st.integers(min_value=1, max_value=2**40), _json_scalar),
            "phone": st.one_of(st.from_regex(r"\A\+1[2-9][0-9]{2}[2-9][0-9]{6}\Z"), _json_scalar),
        },
        optional={
            name: _json_value
            for name in (
                "contact_number",
                "first_name",
                "last_name",
                "email",
                "company",
                "custom_fields",
                "created_at",
                "updated_at",
            )
        },
    ),
    _json_value,
)


@settings(max_examples=100, deadline=None)
@given(st.lists(_hostile_contact, max_size=6))
def test_a_listed_page_holds_exactly_the_contacts_each_item_parses_to(items: list[Any]) -> None:
    """Through the whole client (JSON over HTTP), a page is its items read one by one,
    or an error naming the first item that cannot be read."""
    expected: list[Any] = []
    failed: str | None = None
    for index, item in enumerate(items):
        try:
            expected.append(parse_contact(item))
        except ValueError as exc:
            failed = f"contact #{index}: {exc}"
            break

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"status": "success", "data": items})

    transport = httpx.MockTransport(answer)
    try:
        page, _ = run(FakeClock(), lambda client: client.list_page(1), transport=transport)
    except ProtocolError as exc:
        assert failed is not None and str(exc).endswith(failed)
    else:
        assert failed is None
        assert page.contacts == expected


@pytest.mark.parametrize(
    "body",
    [
        {"status": "success"},
        {"status": "success", "data": {"id": 1}},
        {"status": "success", "data": [{"id": 1, "phone": "+14155550001"}, {"phone": "+1"}]},
        [],
    ],
)
def test_a_listing_without_a_proper_contact_list_is_never_empty(body: Any) -> None:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        mock.get("/v2/contacts").mock(return_value=httpx.Response(200, json=body))
        with pytest.raises(ProtocolError, match=r"^GET /v2/contacts\?page=1"):
            run(FakeClock(), lambda client: client.list_page(1))


@pytest.mark.parametrize("status_word", ["error", "failed"])
def test_status_error_or_failed_is_an_error_with_the_servers_message(status_word: str) -> None:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        route = mock.put("/v2/contacts/5").mock(
            return_value=httpx.Response(
                200,
                json={"status": status_word, "message": "email is invalid", "error_code": "E42"},
            )
        )
        with pytest.raises(ApiValidationError) as excinfo:
            run(FakeClock(), lambda client: client.update_contact(5, {"email": "x"}))
    assert "email is invalid" in str(excinfo.value)
    assert excinfo.value.error_code == "E42"
    assert route.call_count == 1


# ---------------------------------------------------------------------------
# Errors that are never retried
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, ApiValidationError),
        (401, AuthError),
        (403, AuthError),
        (404, NotFoundError),
        (413, ApiValidationError),
        (422, ApiValidationError),
    ],
)
def test_client_errors_are_mapped_and_not_retried(status: int, error_class: type[ApiError]) -> None:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        route = mock.put("/v2/contacts/9").mock(
            return_value=httpx.Response(status, json={"status": "error", "message": "nope"})
        )
        with pytest.raises(error_class) as excinfo:
            run(FakeClock(), lambda client: client.update_contact(9, {"company": "A"}))
    assert route.call_count == 1
    assert excinfo.value.status == status
    assert str(excinfo.value).startswith(f"PUT /v2/contacts/9 ({status}): nope")


def test_auth_errors_point_at_the_variables_and_never_echo_credentials() -> None:
    echo = f"bad credentials {API_KEY}:{API_SECRET}"
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        mock.get("/v2/contacts/1").mock(
            return_value=httpx.Response(401, json={"status": "error", "message": echo})
        )
        with pytest.raises(AuthError) as excinfo:
            run(FakeClock(), lambda client: client.get_contact(1))
    message = str(excinfo.value)
    assert "JUSTCALL_API_KEY" in message
    assert API_KEY not in message and API_SECRET not in message


def test_the_credentials_travel_in_the_authorization_header() -> None:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        route = mock.get("/v2/contacts/1").mock(return_value=ok(contact_json(1)))
        run(FakeClock(), lambda client: client.get_contact(1))
    assert route.calls.last.request.headers["Authorization"] == f"{API_KEY}:{API_SECRET}"


# ---------------------------------------------------------------------------
# Retries
# ---------------------------------------------------------------------------


def test_get_is_retried_on_5xx_with_full_jitter_backoff() -> None:
    clock = FakeClock()
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        route = mock.get("/v2/contacts/1").mock(
            side_effect=[
                httpx.Response(503, text="busy"),
                httpx.Response(500, json={"status": "error", "message": "oops"}),
                ok(contact_json(1)),
            ]
        )
        contact, client = run(clock, lambda client: client.get_contact(1), rng=lambda: 0.5)
    assert contact.id == 1
    assert route.call_count == 3
    # full jitter with rng()=0.5: 0.5 * 0.5 * 2^0, then 0.5 * 0.5 * 2^1
    assert clock.sleeps == pytest.approx([0.25, 0.5])
    assert client.stats.as_dict() == {
        "total": 3, "get": 3, "post": 0, "put": 0, "delete": 0, "bulk": 0,
        "retries": 2, "rate_limited": 0,
    }  # fmt: skip


def test_retries_are_bounded_and_the_last_error_is_reported() -> None:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        route = mock.get("/v2/contacts/1").mock(return_value=httpx.Response(502))
        with pytest.raises(ServerError, match=r"GET /v2/contacts/1 \(502\)"):
            run(FakeClock(), lambda client: client.get_contact(1), max_attempts=4)
    assert route.call_count == 4


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("eof")],
)
def test_get_and_put_are_retried_on_transport_errors(failure: Exception) -> None:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        get = mock.get("/v2/contacts/1").mock(side_effect=[failure, ok(contact_json(1))])
        put = mock.put("/v2/contacts/1").mock(side_effect=[failure, ok(contact_json(1))])
        run(FakeClock(), lambda client: client.get_contact(1))
        run(FakeClock(), lambda client: client.update_contact(1, {"company": "B"}))
    assert (get.call_count, put.call_count) == (2, 2)


def test_transport_errors_after_the_last_attempt_are_transport_errors() -> None:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        mock.get("/v2/contacts/1").mock(side_effect=httpx.ReadTimeout("slow"))
        with pytest.raises(TransportError, match=r"GET /v2/contacts/1: no answer in time"):
            run(FakeClock(), lambda client: client.get_contact(1), max_attempts=2)


def test_delete_answered_404_on_a_retry_has_succeeded() -> None:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        route = mock.delete("/v2/contacts/3").mock(
            side_effect=[httpx.Response(500), httpx.Response(404, json={"message": "gone"})]
        )
        result, client = run(FakeClock(), lambda client: client.delete_contact(3))
    assert result is None
    assert route.call_count == 2
    assert client.stats.delete == 2


def test_delete_answered_404_at_once_is_not_found() -> None:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        mock.delete("/v2/contacts/3").mock(return_value=httpx.Response(404, json={}))
        with pytest.raises(NotFoundError):
            run(FakeClock(), lambda client: client.delete_contact(3))


def test_create_with_unknown_outcome_is_looked_up_before_resending() -> None:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        post = mock.post("/v2/contacts").mock(return_value=httpx.Response(504))
        lookup = mock.get("/v2/contacts", params={"phone": "+14155559876"}).mock(
            return_value=ok([contact_json(77, "+14155559876")], total=1)
        )
        created, client = run(
            FakeClock(),
            lambda client: client.create_contact({"phone": "(415) 555-9876", "first_name": "J"}),
        )
    assert created.id == 77
    assert post.call_count == 1
    assert lookup.call_count == 1
    assert (client.stats.post, client.stats.get) == (1, 1)


def test_create_after_a_read_timeout_and_no_match_is_resent_once() -> None:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        post = mock.post("/v2/contacts").mock(
            side_effect=[httpx.ReadTimeout("slow"), ok(contact_json(5, "+14155559876"))]
        )
        lookup = mock.get("/v2/contacts").mock(return_value=ok([], total=0))
        created, _ = run(
            FakeClock(), lambda client: client.create_contact({"phone": "+14155559876"})
        )
    assert created.id == 5
    assert (post.call_count, lookup.call_count) == (2, 1)


def test_create_that_never_reached_the_server_is_resent_without_lookup() -> None:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        post = mock.post("/v2/contacts").mock(
            side_effect=[httpx.ConnectError("refused"), ok(contact_json(5, "+14155559876"))]
        )
        lookup = mock.get("/v2/contacts").mock(return_value=ok([]))
        run(FakeClock(), lambda client: client.create_contact({"phone": "+14155559876"}))
    assert (post.call_count, lookup.call_count) == (2, 0)


def test_create_rejected_with_422_is_not_retried() -> None:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        post = mock.post("/v2/contacts").mock(
            return_value=httpx.Response(422, json={"status": "error", "message": "bad phone"})
        )
        with pytest.raises(ApiValidationError, match="bad phone"):
            run(FakeClock(), lambda client: client.create_contact({"phone": "+1"}))
    assert post.call_count == 1


def test_bulk_batch_is_resent_on_5xx_and_its_summary_is_parsed() -> None:
    summary = {
        "created": 1,
        "updated": 1,
        "failed": 1,
        "errors": [{"index": 2, "phone": "+1", "message": "invalid phone"}],
    }
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        route = mock.post("/v2/contacts/bulk").mock(
            side_effect=[httpx.Response(503), httpx.Response(200, json=summary)]
        )
        contacts = [{"phone": "+14155550001"}, {"phone": "+14155550002"}, {"phone": "+1"}]
        result, client = run(FakeClock(), lambda client: client.bulk_upsert(contacts))
    assert (result.created, result.updated, result.failed) == (1, 1, 1)
    assert result.errors == [BulkItemError(index=2, phone="+1", message="invalid phone")]
    assert route.call_count == 2
    assert (client.stats.bulk, client.stats.post, client.stats.retries) == (2, 0, 1)


def test_bulk_summary_inside_data_is_accepted_and_a_missing_count_is_an_error() -> None:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        mock.post("/v2/contacts/bulk").mock(
            side_effect=[
                ok({"created": 2, "updated": 0, "failed": 0, "errors": []}),
                httpx.Response(200, json={"status": "success", "created": 2}),
            ]
        )
        result, _ = run(FakeClock(), lambda client: client.bulk_upsert([{"phone": "+1"}]))
        assert result.created == 2
        with pytest.raises(ProtocolError, match="'updated'"):
            run(FakeClock(), lambda client: client.bulk_upsert([{"phone": "+1"}]))


def test_bulk_over_the_limit_is_refused_before_sending() -> None:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        route = mock.post("/v2/contacts/bulk").mock(return_value=httpx.Response(500))
        with pytest.raises(ApiValidationError, match="5000"):
            run(FakeClock(), lambda client: client.bulk_upsert([{"phone": "+1"}] * 5001))
    assert route.call_count == 0


def test_every_attempt_is_reported_to_on_request() -> None:
    records: list[RequestRecord] = []

    async def body(client: JustCallClient) -> None:
        client.on_request = records.append
        await client.get_contact(1)

    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        mock.get("/v2/contacts/1").mock(
            side_effect=[httpx.ConnectError("refused"), httpx.Response(503), ok(contact_json(1))]
        )
        run(FakeClock(), body)
    assert [(r.method, r.path, r.status, r.attempt) for r in records] == [
        ("GET", "/v2/contacts/1", None, 1),
        ("GET", "/v2/contacts/1", 503, 2),
        ("GET", "/v2/contacts/1", 200, 3),
    ]
    assert records[0].error is not None and "could not connect" in records[0].error
    assert records[2].error is None


def test_verbose_logs_each_attempt_with_authorization_redacted() -> None:
    lines: list[str] = []
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        mock.get("/v2/contacts/1").mock(side_effect=[httpx.Response(500), ok(contact_json(1))])
        run(FakeClock(), lambda client: client.get_contact(1), verbose=2, log=lines.append)
    text = "\n".join(lines)
    assert "GET /v2/contacts/1 -> 500" in text and "(attempt 1)" in text
    assert "GET /v2/contacts/1 -> 200" in text and "(attempt 2)" in text
    assert "authorization: [redacted]" in text.lower()
    assert API_KEY not in text and API_SECRET not in text


def test_quiet_client_logs_nothing() -> None:
    lines: list[str] = []
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        mock.get("/v2/contacts/1").mock(return_value=ok(contact_json(1)))
        run(FakeClock(), lambda client: client.get_contact(1), log=lines.append)
    assert lines == []


def test_find_by_phone_ignores_rows_a_server_returned_for_other_phones() -> None:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        route = mock.get("/v2/contacts").mock(
            return_value=ok([contact_json(1, "+14155550001"), contact_json(2, "+14155559876")])
        )
        found, _ = run(FakeClock(), lambda client: client.find_by_phone("415-555-9876"))
    assert [contact.id for contact in found] == [2]
    assert route.calls.last.request.url.params["phone"] == "+14155559876"


def test_update_without_data_reads_the_contact_back() -> None:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        mock.put("/v2/contacts/4").mock(return_value=httpx.Response(200, json={"status": "ok"}))
        get = mock.get("/v2/contacts/4").mock(return_value=ok(contact_json(4, company="B")))
        updated, _ = run(FakeClock(), lambda client: client.update_contact(4, {"company": "B"}))
    assert updated.fields["company"] == "B"
    assert get.call_count == 1


def test_a_remote_phone_in_other_digits_is_read_as_its_e164() -> None:
    """The shortcut for `+1NXXNXXXXXX` takes ASCII digits only (Python's `\\d` takes any)."""
    phone = "+120\u06612000000"  # an Arabic-Indic one
    assert parse_contact({"id": 1, "phone": phone, "custom_fields": {}}).phone == "+12012000000"
    assert parse_contact({"id": 1, "phone": phone, "custom_fields": []}).phone == "+12012000000"

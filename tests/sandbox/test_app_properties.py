"""Whatever a client sends, the sandbox answers with an envelope, never a crash."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jcstate.sandbox.app import create_app
from jcstate.sandbox.config import SandboxConfig

AUTH = {"Authorization": "sandbox-key:sandbox-secret"}

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
field_names = st.sampled_from(
    ["phone", "first_name", "last_name", "email", "company", "custom_fields", "id", "x"]
)
phones = st.sampled_from(["+14155550101", "(415) 555-0102", "4155550103", "12", "", "+4420"])
contact_bodies = st.dictionaries(field_names, json_values | phones, max_size=6) | json_values


def _answers(tmp_path: Path, requests: list[tuple[str, str, Any]]) -> list[httpx.Response]:
    async def main() -> list[httpx.Response]:
        app = create_app(SandboxConfig(db_path=tmp_path / "prop.db"))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://sandbox", headers=AUTH
        ) as client:
            out = []
            for method, path, body in requests:
                content = json.dumps(body, allow_nan=True).encode()
                out.append(await client.request(method, path, content=content))
            return out

    return asyncio.run(main())


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(create=contact_bodies, update=contact_bodies, batch=st.lists(contact_bodies, max_size=4))
def test_any_body_gets_an_envelope_and_no_server_error(
    tmp_path: Path, create: Any, update: Any, batch: list[Any]
) -> None:
    responses = _answers(
        tmp_path,
        [
            ("POST", "/v2/contacts", create),
            ("PUT", "/v2/contacts/1", update),
            ("POST", "/v2/contacts/bulk", {"contacts": batch}),
            ("POST", "/v2/contacts/bulk", batch),
        ],
    )
    for response in responses:
        assert response.status_code in (200, 400, 404, 422), response.text
        body = response.json()
        assert body["status"] in ("success", "error")
        if body["status"] == "error":
            assert isinstance(body["message"], str) and body["message"]
    listing = _answers(tmp_path, [("GET", "/v2/contacts?per_page=100", None)])[0]
    assert listing.status_code == 200
    for contact in listing.json()["data"]:
        assert contact["phone"].startswith("+")

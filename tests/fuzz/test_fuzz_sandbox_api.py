"""Schemathesis against the served sandbox's own `/openapi.json`: no 5xx, faults off.

A real peer tool reads the schema the sandbox publishes and generates
requests for every operation in it: valid ones (positive mode) and ones that
break the schema (negative mode). They go over HTTP to `jcstate sandbox serve`
on loopback, with the right credentials. With faults off, any 5xx is a bug in
the sandbox (schemathesis' `not_a_server_error` check, and our own assert).

Schemathesis' pytest plugin does not load under this pytest, so its Python API
is used directly: one hypothesis strategy per operation and mode.
`JCSTATE_FUZZ_EXAMPLES` sets the examples per operation and mode (CI: 25).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err

from tests.support.sandbox_server import SandboxServer, start_sandbox

EXAMPLES = int(os.environ.get("JCSTATE_FUZZ_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    db: Path = tmp_path_factory.mktemp("schemathesis") / "sandbox.db"
    with start_sandbox(db) as server:
        yield server


def operations(server: SandboxServer) -> list[Any]:
    api = schemathesis.openapi.from_url(server.url + "/openapi.json")
    found = []
    for result in api.get_all_operations():
        assert not isinstance(result, Err), f"the schema has an unusable operation: {result}"
        found.append(result.ok())
    return found


def test_the_schema_documents_the_six_endpoints(served: SandboxServer) -> None:
    labels = {operation.label for operation in operations(served)}
    assert {
        "GET /v2/contacts",
        "POST /v2/contacts",
        "GET /v2/contacts/{contact_id}",
        "PUT /v2/contacts/{contact_id}",
        "DELETE /v2/contacts/{contact_id}",
        "POST /v2/contacts/bulk",
    } <= labels, labels


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_an_id_beyond_64_bits_is_not_found(served: SandboxServer, method: str) -> None:
    # Found by schemathesis: SQLite cannot bind 2**63, and that was a 500.
    response = httpx.request(
        method,
        f"{served.url}/v2/contacts/{2**63}",
        headers=served.auth_headers,
        json={"first_name": "Ann"} if method == "PUT" else None,
    )
    assert response.status_code == 404, response.text


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_error_for_any_generated_request(
    served: SandboxServer, mode: GenerationMode
) -> None:
    statuses: Counter[int] = Counter()
    for operation in operations(served):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def no_server_error(case: schemathesis.Case[Any]) -> None:
            response = case.call(base_url=served.url, headers=served.auth_headers, timeout=30)
            statuses[response.status_code] += 1
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} -> {response.status_code}: "
                f"{response.text[:300]}"
            )
            case.validate_response(response, checks=[not_a_server_error])

        no_server_error()
    print(f"{mode.value}: status codes {dict(sorted(statuses.items()))}")
    assert sum(statuses.values()) >= EXAMPLES  # requests were really sent

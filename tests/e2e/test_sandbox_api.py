"""The served sandbox over real HTTP: the seed document's examples and the API's edges."""

from __future__ import annotations

import re
from typing import Any

import httpx

from jcstate.sandbox.seeddata import generated_contacts
from tests.support.sandbox_server import SandboxServer

UTC_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
CONTACT_KEYS = {
    "id",
    "first_name",
    "last_name",
    "phone",
    "email",
    "company",
    "custom_fields",
    "created_at",
    "updated_at",
}


def client_for(server: SandboxServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=server.auth_headers, timeout=30)


def bulk(client: httpx.Client, contacts: list[dict[str, Any]]) -> dict[str, Any]:
    response = client.post("/v2/contacts/bulk", json={"contacts": contacts})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_seed_document_examples(sandbox_server: SandboxServer) -> None:
    """Each curl example of contacts-api.txt, sent as written (with the sandbox's credentials)."""
    with client_for(sandbox_server) as client:
        # Create a Contact
        created = client.post(
            "/v2/contacts",
            headers={"Content-Type": "application/json"},
            json={
                "first_name": "Jordan",
                "last_name": "Lee",
                "phone": "+14155559876",
                "email": "jordan@example.com",
                "company": "Acme Corp",
                "custom_fields": {"lead_source": "Website", "plan_tier": "Enterprise"},
            },
        )
        assert created.status_code == 200
        body = created.json()
        assert body["status"] == "success"
        contact = body["data"]
        assert set(contact) == CONTACT_KEYS
        assert contact["phone"] == "+14155559876"
        assert contact["custom_fields"] == {"lead_source": "Website", "plan_tier": "Enterprise"}
        assert UTC_Z.match(contact["created_at"]) and UTC_Z.match(contact["updated_at"])
        contact_id = contact["id"]

        # Search and Filter Contacts
        found = client.get("/v2/contacts?search=jordan&company=Acme+Corp&page=1&per_page=25").json()
        assert [c["id"] for c in found["data"]] == [contact_id]
        assert (found["page"], found["per_page"], found["total"]) == (1, 25, 1)
        assert found["next_page_link"] is None

        # Update a Contact: only the fields sent change; custom fields merge by key
        updated = client.put(
            f"/v2/contacts/{contact_id}",
            json={"company": "Acme Corp International", "custom_fields": {"plan_tier": "Premium"}},
        ).json()["data"]
        assert updated["company"] == "Acme Corp International"
        assert updated["custom_fields"] == {"lead_source": "Website", "plan_tier": "Premium"}
        assert (updated["first_name"], updated["email"]) == ("Jordan", "jordan@example.com")
        assert client.get(f"/v2/contacts/{contact_id}").json()["data"] == updated

        # Delete a Contact: permanent
        deleted = client.delete(f"/v2/contacts/{contact_id}")
        assert deleted.status_code == 200 and deleted.json()["status"] == "success"
        gone = client.get(f"/v2/contacts/{contact_id}")
        assert gone.status_code == 404
        assert gone.json() == {"status": "error", "message": "Contact not found"}
        assert client.delete(f"/v2/contacts/{contact_id}").status_code == 404

        # Bulk Import Contacts: created, then updated (matched by phone)
        pair = [
            {"first_name": "Jordan", "last_name": "Lee", "phone": "+14155559876"},
            {"first_name": "Sam", "last_name": "Chen", "phone": "+14155558765"},
        ]
        first = bulk(client, pair)
        assert (first["created"], first["updated"], first["failed"], first["errors"]) == (
            2,
            0,
            0,
            [],
        )
        again = bulk(client, pair)
        assert (again["created"], again["updated"], again["failed"]) == (0, 2, 0)
        listing = client.get("/v2/contacts").json()
        assert listing["total"] == 2
        assert all(c["id"] > contact_id for c in listing["data"])  # ids are never reused


def test_pagination_edges(sandbox_server: SandboxServer) -> None:
    with client_for(sandbox_server) as client:
        empty = client.get("/v2/contacts").json()
        assert (empty["data"], empty["total"], empty["next_page_link"]) == ([], 0, None)
        assert empty["per_page"] == 25  # the documented default

        bulk(client, list(generated_contacts(0, 250)))
        pages = [
            client.get("/v2/contacts", params={"page": n, "per_page": 100}).json()
            for n in (1, 2, 3, 4)
        ]
        assert [len(p["data"]) for p in pages] == [100, 100, 50, 0]
        assert all(p["total"] == 250 for p in pages)
        ids = [c["id"] for p in pages for c in p["data"]]
        assert ids == sorted(ids) and len(set(ids)) == 250
        follow = client.get(pages[0]["next_page_link"]).json()
        assert follow["page"] == 2 and follow["data"] == pages[1]["data"]
        assert pages[1]["next_page_link"] is not None
        assert pages[2]["next_page_link"] is None and pages[3]["next_page_link"] is None

        default = client.get("/v2/contacts", params={"page": 10}).json()
        assert len(default["data"]) == 25 and default["next_page_link"] is None

        bad_queries: list[tuple[dict[str, str | int], str]] = [
            ({"per_page": 101}, "per_page: must be at most 100"),
            ({"per_page": 0}, "per_page: must be at least 1"),
            ({"page": 0}, "page: must be at least 1"),
            ({"page": "two"}, "page: must be an integer"),
        ]
        for params, message in bad_queries:
            response = client.get("/v2/contacts", params=params)
            assert response.status_code == 400, params
            assert response.json() == {"status": "error", "message": message}


def test_bulk_limit_and_per_record_failures(sandbox_server: SandboxServer) -> None:
    with client_for(sandbox_server) as client:
        too_many = list(generated_contacts(0, 5001))
        refused = client.post("/v2/contacts/bulk", json={"contacts": too_many})
        assert refused.status_code == 400
        assert refused.json()["message"] == "contacts: at most 5000 contacts per request (got 5001)"
        assert client.get("/v2/contacts").json()["total"] == 0

        batch = too_many[:5000]
        batch[10] = {"phone": "12345", "first_name": "Bad"}
        batch[20] = {**batch[20], "email": "not-an-email"}
        result = bulk(client, batch)
        assert (result["created"], result["updated"], result["failed"]) == (4998, 0, 2)
        assert result["errors"] == [
            {"index": 10, "phone": "12345", "message": "phone: invalid phone number '12345'"},
            {
                "index": 20,
                "phone": batch[20]["phone"],
                "message": "email: invalid e-mail address 'not-an-email'",
            },
        ]
        assert client.get("/v2/contacts").json()["total"] == 4998


def test_filters(sandbox_server: SandboxServer) -> None:
    with client_for(sandbox_server) as client:
        bulk(
            client,
            [
                {"phone": "+14155559876", "first_name": "Jordan", "email": "Jordan@Example.com"},
                {"phone": "+14155558765", "first_name": "Sam", "company": "Acme Corp"},
                {"phone": "+14155557654", "last_name": "Jordanson", "company": "Globex"},
            ],
        )

        def phones(**params: str) -> list[str]:
            body = client.get("/v2/contacts", params=params).json()
            assert body["total"] == len(body["data"])
            return [c["phone"] for c in body["data"]]

        assert phones(phone="(415) 555-9876") == ["+14155559876"]  # compared in E.164
        assert phones(email="jordan@example.com") == ["+14155559876"]
        assert phones(company="Acme Corp") == ["+14155558765"]
        assert phones(search="JORDAN") == ["+14155559876", "+14155557654"]
        assert phones(search="5558") == ["+14155558765"]
        assert phones(search="jordan", company="Globex") == ["+14155557654"]
        assert phones(company="Nobody Inc") == []
        bad = client.get("/v2/contacts", params={"phone": "12"})
        assert bad.status_code == 422 and bad.json()["message"].startswith("phone: ")


def test_validation_and_partial_update(sandbox_server: SandboxServer) -> None:
    with client_for(sandbox_server) as client:
        for body, status, field in [
            ({"first_name": "No phone"}, 400, "phone"),
            ({"phone": "555"}, 422, "phone"),
            ({"phone": "+14155559876", "email": "nope"}, 422, "email"),
            ({"phone": "+14155559876", "favourite": "x"}, 400, "favourite"),
        ]:
            response = client.post("/v2/contacts", json=body)
            assert response.status_code == status, body
            assert response.json()["status"] == "error"
            assert response.json()["message"].startswith(f"{field}: ")
        not_json = client.post("/v2/contacts", content=b"{nope")
        assert not_json.status_code == 400 and "not valid JSON" in not_json.json()["message"]

        contact = client.post(
            "/v2/contacts",
            json={
                "phone": "+1 415 555 9876",
                "first_name": "Jordan",
                "company": "Acme",
                "custom_fields": {"a": "1", "b": "2"},
            },
        ).json()["data"]
        path = f"/v2/contacts/{contact['id']}"
        cleared = client.put(path, json={"company": None, "custom_fields": {"a": None}}).json()
        assert cleared["data"]["company"] is None
        assert cleared["data"]["custom_fields"] == {"b": "2"}
        assert cleared["data"]["first_name"] == "Jordan"
        assert client.put(path, json={"phone": "nope"}).status_code == 422
        assert client.put(path, json={"phone": None}).status_code == 400
        assert client.put("/v2/contacts/999999", json={"company": "X"}).status_code == 404
        assert client.get("/v2/contacts/not-a-number").status_code == 404

        # The real service accepts a second contact with the same phone; jcstate must cope.
        duplicate = client.post("/v2/contacts", json={"phone": "+14155559876"})
        assert duplicate.status_code == 200
        assert duplicate.json()["data"]["id"] > contact["id"]
        assert client.get("/v2/contacts", params={"phone": "+14155559876"}).json()["total"] == 2
        upserted = bulk(client, [{"phone": "+14155559876", "last_name": "Lee"}])
        assert upserted["updated"] == 1
        assert client.get(path).json()["data"]["last_name"] == "Lee"  # the lowest id


def test_auth_failures(sandbox_server: SandboxServer) -> None:
    attempts: list[dict[str, str]] = [
        {},
        {"Authorization": ""},
        {"Authorization": "sandbox-key"},
        {"Authorization": "sandbox-key:wrong"},
        {"Authorization": "wrong:sandbox-secret"},
        {"Authorization": "sandbox-key:sandbox-secret:extra"},
        {"Authorization": "Bearer sandbox-key:sandbox-secret"},
    ]
    with httpx.Client(base_url=sandbox_server.url) as client:
        for headers in attempts:
            for method, path in [
                ("GET", "/v2/contacts"),
                ("POST", "/v2/contacts/bulk"),
                ("GET", "/x"),
            ]:
                response = client.request(method, path, headers=headers, json={})
                assert response.status_code == 401, (headers, method, path)
                assert response.json() == {"status": "error", "message": "Unauthorized"}
        ok = client.get("/v2/contacts", headers=sandbox_server.auth_headers)
        assert ok.status_code == 200

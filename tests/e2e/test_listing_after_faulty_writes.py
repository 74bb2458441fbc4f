"""Writes through injected faults over real HTTP, then a listing: no duplicates, nothing lost.

The sandbox commits some writes and then answers 500 or drops the connection
(`--ambiguous-rate`), and answers others 503 before doing anything
(`--fail-rate`). The client must look a create up before resending it, treat
a DELETE answered 404 on a retry as done, and resend bulk batches.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from jcstate.core.model import RemoteState
from jcstate.remote.client import JustCallClient, resolve_settings
from jcstate.remote.listing import fetch_remote
from jcstate.sandbox.seeddata import generated_phone
from tests.support.sandbox_server import start_sandbox


def test_creates_deletes_and_bulk_through_faults_converge_exactly(tmp_path: Path) -> None:
    phones = [generated_phone(index) for index in range(40)]
    single, bulk = phones[:20], phones[20:]
    faults = ("--ambiguous-rate", "0.2", "--fail-rate", "0.1", "--fault-seed", "11")
    with start_sandbox(tmp_path / "sandbox.db", *faults) as server:
        settings = resolve_settings(None, api_url=server.url, env=server.env)

        async def main() -> tuple[RemoteState, dict[str, int]]:
            async with JustCallClient(settings) as client:
                created = [
                    await client.create_contact({"phone": phone, "first_name": "One"})
                    for phone in single
                ]
                for start in range(0, len(bulk), 5):
                    batch = bulk[start : start + 5]
                    await client.bulk_upsert([{"phone": p, "first_name": "Bulk"} for p in batch])
                for contact in created[:6]:
                    await client.delete_contact(contact.id)
                state = await fetch_remote(client, refresh="full")
                return state, client.stats.as_dict()

        state, stats = asyncio.run(main())
    assert state.conflicts == ()
    assert sorted(c.phone for c in state.contacts) == sorted(single[6:] + bulk)
    # the faults happened and were handled
    assert stats["retries"] > 0
    assert stats["get"] > 1  # creates with an unknown outcome were looked up

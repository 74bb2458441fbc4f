"""Sandbox figures (issue 3): `python -m tests.bench.sandbox_bench [--contacts N] [--smoke]`.

A served sandbox (`jcstate sandbox serve`, real HTTP on loopback) holding
`contacts` seeded contacts:

1. List every contact at 100 per page with 4 concurrent requests (one httpx
   client, 4 connections): pages/s and the slowest page; the listing is
   checked to be complete (every id once, as many as `total`). The server's
   CPU time per page is reported too: pages/s depends on what else runs on
   the machine (the client shares its cores), CPU per page much less.
2. First vs last page latency (median of sequential requests): later pages
   must not get slower as the offset grows.
3. Bulk import of 5,000 new contacts in one request, then the same 5,000 again
   (all updates): time of each.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from jcstate.sandbox.seeddata import generated_contacts
from jcstate.sandbox.store import ContactStore
from tests.bench.common import BenchRow, bench_main, verdict
from tests.support.sandbox_server import SandboxServer, start_sandbox

PER_PAGE = 100
CONCURRENCY = 4
PAGES_PER_S_TARGET = 150.0
BULK_SIZE = 5000
BULK_TARGET_S = 2.0


async def _list_all(server: SandboxServer, total: int) -> tuple[float, list[float], int]:
    """(elapsed s, each page's latency in s, contacts seen) for a full concurrent listing."""
    pages = max(1, -(-total // PER_PAGE))
    queue: asyncio.Queue[int] = asyncio.Queue()
    for page in range(1, pages + 1):
        queue.put_nowait(page)
    seen: set[int] = set()
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(
        base_url=server.url, headers=server.auth_headers, limits=limits, timeout=30
    ) as client:

        async def worker() -> None:
            while not queue.empty():
                page = queue.get_nowait()
                started = time.perf_counter()
                response = await client.get(
                    "/v2/contacts", params={"page": page, "per_page": PER_PAGE}
                )
                latencies.append(time.perf_counter() - started)
                response.raise_for_status()
                body = response.json()
                if body["total"] != total:
                    raise AssertionError(f"total changed: {body['total']} != {total}")
                for contact in body["data"]:
                    if contact["id"] in seen:
                        raise AssertionError(f"id {contact['id']} listed twice")
                    seen.add(contact["id"])

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    return elapsed, latencies, len(seen)


def _process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process (Linux /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _median_latencies(client: httpx.Client, pages: tuple[int, ...], repeats: int) -> list[float]:
    """Median latency of each page, requests interleaved so that load changes hit all alike."""
    samples: list[list[float]] = [[] for _ in pages]
    for _ in range(repeats):
        for index, page in enumerate(pages):
            started = time.perf_counter()
            response = client.get("/v2/contacts", params={"page": page, "per_page": PER_PAGE})
            samples[index].append(time.perf_counter() - started)
            response.raise_for_status()
    return [statistics.median(times) for times in samples]


def _bulk_time(
    client: httpx.Client, contacts: list[dict[str, object]]
) -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    response = client.post("/v2/contacts/bulk", json={"contacts": contacts}, timeout=60)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    body = response.json()
    return elapsed, {key: body[key] for key in ("created", "updated", "failed")}


def run(contacts: int, smoke: bool) -> list[BenchRow]:
    rows: list[BenchRow] = []
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-") as folder:
        db_path = Path(folder) / "sandbox.db"
        store = ContactStore(db_path)
        started = time.perf_counter()
        store.seed(contacts, custom_fields=True)
        seed_s = time.perf_counter() - started
        store.close()
        rows.append(
            BenchRow(f"seed {contacts:,} contacts (in-process)", f"{seed_s:.2f} s", "-", "info")
        )
        with start_sandbox(db_path) as server:
            cpu_before = _process_cpu_s(server.process.pid)
            elapsed, latencies, seen = asyncio.run(_list_all(server, contacts))
            latencies.sort()
            p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
            cpu_after = _process_cpu_s(server.process.pid)
            pages = max(1, -(-contacts // PER_PAGE))
            rate = pages / elapsed
            if seen != contacts:
                raise AssertionError(f"listing saw {seen} contacts, expected {contacts}")
            rows.append(
                BenchRow(
                    f"list {contacts:,} over HTTP, {PER_PAGE}/page, {CONCURRENCY} concurrent",
                    f"{rate:.0f} pages/s ({pages} pages in {elapsed:.2f} s),"
                    f" p99 {p99 * 1000:.1f} ms, slowest {latencies[-1] * 1000:.1f} ms",
                    f">= {PAGES_PER_S_TARGET:.0f} pages/s",
                    verdict(rate >= PAGES_PER_S_TARGET) if not smoke else "info",
                )
            )
            if cpu_before is not None and cpu_after is not None:
                rows.append(
                    BenchRow(
                        "server CPU per listed page (load-independent)",
                        f"{(cpu_after - cpu_before) / pages * 1000:.2f} ms",
                        "-",
                        "info",
                    )
                )
            repeats = 5 if smoke else 50
            with httpx.Client(
                base_url=server.url, headers=server.auth_headers, timeout=30
            ) as client:
                _median_latencies(client, (1, pages), 3)  # warm the snapshot and connection
                first, last = _median_latencies(client, (1, pages), repeats)
                rows.append(
                    BenchRow(
                        "first vs last page latency (median, sequential, interleaved)",
                        f"page 1: {first * 1000:.2f} ms, page {pages}: {last * 1000:.2f} ms",
                        "last <= 1.5x first + 1 ms",
                        verdict(last <= first * 1.5 + 0.001),
                    )
                )
                bulk_size = 200 if smoke else BULK_SIZE
                fresh = list(generated_contacts(10_000_000, bulk_size, custom_fields=True))
                create_s, created = _bulk_time(client, fresh)
                update_s, updated = _bulk_time(client, fresh)
                if created["created"] != bulk_size or updated["updated"] != bulk_size:
                    raise AssertionError(f"unexpected bulk outcome: {created} then {updated}")
                for label, seconds in (("new", create_s), ("existing (updates)", update_s)):
                    rows.append(
                        BenchRow(
                            f"bulk import {bulk_size:,} {label}, one request",
                            f"{seconds:.2f} s",
                            f"< {BULK_TARGET_S:.0f} s",
                            verdict(seconds < BULK_TARGET_S) if not smoke else "info",
                        )
                    )
    return rows


def main() -> None:
    bench_main("sandbox_bench", run, 100_000)


if __name__ == "__main__":
    main()

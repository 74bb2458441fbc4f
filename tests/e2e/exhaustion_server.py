"""A small hostile HTTP server on loopback, for the client's resource bounds.

It speaks just enough HTTP/1.1 for `GET /v2/contacts` (one request per
connection, `Connection: close`) and misbehaves in one of these ways:

- `lying_total`: page N holds 100 contacts and says `"total": 1000000000000`;
- `endless_pages`: page N holds 100 new contacts and no `total`, forever;
- `gzip_bomb`: about 1 MB of gzip on the wire that decodes to 1 GiB of JSON
  whitespace (a valid, empty page in the end);
- `endless_body`: a 200 with no Content-Length whose body never ends;
- `drip`: `Content-Length: 100000`, then one byte every half second.

Every request is counted (`requests`), so a test can also show that nothing
was sent at all.
"""

from __future__ import annotations

import asyncio
import json
import struct
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from urllib.parse import parse_qs, urlsplit

MODES = ("lying_total", "endless_pages", "gzip_bomb", "endless_body", "drip", "ok")
PER_PAGE = 100
BOMB_MIB = 1024
DRIP_INTERVAL_S = 0.5


def contact(contact_id: int) -> dict[str, object]:
    return {
        "id": contact_id,
        "phone": f"+1415{2000000 + contact_id:07d}",
        "first_name": f"N{contact_id}",
        "custom_fields": {},
    }


@cache
def gzip_bomb() -> bytes:
    """`{"data": [], "total": 0}` with 1 GiB of spaces inside, as one gzip member.

    Each MiB of spaces is compressed after a full flush, so every block
    compresses to the same bytes: built in milliseconds, with a correct
    CRC32 and size trailer.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = b'{"data": []'
    tail = b', "total": 0}'
    block = b" " * (1 << 20)
    parts = [compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)]
    one_block = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    parts.append(one_block * BOMB_MIB)
    parts.append(compressor.compress(tail) + compressor.flush())
    crc = zlib.crc32(head)
    for _ in range(BOMB_MIB):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    size = (len(head) + len(tail) + BOMB_MIB * len(block)) & 0xFFFFFFFF
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    return header + b"".join(parts) + struct.pack("<II", crc & 0xFFFFFFFF, size)


class ExhaustionServer:
    def __init__(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        self.mode = mode
        self.requests = 0
        self.authorizations: list[str] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self.mode == "gzip_bomb":
            gzip_bomb()
        self._thread.start()
        self._ready.wait(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _shutdown(self) -> None:
        """Close the listener and end every connection still being served."""
        if self._server is not None:
            self._server.close()
        current = asyncio.current_task()
        handlers = [task for task in asyncio.all_tasks() if task is not current]
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            self.requests += 1
            lines = head.decode("latin-1").split("\r\n")
            target = lines[0].split(" ")[1]
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.lower() == "authorization":
                    self.authorizations.append(value.strip())
            query = parse_qs(urlsplit(target).query)
            page = int(query.get("page", ["1"])[0])
            await getattr(self, f"_{self.mode}")(writer, page)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    @staticmethod
    async def _send(writer: asyncio.StreamWriter, body: bytes, *extra: str) -> None:
        headers = [
            "HTTP/1.1 200 OK",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            "Connection: close",
            *extra,
        ]
        writer.write(("\r\n".join(headers) + "\r\n\r\n").encode() + body)
        await writer.drain()

    async def _ok(self, writer: asyncio.StreamWriter, page: int) -> None:
        body = {"data": [], "page": page, "per_page": PER_PAGE, "total": 0}
        await self._send(writer, json.dumps(body).encode())

    async def _lying_total(self, writer: asyncio.StreamWriter, page: int) -> None:
        start = (page - 1) * PER_PAGE + 1
        body = {
            "data": [contact(n) for n in range(start, start + PER_PAGE)],
            "page": page,
            "per_page": PER_PAGE,
            "total": 1_000_000_000_000,
        }
        await self._send(writer, json.dumps(body).encode())

    async def _endless_pages(self, writer: asyncio.StreamWriter, page: int) -> None:
        start = (page - 1) * PER_PAGE + 1
        body = {
            "data": [contact(n) for n in range(start, start + PER_PAGE)],
            "page": page,
            "per_page": PER_PAGE,
        }
        await self._send(writer, json.dumps(body).encode())

    async def _gzip_bomb(self, writer: asyncio.StreamWriter, page: int) -> None:
        await self._send(writer, gzip_bomb(), "Content-Encoding: gzip")

    async def _endless_body(self, writer: asyncio.StreamWriter, page: int) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
            b'{"data": ['
        )
        chunk = b" " * (1 << 16)
        while True:
            writer.write(chunk)
            await writer.drain()

    async def _drip(self, writer: asyncio.StreamWriter, page: int) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000\r\nConnection: close\r\n\r\n"
        )
        await writer.drain()
        while True:
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(DRIP_INTERVAL_S)


@contextmanager
def exhaustion_server(mode: str) -> Iterator[ExhaustionServer]:
    server = ExhaustionServer(mode)
    server.start()
    try:
        yield server
    finally:
        server.stop()

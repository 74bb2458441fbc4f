"""Run the sandbox app under uvicorn on a socket bound here (so port 0 works)."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

import uvicorn

from jcstate.sandbox.app import create_app
from jcstate.sandbox.config import SandboxConfig
from jcstate.sandbox.faults import ConnectionDropped


class _HideInjectedDrops(logging.Filter):
    """Injected dropped connections are intended; do not log them as app crashes."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ConnectionDropped)


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets that say so, and
    # without it keep-alive responses (headers, then body) wait for delayed ACKs (~40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(
    config: SandboxConfig,
    sock: socket.socket,
    *,
    log_level: str = "warning",
    on_started: Callable[[], None] | None = None,
) -> None:
    """Serve until interrupted (SIGINT/SIGTERM). `sock` is already listening."""
    app = create_app(config)
    logging.getLogger("uvicorn.error").addFilter(_HideInjectedDrops())
    uv_config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        http="auto",
        loop="auto",
        server_header=False,
        date_header=False,
        timeout_keep_alive=30,
    )
    server = _Server(uv_config, on_started)
    server.run(sockets=[sock])


class _Server(uvicorn.Server):
    """Says it is ready only once it serves, with its signal handlers in place.

    Announced before, a Ctrl-C in between the announcement and uvicorn's own
    handlers could be lost, and the server would not stop.
    """

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None] | None) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self._on_started is not None and not self.should_exit:
            self._on_started()

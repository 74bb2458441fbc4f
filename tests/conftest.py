"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.sandbox_server import SandboxServer, start_sandbox


@pytest.fixture(autouse=True)
def _own_cache_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test its own jcstate cache folder: nothing read from, or left in, the user's."""
    monkeypatch.setenv("JCSTATE_CACHE_DIR", str(tmp_path_factory.mktemp("jcstate-cache")))


@pytest.fixture
def sandbox_server(tmp_path: Path) -> Iterator[SandboxServer]:
    """A `jcstate sandbox serve` subprocess on a free loopback port, fresh database."""
    with start_sandbox(tmp_path / "sandbox.db") as server:
        yield server

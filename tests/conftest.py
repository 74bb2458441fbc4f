"""Shared fixtures."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from tests.support.sandbox_server import SandboxServer, SharedSandbox

# A shell without job control starts a background job with Ctrl-C ignored, and an
# ignored signal stays ignored in every child: the tests that send Ctrl-C to a
# jcstate process would see it ignored. They test jcstate, not how pytest was started.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """`-n N` without `--dist` schedules by work stealing, not xdist's default `load`.

    `load` hands each worker long runs of neighbouring tests; the end-to-end
    files are slow and sit together, so one worker finished early and idled
    while the other ran them. With `worksteal` an idle worker takes half of the
    other's remaining tests. An explicit `--dist` is kept.
    """
    option = config.option
    if getattr(option, "numprocesses", None) and getattr(option, "dist", "no") == "no":
        option.dist = "worksteal"


@pytest.fixture(autouse=True)
def _own_cache_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test its own jcstate cache folder: nothing read from, or left in, the user's."""
    monkeypatch.setenv("JCSTATE_CACHE_DIR", str(tmp_path_factory.mktemp("jcstate-cache")))


@pytest.fixture(scope="session")
def _shared_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedSandbox]:
    shared = SharedSandbox(tmp_path_factory.mktemp("shared-sandbox"))
    try:
        yield shared
    finally:
        shared.close()


@pytest.fixture
def sandbox_server(_shared_sandbox: SharedSandbox) -> SandboxServer:
    """A `jcstate sandbox serve` subprocess on a loopback port, with an empty store.

    The same process for every test of this test process (each xdist worker has
    its own), emptied before each test: it answers as a new one would
    (tests/sandbox/test_store_reset.py). Do not stop it, and do not read its log;
    start a server of your own with `start_sandbox` for that, or for flags.
    """
    return _shared_sandbox.fresh()

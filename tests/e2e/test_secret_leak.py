"""Secret-leak check: with known credentials set, no command writes them anywhere.

Distinctive credentials are put in JUSTCALL_API_KEY / JUSTCALL_API_SECRET and
every command is run as a subprocess: init, validate, fmt, schema, plan (text,
markdown, json, --out), apply (fresh and saved plan, JSON report, journal),
drift, export; with -v and -vv; and in failure: wrong credentials (401), an
unreachable URL, a server answering 503 to everything, a server that commits
writes and then answers 500 or drops the connection, missing secret, a saved
plan for another URL. Then stdout, stderr and every file under the test's
folder (plan files, journals, saved reports, exported YAML, the sandbox
database) are scanned for the key, the secret, `key:secret` (the
Authorization header) and its base64 form. None may appear.

Deliberately excluded: what `jcstate sandbox serve` itself prints. It is the
server, started by the user with the credentials it should accept, and its
startup lines name them (with the defaults or with `--api-key/--api-secret`
alike) so the user can copy them; the test support reads them from there.
Its request log (stderr) is scanned, though: a request must not be logged
with its credentials.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from jcstate.errors import ApiError
from jcstate.remote.client import ClientSettings, JustCallClient
from tests.support.sandbox_server import start_sandbox
from tests.support.scenario import Scenario, seed_db, write_scenario_project

KEY = "jck-5f0c9e7a1b2d4c68-leak"
SECRET = "jcs-9e1d7b3a5c2f4e80-leak"
NEEDLES = {
    "key": KEY,
    "secret": SECRET,
    "header": f"{KEY}:{SECRET}",
    "base64 header": base64.b64encode(f"{KEY}:{SECRET}".encode()).decode(),
}
SMALL = Scenario(creates=6, updates=3, clears=1, deletes=1, protected=1, partial=1, unchanged=8)


@dataclass
class Transcript:
    """Everything the commands printed, by command line."""

    outputs: list[tuple[str, str]] = field(default_factory=list)
    exit_codes: dict[str, int] = field(default_factory=dict)

    def run(
        self,
        cwd: Path,
        *args: str,
        env: Mapping[str, str],
        expect: Iterable[int] = (0,),
    ) -> subprocess.CompletedProcess[str]:
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "jcstate", *args],
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
        )
        label = "jcstate " + " ".join(args)
        print(f"{time.monotonic() - started:5.1f}s {label}", file=sys.stderr)
        self.outputs.append((label + " [stdout]", result.stdout))
        self.outputs.append((label + " [stderr]", result.stderr))
        self.exit_codes[label] = result.returncode
        assert result.returncode in tuple(expect), (label, result.returncode, result.stderr[-1500:])
        assert "Traceback" not in result.stderr, (label, result.stderr[-3000:])
        return result


def leaks(texts: Iterable[tuple[str, str]]) -> list[str]:
    found = []
    for where, text in texts:
        for name, needle in NEEDLES.items():
            if needle in text:
                found.append(f"the {name} appears in {where}")
    return found


def files_under(folder: Path) -> Iterator[tuple[str, str]]:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            yield str(path.relative_to(folder)), path.read_bytes().decode("latin-1")


def env_with(url: str | None = None, **extra: str) -> dict[str, str]:
    env = {**os.environ, "NO_COLOR": "1", "JUSTCALL_API_KEY": KEY, "JUSTCALL_API_SECRET": SECRET}
    env.pop("JCSTATE_API_URL", None)
    if url is not None:
        env["JCSTATE_API_URL"] = url
    env.update(extra)
    return env


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def served_project(folder: Path) -> tuple[Path, Path]:
    db = folder / "sandbox.db"
    seed_db(db, SMALL.existing)
    root = folder / "project"
    write_scenario_project(root, SMALL)
    return db, root


def test_the_main_paths_leak_no_credential(tmp_path: Path) -> None:
    """CI's share: plan/apply/drift/export with -vv, a saved plan, a 401, an unreachable URL."""
    log = Transcript()
    db, root = served_project(tmp_path / "served")
    with start_sandbox(db, "--api-key", KEY, "--api-secret", SECRET, "--log-level", "info") as good:
        env = env_with(good.url)
        log.run(root, "-vv", "plan", "--prune", "--format", "json", "--out", "saved.json", env=env)
        report = log.run(root, "-vv", "apply", "saved.json", "--format", "json", env=env)
        (root / "report.json").write_text(report.stdout)
        log.run(root, "-vv", "drift", "--format", "json", env=env, expect=(0, 2))
        log.run(root, "-vv", "export", "--out", "exported", "--force", env=env)
        server_log = good.stderr_text()
    assert list((root / ".jcstate" / "journal").glob("*.jsonl")), "apply wrote no journal"
    with start_sandbox(db, "--api-key", "other-key", "--api-secret", "other-secret") as other:
        result = log.run(root, "-vv", "apply", "--auto-approve", env=env_with(other.url),
                         expect=(1,))  # fmt: skip
        assert "401" in result.stderr, result.stderr[-500:]
    log.run(root, "-vv", "plan", env=env_with(f"http://127.0.0.1:{closed_port()}"), expect=(1,))
    problems = leaks(log.outputs) + leaks(files_under(tmp_path)) + leaks([("sandbox", server_log)])
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_no_command_leaks_the_credentials(tmp_path: Path) -> None:
    """Every command, every format, -v/-vv, and the failures."""
    log = Transcript()
    server_logs: list[tuple[str, str]] = []

    # The embedded sandbox (sandbox://): `init` makes the project, the env credentials are used.
    embedded = tmp_path / "embedded"
    env = env_with()
    log.run(tmp_path, "init", str(embedded), env=env)
    for args in (
        ("validate",), ("validate", "--format", "json"), ("fmt",), ("fmt", "--check"),
        ("schema",), ("schema", "--kind", "contacts"), ("-vv", "plan"),
        ("plan", "--format", "json", "--out", "embedded-plan.json"),
        ("-vv", "apply", "--auto-approve", "--format", "json"), ("-vv", "apply", "--auto-approve"),
        ("-v", "drift"), ("export", "--out", "exported", "--force"),
    ):  # fmt: skip
        log.run(embedded, *args, env=env)

    # A served sandbox that accepts exactly these credentials.
    db, root = served_project(tmp_path / "served")
    with start_sandbox(db, "--api-key", KEY, "--api-secret", SECRET, "--log-level", "info") as good:
        env = env_with(good.url)
        log.run(root, "-vv", "plan", "--prune", "--format", "markdown", env=env)
        log.run(root, "-v", "plan", "--prune", env=env)
        log.run(root, "plan", "--prune", "--format", "json", "--out", "saved.json", env=env)
        report = log.run(root, "-vv", "apply", "saved.json", "--format", "json", env=env)
        (root / "report.json").write_text(report.stdout)
        log.run(root, "-v", "apply", "--auto-approve", "--prune", "--format", "json", env=env)
        log.run(root, "-vv", "drift", "--format", "json", env=env, expect=(0, 2))
        log.run(root, "drift", "--format", "markdown", env=env, expect=(0, 2))
        log.run(root, "-vv", "export", "--out", "exported", "--force", env=env)
        # A saved plan applied against another URL is refused.
        log.run(root, "apply", "saved.json", "--api-url", good.url + "/x", env=env, expect=(1,))
        # Only the key set: the error names the variables, never the value that is set.
        log.run(root, "plan", env=env_with(good.url, JUSTCALL_API_SECRET=""), expect=(1,))
        server_logs.append(("served sandbox log", good.stderr_text()))

    # Wrong credentials: the server accepts others (401); the client's must not show.
    with start_sandbox(db, "--api-key", "other-key", "--api-secret", "other-secret") as other:
        env = env_with(other.url)
        for args in (
            ("-vv", "plan"), ("-vv", "apply", "--auto-approve", "--format", "json"),
            ("-v", "drift"), ("-vv", "export", "--out", "never", "--force"),
        ):  # fmt: skip
            result = log.run(root, *args, env=env, expect=(1,))
            assert "401" in result.stderr, result.stderr[-500:]
        server_logs.append(("wrong-credentials sandbox log", other.stderr_text()))

    # An unreachable URL (a closed loopback port).
    env = env_with(f"http://127.0.0.1:{closed_port()}")
    log.run(root, "-vv", "plan", env=env, expect=(1,))
    log.run(root, "-vv", "apply", "--auto-approve", env=env, expect=(1,))

    # A server that answers 503 to everything.
    with start_sandbox(db, "--fail-rate", "1.0", "--api-key", KEY, "--api-secret", SECRET) as bad:
        log.run(root, "-vv", "plan", "--format", "json", env=env_with(bad.url), expect=(1,))

    problems = leaks(log.outputs) + leaks(files_under(tmp_path)) + leaks(server_logs)
    assert not problems, "\n".join(problems)
    assert len(log.outputs) // 2 >= 30  # every command above really ran


@pytest.mark.slow
def test_no_failure_under_faults_leaks_the_credentials(tmp_path: Path) -> None:
    """Writes that fail (503) or are committed then answered 500 / dropped, with -vv."""
    log = Transcript()
    db, root = served_project(tmp_path / "served")
    creds = ("--api-key", KEY, "--api-secret", SECRET)
    for flags in (
        ("--ambiguous-rate", "1.0", "--ambiguous-mode", "error"),
        ("--ambiguous-rate", "1.0", "--ambiguous-mode", "drop"),
        ("--fail-rate", "0.5", "--fault-seed", "5"),
    ):
        with start_sandbox(db, *creds, *flags) as server:
            env = env_with(server.url)
            log.run(root, "-vv", "apply", "--auto-approve", "--prune", "--format", "json",
                    env=env, expect=(0, 1))  # fmt: skip
            log.run(root, "-vv", "drift", env=env, expect=(0, 1, 2))
    problems = leaks(log.outputs) + leaks(files_under(tmp_path))
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------
# A server that echoes the credentials back (in-process, no subprocess)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 401, 404, 422, 500, 503, 302])
@pytest.mark.parametrize("json_body", [True, False])
def test_an_echoing_server_cannot_make_the_client_print_the_credentials(
    status: int, json_body: bool
) -> None:
    # The 302 case found a leak: the redirect message quoted the Location header unredacted.
    """Error messages, -vv logs and request records never repeat what the server echoes."""

    def echo(request: httpx.Request) -> httpx.Response:
        echoed = f"you sent {request.headers['authorization']}"
        headers = {"location": f"http://127.0.0.1/{echoed}", "x-echo": echoed}
        if json_body:
            return httpx.Response(status, json={"status": "error", "message": echoed},
                                  headers=headers)  # fmt: skip
        return httpx.Response(status, text=echoed, headers=headers)

    async def nothing(_seconds: float) -> None:
        return None

    logged: list[str] = []
    records: list[str] = []
    settings = ClientSettings(
        api_url="http://127.0.0.1:9", api_key=KEY, api_secret=SECRET, verbose=2, max_attempts=2
    )
    client = JustCallClient(
        settings, httpx.MockTransport(echo), sleep=nothing, log=logged.append, rng=lambda: 0.0
    )
    client.on_request = lambda record: records.append(repr(record))
    errors: list[str] = [repr(settings)]

    async def every_method() -> None:
        async with client:
            for call in (
                lambda: client.list_page(1),
                lambda: client.get_contact(1),
                lambda: client.create_contact({"phone": "+14155550100"}),
                lambda: client.update_contact(1, {"first_name": "Ann"}),
                lambda: client.delete_contact(1),
                lambda: client.bulk_upsert([{"phone": "+14155550100"}]),
            ):
                try:
                    await call()
                except ApiError as exc:
                    errors.extend([str(exc), repr(exc), exc.detail])

    asyncio.run(every_method())
    assert len(errors) > 1  # the calls failed, as the server wanted
    texts = [("log", line) for line in logged] + [("record", r) for r in records]
    problems = leaks(texts + [("error", e) for e in errors])
    assert not problems, "\n".join(problems)


USERINFO = f"{KEY}:{SECRET}@"
#: Each kind of URL with credentials in it, and why it is refused.
URLS_WITH_CREDENTIALS = [
    pytest.param(f"http://{USERINFO}", id="no host"),
    pytest.param(f"ftp://{USERINFO}example.com", id="not http", marks=pytest.mark.slow),
    pytest.param(f"{USERINFO}example.com", id="no scheme", marks=pytest.mark.slow),
    pytest.param(f"http://{USERINFO}example.com", id="plain http to a remote host"),
    pytest.param("unreachable", id="unreachable"),
]


@pytest.mark.parametrize("url", URLS_WITH_CREDENTIALS)
def test_credentials_written_into_the_api_url_are_never_shown(tmp_path: Path, url: str) -> None:
    """`http://KEY:SECRET@host` in --api-url or api.url: messages show the URL without them.

    Three subprocess runs per URL. `not http` and `no scheme` run with `-m slow`
    only; CI keeps a URL refused as invalid, a plain-http refusal and an
    unreachable host."""
    if url == "unreachable":
        url = f"http://{USERINFO}127.0.0.1:{closed_port()}"
    log = Transcript()
    root = tmp_path / "project"
    (root / "contacts").mkdir(parents=True)
    (root / "contacts" / "a.yaml").write_text('version: 1\ncontacts:\n  - phone: "+14155550100"\n')
    config = root / "jcstate.yaml"
    env = env_with()
    config.write_text('version: 1\ncontacts: ["contacts/*.yaml"]\n')
    log.run(root, "-vv", "plan", "--api-url", url, env=env, expect=(1,))
    config.write_text(f'version: 1\napi: {{url: "{url}"}}\ncontacts: ["contacts/*.yaml"]\n')
    log.run(root, "validate", env=env, expect=(0, 1))
    log.run(root, "-vv", "plan", env=env, expect=(1,))
    problems = leaks(log.outputs)
    assert not problems, "\n".join(problems)

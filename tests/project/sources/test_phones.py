"""Phones of a large import in worker processes: the same result as in this process."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from jcstate.core.phones import normalize_phones
from jcstate.project.sources.mapping import CHUNK
from jcstate.project.sources.phones import MAX_WORKERS, PhonePool, _Running, default_workers
from jcstate.sandbox.seeddata import generated_contact
from tests.project.sources.conftest import Run, write_csv

PHONES = ["(415) 555-9876", "+1 212 555 0143", "123", "", "415 555 0123 ext. 5", "+44 20 7946 0958"]


def test_a_worker_gives_the_phones_this_process_gives() -> None:
    with PhonePool("US", workers=1) as pool:
        pending = pool.submit(PHONES)
        assert isinstance(pending, _Running)  # sent to a worker process
        assert pending.result() == normalize_phones(PHONES, "US")


def test_no_workers_starts_no_process() -> None:
    with PhonePool("US", workers=0) as pool:
        assert pool.submit(PHONES).result() == normalize_phones(PHONES, "US")
        assert multiprocessing.active_children() == []


def test_a_worker_that_died_is_not_a_failure_its_chunk_is_done_here() -> None:
    died: Future[list[str | None]] = Future()
    died.set_exception(BrokenProcessPool("a worker was killed"))
    assert _Running(died, PHONES, "US").result() == normalize_phones(PHONES, "US")


def test_default_workers_leaves_a_cpu_to_this_process() -> None:
    assert 0 <= default_workers() <= MAX_WORKERS


def generated(project: Path) -> bytes:
    return (project / "contacts" / "crm.yaml").read_bytes()


def _row(index: int, phone: str | None = None, first: str | None = None) -> str:
    contact = generated_contact(index)
    written = phone if phone is not None else contact["phone"]
    return ",".join(
        [
            str(index),
            first or contact["first_name"],
            contact["last_name"],
            contact["email"],
            written,
            contact["company"],
            "web" if index % 2 else "trade show",
            "true" if index % 97 == 3 else "false",
            str(index % 40),
        ]
    )


def test_an_import_with_workers_writes_the_same_bytes_and_problems(
    project: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_workers: list[int] = []
    worker_result = _Running.result

    def counted(self: _Running) -> list[str | None]:
        phones = worker_result(self)
        from_workers.append(len(phones))
        return phones

    monkeypatch.setattr(_Running, "result", counted)
    count = CHUNK * 4 + 500  # past the chunks always done in this process
    rows = [_row(index) for index in range(count)]
    same_contact = generated_contact(20)["phone"]
    rows += [
        _row(count, phone="123"),  # an invalid phone in a late chunk
        _row(15, first="Other"),  # one phone, different values: both rows named
        _row(20, phone=f"1-{same_contact[2:5]}-{same_contact[5:8]}-{same_contact[8:]}"),
    ]
    rows[CHUNK * 3 + 7] = rows[CHUNK * 3 + 7].replace(",web,", ",Cold,")  # an unknown enum
    write_csv(project, rows)

    outputs = []
    for jobs in ("0", "2"):
        failed = run("import", "--jobs", jobs)
        written = run("import", "--jobs", jobs, "--skip-invalid")
        assert failed.exit_code == 1 and written.exit_code == 0, written.output
        outputs.append((failed.stderr, written.stdout, written.stderr, generated(project)))
        (project / "contacts" / "crm.yaml").unlink()
        if jobs == "0":
            assert from_workers == []
    assert sum(from_workers) > 2 * CHUNK  # the later chunks' phones came from workers
    assert outputs[0] == outputs[1]
    problems = [line for line in outputs[0][0].splitlines() if line.startswith("crm:row")]
    assert len(problems) == 4, problems
    assert "1 merged duplicates" in outputs[0][1]


def test_a_source_of_two_chunks_never_starts_a_worker(
    project: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_worker(*_: object, **__: object) -> None:
        raise AssertionError("a worker process was started")

    monkeypatch.setattr("jcstate.project.sources.phones.ProcessPoolExecutor", no_worker)
    write_csv(project, [_row(index) for index in range(CHUNK * 2)])
    result = run("import", "--jobs", "2")
    assert result.exit_code == 0, result.output
    assert f"{CHUNK * 2} rows read" in result.stdout

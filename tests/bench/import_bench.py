"""Import figures (issue 14): `python -m tests.bench.import_bench [--rows N] [--smoke]`.

A CSV in HubSpot's export layout (BOM, CRLF, quoted fields with commas, messy
phones, extra columns, 2% unsubscribed rows dropped by `skip_if`, an enum
translated by `values`), `rows` rows:

1. `jcstate import` in a subprocess: wall time and peak RSS of that process
   (from `wait4`); the written file is checked to hold every kept row.
2. The baseline: a bare `csv.DictReader` pass over the same file, plus `fmt`
   of the same contacts (as a script would write them, phones as in the CSV):
   what `jcstate fmt` does to them, in this process: the check it runs first
   (`check_contacts`: every phone to E.164, types, e-mail addresses) and the
   canonical writer `render_contacts_text`. Not in the baseline: reading a
   YAML file (the contacts are built in memory), and the comment-keeping
   round trip of the `fmt` command itself. The ratio is import / (DictReader
   + fmt), in wall time and in CPU time (the import's phone workers count).
   Also shown: the ratio to DictReader + the canonical writer alone (no phone
   parsed at all), a floor no import can reach. With `--fmt-command`, also
   `jcstate fmt` as a command on the same contacts written to a file: much
   slower (about 12 minutes at 100,000 contacts), so not part of the suite.
3. A second import: no byte changes (the promise a nightly job relies on).

Targets: under 10 s, under 300 MB, ratio under 2 (at 100,000 rows).
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from jcstate.core.normalize import normalize_phone
from jcstate.project.config import load_config_only
from jcstate.project.export import render_contacts_text
from jcstate.project.validate import ContactsDoc, check_contacts
from jcstate.project.yamlio import parse_fast
from jcstate.sandbox.seeddata import generated_contact
from tests.bench.common import BenchRow, print_table, verdict

PROJECT = """\
version: 1
api: {url: "sandbox://.jcstate/sandbox.db"}
default_region: US
contacts: ["contacts/*.yaml"]
custom_fields:
  lead_status: {type: enum, values: [New, Open, In progress, Connected]}
  seats: {type: integer}
sources:
  hubspot:
    kind: csv
    path: hubspot.csv
    map:
      phone: "Phone Number"
      first_name: "First Name"
      last_name: "Last Name"
      email: Email
      company: "Company Name"
      custom_fields.lead_status: "Lead Status"
      custom_fields.seats: "Number of Seats"
    values:
      custom_fields.lead_status: {NEW: New, OPEN: Open, IN_PROGRESS: In progress,
                                  CONNECTED: Connected}
    skip_if: {Unsubscribed: ["true"]}
    into: contacts/hubspot.yaml
"""
HEADER = [
    "Record ID",
    "First Name",
    "Last Name",
    "Email",
    "Phone Number",
    "Company Name",
    "Lead Status",
    "Number of Seats",
    "Unsubscribed",
    "Create Date",
    "Notes",
]
STATUSES = ("NEW", "OPEN", "IN_PROGRESS", "CONNECTED")


def messy(phone: str, index: int) -> str:
    """An E.164 US phone written the ways CRMs hold them."""
    area, exchange, line = phone[2:5], phone[5:8], phone[8:]
    forms = (
        f"({area}) {exchange}-{line}",
        f"+1 {area}.{exchange}.{line}",
        f"{area} {exchange} {line} ",
        f"1-{area}-{exchange}-{line}",
        phone,
    )
    return forms[index % len(forms)]


def write_csv(path: Path, rows: int) -> int:
    """The HubSpot-style CSV; returns how many rows are kept (not unsubscribed)."""
    kept = 0
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(HEADER)
        for index in range(rows):
            contact = generated_contact(index)
            unsubscribed = index % 50 == 7
            kept += not unsubscribed
            writer.writerow(
                [
                    100_000 + index,
                    contact["first_name"],
                    contact["last_name"],
                    contact["email"].upper() if index % 3 == 0 else contact["email"],
                    messy(contact["phone"], index),
                    f"{contact['company']}, Inc." if index % 4 == 0 else contact["company"],
                    STATUSES[index % len(STATUSES)],
                    "" if index % 5 == 0 else str(1 + index % 40),
                    "true" if unsubscribed else "false",
                    "2024-01-05 10:00",
                    "Called twice,\r\nleft a message" if index % 10 == 0 else "",
                ]
            )
    return kept


def scripted_entries(csv_path: Path) -> list[dict[str, Any]]:
    """The CSV's kept contacts as a hand-rolled script would write them (phones as in the CSV)."""
    statuses = {
        "NEW": "New",
        "OPEN": "Open",
        "IN_PROGRESS": "In progress",
        "CONNECTED": "Connected",
    }
    entries: list[dict[str, Any]] = []
    with open(csv_path, encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["Unsubscribed"] == "true":
                continue
            custom: dict[str, Any] = {"lead_status": statuses[row["Lead Status"]]}
            if row["Number of Seats"]:
                custom["seats"] = int(row["Number of Seats"])
            entries.append(
                {
                    "phone": row["Phone Number"].strip(),
                    "company": row["Company Name"],
                    "first_name": row["First Name"],
                    "last_name": row["Last Name"],
                    "email": row["Email"].lower(),
                    "custom_fields": custom,
                }
            )
    return entries


def write_scripted_contacts(csv_path: Path, out: Path) -> None:
    """`scripted_entries` as a contacts file (for the `jcstate fmt` command)."""
    lines = ["version: 1", "contacts:"]
    for entry in scripted_entries(csv_path):
        lines.append(f'- phone: "{entry["phone"]}"')
        lines.append(f'  company: "{entry["company"]}"')
        for key in ("first_name", "last_name", "email"):
            lines.append(f"  {key}: {entry[key]}")
        custom = ", ".join(f"{key}: {value}" for key, value in entry["custom_fields"].items())
        lines.append(f"  custom_fields: {{{custom}}}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def run_jcstate(cwd: Path, *args: str) -> tuple[float, float, int, str, float]:
    """(wall s, peak RSS MB, exit code, stderr, CPU s) of one jcstate subprocess, via wait4."""
    env = {**os.environ, "NO_COLOR": "1"}
    with tempfile.TemporaryFile(mode="w+") as out, tempfile.TemporaryFile(mode="w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "jcstate", *args], cwd=cwd, env=env, stdout=out, stderr=err
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        err.seek(0)
        cpu = usage.ru_utime + usage.ru_stime
        return wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), err.read(), cpu


def dictreader_pass(path: Path) -> tuple[float, float]:
    """(wall s, CPU s) of a bare DictReader pass over the CSV."""
    started, cpu = time.perf_counter(), time.process_time()
    with open(path, encoding="utf-8-sig", newline="") as handle:
        for _row in csv.DictReader(handle):
            pass
    return time.perf_counter() - started, time.process_time() - cpu


def fmt_render(generated: Path) -> tuple[float, float]:
    """(wall s, CPU s) of the canonical writer alone, on the generated file's contacts."""
    entries = parse_fast(generated.read_bytes(), index_key="contacts").data["contacts"]
    started, cpu = time.perf_counter(), time.process_time()
    text = render_contacts_text(entries)
    elapsed = time.perf_counter() - started, time.process_time() - cpu
    assert text.count("\n  - phone: ") == len(entries)
    return elapsed


def fmt_work(project: Path, source: Path) -> tuple[float, float]:
    """(wall s, CPU s) of what `jcstate fmt` does to the same contacts, in this process.

    fmt checks the contacts first (`check_contacts`: every phone to E.164,
    types, e-mail addresses), then writes them in canonical form with each
    phone as E.164. Timed: that check and `render_contacts_text`. Not timed:
    reading a YAML file (the contacts are built in memory), and the comment-
    keeping round trip of the command itself (`--fmt-command`).
    """
    _, config = load_config_only(project)
    entries = scripted_entries(source)
    document = {"version": 1, "contacts": entries}
    marks = [(index + 2, 1) for index in range(len(entries))]
    normalize_phone.cache_clear()  # as in a fresh `jcstate fmt`: no phone parsed yet
    started, cpu = time.perf_counter(), time.process_time()
    contacts, issues = check_contacts(config, [ContactsDoc("scripted.yaml", document, marks)])
    by_written = {entry["phone"]: entry for entry in entries}
    canonical = [
        {**by_written[raw], "phone": normalize_phone(raw, config.default_region)}
        for raw in by_written
    ]
    text = render_contacts_text(canonical)
    elapsed = time.perf_counter() - started, time.process_time() - cpu
    assert not issues and len(contacts) == len(entries) == text.count("\n  - phone: ")
    return elapsed


def run(contacts: int, smoke: bool, fmt_command: bool = False, repeat: int = 1) -> list[BenchRow]:
    rows = contacts
    extra: list[BenchRow] = []
    with tempfile.TemporaryDirectory(prefix="import-bench-") as folder:
        project = Path(folder) / "project"
        (project / "contacts").mkdir(parents=True)
        (project / "jcstate.yaml").write_text(PROJECT, encoding="utf-8")
        source = project / "hubspot.csv"
        kept = write_csv(source, rows)

        generated = project / "contacts" / "hubspot.yaml"
        walls, cpus, peaks = [], [], []
        for _ in range(repeat):
            generated.unlink(missing_ok=True)
            wall, peak, code, stderr, cpu = run_jcstate(project, "import")
            if code != 0:
                raise RuntimeError(f"jcstate import failed: {stderr[-2000:]}")
            walls.append(wall)
            cpus.append(cpu)
            peaks.append(peak)
        wall, cpu, peak = statistics.median(walls), statistics.median(cpus), max(peaks)
        written = generated.read_text(encoding="utf-8").count("\n  - phone: ")
        if written != kept:
            raise AssertionError(f"import wrote {written} contacts of {kept}")
        first = generated.read_bytes()
        again_wall, _, again_code, _, _ = run_jcstate(project, "import")
        unchanged = again_code == 0 and generated.read_bytes() == first

        baselines = [
            (*dictreader_pass(source), *fmt_render(generated), *fmt_work(project, source))
            for _ in range(repeat)
        ]
        reader, reader_cpu, render, _render_cpu, fmt, fmt_cpu = (
            statistics.median(figures) for figures in zip(*baselines, strict=True)
        )
        ratio = wall / (reader + fmt)
        cpu_ratio = cpu / (reader_cpu + fmt_cpu)
        writer_ratio = wall / (reader + render)
        if fmt_command:
            baseline = Path(folder) / "baseline"
            (baseline / "contacts").mkdir(parents=True)
            (baseline / "jcstate.yaml").write_text(PROJECT.split("sources:")[0], encoding="utf-8")
            write_scripted_contacts(source, baseline / "contacts" / "hubspot.yaml")
            fmt_wall, _, fmt_code, fmt_err, _ = run_jcstate(baseline, "fmt")
            if fmt_code != 0:
                raise RuntimeError(f"jcstate fmt failed: {fmt_err[-2000:]}")
            extra.append(
                BenchRow(
                    f"import {rows:,}-row CSV / (DictReader + the jcstate fmt command)",
                    f"{wall / (reader + fmt_wall):.2f} ({wall:.2f} s / ({reader:.2f} s + "
                    f"{fmt_wall:.2f} s))",
                    "info",
                    "info",
                )
            )

    size = f"{rows:,}-row CSV"
    full = rows >= 100_000
    load = os.getloadavg()[0]
    spread = f", median of {repeat}: {min(walls):.2f} to {max(walls):.2f} s" if repeat > 1 else ""
    return [
        BenchRow(
            f"import {size} ({kept:,} kept; 1-min load {load:.1f})",
            f"{wall:.2f} s wall ({cpu:.2f} s CPU{spread})",
            "< 10 s",
            verdict(wall < 10) if full else "info",
        ),
        BenchRow(f"import {size}: peak RSS", f"{peak:.0f} MB", "< 300 MB", verdict(peak < 300)),
        BenchRow(
            f"import {size} / (DictReader + fmt of the same contacts)",
            f"{ratio:.2f} ({wall:.2f} s / ({reader:.2f} s + {fmt:.2f} s))",
            "< 2",
            verdict(ratio < 2) if full else "info",
        ),
        BenchRow(
            "... the same ratio in CPU time (the import's phone workers included)",
            f"{cpu_ratio:.2f} ({cpu:.2f} s / ({reader_cpu:.2f} s + {fmt_cpu:.2f} s))",
            "< 2",
            verdict(cpu_ratio < 2) if full else "info",
        ),
        BenchRow(
            "... and to (DictReader + the canonical writer alone, no phone parsed)",
            f"{writer_ratio:.2f} ({wall:.2f} s / ({reader:.2f} s + {render:.2f} s))",
            "info",
            "info",
        ),
        *extra,
        BenchRow(
            f"second import of the same {size}",
            f"{again_wall:.2f} s, " + ("no byte changed" if unchanged else "THE FILE CHANGED"),
            "no change",
            verdict(unchanged),
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--fmt-command", action="store_true", help="also time `jcstate fmt`")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each timing; the median is shown"
    )
    args = parser.parse_args()
    rows = 200 if args.smoke else args.rows
    print_table(run(rows, args.smoke, args.fmt_command, max(1, args.repeat)))


if __name__ == "__main__":
    main()

"""Import figures (issue 14): `python -m tests.bench.import_bench [--rows N] [--smoke]`.

A CSV in HubSpot's export layout (BOM, CRLF, quoted fields with commas, messy
phones, extra columns, 2% unsubscribed rows dropped by `skip_if`, an enum
translated by `values`), `rows` rows:

1. `jcstate import` in a subprocess: wall time and peak RSS of that process
   (from `wait4`); the written file is checked to hold every kept row.
2. The baseline: a bare `csv.DictReader` pass over the same file, plus the
   `fmt` form of the same contacts (the canonical writer `jcstate fmt` and
   `export` share, `render_contacts_text`, in this process); the ratio is
   import / (DictReader + fmt). With `--fmt-command`, also `jcstate fmt` as
   a command on the same contacts written as a script would (phones as in
   the CSV): a round-trip rewrite that keeps comments, much slower (about
   12 minutes at 100,000 contacts), so not part of the suite.
3. A second import: no byte changes (the promise a nightly job relies on).

Targets: under 10 s, under 300 MB, ratio under 2 (at 100,000 rows).
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jcstate.project.export import render_contacts_text
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


def write_scripted_contacts(csv_path: Path, out: Path) -> None:
    """The same contacts as a hand-rolled script would write them (for `jcstate fmt`)."""
    statuses = {
        "NEW": "New",
        "OPEN": "Open",
        "IN_PROGRESS": "In progress",
        "CONNECTED": "Connected",
    }
    lines = ["version: 1", "contacts:"]
    with open(csv_path, encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["Unsubscribed"] == "true":
                continue
            lines.append(f'- phone: "{row["Phone Number"].strip()}"')
            lines.append(f'  company: "{row["Company Name"]}"')
            lines.append(f"  first_name: {row['First Name']}")
            lines.append(f"  last_name: {row['Last Name']}")
            lines.append(f"  email: {row['Email'].lower()}")
            custom = [f"lead_status: {statuses[row['Lead Status']]}"]
            if row["Number of Seats"]:
                custom.append(f"seats: {row['Number of Seats']}")
            lines.append(f"  custom_fields: {{{', '.join(custom)}}}")
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
    """(wall s, CPU s) to write the generated file's contacts in the canonical fmt form."""
    entries = parse_fast(generated.read_bytes(), index_key="contacts").data["contacts"]
    started, cpu = time.perf_counter(), time.process_time()
    text = render_contacts_text(entries)
    elapsed = time.perf_counter() - started, time.process_time() - cpu
    assert text.count("\n  - phone: ") == len(entries)
    return elapsed


def run(contacts: int, smoke: bool, fmt_command: bool = False) -> list[BenchRow]:
    rows = contacts
    extra: list[BenchRow] = []
    with tempfile.TemporaryDirectory(prefix="import-bench-") as folder:
        project = Path(folder) / "project"
        (project / "contacts").mkdir(parents=True)
        (project / "jcstate.yaml").write_text(PROJECT, encoding="utf-8")
        source = project / "hubspot.csv"
        kept = write_csv(source, rows)

        wall, peak, code, stderr, cpu = run_jcstate(project, "import")
        if code != 0:
            raise RuntimeError(f"jcstate import failed: {stderr[-2000:]}")
        generated = project / "contacts" / "hubspot.yaml"
        written = generated.read_text(encoding="utf-8").count("\n  - phone: ")
        if written != kept:
            raise AssertionError(f"import wrote {written} contacts of {kept}")
        first = generated.read_bytes()
        again_wall, _, again_code, _, _ = run_jcstate(project, "import")
        unchanged = again_code == 0 and generated.read_bytes() == first

        reader, reader_cpu = dictreader_pass(source)
        render, render_cpu = fmt_render(generated)
        ratio = wall / (reader + render)
        cpu_ratio = cpu / (reader_cpu + render_cpu)
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
    return [
        BenchRow(
            f"import {size} ({kept:,} kept; 1-min load {load:.1f})",
            f"{wall:.2f} s wall ({cpu:.2f} s CPU)",
            "< 10 s",
            verdict(wall < 10) if full else "info",
        ),
        BenchRow(f"import {size}: peak RSS", f"{peak:.0f} MB", "< 300 MB", verdict(peak < 300)),
        BenchRow(
            f"import {size} / (DictReader + fmt form of the same contacts)",
            f"{ratio:.2f} ({wall:.2f} s / ({reader:.2f} s + {render:.2f} s))",
            "< 2",
            verdict(ratio < 2) if full else "info",
        ),
        BenchRow(
            "... the same ratio in CPU time (less sensitive to the load)",
            f"{cpu_ratio:.2f} ({cpu:.2f} s / ({reader_cpu:.2f} s + {render_cpu:.2f} s))",
            "< 2",
            verdict(cpu_ratio < 2) if full else "info",
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
    args = parser.parse_args()
    print_table(run(200 if args.smoke else args.rows, args.smoke, args.fmt_command))


if __name__ == "__main__":
    main()

"""What 10 contact rules (`rules:` in jcstate.yaml) add to `jcstate validate`.

The same generated project (validate_bench's: N contacts in 20 files, four
custom fields) is validated with and without ten realistic contact rules,
as fresh subprocesses, interleaved; the difference of the medians is what the
rules cost. CPU time decides the verdict (validate is single-threaded, so on
an idle machine it is the wall time; on a shared one the wall time is mostly
the neighbours'). The pure evaluation alone (`check_contacts` over the loaded
contacts, each rule compiled once) is timed in this process too.

Target (issue 26): at most 1 s added at 100,000 contacts.

Run alone: `python -m tests.bench.rules_bench [--contacts N] [--smoke]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.common import BenchRow, print_table, verdict
from tests.bench.validate_bench import PROJECT, generate_project, measure

TARGET_SECONDS = 1.0

RULES = """\
rules:
  - name: enterprise-has-email
    when: contact.custom_fields.plan_tier == "Enterprise"
    require: has(contact.email) && contact.email != ""
    message: an Enterprise contact needs an e-mail address
  - name: enterprise-has-renewal
    when: contact.custom_fields.plan_tier == "Enterprise"
    require: has(contact.custom_fields.renewal_on)
    message: an Enterprise contact needs a renewal date
  - name: known-lead-source
    require: contact.custom_fields.lead_source in ["Website", "Referral", "Event"]
    message: unknown lead source
  - name: company-not-empty
    require: '!has(contact.company) || contact.company.size() > 0'
    message: company is empty
  - name: e164
    require: contact.phone.startsWith("+")
    message: the phone is not E.164
  - name: email-at
    require: '!has(contact.email) || contact.email.contains("@")'
    message: the e-mail address has no @
  - name: seats-range
    require: contact.custom_fields.seats >= 1 && contact.custom_fields.seats <= 100000
    message: seats out of range
  - name: named
    require: has(contact.first_name) || has(contact.last_name)
    message: a contact needs a name
  - name: short-first-name
    require: '!has(contact.first_name) || size(contact.first_name) <= 50'
    message: first name too long
  - name: renewal-after-2020
    require: >-
      !has(contact.custom_fields.renewal_on) || contact.custom_fields.renewal_on >= "2020-01-01"
    message: renewal date before 2020
    level: warning
"""


def _pure(root: Path) -> tuple[float, int]:
    """Seconds of `check_contacts` (10 rules) over the loaded project; violations found."""
    from jcstate.core.rules import check_contacts, project_rules
    from jcstate.project.config import load_project

    project = load_project(root, cwd=root)
    rules = project_rules(project)
    started = time.process_time()
    found = check_contacts(rules, project.desired.contacts)
    return time.process_time() - started, len(found)


def run(contacts: int, smoke: bool) -> list[BenchRow]:
    repeats = 1 if smoke else 3
    with tempfile.TemporaryDirectory(prefix="jcstate-rules-bench-") as tmp:
        plain, ruled = Path(tmp) / "plain", Path(tmp) / "ruled"
        generate_project(plain, contacts)
        generate_project(ruled, contacts)
        (ruled / "jcstate.yaml").write_text(PROJECT + RULES, encoding="utf-8")
        without = [sys.executable, "-m", "jcstate", "-C", str(plain), "validate"]
        with_rules = [sys.executable, "-m", "jcstate", "-C", str(ruled), "validate"]
        first = measure(with_rules)  # warm the file cache and the bytecode
        if not str(first["out"]).startswith(f"OK: {contacts} contact"):
            raise RuntimeError(f"unexpected validate output: {first['out']!r}")
        plain_runs, ruled_runs = [], []
        for _ in range(repeats):
            plain_runs.append(measure(without))
            ruled_runs.append(measure(with_rules))
        pure, violations = _pure(ruled)
    if violations:
        raise RuntimeError(f"the generated contacts break {violations} rule(s)")

    def median(runs: list[dict[str, float | int | str]], key: str) -> float:
        return statistics.median(float(r[key]) for r in runs)

    base, ruled_wall = median(plain_runs, "wall"), median(ruled_runs, "wall")
    base_cpu, ruled_cpu = median(plain_runs, "cpu"), median(ruled_runs, "cpu")
    added = ruled_cpu - base_cpu
    size = f"{contacts:,} contacts, 10 rules"
    return [
        BenchRow(
            f"rules: validate without / with rules ({size})",
            f"{base:.2f} s / {ruled_wall:.2f} s wall, {base_cpu:.2f} s / {ruled_cpu:.2f} s CPU "
            f"(median of {repeats})",
            "baseline",
            "info",
        ),
        BenchRow(
            f"rules: added to validate ({size})",
            f"{added:+.2f} s CPU ({ruled_wall - base:+.2f} s wall)",
            f"<= {TARGET_SECONDS:.0f} s at 100,000",
            verdict(added <= TARGET_SECONDS) if not smoke else "info",
        ),
        BenchRow(
            f"rules: check_contacts alone ({size})",
            f"{pure:.2f} s CPU ({pure / max(contacts, 1) / 10 * 1e6:.2f} us a contact-rule)",
            f"<= {TARGET_SECONDS:.0f} s at 100,000",
            verdict(pure <= TARGET_SECONDS) if not smoke else "info",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=None)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    contacts = args.contacts if args.contacts is not None else (200 if args.smoke else 100_000)
    print_table(run(contacts, args.smoke))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The three Python CEL libraries on one job: 10 contact rules over N contacts.

How jcstate's CEL library was chosen (issue 26). Each library runs in its own
virtual environment (they are not all dependencies of jcstate):

    python3 -m venv /tmp/v-rust && /tmp/v-rust/bin/pip install common-expression-language
    PYTHONPATH=. /tmp/v-rust/bin/python -m tests.bench.cel_libraries cel --contacts 100000

Libraries: `cel_expr` (cel-expr-python, cel-cpp; jcstate's), `cel`
(common-expression-language, cel-rust), `celpy` (cel-python, pure Python).
Each rule is compiled once and evaluated per contact (the contact converted
once per contact where the library allows it); `cel_expr` also runs the way
jcstate does it (`--grouped`: 100 contacts a call, one expression anding the
rules; `cel` too). `--valid` makes contacts that break no rule (a healthy
project, where grouping pays). Prints compile and evaluation seconds (CPU) and the violations found,
which must be the same for every library.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from typing import Any

RULES = [
    'has(contact.custom_fields.plan_tier) && contact.custom_fields.plan_tier == "Enterprise"'
    ' ? has(contact.email) && contact.email != "" : true',
    '!has(contact.custom_fields.plan_tier) || contact.custom_fields.plan_tier != "Enterprise"'
    " || has(contact.custom_fields.renewal_on)",
    "!has(contact.custom_fields.lead_source)"
    ' || contact.custom_fields.lead_source in ["Website", "Referral", "Event", "Partner"]',
    "!has(contact.company) || size(contact.company) > 0",
    'contact.phone.startsWith("+")',
    '!has(contact.email) || contact.email.endsWith(".com") || contact.email.contains("@")',
    "!has(contact.custom_fields.seats)"
    " || contact.custom_fields.seats >= 0 && contact.custom_fields.seats < 100000",
    "has(contact.first_name) || has(contact.last_name)",
    "!has(contact.first_name) || size(contact.first_name) <= 50",
    '!has(contact.custom_fields.renewal_on) || contact.custom_fields.renewal_on >= "2020-01-01"',
]


def contacts(count: int, valid: bool = False) -> list[dict[str, Any]]:
    pick = random.Random(1)
    out = []
    for i in range(count):
        contact: dict[str, Any] = {"phone": f"+1415{i:07d}", "first_name": "Jo", "last_name": "Lee"}
        if i % 3 or valid:
            contact["email"] = f"p{i}@example.com"
        if i % 5:
            contact["company"] = "Acme"
        custom: dict[str, Any] = {}
        if i % 2:
            custom["plan_tier"] = pick.choice(["Free", "Pro", "Enterprise"])
        if i % 4:
            custom["seats"] = i % 500
        if i % 7:
            custom["lead_source"] = "Website"
        if i % 6 == 0 or valid:
            custom["renewal_on"] = "2027-01-01"
        contact["custom_fields"] = custom
        out.append(contact)
    return out


def run_cel_expr(people: list[dict[str, Any]], grouped: bool) -> tuple[float, float, int]:
    from cel_expr_python import cel

    started = time.process_time()
    if grouped:
        env = cel.NewEnv(variables={"chunk": cel.Type.DYN, "contact": cel.Type.DYN})
        everything = env.compile("chunk.all(contact, " + " && ".join(f"({r})" for r in RULES) + ")")
    env = cel.NewEnv(variables={"contact": cel.Type.DYN})
    programs = [env.compile(rule) for rule in RULES]
    compiled = time.process_time()
    broken = 0
    if grouped:
        for start in range(0, len(people), 100):
            chunk = people[start : start + 100]
            if everything.eval(data={"chunk": chunk}).value() is True:
                continue
            for contact in chunk:
                activation = env.Activation({"contact": contact})
                broken += sum(p.eval(activation).value() is not True for p in programs)
    else:
        for contact in people:
            activation = env.Activation({"contact": contact})
            broken += sum(p.eval(activation).value() is not True for p in programs)
    return compiled - started, time.process_time() - compiled, broken


def run_cel(people: list[dict[str, Any]], grouped: bool) -> tuple[float, float, int]:
    import cel  # type: ignore[import-not-found]

    started = time.process_time()
    programs = [cel.compile(rule) for rule in RULES]
    everything = cel.compile("chunk.all(contact, " + " && ".join(f"({r})" for r in RULES) + ")")
    compiled = time.process_time()
    broken = 0
    chunks = [people[start : start + 100] for start in range(0, len(people), 100)]
    if grouped:
        failing = []
        for chunk in chunks:
            try:
                if everything.execute(cel.Context({"chunk": chunk})) is True:
                    continue
            except Exception:
                pass
            failing.extend(chunk)
        people = failing
    for contact in people:
        context = cel.Context({"contact": contact})
        for program in programs:
            try:
                holds = program.execute(context) is True
            except Exception:
                holds = False
            broken += not holds
    return compiled - started, time.process_time() - compiled, broken


def run_celpy(people: list[dict[str, Any]]) -> tuple[float, float, int]:
    import celpy  # type: ignore[import-not-found]

    started = time.process_time()
    env = celpy.Environment()
    programs = [env.program(env.compile(rule)) for rule in RULES]
    compiled = time.process_time()
    broken = 0
    for contact in people:
        activation = {"contact": celpy.json_to_cel(contact)}
        for program in programs:
            try:
                holds = bool(program.evaluate(activation) == True)  # noqa: E712 (BoolType)
            except Exception:
                holds = False
            broken += not holds
    return compiled - started, time.process_time() - compiled, broken


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("library", choices=["cel_expr", "cel", "celpy"])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument(
        "--grouped", action="store_true", help="100 contacts a call (cel_expr, cel)"
    )
    parser.add_argument("--valid", action="store_true", help="contacts that break no rule")
    args = parser.parse_args(argv)
    people = contacts(args.contacts, valid=args.valid)
    if args.library == "cel_expr":
        compile_s, eval_s, broken = run_cel_expr(people, args.grouped)
    elif args.library == "cel":
        compile_s, eval_s, broken = run_cel(people, args.grouped)
    else:
        compile_s, eval_s, broken = run_celpy(people)
    name = args.library + (" (grouped)" if args.grouped else "") + (" valid" if args.valid else "")
    per = eval_s / max(args.contacts, 1) / len(RULES) * 1e6
    print(
        f"{name}: {args.contacts:,} contacts x {len(RULES)} rules: compile {compile_s:.3f} s, "
        f"evaluate {eval_s:.2f} s CPU ({per:.2f} us a contact-rule), {broken} violations"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Does `rphonenumbers` (a Rust port) answer as `phonenumbers` does? And how fast is it?

Not part of the suite (the port is not a dependency). Run it in a venv that has both:
`pip install rphonenumbers && python -m tests.bench.phone_libraries [--numbers N] [--seed S]`.

The corpus: every region's example number of every type, written in E.164, in
national and international form, with an extension, read with the region and
with US; 20 neighbours of each (one digit changed, one added or dropped: valid
and invalid numbers near real ranges), in E.164 and national form; odd inputs
(letters, full-width and Arabic-Indic digits, `tel:`, extensions); then random
`+<country code><digits>` up to N. For each, what jcstate asks: the parse (or
its error type), `is_valid_number_for_region`, `is_valid_number`,
`is_possible_number` and the E.164 form. Prints the disagreements by region
and by answer, and the CPU time of parse + is_valid_number + format_number.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from types import ModuleType
from typing import Any

import phonenumbers

ANSWERS = ("parse", "country", "national", "extension", "leading zero", "valid for region",
           "valid", "possible", "E.164")  # fmt: skip
ODD = ["", " ", "+", "abc", "1-800-FLOWERS", "+1 (415) 555-0100", "tel:+14155550100",
       "++1415", "0044 20 7946 0958", "+44 (0) 20 7946 0958", "415.555.0100 x 123",
       "(415) 555-0100;ext=5", "+٤٤٢٠٧٩٤٦٠٩٥٨", "＋１４１５５５５０１００",
       "+1 415 555 0100 #22"]  # fmt: skip


def outcome(lib: ModuleType, text: str, region: str) -> tuple[Any, ...]:
    try:
        number = lib.parse(text, region)
    except lib.NumberParseException as exc:
        return ("error", int(exc.error_type))
    return ("ok", number.country_code, number.national_number, number.extension,
            bool(number.italian_leading_zero), lib.is_valid_number_for_region(number, region),
            lib.is_valid_number(number), lib.is_possible_number(number),
            lib.format_number(number, lib.PhoneNumberFormat.E164))  # fmt: skip


def corpus(size: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    out: list[tuple[str, str]] = []
    for region in regions:
        for kind in range(12):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            fmt = phonenumbers.PhoneNumberFormat
            e164 = phonenumbers.format_number(example, fmt.E164)
            national = phonenumbers.format_number(example, fmt.NATIONAL)
            out += [(e164, region), (national, region), (e164 + " ext. 12", region),
                    (phonenumbers.format_number(example, fmt.INTERNATIONAL), "US"),
                    (national, "US")]  # fmt: skip
            for _ in range(20):
                digits = list(str(example.national_number))
                digits[rng.randrange(len(digits))] = str(rng.randrange(10))
                if rng.random() < 0.2:
                    digits.append(str(rng.randrange(10)))
                if rng.random() < 0.2 and len(digits) > 3:
                    digits.pop()
                near = "".join(digits)
                out += [(f"+{example.country_code}{near}", region), (near, region)]
    out += [(odd, region) for odd in ODD for region in ("US", "GB", "DE", "IN")]
    codes = list(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
    while len(out) < size:
        number = rng.randrange(10 ** rng.randint(4, 12))
        out.append((f"+{rng.choice(codes)}{number}", rng.choice(regions)))
    return out


def main() -> None:
    import rphonenumbers  # type: ignore[import-not-found]  # only in the venv of this script

    parser = argparse.ArgumentParser(prog="python -m tests.bench.phone_libraries")
    parser.add_argument("--numbers", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    numbers = corpus(args.numbers, args.seed)
    by_answer: Counter[str] = Counter()
    by_region: Counter[str] = Counter()
    for text, region in numbers:
        ours, theirs = outcome(phonenumbers, text, region), outcome(rphonenumbers, text, region)
        if ours == theirs:
            continue
        by_region[region] += 1
        if ours[0] != theirs[0] or ours[0] == "error":
            by_answer["parse"] += 1
        else:
            for index, name in enumerate(ANSWERS):
                by_answer[name] += ours[index] != theirs[index]
    print(f"phonenumbers {phonenumbers.__version__}, rphonenumbers {rphonenumbers.__version__}")
    print(f"numbers: {len(numbers):,}; disagreements: {sum(by_region.values()):,}")
    print("by answer:", dict(+by_answer))
    print("by region (top 20):", by_region.most_common(20))
    for lib in (phonenumbers, rphonenumbers):
        started = time.process_time()
        for text, region in numbers:
            try:
                number = lib.parse(text, region)
            except lib.NumberParseException:
                continue
            lib.is_valid_number(number)
            lib.format_number(number, lib.PhoneNumberFormat.E164)
        seconds = time.process_time() - started
        print(f"{lib.__name__}: {seconds:.2f} s CPU, {len(numbers) / seconds:,.0f} numbers/s")


if __name__ == "__main__":
    main()

"""Words for counts, shared by the plan's messages and every renderer (pure, no imports)."""

from __future__ import annotations


def plural(count: int, word: str, many: str | None = None) -> str:
    """`plural(1, "file")` -> "1 file"; `plural(2, "file")` -> "2 files"; `many` for irregulars."""
    return f"{count} {word if count == 1 else (many or word + 's')}"

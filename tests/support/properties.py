"""Property tests in two sizes: a short one in the CI run, the full one with `-m slow`.

    @pytest.mark.parametrize("examples", example_counts(150))
    def test_something(examples: int) -> None:
        def check(value: int) -> None:
            assert ...
        run_property(check, examples, st.integers())

The CI run tries a third of the examples (the same assertions on fewer random
inputs); `pytest -m slow` runs the full count as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st


def example_counts(full: int) -> list[Any]:
    """pytest params: a third of `full` examples in CI (at least 20), all of them when slow."""
    short = max(full // 3, 20)
    return [
        pytest.param(short, id=f"{short}-examples"),
        pytest.param(full, id=f"{full}-examples", marks=pytest.mark.slow),
    ]


def run_property(
    check: Callable[..., None],
    examples: int,
    *strategies: st.SearchStrategy[Any],
    **named: st.SearchStrategy[Any],
) -> None:
    """Run `check` as a hypothesis property over the strategies, `examples` times at most."""
    settings(max_examples=examples, deadline=None)(given(*strategies, **named)(check))()

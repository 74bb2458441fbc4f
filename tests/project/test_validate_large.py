"""A contacts file larger than one pydantic batch: every problem still at its own line."""

from __future__ import annotations

from pathlib import Path

import pytest

from jcstate.errors import ConfigError
from jcstate.project.config import load_project


def test_problems_past_the_first_batch_point_at_their_contact(tmp_path: Path) -> None:
    (tmp_path / "jcstate.yaml").write_text(
        'version: 1\napi: {url: "sandbox://x.db"}\ncontacts: ["contacts/*.yaml"]\n',
        encoding="utf-8",
    )
    (tmp_path / "contacts").mkdir()
    lines = ["version: 1", "contacts:"]
    for n in range(4_500):
        first = "[oops]" if n in (10, 2_345, 4_499) else f"F{n}"
        lines += [f'  - phone: "+1212{2_000_000 + n:07d}"', f"    first_name: {first}"]
    (tmp_path / "contacts" / "big.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_project(cwd=tmp_path)
    found = [(d.line, d.message) for d in caught.value.diagnostics]
    assert [line for line, _ in found] == [2 * n + 4 for n in (10, 2_345, 4_499)]
    assert all("first_name must be a string" in message for _, message in found)

"""The complexity rule of `.ci/run`: no function in jcstate/ above 20, but the listed."""

from __future__ import annotations

from pathlib import Path

from tests.support.complexity import (
    ALLOW_FILE,
    LIMIT,
    ROOT,
    measure,
    problems,
    read_allowed,
)

TANGLED = "def tangled(x):\n" + "".join(
    f"    if x == {i}:\n        return {i}\n" for i in range(LIMIT)
)


def test_no_function_in_jcstate_is_above_the_limit_unless_listed_with_a_reason() -> None:
    allowed = read_allowed(ALLOW_FILE.read_text(encoding="utf-8"))
    assert problems(measure(ROOT / "jcstate"), allowed) == []


def _package(tmp_path: Path, source: str) -> Path:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "mod.py").write_text(source)
    return package


def test_a_function_above_the_limit_is_reported_by_name(tmp_path: Path) -> None:
    found = measure(_package(tmp_path, TANGLED), root=tmp_path)
    assert found[0].name == "pkg/mod.py::tangled" and found[0].complexity == LIMIT + 1
    assert problems(found, {}) == [
        f"pkg/mod.py::tangled: complexity {LIMIT + 1} is above {LIMIT}; split it"
    ]


def test_methods_and_closures_are_measured_too(tmp_path: Path) -> None:
    nested = "class Box:\n    def run(self, x):\n        " + TANGLED.replace("\n", "\n        ")
    found = measure(_package(tmp_path, nested), root=tmp_path)
    assert "pkg/mod.py::Box.run.tangled" in {m.name for m in found if m.complexity > LIMIT}


def test_the_allow_list_needs_a_reason_and_goes_stale(tmp_path: Path) -> None:
    found = measure(_package(tmp_path, TANGLED), root=tmp_path)
    listed = read_allowed("# comment\n\npkg/mod.py::tangled: one lookup table\n")
    assert problems(found, listed) == []
    assert problems(found, read_allowed("pkg/mod.py::tangled\n")) == [
        "pkg/mod.py::tangled: listed without a reason"
    ]
    gone = read_allowed("pkg/mod.py::tangled: x\npkg/mod.py::other: y\n")
    assert problems(found, gone) == [
        f"pkg/mod.py::other: listed, but not above {LIMIT} (any more): remove the line"
    ]

"""Saved plan files: what they hold, their mode, and how bad files are refused."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from jcstate.core.model import DesiredState, Project, ProjectConfig
from jcstate.core.plan import PlanOptions
from jcstate.core.planjson import plan_to_dict
from jcstate.core.urls import public_url
from jcstate.errors import PlanFileError
from jcstate.execute.planfile import load_plan, save_plan
from tests.core.test_plan import sample_plan


def project(tmp_path: Path, digest: str = "d1g35t") -> Project:
    return Project(
        root=tmp_path,
        config_path=tmp_path / "jcstate.yaml",
        config=ProjectConfig(version=1),
        contact_files=(),
        desired=DesiredState(contacts=()),
        digest=digest,
    )


def saved(tmp_path: Path, **kwargs: object) -> Path:
    path = tmp_path / "plan.json"
    save_plan(
        path,
        sample_plan(),
        project=project(tmp_path),
        api_url=str(kwargs.get("api_url", "https://api.justcall.io")),
        options=PlanOptions(prune=True, targets=frozenset({"+14155550101"}), per_minute=60),
    )
    return path


def test_saved_plan_reads_back_with_its_context(tmp_path: Path) -> None:
    path = saved(tmp_path)
    loaded = load_plan(path)
    assert plan_to_dict(loaded.plan) == plan_to_dict(sample_plan())
    assert loaded.config_digest == "d1g35t"
    assert loaded.api_url == "https://api.justcall.io"
    assert loaded.options.prune and loaded.options.targets == frozenset({"+14155550101"})
    assert loaded.options.per_minute == 60
    touched = {c.id: c.fingerprint for c in sample_plan().changes if c.id is not None}
    assert dict(loaded.fingerprints) == touched
    assert loaded.created_at is not None and loaded.created_at.endswith("Z")


def test_plan_file_is_private(tmp_path: Path) -> None:
    path = saved(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    saved(tmp_path)  # overwriting keeps it private too
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_plan_file_never_holds_credentials_from_the_url(tmp_path: Path) -> None:
    path = saved(tmp_path, api_url="https://key123:secret456@api.example.com/")
    text = path.read_text()
    assert "key123" not in text and "secret456" not in text
    assert json.loads(text)["api_url"] == "https://api.example.com/"
    assert public_url("sandbox://.jcstate/sandbox.db") == "sandbox://.jcstate/sandbox.db"


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PlanFileError, match="plan file not found"):
        load_plan(tmp_path / "nope.json")


def test_not_json_names_the_place(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text('{"kind": "jcstate-plan",\n  oops}')
    with pytest.raises(PlanFileError, match=r"plan\.json:2:3: not valid JSON"):
        load_plan(path)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(kind="something"), "not a jcstate plan file"),
        (lambda d: d.update(format_version=99), "unsupported plan file format_version 99"),
        (lambda d: d.pop("config_digest"), "config_digest"),
        (lambda d: d["plan"].update(format_version=2), "unsupported format_version 2"),
        (lambda d: d["plan"]["changes"][1].update(id="x"), "'id' must be an integer"),
        (lambda d: d["fingerprints"].update({"1": "0000"}), "the file was edited"),
        (lambda d: d.update(fingerprints={"one": "0000"}), r"malformed plan file .*fingerprints"),
        (lambda d: d.update(files={"a.yaml": 1}), r"malformed plan file .*files"),
        (lambda d: d.update(options={"targets": 5}), "malformed 'options'"),
        (lambda d: d.update(changed_since={"ref": "main"}), "malformed 'changed_since'"),
        (lambda d: d["plan"]["changes"][0].update(source={"file": "a", "line": "x"}), "'source'"),
    ],
)
def test_bad_plan_files_are_refused(tmp_path: Path, edit: object, message: str) -> None:
    path = saved(tmp_path)
    data = json.loads(path.read_text())
    assert callable(edit)
    edit(data)
    path.write_text(json.dumps(data))
    with pytest.raises(PlanFileError, match=message) as caught:
        load_plan(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("depth", [200_000, 5_000])
def test_a_deeply_nested_file_is_a_plan_file_error(tmp_path: Path, depth: int) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * depth + "]" * depth)
    with pytest.raises(PlanFileError, match=str(path)):
        load_plan(path)

"""A loaded project is out of the cycle collector's walks until the command ends.

At 100,000 contacts a load builds some 600,000 objects; resumed after the
load, the collector walked them all again (youngest generation, middle, then a
full collection during the fetch): 0.1 s of `plan`. The load freezes what it
built (`gc.freeze`), the CLI unfreezes when the command is done, and a load
that fails freezes nothing.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from jcstate.cli import cli
from jcstate.core.model import DesiredContact
from jcstate.errors import ConfigError
from jcstate.project.config import load_project


@pytest.fixture(autouse=True)
def _nothing_frozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def _project(root: Path, contacts: str) -> Path:
    (root / "jcstate.yaml").write_text(
        'version: 1\napi: {url: "sandbox://x.db"}\ncontacts: ["contacts/*.yaml"]\n',
        encoding="utf-8",
    )
    (root / "contacts").mkdir()
    (root / "contacts" / "a.yaml").write_text(contacts, encoding="utf-8")
    return root


GOOD = 'version: 1\ncontacts:\n  - phone: "+12125550143"\n    first_name: Ada\n'
BAD = 'version: 1\ncontacts:\n  - phone: "not a phone"\n'


def _collected(thing: object) -> bool:
    """Whether a collection could walk `thing` (it is in one of the three generations)."""
    return any(held is thing for held in gc.get_objects())


@pytest.mark.parametrize("use_cache", [False, True], ids=["cold", "warm"])
def test_a_loaded_project_is_frozen(tmp_path: Path, use_cache: bool) -> None:
    root = _project(tmp_path, GOOD)
    if use_cache:
        load_project(root, use_cache=True)
        gc.unfreeze()
    project = load_project(root, use_cache=use_cache)
    (contact,) = project.desired.contacts
    assert contact.fields == {"first_name": "Ada"}
    assert gc.get_freeze_count() > 0
    assert not _collected(contact)
    assert gc.isenabled()


def test_the_check_sees_an_object_the_collector_walks() -> None:
    """The check can fail: a contact built here is in the youngest generation."""
    held = DesiredContact("+12125550143", {"first_name": "Ada"}, {})
    assert _collected(held)


def test_a_load_that_fails_freezes_nothing(tmp_path: Path) -> None:
    root = _project(tmp_path, BAD)
    with pytest.raises(ConfigError):
        load_project(root, use_cache=False)
    assert gc.get_freeze_count() == 0
    assert gc.isenabled()


def test_a_command_unfreezes_what_its_load_froze(tmp_path: Path) -> None:
    root = _project(tmp_path, GOOD)
    result = CliRunner().invoke(cli, ["-C", str(root), "validate"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "OK: 1 contact" in result.output
    assert gc.get_freeze_count() == 0
    assert gc.isenabled()

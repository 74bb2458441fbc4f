"""Saved plans (`jcstate plan --out FILE`, `jcstate apply FILE`): JSON, file mode 0600.

A plan file holds the plan's JSON form (`plan_to_dict`), the digest of the
project's files it was made from, the API URL (never the credentials), the
plan options, when it was made, and the fingerprint of every remote contact
the plan touches, so `apply` can refuse a plan made from other files or
against contacts that changed since.

::

    {"kind": "jcstate-plan", "format_version": 1, "created_at": "...Z",
     "jcstate_version": "0.1.0", "config_digest": "sha256...",
     "api_url": "https://api.justcall.io", "options": {...},
     "fingerprints": {"<remote id>": "<fingerprint>", ...}, "plan": {...}}

`"files"` maps each file the plan was made from (jcstate.yaml and the contacts
files, relative to the project) to its sha256, so that a refused plan names
the files that changed since. Files without the key load as before.

A plan made with `--changed-since REF` also holds its `changed_since` record
(REF, the merge-base commit, the counts), so `jcstate show` renders it as
`plan` printed it. Files without the key load as before.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jcstate import __version__
from jcstate.core.changeset import ChangedSince, changed_since_from_dict
from jcstate.core.model import Project
from jcstate.core.plan import Plan, PlanOptions
from jcstate.core.planjson import FORMAT_VERSION, plan_from_dict, plan_to_dict, typed
from jcstate.core.urls import public_url
from jcstate.errors import PlanFileError, WriteError
from jcstate.project.files import write_file

KIND = "jcstate-plan"


@dataclass(frozen=True)
class SavedPlan:
    plan: Plan
    config_digest: str
    api_url: str | None
    options: PlanOptions = field(default_factory=PlanOptions)
    created_at: str | None = None
    #: remote id -> fingerprint of that contact when the plan was made
    fingerprints: Mapping[int, str] = field(default_factory=dict)
    #: the `--changed-since` record (None for a plan of the whole project)
    changed_since: ChangedSince | None = None
    #: each file of the project (relative path) -> its sha256, when the plan was made
    files: Mapping[str, str] = field(default_factory=dict)


def project_files(project: Project) -> dict[str, str]:
    """Each file the project was loaded from (jcstate.yaml and the contacts files) -> sha256."""
    digests: dict[str, str] = {}
    for path in (project.config_path, *project.contact_files):
        try:
            name = path.relative_to(project.root).as_posix()
        except ValueError:
            name = path.as_posix()
        try:
            digests[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            digests[name] = ""
    return digests


def files_changed(saved: Mapping[str, str], current: Mapping[str, str]) -> list[str]:
    """`changed: a.yaml, b.yaml; added: c.yaml; removed: d.yaml` parts, for a message (pure)."""
    changed = sorted(n for n in saved.keys() & current.keys() if saved[n] != current[n])
    added = sorted(current.keys() - saved.keys())
    removed = sorted(saved.keys() - current.keys())
    parts = []
    for label, names in (("changed", changed), ("added", added), ("removed", removed)):
        if names:
            parts.append(f"{label}: {', '.join(names)}")
    return parts


def options_to_dict(options: PlanOptions) -> dict[str, Any]:
    return {
        "prune": options.prune,
        "targets": sorted(options.targets) if options.targets is not None else None,
        "bulk_batch_size": options.bulk_batch_size,
        "per_minute": options.per_minute,
        "per_hour": options.per_hour,
    }


def options_from_dict(data: Any, where: str) -> PlanOptions:
    if data is None:
        return PlanOptions()
    if not isinstance(data, Mapping):
        raise PlanFileError(f"{where}: 'options' must be an object")
    options: PlanOptions = _typed(PlanOptions, data, "'options'", where)
    # A rate of 0 is no limit, as when the plan was made.
    return dataclasses.replace(
        options, per_minute=options.per_minute or None, per_hour=options.per_hour or None
    )


def _typed(kind: Any, value: Any, what: str, where: str) -> Any:
    try:
        return typed(kind, value, what)
    except PlanFileError as exc:
        raise PlanFileError(f"{where}: {exc}") from None


def touched_fingerprints(plan: Plan) -> dict[str, str]:
    return {
        str(change.id): change.fingerprint
        for change in plan.changes
        if change.id is not None and change.fingerprint is not None
    }


def plan_file_dict(
    plan: Plan,
    *,
    config_digest: str,
    api_url: str,
    options: PlanOptions | None = None,
    created_at: str,
    changed_since: ChangedSince | None = None,
    files: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The plan file's content (pure)."""
    content = {
        "kind": KIND,
        "format_version": FORMAT_VERSION,
        "created_at": created_at,
        "jcstate_version": __version__,
        "config_digest": config_digest,
        "files": dict(files or {}),
        "api_url": public_url(api_url),
        "options": options_to_dict(options or PlanOptions()),
        "fingerprints": touched_fingerprints(plan),
        "plan": plan_to_dict(plan),
    }
    if changed_since is not None:
        content["changed_since"] = changed_since.to_dict()
    return content


def save_plan(
    path: Path,
    plan: Plan,
    *,
    project: Project,
    api_url: str,
    options: PlanOptions | None = None,
    changed_since: ChangedSince | None = None,
) -> None:
    """Write the plan file atomically with mode 0600 (it names contacts)."""
    created_at = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    content = plan_file_dict(
        plan,
        config_digest=project.digest,
        api_url=api_url,
        options=options,
        created_at=created_at,
        changed_since=changed_since,
        files=project_files(project),
    )
    text = json.dumps(content, indent=2, ensure_ascii=False) + "\n"
    try:
        write_file(Path(path), text, root=project.root, mode=0o600)
    except WriteError as exc:
        raise PlanFileError(f"{path}: cannot write the plan file ({exc.reason})") from None


def saved_plan_from_dict(data: Any, where: str) -> SavedPlan:
    """Validate a plan file's content (pure); raises PlanFileError naming `where`."""
    if not isinstance(data, Mapping) or data.get("kind") != KIND:
        raise PlanFileError(f"{where}: not a jcstate plan file (made by `jcstate plan --out`)")
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise PlanFileError(
            f"{where}: unsupported plan file format_version {version!r} "
            f"(this jcstate reads {FORMAT_VERSION}); make the plan again"
        )
    digest = data.get("config_digest")
    if not isinstance(digest, str) or not digest:
        raise PlanFileError(f"{where}: missing 'config_digest'")
    header: _Header = _typed(_Header, data, "plan file", where)
    try:
        plan = plan_from_dict(data.get("plan"))
        changed_since = changed_since_from_dict(data.get("changed_since"))
    except PlanFileError as exc:
        raise PlanFileError(f"{where}: {exc}") from None
    fingerprints = header.fingerprints or {}
    for change in plan.changes:
        if change.id is not None and change.fingerprint != fingerprints.get(change.id):
            raise PlanFileError(
                f"{where}: the fingerprint of contact id {change.id} does not match the plan; "
                "the file was edited"
            )
    return SavedPlan(
        plan=plan,
        config_digest=digest,
        api_url=header.api_url,
        options=options_from_dict(data.get("options"), where),
        created_at=header.created_at,
        fingerprints=fingerprints,
        changed_since=changed_since,
        files=header.files or {},
    )


@dataclass(frozen=True)
class _Header:
    """The plain keys of a plan file (what pydantic checks; the plan is read apart)."""

    api_url: str | None = None
    created_at: str | None = None
    #: remote id (a JSON object's key) -> fingerprint
    fingerprints: dict[int, str] | None = None
    #: file name -> sha256
    files: dict[str, str] | None = None


def load_plan(path: Path) -> SavedPlan:
    """Read and validate a plan file; PlanFileError on anything that is not one."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanFileError(f"{path}: plan file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanFileError(f"{path}: cannot read the plan file ({exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanFileError(
            f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}); "
            "is this a file from `jcstate plan --out`?"
        ) from None
    except RecursionError:
        raise PlanFileError(
            f"{path}: nested too deeply to be a plan; is this a file from `jcstate plan --out`?"
        ) from None
    try:
        return saved_plan_from_dict(data, str(path))
    except RecursionError:
        raise PlanFileError(f"{path}: nested too deeply to be a plan") from None

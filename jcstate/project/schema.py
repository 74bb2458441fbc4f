"""JSON Schemas of the project's files, generated from the pydantic models (for editors)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from jcstate.core.model import SUPPORTED_VERSIONS, ContactDefaults, ContactEntry, ProjectConfig
from jcstate.project.sources.config import source_schema

SchemaKind = Literal["project", "contacts"]
DRAFT = "https://json-schema.org/draft/2020-12/schema"


class _ContactsFileSchema(BaseModel):
    """A jcstate contacts file: version, defaults and the list of contacts."""

    model_config = ConfigDict(extra="forbid", title="jcstate contacts file")

    version: int
    defaults: ContactDefaults | None = None
    contacts: list[ContactEntry] = Field(default_factory=list)


def _pin_version(schema: dict[str, Any]) -> dict[str, Any]:
    schema["properties"]["version"] = {
        "title": "Version",
        "description": "Format version of this file.",
        "type": "integer",
        "enum": list(SUPPORTED_VERSIONS),
    }
    if "version" not in schema.get("required", []):
        schema.setdefault("required", []).insert(0, "version")
    return schema


def json_schema(kind: SchemaKind = "project") -> dict[str, Any]:
    """The JSON Schema of `jcstate.yaml` ("project") or of a contacts file ("contacts")."""
    if kind == "project":
        body = ProjectConfig.model_json_schema()
        body["title"] = "jcstate project file (jcstate.yaml)"
        source = source_schema()
        body.setdefault("$defs", {}).update(source.pop("$defs", {}))
        body["$defs"]["SourceConfig"] = source
        body["properties"]["sources"] = {
            **body["properties"]["sources"],
            "type": "object",
            "additionalProperties": {"$ref": "#/$defs/SourceConfig"},
        }
    else:
        body = _ContactsFileSchema.model_json_schema()
    return {"$schema": DRAFT, **_pin_version(body)}

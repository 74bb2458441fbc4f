"""The plan document of `jcstate plan` in any format, as a sequence of chunks to write.

JSON and text are streamed (`render.json.iter_json`, `render.text.iter_text`):
a plan of 300,000 changes is never one string in memory. Markdown comes as
one chunk (its size is capped). Pure: the caller writes the chunks.
"""

from __future__ import annotations

from collections.abc import Iterable

from jcstate.core.changeset import ChangedSince
from jcstate.core.plan import Plan


def plan_document(
    plan: Plan,
    output_format: str,
    *,
    color: bool,
    mask_pii: bool,
    changed_since: ChangedSince | None = None,
) -> Iterable[str]:
    """The chunks whose concatenation is the plan in `output_format` (text, markdown, json)."""
    if output_format == "json":
        from jcstate.render.json import iter_json

        return iter_json(plan, mask_pii=mask_pii, changed_since=changed_since)
    if output_format == "markdown":
        from jcstate.render.markdown import render_markdown

        return [render_markdown(plan, mask_pii=mask_pii, changed_since=changed_since)]
    from jcstate.render.text import iter_text

    return iter_text(plan, color=color, mask_pii=mask_pii, changed_since=changed_since)

"""Whatever the account holds, every renderer shows it as data (property tests).

Arbitrary Unicode (controls, C1, bidi, line separators, lone surrogates,
backticks, markdown and HTML) in every remote string: names, e-mail
addresses, companies, custom-field keys and values, phones, error messages.
For each format: no raw control character and no line a value begins (text,
JSON), the same values loaded back (JSON), nothing GitHub would render as
markup of the value's own (markdown, rendered with cmarkgfm).
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jcstate.core.drift import compute_drift
from jcstate.core.model import DesiredContact, DesiredState, RemoteContact, RemoteState, SourceRef
from jcstate.core.normalize import normalize_text
from jcstate.core.outcome import ApplyReport, ItemResult, Outcome
from jcstate.core.plan import Action, Plan, PlanOptions, compute_plan
from jcstate.render import drift as drift_render
from jcstate.render.json import render_json
from jcstate.render.markdown import render_markdown
from jcstate.render.report import render_report_json, render_report_text
from jcstate.render.text import render_text
from tests.support.review_surface import markdown_problems, text_problems

#: any code point, lone surrogates included (a JSON `\ud800` decodes to one)
ANY_TEXT = st.text(st.characters(exclude_categories=()), min_size=1, max_size=40)
#: values hostile to markdown and terminals, mixed into the arbitrary ones
NASTY = st.sampled_from(
    [
        "k\n\n</details>\n\n# Approve me @org/team\n<!--",
        "@octocat <img src=x onerror=alert(1)>",
        "X\n::error title=CI::injected",
        "\x1b]0;TITLE\x07",
        "\x1b]8;;https://evil.example\x07",
        "\x1b[2J\u009b\u202e",
        "``` `x` ``",
        "` a |b| `",
        "#123 www.evil.example https://e.example a@b.co $x$ :+1: **b** [x](y) &amp;",
        "\n    indented\n> quote\n- item\n1. item\n---\n| a | b |",
    ]
)
VALUE = st.one_of(ANY_TEXT, NASTY, st.tuples(ANY_TEXT, NASTY).map("".join))
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DECLARED = "+14155550101"


@st.composite
def accounts(draw: st.DrawFn) -> tuple[DesiredState, RemoteState]:
    """One declared contact (updated from hostile remote values) and one undeclared."""
    values = [draw(VALUE) for _ in range(9)]
    declared = DesiredContact(
        phone=DECLARED,
        fields={"first_name": "Jordan", "last_name": "Lee", "company": "Acme"},
        custom_fields={},
        source=SourceRef("contacts/team.yaml", 3),
    )
    remote = (
        RemoteContact(
            id=1,
            phone=DECLARED,
            fields={
                "first_name": values[0],
                "last_name": values[1],
                "email": values[2],
                "company": values[3],
            },
            custom_fields={values[4]: values[5]},
            updated_at=values[6],
        ),
        RemoteContact(
            id=2,
            phone=values[7],
            fields={"first_name": values[8], "last_name": None, "email": None, "company": None},
            custom_fields={},
        ),
    )
    return (
        DesiredState(contacts=(declared,)),
        RemoteState(contacts=remote, complete=True),
    )


def _plan(account: tuple[DesiredState, RemoteState]) -> Plan:
    desired, remote = account
    return compute_plan(desired, remote, PlanOptions(prune=True))


@FAST
@given(accounts(), st.booleans())
def test_the_text_plan_shows_any_value_escaped(
    account: tuple[DesiredState, RemoteState], mask: bool
) -> None:
    text = render_text(_plan(account), mask_pii=mask)
    assert text_problems(text) == []
    assert text.rstrip("\n").splitlines()[-1].startswith("Plan: ")


@FAST
@given(accounts())
def test_the_json_plan_escapes_any_value_and_loads_it_back(
    account: tuple[DesiredState, RemoteState],
) -> None:
    plan = _plan(account)
    text = render_json(plan)
    assert text_problems(text) == []
    loaded = json.loads(text)
    _, remote = account
    assert loaded["undeclared_custom_fields"] == list(plan.undeclared_custom_fields)
    assert [c["phone"] for c in loaded["changes"]] == [c.phone for c in plan.changes]
    olds = {(c["id"], f["field"]): f["old"] for c in loaded["changes"] for f in c["fields"]}
    # A remote value is compared stripped, and blank means absent (normalize_text).
    assert olds[(1, "first_name")] == normalize_text(remote.contacts[0].fields["first_name"])


@FAST
@given(accounts(), st.booleans())
def test_the_plan_comment_renders_no_markup_of_the_values(
    account: tuple[DesiredState, RemoteState], mask: bool
) -> None:
    plan = _plan(account)
    sections = len({change.action for change in plan.changes})
    assert markdown_problems(render_markdown(plan, mask_pii=mask), own_details=sections) == []


@FAST
@given(accounts())
def test_every_drift_format_shows_any_value_as_data(
    account: tuple[DesiredState, RemoteState],
) -> None:
    desired, remote = account
    report = compute_drift(desired, remote)
    assert text_problems(drift_render.render_text(report)) == []
    text = drift_render.render_json(report)
    assert text_problems(text) == []
    loaded = json.loads(text)
    assert [k["key"] for k in loaded["undeclared_custom_fields"]] == [
        k.key for k in report.undeclared_custom_fields
    ]
    assert [c["phone"] for c in loaded["unmanaged"]] == [c.phone for c in report.unmanaged]
    assert markdown_problems(drift_render.render_markdown(report)) == []


@FAST
@given(VALUE, VALUE)
def test_the_apply_report_shows_a_server_message_as_data(phone: str, message: str) -> None:
    report = ApplyReport(
        items=(ItemResult(Action.UPDATE, phone, 1, Outcome.FAILED, message),),
        warnings=(message,),
        requests={"total": 1, "put": 1},
        requests_by_stage={},
        converged=False,
        remaining=(),
        duration_s=0.1,
        convergence_error=message,
    )
    assert text_problems(render_report_text(report)) == []
    text = render_report_json(report)
    assert text_problems(text) == []
    assert json.loads(text)["items"][0]["message"] == message


def test_a_comment_cut_to_the_limit_never_opens_a_code_span() -> None:
    """Huge undeclared keys make the head alone too long: the cut keeps the spans whole."""
    keys = [f"{i:02d}" + "<img src=x>" * 200 for i in range(50)]
    remote = RemoteContact(
        id=1,
        phone=DECLARED,
        fields={"first_name": "Jordan", "last_name": None, "email": None, "company": None},
        custom_fields=dict.fromkeys(keys, "v"),
    )
    declared = DesiredContact(phone=DECLARED, fields={"first_name": "Sam"}, custom_fields={})
    plan = compute_plan(
        DesiredState(contacts=(declared,)),
        RemoteState(contacts=(remote,), complete=True),
        PlanOptions(),
    )
    text = render_markdown(plan)
    assert "cut to fit" in text
    assert markdown_problems(text) == []

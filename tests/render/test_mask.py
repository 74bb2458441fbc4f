"""--mask-pii: every e-mail address is masked, internationalised ones included."""

from __future__ import annotations

import pytest

from jcstate.render.mask import mask_text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("jordan@example.com", "j•••@example.com"),
        ("jörg.müller@example.com", "j•••@example.com"),
        ("maria@exämple.de", "m•••@exämple.de"),
        ("ΑΘΗΝΑ@παράδειγμα.ελ", "Α•••@παράδειγμα.ελ"),
        ('email: "o\'brien+tag@sub.example.org"', 'email: "o•••@sub.example.org"'),
        ("<dana@example.com> (Acme)", "<d•••@example.com> (Acme)"),
        ("`jörg@example.com`", "`j•••@example.com`"),
        ("| `maria@exämple.de` |", "| `m•••@exämple.de` |"),
        ("write to a@b.co.", "write to a•••@b.co."),
        # As the text report shows an address holding a control character.
        ("<jö\\x1brg@example.com>", "<j•••@example.com>"),
    ],
)
def test_every_address_is_masked(text: str, masked: str) -> None:
    assert mask_text(text) == masked


def test_text_that_holds_no_address_is_left_alone() -> None:
    for text in ("no address here", "a @ b", "user@localhost", "@octocat", "x@.com"):
        assert mask_text(text) == text

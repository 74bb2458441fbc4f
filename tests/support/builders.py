"""Builders of the core values that unit tests write by hand.

One definition of a remote contact, a declared contact, a desired state and an
account, so that a test file only states what differs in its own wrapper.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jcstate.core.model import (
    DesiredContact,
    DesiredState,
    RemoteContact,
    RemoteState,
    Safety,
    SourceRef,
)

#: the standard fields a remote contact always carries (None when empty)
FIELDS = ("first_name", "last_name", "email", "company")


def phone(n: int) -> str:
    """The n-th test number, +1415555nnnn."""
    return f"+1415555{n:04d}"


def remote(
    id: int,
    phone: str,
    custom: Mapping[str, Any] | None = None,
    *,
    updated_at: str | None = None,
    **fields: str | None,
) -> RemoteContact:
    """A contact as the API lists it: every standard field present, None unless given."""
    values: dict[str, str | None] = dict.fromkeys(FIELDS)
    values.update(fields)
    return RemoteContact(
        id=id, phone=phone, fields=values, custom_fields=dict(custom or {}), updated_at=updated_at
    )


def declared(
    phone: str,
    line: int = 1,
    *,
    id: int | None = None,
    custom: Mapping[str, Any] | None = None,
    path: str | None = None,
    **fields: str | None,
) -> DesiredContact:
    """A contact as a YAML file declares it, at `path` (contacts/team.yaml) `line`."""
    return DesiredContact(
        phone=phone,
        fields=fields,
        custom_fields=dict(custom or {}),
        id=id,
        source=SourceRef(path or "contacts/team.yaml", line),
    )


def state(*contacts: DesiredContact, **safety: Any) -> DesiredState:
    """A desired state of these contacts; keyword arguments are `Safety` settings."""
    return DesiredState(contacts=contacts, safety=Safety(**safety))


def account(*contacts: RemoteContact, complete: bool = True) -> RemoteState:
    """The account's contacts, a full listing unless `complete=False`."""
    return RemoteState(contacts=contacts, complete=complete)

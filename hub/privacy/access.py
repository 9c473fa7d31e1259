"""Who is reading: the caller's role, whether values may be shown in clear, and the audit of it.

Every command that shows or exports customer values builds a ``Viewer`` and passes each record
through ``Viewer.present``: values are masked (``hub.privacy.masking``) unless ``--unmask`` was
asked *and* the role may see the field's tier; ``Viewer.audit`` then writes one audit entry with
the field names seen in clear and the row count. The CLI's role is ``privacy.cli_role``
(default ``operator``); ``--as-role`` may name one of ``privacy.cli_roles`` (by default the roles
that cannot see highly confidential data, so ``admin`` needs configuring).
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from hub.errors import ConfigError
from hub.privacy import audit
from hub.privacy.masking import mask_record, unmasked_fields
from hub.privacy.settings import PrivacySettings
from hub.privacy.tiers import GENERAL, NO_ACCESS, TIERS, Role


def cli_actor() -> str:
    """``cli:<os user>``: the actor of audit entries written by the command line."""
    try:
        return f"cli:{getpass.getuser()}"[:120]
    except (OSError, KeyError):
        return "cli:unknown"


MASK_ALL = Role("masked", frozenset({GENERAL}))


@dataclass
class Viewer:
    actor: str
    role: Role
    roles: dict[str, Role]
    unmask: bool
    purpose: str
    seen_fields: set[str] = field(default_factory=set)
    rows_unmasked: int = 0

    @property
    def effective(self) -> Role:
        """The role masking uses: the caller's own with ``--unmask``, general-only without it."""
        return self.role if self.unmask else MASK_ALL

    def mask(self, record: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
        """``record`` (canonical-shaped) masked for this viewer, and the fields it shows in clear."""
        fields = set(unmasked_fields(record, self.role)) if self.unmask else set()
        return mask_record(record, self.effective), fields

    def note(self, fields: Iterable[str], rows: int = 1) -> None:
        """Count ``rows`` row(s) that showed ``fields`` in clear (nothing when ``fields`` is empty)."""
        fields = set(fields)
        if fields:
            self.seen_fields.update(fields)
            self.rows_unmasked += rows

    def present(self, record: dict[str, Any]) -> dict[str, Any]:
        """``record`` masked for this viewer, counted as one row when anything is shown in clear."""
        masked, fields = self.mask(record)
        self.note(fields)
        return masked

    def audit(self, conn: Connection, *, action: str, subjects: Iterable[str] = (), row_count: int | None = None,
              request_id: str | None = None, always: bool = False) -> int | None:
        """One audit entry for what this viewer saw in clear (or, with ``always``, whatever it did)."""
        if not self.seen_fields and not always:
            return None
        return audit.record(conn, actor=self.actor, role=self.role.name, purpose=self.purpose, action=action,
                            subjects=subjects, fields=sorted(self.seen_fields),
                            row_count=self.rows_unmasked if row_count is None else row_count,
                            request_id=request_id)


def choose_role(settings: PrivacySettings, as_role: str | None) -> Role:
    """The role the CLI acts as: ``privacy.cli_role``, or ``--as-role`` when it is allowed."""
    name = as_role or settings.cli_role
    if as_role and as_role not in settings.cli_role_choices():
        raise ConfigError(f"--as-role {as_role} is not allowed for the command line",
                          fix="allowed: " + ", ".join(settings.cli_role_choices())
                          + " (list more in privacy.cli_roles)")
    role = settings.roles.get(name)
    if role is None:
        raise ConfigError(f"unknown role '{name}'", fix="define it under privacy.roles or pick one of: "
                          + ", ".join(sorted(settings.roles)))
    return role


def cli_viewer(settings: PrivacySettings, *, as_role: str | None, unmask: bool, purpose: str) -> Viewer:
    """The viewer of a CLI command; ``--unmask`` needs a role that may see more than general data."""
    role = choose_role(settings, as_role)
    if unmask and not any(role.may_see(t) for t in TIERS if t != GENERAL):
        raise ConfigError(f"role {role.name} may not see confidential data unmasked, so --unmask is refused",
                          fix="use --as-role with a role whose privacy.roles unmask list includes confidential "
                              "or highly_confidential")
    return Viewer(actor=cli_actor(), role=role, roles=settings.roles, unmask=unmask, purpose=purpose)


__all__ = ["MASK_ALL", "NO_ACCESS", "Viewer", "choose_role", "cli_actor", "cli_viewer"]

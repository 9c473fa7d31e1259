"""The ``privacy`` section of custhub.yaml, parsed (the JSON Schema has already checked its shape).

Everything has a safe default, so a config without a ``privacy`` section gets: the KEK from
``$CUSTHUB_KEK``, else from ``.custhub/kek`` beside the config (generated for a new
store); the default roles (``hub.privacy.tiers.DEFAULT_ROLES``); CN subjects without a
legitimate-interest basis; separate consent for sensitive data, third-party sharing and
cross-border transfer; audit checkpoints in ``.custhub/audit-checkpoints.jsonl``, kept 3 years.
This module must not import ``hub.config`` (which imports it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from hub.privacy.consent import DEFAULT_POLICY, ConsentPolicy
from hub.privacy.tiers import DEFAULT_ROLES, HIGHLY_CONFIDENTIAL, Role

_DURATION = re.compile(r"(\d+)([dmy])")


def duration_days(text: str) -> int:
    """``30d``, ``24m`` or ``3y`` in days (a month counts 30 days, a year 365)."""
    match = _DURATION.fullmatch(text)
    if not match:
        raise ValueError(f"not a duration: {text!r}")
    n, unit = int(match.group(1)), match.group(2)
    return n * {"d": 1, "m": 30, "y": 365}[unit]


@dataclass(frozen=True)
class Recipient:
    """What the records of processing need to know about a destination."""

    region: str = "CN"
    relationship: str = "processor"  # processor | independent_handler
    transfer_mechanism: str | None = None
    vendor: str | None = None


@dataclass(frozen=True)
class PrivacySettings:
    # None: "auto" - $CUSTHUB_KEK when set, else the key file .custhub/kek beside the config,
    # created on first use of an empty store (hub.privacy.runtime.ensure_active).
    kek: dict[str, str] | None = None
    auto_kek_dir: str | None = None  # where the auto KEK file lives when not beside the config
    roles: dict[str, Role] = field(default_factory=lambda: dict(DEFAULT_ROLES))
    consent: ConsentPolicy = DEFAULT_POLICY
    controller: dict[str, str] = field(default_factory=dict)
    region: str = "CN"  # where the hub and its store run
    purposes: dict[str, str] = field(default_factory=dict)
    recipients: dict[str, Recipient] = field(default_factory=dict)
    retention: dict[str, str] = field(default_factory=lambda: {
        "raw_payload": "30d", "quarantine": "30d", "inactive_profile": "24m", "audit_log": "3y"})
    audit_checkpoint_file: str = ".custhub/audit-checkpoints.jsonl"
    audit_checkpoint_every: int = 1000
    # The CLI's role (masking, --unmask) and the roles ``--as-role`` may pick. None: every role that
    # does not see highly confidential data unmasked, so admin-like roles need explicit configuration.
    cli_role: str = "operator"
    cli_roles: tuple[str, ...] | None = None
    purge_after_run: bool = False  # run the retention purge after each ``custhub run``
    erasure_consent: str = "keep"  # keep | delete: the (value-free) consent events of an erased person

    def cli_role_choices(self) -> tuple[str, ...]:
        """The roles ``--as-role`` may name."""
        if self.cli_roles is not None:
            return tuple(dict.fromkeys((self.cli_role, *self.cli_roles)))
        safe = [name for name, role in sorted(self.roles.items()) if not role.may_see(HIGHLY_CONFIDENTIAL)]
        return tuple(dict.fromkeys((self.cli_role, *safe)))


def parse_privacy(raw: dict[str, Any] | None) -> PrivacySettings:
    """The settings of a schema-valid ``privacy`` section (``None``: every default)."""
    if not raw:
        return PrivacySettings()
    defaults = PrivacySettings()
    roles = dict(defaults.roles)
    for name, body in (raw.get("roles") or {}).items():
        roles[name] = Role(name, frozenset(body.get("unmask", ())))
    consent = raw.get("consent") or {}
    policy = DEFAULT_POLICY
    if consent:
        bases = dict(policy.allowed_bases)
        for jurisdiction, allowed in (consent.get("allowed_bases") or {}).items():
            bases[jurisdiction] = frozenset(allowed)
        policy = ConsentPolicy(
            allowed_bases=bases,
            separate_consent_purposes=frozenset(consent.get("separate_consent_purposes",
                                                            policy.separate_consent_purposes)),
            separate_consent_jurisdictions=frozenset(consent.get("separate_consent_jurisdictions",
                                                                 policy.separate_consent_jurisdictions)))
    audit = raw.get("audit") or {}
    return PrivacySettings(
        kek=(raw.get("keys") or {}).get("kek", defaults.kek),
        roles=roles, consent=policy,
        controller=dict(raw.get("controller") or {}),
        region=raw.get("region", defaults.region),
        purposes=dict(raw.get("purposes") or {}),
        recipients={name: Recipient(**body) for name, body in (raw.get("recipients") or {}).items()},
        retention={**defaults.retention, **(raw.get("retention") or {})},
        audit_checkpoint_file=audit.get("checkpoint_file", defaults.audit_checkpoint_file),
        audit_checkpoint_every=audit.get("checkpoint_every", defaults.audit_checkpoint_every),
        cli_role=raw.get("cli_role", defaults.cli_role),
        cli_roles=tuple(raw["cli_roles"]) if "cli_roles" in raw else None,
        purge_after_run=bool(raw.get("purge_after_run", False)),
        erasure_consent=(raw.get("erasure") or {}).get("consent_events", defaults.erasure_consent))

"""The consent gate of a destination: which profiles it may receive now (``hub.privacy.consent.decide``).

A destination needs, for each profile, a grant valid now of:

* its ``purpose`` (``destinations.<name>.purpose``), when it has one;
* ``cross_border``, when its recipient (``privacy.recipients.<name>.region``) is outside the hub's
  ``privacy.region`` and the consent policy requires separate consent for it in the subject's
  jurisdiction (CN by default: PIPL Art. 39);
* ``share_third_party``, when the recipient is an ``independent_handler`` and the policy requires
  separate consent for it (PIPL Art. 23).

A profile's consent events are those of its canonical ``consents`` (form checkboxes, CRM opt-outs)
plus the ledger's (``privacy_consent_events``) for ``profile:<id>`` and for each of its source records
(``record:<source_records.id>``). ``decide`` applies the policy: latest effective event wins,
future-dated and expired grants do not count, no legitimate interest for CN subjects, separate
consent where required. Nothing here reads or logs a customer value.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from hub.config import Config
from hub.identity.tables import identity_members
from hub.privacy.consent import (
    CROSS_BORDER,
    DEFAULT_POLICY,
    JURISDICTIONS,
    SHARE_THIRD_PARTY,
    ConsentEvent,
    ConsentPolicy,
    Decision,
    decide,
    events_from_canonical,
)
from hub.privacy.settings import Recipient
from hub.privacy.tables import privacy_consent_events

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def consent_granted(record: dict[str, Any], purpose: str, now: datetime,
                    policy: ConsentPolicy = DEFAULT_POLICY, jurisdiction: str = "CN") -> bool:
    """Whether ``record``'s own ``consents`` grant ``purpose`` at ``now`` (an aware datetime)."""
    return decide(_canonical_events(record, jurisdiction), purpose, now, policy).granted


def _canonical_events(record: dict[str, Any], jurisdiction: str) -> list[ConsentEvent]:
    # An entry without a time counts as the oldest, so any dated entry overrides it.
    return events_from_canonical(record, subject="profile:sync", source_record=None, jurisdiction=jurisdiction,
                                 fallback_time=_EPOCH)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def jurisdiction_of(region: str) -> str:
    """The consent jurisdiction of subjects handled in ``region`` (the hub's ``privacy.region``)."""
    return region if region in JURISDICTIONS else "other"


def required_purposes(config: Config, destination: str) -> tuple[str, ...]:
    """The purposes a profile must have granted before ``destination`` may receive it."""
    dest = config.destinations[destination]
    privacy = config.privacy
    recipient = privacy.recipients.get(destination, Recipient(region=privacy.region))
    jurisdiction = jurisdiction_of(privacy.region)
    purposes = [dest.purpose] if dest.purpose else []
    if is_cross_border(config, destination) and privacy.consent.needs_separate(jurisdiction, CROSS_BORDER):
        purposes.append(CROSS_BORDER)
    if recipient.relationship == "independent_handler" and privacy.consent.needs_separate(jurisdiction,
                                                                                         SHARE_THIRD_PARTY):
        purposes.append(SHARE_THIRD_PARTY)
    return tuple(dict.fromkeys(purposes))


def is_cross_border(config: Config, destination: str) -> bool:
    recipient = config.privacy.recipients.get(destination)
    return recipient is not None and recipient.region != config.privacy.region


@dataclass
class ConsentGate:
    """Decides, per profile, whether a destination may receive it now."""

    purposes: tuple[str, ...]
    policy: ConsentPolicy = DEFAULT_POLICY
    jurisdiction: str = "CN"
    ledger: dict[str, list[ConsentEvent]] = field(default_factory=dict)  # subject -> events
    record_profile: dict[str, str] = field(default_factory=dict)  # "record:<id>" -> golden profile id
    _by_profile: dict[str, list[ConsentEvent]] | None = None

    def decide(self, profile_id: str, record: dict[str, Any], record_ids: Iterable[int],
               now: datetime) -> Decision:
        """Granted for every required purpose, or the first refusal as ``<purpose>:<reason>``."""
        events = _canonical_events(record, self.jurisdiction)
        if self.ledger:
            events += self.ledger.get(f"profile:{profile_id}", [])
            events += self._member_events(profile_id)
            for rid in record_ids:
                events += self.ledger.get(f"record:{rid}", [])
        for purpose in self.purposes:
            decision = decide(events, purpose, now, self.policy)
            if not decision.granted:
                return Decision(False, f"{purpose}:{decision.reason}")
        return Decision(True, "granted")

    def _member_events(self, profile_id: str) -> list[ConsentEvent]:
        if self._by_profile is None:
            self._by_profile = defaultdict(list)
            for subject, pid in self.record_profile.items():
                self._by_profile[pid] += self.ledger.get(subject, [])
        return self._by_profile.get(profile_id, [])


def consent_gate(conn: Connection, config: Config, destination: str) -> ConsentGate | None:
    """The gate of ``destination`` with the ledger's events for its purposes (None: nothing to check)."""
    purposes = required_purposes(config, destination)
    if not purposes:
        return None
    ledger: dict[str, list[ConsentEvent]] = defaultdict(list)
    t = privacy_consent_events.c
    query = select(t.id, t.subject, t.purpose, t.status, t.basis, t.separate, t.jurisdiction, t.channel,
                   t.effective_from, t.expires_at).where(t.purpose.in_(purposes)).order_by(t.id)
    for r in conn.execute(query.execution_options(yield_per=10_000)):
        ledger[r.subject].append(ConsentEvent(
            subject=r.subject, purpose=r.purpose, status=r.status, effective_from=_aware(r.effective_from),
            basis=r.basis, separate=bool(r.separate), jurisdiction=r.jurisdiction, channel=r.channel,
            expires_at=_aware(r.expires_at) if r.expires_at else None, id=r.id))
    record_ids = [int(s.split(":", 1)[1]) for s in ledger if s.startswith("record:") and s[7:].isdigit()]
    record_profile: dict[str, str] = {}
    for start in range(0, len(record_ids), 5000):
        part = record_ids[start:start + 5000]
        for rid, pid in conn.execute(select(identity_members.c.record_id, identity_members.c.profile_id).where(
                identity_members.c.record_id.in_(part))):
            record_profile[f"record:{rid}"] = str(pid)
    return ConsentGate(purposes, config.privacy.consent, jurisdiction_of(config.privacy.region), dict(ledger),
                       record_profile)

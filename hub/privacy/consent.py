"""The consent ledger: append-only consent events per subject and purpose, and what they mean now.

A subject is a pseudonymous reference (``profile:12`` or ``record:7``). ``decide`` applies the
semantics of Apache Unomi's ``isConsentGrantedAtDate`` under a ``ConsentPolicy``:

* only events already effective at ``at`` count (a future-dated grant is not valid yet);
* the latest effective event decides: granted, then withdrawn later, is withdrawn;
* a grant past its ``expires_at`` is expired; no event at all means not granted;
* the legal basis must be allowed in the subject's jurisdiction (by default CN has no
  legitimate-interest basis, PIPL Art. 13);
* purposes that need separate consent (sensitive data, sharing with a third party, cross-border
  transfer; PIPL Art. 23/29/39) count only when the grant was given separately.

Legal readings differ; each is a policy setting with a safe default, not hard-coded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from hub.errors import ConfigError
from hub.privacy.tables import privacy_consent_events

STATUSES = ("granted", "denied", "withdrawn", "unknown")
BASES = ("consent", "contract", "legal_obligation", "vital_interest", "public_task", "legitimate_interest")
JURISDICTIONS = ("CN", "EU", "US-CA", "other")
SENSITIVE_PI, SHARE_THIRD_PARTY, CROSS_BORDER = "sensitive_pi", "share_third_party", "cross_border"
_SUBJECT = re.compile(r"(profile|record):[A-Za-z0-9_.-]{1,100}")
_NAME = re.compile(r"[a-z][a-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class ConsentPolicy:
    """Which legal bases count where, and which purposes need separate consent. Safe defaults."""

    allowed_bases: Mapping[str, frozenset[str]] = field(default_factory=lambda: {
        "CN": frozenset({"consent", "contract", "legal_obligation", "vital_interest"}),
        "EU": frozenset(BASES), "US-CA": frozenset(BASES), "other": frozenset({"consent"}),
    })
    separate_consent_purposes: frozenset[str] = frozenset({SENSITIVE_PI, SHARE_THIRD_PARTY, CROSS_BORDER})
    separate_consent_jurisdictions: frozenset[str] = frozenset({"CN"})

    def basis_allowed(self, jurisdiction: str, basis: str) -> bool:
        allowed = self.allowed_bases.get(jurisdiction, self.allowed_bases.get("other", frozenset({"consent"})))
        return basis in allowed

    def needs_separate(self, jurisdiction: str, purpose: str) -> bool:
        return purpose in self.separate_consent_purposes and jurisdiction in self.separate_consent_jurisdictions


DEFAULT_POLICY = ConsentPolicy()


@dataclass(frozen=True)
class ConsentEvent:
    subject: str
    purpose: str
    status: str
    effective_from: datetime
    basis: str = "consent"
    separate: bool = False
    jurisdiction: str = "CN"
    channel: str = "admin"
    expires_at: datetime | None = None
    source_connection: str | None = None
    source_record: str | None = None
    notice_version: str | None = None
    evidence: Mapping[str, Any] | None = None
    recorded_by: str = "custhub"
    id: int | None = None


@dataclass(frozen=True)
class Decision:
    granted: bool
    reason: str  # granted | no_consent | denied | withdrawn | unknown | expired | basis_not_allowed | not_separate


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def decide(events: Iterable[ConsentEvent], purpose: str, at: datetime,
           policy: ConsentPolicy = DEFAULT_POLICY) -> Decision:
    """Whether the events of ONE subject grant ``purpose`` at ``at`` (an aware datetime)."""
    at = _utc(at)
    effective = [(i, e) for i, e in enumerate(events)
                 if e.purpose == purpose and _utc(e.effective_from) <= at]
    if not effective:
        return Decision(False, "no_consent")
    _, latest = max(effective, key=lambda ie: (_utc(ie[1].effective_from), ie[1].id or 0, ie[0]))
    if latest.status != "granted":
        return Decision(False, latest.status)
    if latest.expires_at is not None and _utc(latest.expires_at) <= at:
        return Decision(False, "expired")
    if not policy.basis_allowed(latest.jurisdiction, latest.basis):
        return Decision(False, "basis_not_allowed")
    if policy.needs_separate(latest.jurisdiction, purpose) and not latest.separate:
        return Decision(False, "not_separate")
    return Decision(True, "granted")


def _validate(event: ConsentEvent) -> None:
    problems = []
    if not _SUBJECT.fullmatch(event.subject):
        problems.append("subject must be profile:<id> or record:<id>")
    if not _NAME.fullmatch(event.purpose):
        problems.append("purpose must be a lower-case name")
    if event.status not in STATUSES:
        problems.append(f"status must be one of {', '.join(STATUSES)}")
    if event.basis not in BASES:
        problems.append(f"basis must be one of {', '.join(BASES)}")
    if event.jurisdiction not in JURISDICTIONS:
        problems.append(f"jurisdiction must be one of {', '.join(JURISDICTIONS)}")
    if event.source_record is not None and not re.fullmatch(r"record:[A-Za-z0-9_.-]{1,100}", event.source_record):
        problems.append("source_record must be record:<id>")
    if event.effective_from.tzinfo is None or (event.expires_at and event.expires_at.tzinfo is None):
        problems.append("times must be timezone-aware")
    if problems:
        raise ConfigError("; ".join(problems), path="consent event")


def record_consent(conn: Connection, event: ConsentEvent, now: datetime | None = None) -> int:
    """Append ``event`` to the ledger (never updates); returns its id."""
    _validate(event)
    result = conn.execute(insert(privacy_consent_events).values(
        subject=event.subject, purpose=event.purpose, status=event.status, basis=event.basis,
        separate=event.separate, jurisdiction=event.jurisdiction, channel=event.channel,
        source_connection=event.source_connection, source_record=event.source_record,
        notice_version=event.notice_version,
        evidence=json.dumps(dict(event.evidence), ensure_ascii=False) if event.evidence else None,
        effective_from=event.effective_from.astimezone(UTC),
        expires_at=event.expires_at.astimezone(UTC) if event.expires_at else None,
        recorded_by=event.recorded_by, recorded_at=now or datetime.now(UTC)))
    return result.inserted_primary_key[0]


def events_for(conn: Connection, subject: str, purpose: str | None = None) -> list[ConsentEvent]:
    t = privacy_consent_events
    query = select(t).where(t.c.subject == subject).order_by(t.c.id)
    if purpose is not None:
        query = query.where(t.c.purpose == purpose)
    return [ConsentEvent(
        subject=r["subject"], purpose=r["purpose"], status=r["status"], effective_from=_utc(r["effective_from"]),
        basis=r["basis"], separate=bool(r["separate"]), jurisdiction=r["jurisdiction"], channel=r["channel"],
        expires_at=_utc(r["expires_at"]) if r["expires_at"] else None,
        source_connection=r["source_connection"], source_record=r["source_record"],
        notice_version=r["notice_version"], evidence=json.loads(r["evidence"]) if r["evidence"] else None,
        recorded_by=r["recorded_by"], id=r["id"]) for r in conn.execute(query).mappings()]


def consent_granted_now(conn: Connection, subject: str, purpose: str, at: datetime,
                        policy: ConsentPolicy = DEFAULT_POLICY) -> bool:
    """Granted, not withdrawn later, not expired, not future-dated, on an allowed basis, at ``at``."""
    return decide(events_for(conn, subject, purpose), purpose, at, policy).granted


def consent_time(text: Any) -> datetime | None:
    """The aware time a consent's ``at`` (or ``expires_at``) gives, or ``None``."""
    if not isinstance(text, str):
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else None


def events_from_canonical(record: Mapping[str, Any], *, subject: str, source_record: str | None,
                          jurisdiction: str = "CN", fallback_time: datetime) -> list[ConsentEvent]:
    """Ledger events from a canonical record's ``consents`` (form checkboxes, CRM opt-outs).

    A consent without a time takes ``fallback_time`` (when the record was read); a status the
    ledger does not know becomes ``unknown``, never ``granted``.
    """
    out = []
    for entry in record.get("consents") or ():
        status = entry.get("status") if entry.get("status") in STATUSES else "unknown"
        basis = entry.get("basis") if entry.get("basis") in BASES else "consent"
        purpose = str(entry.get("purpose") or "")
        if not _NAME.fullmatch(purpose):
            continue
        out.append(ConsentEvent(
            subject=subject, purpose=purpose, status=status, basis=basis, jurisdiction=jurisdiction,
            effective_from=consent_time(entry.get("at")) or fallback_time,
            expires_at=consent_time(entry.get("expires_at")), channel=str(entry.get("channel") or "import")[:32],
            source_connection=(record.get("provenance") or {}).get("connection"), source_record=source_record,
            separate=entry.get("separate") is True))
    return out

"""The retention purge: remove what ``privacy.retention`` says is kept no longer (idempotent).

- ``raw_payload``: a source record's payload as received is replaced by ``null`` once the record
  has not changed for that long (the cleaned canonical record stays while the profile lives);
  webhook inbox events and finished outbox rows (their sealed CRM payloads) older than that go.
- ``quarantine``: quarantine rows not updated for that long are deleted.
- ``inactive_profile``: profiles none of whose records changed for that long are deleted with
  their records, identity keys (blind indexes), links and outbox rows (``hub.privacy.erasure``);
  so are stored records that never joined a profile.
- ``audit_log`` is a *minimum* (PIPL Art. 56 asks 3 years): the purge never shortens the chain.

A second purge at the same time finds nothing: every step selects only what is still there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, delete, exists, not_, select, update

from hub.privacy.erasure import delete_people
from hub.privacy.settings import PrivacySettings, duration_days
from hub.store.schema import quarantine, source_records

PURGED_PAYLOAD = "null"  # what a purged raw payload reads as (JSON null, not personal data)


@dataclass
class PurgeResult:
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, what: str, n: int) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def cutoffs(settings: PrivacySettings, now: datetime) -> dict[str, datetime]:
    return {name: now - timedelta(days=duration_days(text)) for name, text in settings.retention.items()
            if name in ("raw_payload", "quarantine", "inactive_profile")}


def purge(conn: Connection, settings: PrivacySettings, *, now: datetime | None = None) -> PurgeResult:
    """Apply every retention limit in one transaction; the counts of what went."""
    from hub.identity.tables import identity_members, identity_profiles
    from hub.inbox.tables import webhook_inbox
    from hub.sync.tables import sync_outbox

    now = now or datetime.now(UTC)
    limits = cutoffs(settings, now)
    result = PurgeResult()
    s, q = source_records.c, quarantine.c
    if "raw_payload" in limits:
        cut = limits["raw_payload"]
        result.add("raw_payloads", conn.execute(update(source_records).where(
            s.updated_at < cut, s.raw != PURGED_PAYLOAD).values(raw=PURGED_PAYLOAD)).rowcount or 0)
        result.add("webhook_events", conn.execute(delete(webhook_inbox).where(
            webhook_inbox.c.received_at < cut)).rowcount or 0)
        result.add("outbox_rows", conn.execute(delete(sync_outbox).where(
            sync_outbox.c.updated_at < cut, sync_outbox.c.status != "pending")).rowcount or 0)
    if "quarantine" in limits:
        result.add("quarantine_rows", conn.execute(delete(quarantine).where(
            q.updated_at < limits["quarantine"])).rowcount or 0)
    if "inactive_profile" in limits:
        cut = limits["inactive_profile"]
        m, p = identity_members.c, identity_profiles.c
        recent = exists().where(m.profile_id == p.id, m.record_id == s.id, s.updated_at >= cut)
        stale = [i for (i,) in conn.execute(select(p.id).where(p.status == "active", p.updated_at < cut, not_(recent)))]
        records = [r for (r,) in conn.execute(select(m.record_id).where(m.profile_id.in_(stale)))] if stale else []
        merged = [i for (i,) in conn.execute(select(p.id).where(p.merged_into.in_(stale)))] if stale else []
        orphans = [r for (r,) in conn.execute(select(s.id).where(
            s.updated_at < cut, not_(exists().where(m.record_id == s.id))))]
        deleted = delete_people(conn, profile_ids=stale + merged, record_ids=records + orphans)
        result.add("inactive_profiles", len(stale))
        result.add("records_of_inactive_profiles", len(records) + len(orphans))
        result.add("identity_keys", deleted.counts.get("identity_keys", 0))
    return result


__all__ = ["PURGED_PAYLOAD", "PurgeResult", "cutoffs", "purge"]

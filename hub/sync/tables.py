"""Tables of sync-out: destination links, the outbox, per-row results, destination state, run locks.

Created by migration ``0004`` (``sync_transfers`` by ``0008``). Defined on the shared ``metadata`` so
Alembic and the tests see them. ``sync_outbox.payload``/``.error`` and ``sync_results.reason`` hold
sealed ciphertexts (``hub.sync.sealing``).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Index, Integer, PrimaryKeyConstraint, String, Table, Text

from hub.store.schema import Id, metadata

TS = DateTime(timezone=True)

# What each destination holds for each profile, as far as custhub knows: the CRM's id and the hash
# of the payload it last acknowledged. Change detection compares against ``last_sent_hash``.
sync_links = Table(
    "sync_links", metadata,
    Column("destination", String(200), nullable=False),
    Column("profile_id", String(500), nullable=False),
    Column("external_id", String(200)),
    Column("last_sent_hash", String(64)),
    Column("status", String(16), nullable=False),  # synced | opted_out | deleted | erasing
    Column("created_by_custhub", Boolean, nullable=False, default=False),
    Column("last_synced_at", TS, nullable=False),
    PrimaryKeyConstraint("destination", "profile_id"),
)

# The transactional outbox: planned writes, inserted in the same transaction as the diff.
sync_outbox = Table(
    "sync_outbox", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("destination", String(200), nullable=False),
    Column("profile_id", String(500), nullable=False),
    Column("op", String(16), nullable=False),  # upsert | insert | update | delete
    Column("kind", String(16), nullable=False),  # create | update | delete | opt_out (for reports)
    Column("payload", Text, nullable=False),  # sealed JSON of the mapped CRM fields
    Column("payload_hash", String(64), nullable=False),  # keyed digest (runtime content_hash), never a plain hash
    Column("external_id", String(200)),
    Column("status", String(16), nullable=False),  # pending | succeeded | rejected | dead | superseded
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", TS, nullable=False),
    Column("error_code", String(100)),
    Column("error", Text),  # sealed: the CRM's reason (value-free by construction, sealed in case one echoes)
    Column("run_id", Id),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
)
Index("ix_sync_outbox_open", sync_outbox.c.destination, sync_outbox.c.status, sync_outbox.c.id)

# One row per settled outbox row per run: the per-row run report.
sync_results = Table(
    "sync_results", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("run_id", Id, nullable=False),
    Column("outbox_id", Id, nullable=False),
    Column("profile_id", String(500), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),  # synced | rejected | dead | deferred | retry
    Column("external_id", String(200)),
    Column("code", String(100)),
    Column("reason", Text),  # sealed, like sync_outbox.error
    Column("at", TS, nullable=False),
)
Index("ix_sync_results_run", sync_results.c.run_id)

# PIPL cross-border register: each person sent to a destination abroad, once per calendar year, so the
# yearly count of distinct people (2024 Provisions thresholds) is a COUNT. Profile ids are pseudonymous.
sync_transfers = Table(
    "sync_transfers", metadata,
    Column("destination", String(200), nullable=False),
    Column("year", Integer, nullable=False),
    Column("profile_id", String(500), nullable=False),
    Column("region", String(8), nullable=False),  # the recipient's region when first sent that year
    Column("first_sent_at", TS, nullable=False),
    PrimaryKeyConstraint("destination", "year", "profile_id"),
)

sync_state = Table(
    "sync_state", metadata,
    Column("destination", String(200), primary_key=True),
    Column("mirror_baseline_at", TS),  # set by the first mirror run, which never deletes
    Column("updated_at", TS, nullable=False),
)

# Leases that keep one connection or destination from running twice at once, across processes.
run_locks = Table(
    "run_locks", metadata,
    Column("target", String(250), primary_key=True),  # "connection:<name>" or "destination:<name>"
    Column("owner", String(200)),
    Column("expires_at", TS),
)

# Scheduled jobs as configured and as last fired (the persisted job store of ``custhub schedule``).
schedule_jobs = Table(
    "schedule_jobs", metadata,
    Column("job_id", String(250), primary_key=True),  # "connection:<name>" or "destination:<name>"
    Column("trigger", Text, nullable=False),  # JSON of the schedule from config
    Column("next_run_at", TS),
    Column("last_run_at", TS),
    Column("last_status", String(16)),  # succeeded | partial | failed | skipped | missed
    Column("updated_at", TS, nullable=False),
)

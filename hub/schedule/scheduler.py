"""``custhub schedule``: fire jobs on their triggers, persisted in the store, never overlapping.

The scheduling policy is APScheduler's (its triggers, ``coalesce`` and ``misfire_grace_time``
semantics), driven by a small loop with an injectable clock so tests can move time. Each job's
next run time lives in ``schedule_jobs``, so a restarted scheduler knows what it missed. Every run
takes a lease in the store first: a connection never runs twice at once, even with two scheduler
processes on one PostgreSQL store; the second is skipped and logged. A connection's successful
ingest triggers the destinations that list it in ``after``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import insert, select, update

from hub.schedule import locks
from hub.schedule.jobs import Job
from hub.store import Store, serialize
from hub.sync.tables import schedule_jobs

log = logging.getLogger("custhub.schedule")
Runner = Callable[[str], str]  # job id -> status (succeeded | partial | failed | skipped)


def first_fire(job: Job, now: datetime) -> datetime | None:
    """The first run of a new job: one interval from ``now``, or the cron's next match."""
    if isinstance(job.trigger, IntervalTrigger):
        return now + job.trigger.interval
    return _utc(job.trigger.get_next_fire_time(None, now))


def _utc(value: datetime | None) -> datetime | None:
    """Stored times are UTC: SQLite keeps no offset."""
    return value.astimezone(UTC) if value is not None else None


def _aware(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


class Scheduler:
    def __init__(self, store: Store, jobs: list[Job], runner: Runner, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC), owner: str | None = None) -> None:
        self.store, self.jobs, self.runner, self.clock = store, {j.id: j for j in jobs}, runner, clock
        self.owner = owner or locks.new_owner()
        self.stopping = threading.Event()
        self.history: list[tuple[str, datetime, str]] = []  # (job id, scheduled time, status)

    def sync_jobs(self) -> None:
        """Persist every configured job; a new or changed schedule gets a fresh next run time."""
        now = self.clock()
        with self.store.transaction() as conn:
            serialize(conn, "schedule_jobs")  # two schedulers starting together insert the same jobs
            stored = {r.job_id: r for r in conn.execute(select(schedule_jobs))}
            for job in self.jobs.values():
                row = stored.get(job.id)
                if row is None:
                    conn.execute(insert(schedule_jobs).values(
                        job_id=job.id, trigger=job.fingerprint, updated_at=now,
                        next_run_at=first_fire(job, now)))
                elif row.trigger != job.fingerprint:
                    conn.execute(update(schedule_jobs).where(schedule_jobs.c.job_id == job.id).values(
                        trigger=job.fingerprint, updated_at=now, next_run_at=first_fire(job, now)))

    def due_times(self, job: Job, next_run: datetime, now: datetime) -> list[datetime]:
        times, t = [], next_run
        while t is not None and t <= now:
            times.append(t)
            t = job.trigger.get_next_fire_time(t, now)
        return times

    def tick(self) -> list[tuple[str, datetime, str]]:
        """Run every job that is due now; returns (job id, scheduled time, status) for this tick."""
        now = self.clock()
        fired: list[tuple[str, datetime, str]] = []
        with self.store.reading() as conn:
            rows = {r.job_id: _aware(r.next_run_at) for r in conn.execute(select(schedule_jobs))}
        for job_id, job in self.jobs.items():
            next_run = rows.get(job_id)
            if next_run is None or next_run > now:
                continue
            times = self.due_times(job, next_run, now)
            following = _utc(job.trigger.get_next_fire_time(times[-1], now))
            if not self._claim(job_id, next_run, following, now):
                continue  # another scheduler process advanced this job first
            for when in times[-1:] if job.coalesce else times:
                if job.misfire_grace is not None and now - when > job.misfire_grace:
                    log.warning("job %s: run due at %s missed (later than its misfire grace)", job_id,
                                when.isoformat())
                    fired.append((job_id, when, "missed"))
                    continue
                fired.append((job_id, when, self.run(job_id)))
            if len(times) > 1 and job.coalesce:
                log.info("job %s: %d missed runs coalesced into one", job_id, len(times))
        self.history.extend(fired)
        return fired

    def _claim(self, job_id: str, expected: datetime, following: datetime | None, now: datetime) -> bool:
        sj = schedule_jobs.c
        with self.store.transaction() as conn:  # one conditional UPDATE: two schedulers cannot both claim
            claimed = conn.execute(update(schedule_jobs).where(sj.job_id == job_id, sj.next_run_at == expected).values(
                next_run_at=following, last_run_at=now, updated_at=now)).rowcount
        return claimed == 1

    def run(self, job_id: str) -> str:
        """Run one job under its lease; ``skipped`` when it is already running anywhere."""
        leased = job_id.startswith("connection:")  # a sync takes its destination's lease itself
        if leased and not locks.acquire(self.store, job_id, self.owner):
            log.warning("job %s is already running elsewhere; this run is skipped", job_id)
            status = "skipped"
        else:
            try:
                status = self.runner(job_id)
            except Exception as exc:  # one failing job never stops the scheduler
                log.error("job %s failed (%s)", job_id, type(exc).__name__)
                status = "failed"
            finally:
                if leased:
                    locks.release(self.store, job_id, self.owner)
            if status == "skipped":
                log.warning("job %s is already running elsewhere; this run is skipped", job_id)
        with self.store.transaction() as conn:
            conn.execute(update(schedule_jobs).where(schedule_jobs.c.job_id == job_id).values(
                last_status=status, updated_at=self.clock()))
        return status

    def run_forever(self, sleep: Callable[[float], None] | None = None, max_wait: float = 30.0) -> None:
        self.sync_jobs()
        while not self.stopping.is_set():
            self.tick()
            with self.store.reading() as conn:
                soonest = min((_aware(t) for (t,) in conn.execute(select(schedule_jobs.c.next_run_at).where(
                    schedule_jobs.c.job_id.in_(list(self.jobs)))) if t is not None), default=None)
            wait = max_wait if soonest is None else max(0.0, min(max_wait, (soonest - self.clock()).total_seconds()))
            (sleep or self.stopping.wait)(wait)

"""Leases in the store that keep one connection or destination from running twice at once.

A lease is a row of ``run_locks`` taken with one conditional UPDATE (or an INSERT that loses cleanly
to a concurrent one), so it holds across processes and machines sharing one SQLite file or one
PostgreSQL database. A crashed holder's lease expires after ``ttl``; a live holder renews it.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from hub.store import Store
from hub.store.runs import utcnow
from hub.sync.tables import run_locks

DEFAULT_TTL = timedelta(minutes=15)


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire(store: Store, target: str, owner: str, ttl: timedelta = DEFAULT_TTL) -> bool:
    """Take or renew the lease on ``target``; False when another live owner holds it."""
    now = utcnow()
    rl = run_locks.c
    with store.transaction() as conn:
        taken = conn.execute(update(run_locks).where(
            rl.target == target, or_(rl.owner.is_(None), rl.expires_at < now, rl.owner == owner)).values(
            owner=owner, expires_at=now + ttl)).rowcount
        if taken:
            return True
        current = conn.execute(select(rl.owner).where(rl.target == target)).first()
        if current is not None:
            if current.owner and _dead_here(current.owner):  # its holder crashed on this machine
                return bool(conn.execute(update(run_locks).where(
                    rl.target == target, rl.owner == current.owner).values(owner=owner, expires_at=now + ttl)).rowcount)
            return False
    try:
        with store.transaction() as conn:
            conn.execute(run_locks.insert().values(target=target, owner=owner, expires_at=now + ttl))
        return True
    except IntegrityError:  # another process inserted it first
        return False


def _dead_here(owner: str) -> bool:
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def release(store: Store, target: str, owner: str) -> None:
    with store.transaction() as conn:
        conn.execute(update(run_locks).where(run_locks.c.target == target, run_locks.c.owner == owner).values(
            owner=None, expires_at=None))


def holder(store: Store, target: str) -> str | None:
    with store.reading() as conn:
        row = conn.execute(select(run_locks.c.owner, run_locks.c.expires_at).where(
            run_locks.c.target == target)).first()
    if row is None or row.owner is None or row.expires_at is None:
        return None
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=utcnow().tzinfo)
    return row.owner if expires > utcnow() else None


class Heartbeat:
    """Renews a held lease at most every ``every`` seconds; call it from a run's progress callback."""

    def __init__(self, store: Store, target: str, owner: str, every: float = 60.0) -> None:
        self.store, self.target, self.owner, self.every = store, target, owner, every
        self._clock = time.monotonic
        self._last = self._clock()

    def __call__(self, *_: object) -> None:
        if self._clock() - self._last >= self.every:
            acquire(self.store, self.target, self.owner)
            self._last = self._clock()

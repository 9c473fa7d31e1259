"""Full-run shortcuts give what the plain definitions give: mark_stale over every record at once; the
run's larger SQLite page cache is given back to the connection afterwards."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update

from bench.identity_data import Generator
from hub.identity import review
from hub.identity.resolver import SQLITE_CACHE_KIB
from hub.identity.tables import identity_members, identity_review
from hub.store.schema import source_records
from tests.test_identity_support import rec, resolve, seeded


def _records(n: int) -> list[dict]:
    return [r for _, r in Generator(seed=5).records(n)]


def test_mark_stale_over_every_record_equals_marking_them_by_id(store_url):
    records = [rec("crm", f"p{i}", name="Li Na", email=f"li{i}@corp.cn") for i in range(6)]
    store = seeded(store_url, records)
    resolve(store)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    states = []
    for by_id in (True, False):
        with store.transaction() as conn:
            ids = conn.execute(select(source_records.c.id).order_by(source_records.c.id)).scalars().all()
            conn.execute(identity_review.delete())
            conn.execute(identity_review.insert(), [
                {"record_a": a, "record_b": b, "probability": 0.5, "weight": 1.0, "evidence": "{}",
                 "status": status, "created_at": now}
                for a, b, status in [(ids[0], ids[1], "open"), (ids[2], ids[3], "open"), (ids[0], ids[4], "rejected"),
                                     (ids[1], ids[5], "open"), (ids[3], 10**9, "open")]])
            m = identity_members.c
            together = [ids[0], ids[1], ids[4]]
            conn.execute(update(identity_members).where(m.record_id.in_(together)).values(profile_id=77))
            conn.execute(update(identity_members).where(m.record_id == ids[5]).values(profile_id=78))
            review.mark_stale(conn, ids if by_id else None, now)
            states.append(conn.execute(select(identity_review.c.record_a, identity_review.c.record_b,
                                              identity_review.c.status).order_by(identity_review.c.record_a,
                                                                                 identity_review.c.record_b)).all())
    assert states[0] == states[1]
    assert sum(status == "stale" for *_, status in states[0]) >= 1


def test_a_run_restores_the_connections_page_cache(tmp_path):
    store = seeded(f"sqlite:///{tmp_path / 'p.db'}", _records(50))
    with store.engine.connect() as conn:
        before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    assert before != -SQLITE_CACHE_KIB
    resolve(store)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == before

"""Helpers for the console tests (no tests here): a store with a few profiles and one review pair,
a config with console users of three roles, and a logged-in TestClient."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from hub.config import Config, load_config
from hub.console.passwords import hash_password
from hub.identity import storage
from hub.identity.model import FSModel
from hub.identity.resolver import MODEL_STATE
from hub.identity.seed import write_canonical
from hub.privacy.runtime import ensure_active
from hub.store import Store
from tests.helpers import copy_example
from tests.test_identity_support import rec, resolve

PASSWORD = "correct horse battery"
USERS = {"ada": "admin", "mark": "marketing", "aud": "auditor"}
LI_NA_EMAIL = "li.na@corp.cn"
LI_NA_PHONE = "+8613912345678"


def review_model() -> FSModel:
    """Weights under which a name-only pair lands between the review and match thresholds."""
    m = [[0.01, 0.01, 0.01, 0.97], [0.01, 0.01, 0.01, 0.97], [0.01, 0.01, 0.98], [0.02, 0.02, 0.96],
         [0.3, 0.3, 0.4], [0.3, 0.3, 0.4], [0.5, 0.5], [0.5, 0.5]]
    u = [[0.9997, 0.0001, 0.0001, 0.97 / 4096], [0.99, 0.0097, 0.0002, 0.97 / 256], [0.98, 0.0049, 0.98 / 64],
         [0.52, 0.36, 0.12], [0.3, 0.3, 0.4], [0.3, 0.3, 0.4], [0.5, 0.5], [0.5, 0.5]]
    return FSModel(m=m, u=u, prior=2.0**-10 / (1 + 2.0**-10), u_random=[u[0][:3] + [0.5], *u[1:]])


RECORDS = [
    rec("crm", "a1", name="Li Na", email=LI_NA_EMAIL, phone=LI_NA_PHONE, employer="Acme Trading",
        interactions=[{"type": "event_registered", "at": "2026-03-01T09:00:00+00:00", "name": "Expo 2026"}],
        consents=[{"purpose": "marketing", "channel": "email", "status": "granted",
                   "at": "2026-03-01T09:00:00+00:00"}]),
    rec("web", "a2", name="Li Na", email=LI_NA_EMAIL),
    rec("crm", "x1", name="Ouyang Nana"),
    rec("web", "x2", name="欧阳娜娜"),
    rec("web", "y1", name="Li Lei", email="li.lei@corp.cn"),
]


def console_config(tmp_path: Path, store_url: str, **console: Any) -> Config:
    """The example config pointing at ``store_url`` with console users ada (admin), mark
    (marketing) and aud (auditor), all with ``PASSWORD`` (cheap hashes for speed)."""
    path = copy_example(tmp_path, store_url)
    data = yaml.safe_load(path.read_text("utf-8"))
    data.pop("server", None)  # its forms need webhook secrets from the environment
    data["console"] = {"users": {name: {"password_hash": hash_password(PASSWORD, log2_n=10), "role": role}
                                 for name, role in USERS.items()},
                       "login": {"failure_delay_ms": 0}, **console}
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return load_config(path)


def seeded_store(config: Config) -> Store:
    """Five records: Li Na twice (one profile), a review pair (Ouyang Nana / 欧阳娜娜), Li Lei."""
    store = Store.open(config.store_url)
    ensure_active(store.engine, config.privacy, config.base_dir)
    write_canonical(store, RECORDS)
    with store.transaction() as conn:
        storage.save_state(conn, MODEL_STATE, review_model().to_json(), datetime.now(UTC))
    summary = resolve(store)
    assert summary.review_added == 1
    return store


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF field in the page"
    return match.group(1)


def login(client, name: str, password: str = PASSWORD):  # noqa: ANN001, ANN201
    page = client.get("/console/login")
    return client.post("/console/login", data={"username": name, "password": password, "csrf": csrf_of(page.text),
                                                "next": ""}, follow_redirects=False)


def profile_id_of(store: Store, source_pk: str) -> int:
    from sqlalchemy import select

    from hub.identity.tables import identity_members
    from hub.store.schema import source_records

    with store.reading() as conn:
        return conn.execute(select(identity_members.c.profile_id).join(
            source_records, source_records.c.id == identity_members.c.record_id).where(
            source_records.c.source_pk == source_pk)).scalar_one()


def store_evaluation(conn, connection: str, metrics: list[tuple[str, str, str, float]], reasons: list[str],
                     at: datetime) -> int:  # noqa: ANN001
    """One quality evaluation written straight into the quality tables (what ``custhub quality`` stores)."""
    import orjson

    from hub.quality.tables import quality_metrics, quality_runs

    qid = conn.execute(quality_runs.insert().returning(quality_runs.c.id), {
        "connection": connection, "run_id": None, "computed_at": at, "status": "degraded" if reasons else "ok",
        "reasons": orjson.dumps(reasons).decode(), "seconds": 0.1}).scalar_one()
    conn.execute(quality_metrics.insert(), [{"quality_run_id": qid, "connection": connection, "stream": stream,
                                             "metric": metric, "field": field, "value": value}
                                            for stream, metric, field, value in metrics])
    return qid

"""Crash suite, resolve flow: records arrive in chunks; after each chunk a forked ``resolve_identities`` is
SIGKILLed at random delays and at the resolve failpoints (``resolve.after_links``, ``resolve.before_commit``,
``resolve.after_commit``, when the code has them) until one run gets through.

Oracle: the profiles (which source records each holds, and its golden record) are identical to those
of a second store that saw the same chunks and resolved them without any crash.
``pytest -m slow tests/test_reliability_crash_resolve.py`` runs 1,000 kills.
"""

from __future__ import annotations

import random
import time

import pytest

from bench.identity_data import Generator
from hub.identity.resolver import resolve_identities
from hub.identity.seed import write_canonical
from hub.identity.settings import IdentitySettings
from hub.identity.storage import open_golden
from hub.privacy.runtime import ensure_active
from hub.privacy.settings import PrivacySettings
from hub.store import Store
from tests.reliability_support import CI_KILLS, KILLED, KillTally, available_failpoints, backend_of, fork_call, report

FAILPOINTS = ("resolve.after_links", "resolve.before_commit", "resolve.after_commit")
CHUNK = 40


def open_store(url: str, tmp_path) -> Store:
    store = Store.open(url)
    ensure_active(store.engine, PrivacySettings(), tmp_path)
    return store


def resolve_child(url: str, tmp_path):
    def run() -> None:
        store = open_store(url, tmp_path)
        try:
            resolve_identities(store, IdentitySettings())
        finally:
            store.close()
    return run


def add_chunk(url: str, tmp_path, items: list[dict]) -> None:
    store = open_store(url, tmp_path)
    try:
        write_canonical(store, items)
    finally:
        store.close()  # no open connection may cross a fork


def profiles(url: str, tmp_path) -> dict[frozenset, object]:
    """Each active profile as {its member records: its golden record}."""
    store = open_store(url, tmp_path)
    try:
        with store.reading() as conn:
            rows = conn.exec_driver_sql(
                "SELECT m.profile_id, s.connection, s.stream, s.source_pk FROM identity_members m "
                "JOIN source_records s ON s.id = m.record_id").all()
            golden = {pid: open_golden(pid, text) for pid, text in conn.exec_driver_sql(
                "SELECT id, golden FROM identity_profiles WHERE status = 'active'").all()}
    finally:
        store.close()
    members: dict[int, set] = {}
    for pid, *key in rows:
        members.setdefault(pid, set()).add(tuple(key))
    assert set(members) == set(golden), "every member's profile is active and every active profile has members"
    return {frozenset(keys): _golden(golden[pid]) for pid, keys in members.items()}


def _golden(value: object) -> object:
    """The golden record without what differs between two correct runs (times and run ids)."""

    def strip(node: object) -> object:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in ("updated_at", "run_id", "resolved_at")}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node
    return strip(value)


def resolved_runs(url: str, tmp_path) -> int:
    store = open_store(url, tmp_path)
    try:
        with store.reading() as conn:
            return conn.exec_driver_sql("SELECT count(*) FROM runs WHERE kind = 'resolve' "
                                        "AND status = 'succeeded'").scalar_one()
    finally:
        store.close()


def crash_resolve(tmp_path, url: str, reference_url: str, *, target: int, seed: int) -> KillTally:
    rng = random.Random(seed)
    log = tmp_path / "children.log"
    named = available_failpoints(*FAILPOINTS)
    tally = KillTally("resolve", backend_of(url))
    generator = Generator(seed=seed)
    chunks: list[list[dict]] = []
    first = [r for _, r in generator.records(CHUNK * 3)]
    chunks.append(first)
    add_chunk(url, tmp_path, first)
    started = time.monotonic()
    resolve_child(url, tmp_path)()  # the first, full resolve in the test process: warms what children inherit
    base_span = time.monotonic() - started + 0.1
    while tally.kills < target:
        chunk = [r for _, r in generator.records(CHUNK, start_pid=10_000 + len(chunks) * CHUNK)]
        chunks.append(chunk)
        add_chunk(url, tmp_path, chunk)
        done, span, kills_here = resolved_runs(url, tmp_path), base_span, 0
        while True:
            if named and rng.random() < 0.5:
                point = f"{rng.choice(named)}:1"
                outcome = fork_call(resolve_child(url, tmp_path), failpoint=point, log=log)
            else:
                point = "timer"
                outcome = fork_call(resolve_child(url, tmp_path), kill_after=rng.uniform(0.0, span), log=log)
            assert outcome in (KILLED, "ok"), log.read_text()[-3000:]
            tally.record(point, outcome)
            if outcome == "ok" or resolved_runs(url, tmp_path) > done:
                break
            kills_here += 1
            if kills_here % 8 == 0:
                span *= 1.3  # a run that never gets through in the span: let later kills land later
    assert fork_call(resolve_child(url, tmp_path), log=log) == "ok", log.read_text()[-3000:]

    for chunk in chunks:  # the same chunks, resolved after each, without a crash
        add_chunk(reference_url, tmp_path, chunk)
        resolve_child(reference_url, tmp_path)()
    crashed, clean = profiles(url, tmp_path), profiles(reference_url, tmp_path)
    assert len(crashed) == len(clean) and set(crashed) == set(clean)  # the same records in the same profiles
    assert crashed == clean  # ... with the same golden records
    return tally


@pytest.mark.crash
@pytest.mark.parametrize("target", [pytest.param(CI_KILLS, id="ci"),
                                    pytest.param(1000, id="long", marks=pytest.mark.slow)])
def test_sigkill_resolve_gives_the_profiles_of_a_clean_run(tmp_path, store_url, request, capsys, target):
    if store_url.startswith("sqlite"):
        reference = f"sqlite:///{tmp_path / 'reference.db'}"
    else:  # a second fresh PostgreSQL database
        reference = store_url.rsplit("/", 1)[0] + "/" + store_url.rsplit("/", 1)[1] + "_ref"
        import sqlalchemy

        from tests.conftest import PG_ADMIN_URL
        admin = sqlalchemy.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{reference.rsplit("/", 1)[1]}"')
        admin.dispose()
        request.addfinalizer(lambda: _drop(reference))
    tally = crash_resolve(tmp_path, store_url, reference, target=target, seed=target)
    report(capsys, tally)
    assert tally.kills >= target


def _drop(url: str) -> None:
    import sqlalchemy

    from tests.conftest import PG_ADMIN_URL
    admin = sqlalchemy.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    admin.dispose()

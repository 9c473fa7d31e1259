"""A stateful model of the store (issue 7, "the store's invariants"): hypothesis drives ingest of small CSV
batches (new rows, changed rows, replays of the same file), SIGKILLed ingests (``ingest.before_commit`` /
``ingest.mid_batch`` in a forked child) followed by a rerun, resolve, merge (a queued review pair accepted
with ``custhub review accept``), unmerge (``custhub profiles unmerge``), erase (``custhub privacy erase
--email``) and sync to the file destination, on a real SQLite store in a temporary directory.

Invariants after every step: each (connection, stream, pk) is stored at most once and holds the model's
latest version; nothing the model holds is missing; an erased person's rows are gone and a replay brings
them back only as quarantine rows with reason ``suppressed``; after resolve every stored record is in
exactly one active profile; the file destination (mirror mode) holds one line per synced profile and none of an
erased one. ``pytest -m slow tests/test_props_store_model.py`` runs more and longer examples.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
import yaml
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from hub.cli.common import open_store
from hub.config import load_config
from hub.identity.review import queue_pairs
from hub.ingest.pipeline import run_connection
from hub.store.records import open_canonical
from hub.sync.runner import sync_destination
from tests.helpers import run_cli
from tests.reliability_support import KILLED, fork_call

CONN, STREAM, DEST = "forms", "contact_form", "out"
PEOPLE, ROWS_EACH = 5, 3
HEADER = ["submission_id", "first_name", "last_name", "email", "phone", "company", "job_title", "country",
          "message", "submitted_at", "consent_marketing"]
CRASHES = ("ingest.before_commit", "ingest.mid_batch")
ROW_KEYS = [(p, j) for p in range(PEOPLE) for j in range(ROWS_EACH)]


def pk_of(person: int, j: int) -> str:
    return f"wf-{person}-{j}"


def email_of(person: int) -> str:
    return f"person{person}@corp{person}.cn"  # not example.com: placeholder addresses are no match key


def csv_row(person: int, j: int, version: int) -> list[str]:
    return [pk_of(person, j), f"Given{person}", f"Family{person}", email_of(person), f"+86 138 0013 80{person:02d}",
            f"Company{person}", f"title-v{version}", "CN", f"message {j}", "2026-03-02T09:15:00+00:00", "true"]


class StoreModel(RuleBasedStateMachine):
    """The model: pk -> (person, version) the store must hold; erased people; the last sync's profiles."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="custhub-model-"))
        self.held: dict[str, tuple[int, int]] = {}
        self.versions: dict[tuple[int, int], int] = {}
        self.erased: set[int] = set()
        self.erased_profiles: set[str] = set()
        self.pending_suppressed: set[str] = set()  # pks of erased people sent since: quarantined, never stored
        self.keep_after_erase: set[str] = set()  # rows of a suppressed person outside the erased profiles
        self.last_file: list[list[str]] = []
        self.file_mtime = 1_700_000_000
        self.resolved = False
        self.synced: set[str] | None = None  # the profile ids the last sync wrote, when nothing changed since
        self.config_file = self._write_config()

    # ------------------------------------------------------------------ plumbing

    def _write_config(self) -> Path:
        # Mirror mode: one line per live profile. (Upsert never deletes, so a merged-away profile keeps its line.)
        raw = {"version": 1, "store": {"url": f"sqlite:///{self.dir / 'store.db'}"},
               "ingest": {"workers": 1, "batch_size": 4},
               "identity": {"resolve_after_ingest": False},
               "privacy": {"cli_roles": ["dpo"]},
               "connections": {CONN: {"source": "file", "streams": {STREAM: {"mapping": "webform_contact"}},
                                      "config": {"files": [{"path": str(self.dir / "batch.csv"), "stream": STREAM,
                                                            "primary_key": ["submission_id"]}],
                                                 "checkpoint_every": 2}}},
               "destinations": {DEST: {"connector": "file", "mapping": "out_crm_file", "mode": "mirror",
                                       "config": {"path": str(self.dir / "out.jsonl")}}}}
        path = self.dir / "custhub.yaml"
        path.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
        return path

    def teardown(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def _cfg(self):  # noqa: ANN202
        return load_config(self.config_file)

    def _write_batch(self, rows: list[list[str]]) -> None:
        path = self.dir / "batch.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(HEADER)
            writer.writerows(rows)
        self.file_mtime += 10  # a new file version for the source, however fast the steps follow each other
        os.utime(path, (self.file_mtime, self.file_mtime))
        self.last_file = rows

    def _ingest(self, *, full_refresh: bool = False) -> str:
        cfg = self._cfg()
        store = open_store(cfg)
        try:
            result = run_connection(cfg, store, CONN, full_refresh=full_refresh)
        finally:
            store.close()  # no open connection may cross a later fork
        return result.status

    def _expect(self, rows: list[list[str]]) -> None:
        """What the model holds after ``rows`` were ingested."""
        for row in rows:
            pk, person, version = row[0], int(row[0].split("-")[1]), int(row[6].rsplit("v", 1)[1])
            if person in self.erased:
                self.pending_suppressed.add(pk)
            else:
                self.held[pk] = (person, version)
        self.resolved = False
        self.synced = None

    def _stored(self) -> dict[str, list[dict]]:
        store = open_store(self._cfg())
        try:
            with store.reading() as conn:
                rows = conn.exec_driver_sql("SELECT connection, stream, source_pk, canonical FROM source_records").all()
        finally:
            store.close()
        out: dict[str, list[dict]] = {}
        for connection, stream, pk, canonical in rows:
            assert (connection, stream) == (CONN, STREAM)
            out.setdefault(pk, []).append(open_canonical(connection, stream, pk, canonical))
        return out

    def _query(self, sql: str, **params) -> list[tuple]:
        store = open_store(self._cfg())
        try:
            with store.reading() as conn:
                return [tuple(r) for r in conn.execute(sa.text(sql), params).all()]
        finally:
            store.close()

    def _memberships(self) -> dict[str, int]:
        """pk -> active profile id of every resolved record."""
        rows = self._query(
            "SELECT s.source_pk, m.profile_id, p.status FROM source_records s "
            "JOIN identity_members m ON m.record_id = s.id "
            "JOIN identity_profiles p ON p.id = m.profile_id")
        for pk, _, status in rows:
            assert status == "active", (pk, status)
        return {pk: pid for pk, pid, _ in rows}

    def _file_keys(self) -> list[str]:
        path = self.dir / "out.jsonl"
        if not path.exists():
            return []
        return [orjson.loads(line)["custhub_id"] for line in path.read_text("utf-8").splitlines() if line.strip()]

    # ------------------------------------------------------------------ rules

    @initialize()
    def first_batch(self) -> None:
        rows = [csv_row(p, 0, 0) for p in range(PEOPLE)]
        for p in range(PEOPLE):
            self.versions[(p, 0)] = 0
        self._write_batch(rows)
        assert self._ingest() == "succeeded"
        self._expect(rows)

    @rule(picks=st.lists(st.sampled_from(ROW_KEYS), min_size=1, max_size=5, unique=True), bump=st.booleans())
    def ingest_batch(self, picks, bump) -> None:
        """New rows (first sight) and changed rows (``bump``: a new version of rows already sent)."""
        rows = []
        for key in picks:
            if key in self.versions and bump:
                self.versions[key] += 1
            self.versions.setdefault(key, 0)
            rows.append(csv_row(*key, self.versions[key]))
        self._write_batch(rows)
        assert self._ingest() in ("succeeded",)
        self._expect(rows)

    @rule()
    def replay_same_file(self) -> None:
        """The same file again (a full refresh re-reads it): nothing changes, erased people stay out."""
        assert self._ingest(full_refresh=True) == "succeeded"
        self._expect(self.last_file)

    @rule(picks=st.lists(st.sampled_from(ROW_KEYS), min_size=2, max_size=5, unique=True),
          point=st.sampled_from(CRASHES), nth=st.integers(1, 2))
    def crash_then_rerun(self, picks, point, nth) -> None:
        """SIGKILL an ingest at a failpoint; the store holds the old or the new version of each row; a rerun
        finishes the file."""
        before = {k: self.versions.get(k) for k in picks}
        rows = []
        for key in picks:
            self.versions[key] = self.versions.get(key, -1) + 1
            rows.append(csv_row(*key, self.versions[key]))
        self._write_batch(rows)
        outcome = fork_call(self._ingest, failpoint=f"{point}:{nth}", log=self.dir / "child.log")
        assert outcome in (KILLED, "ok"), (self.dir / "child.log").read_text()[-2000:]
        event(f"crash {point}: {outcome}")
        stored = self._stored()
        for (person, j), old in before.items():
            pk = pk_of(person, j)
            if person in self.erased:
                assert pk not in stored
                continue
            allowed = {self.versions[(person, j)]} | ({old} if old is not None and pk in self.held else set())
            if pk in stored:
                assert len(stored[pk]) == 1
                assert int(stored[pk][0]["person"]["title"].rsplit("v", 1)[1]) in allowed
        assert self._ingest() == "succeeded"
        self._expect(rows)

    @rule()
    def resolve(self) -> None:
        assert run_cli("--config", str(self.config_file), "resolve") == 0
        self.resolved = True
        self.synced = None

    @precondition(lambda self: self.resolved)
    @rule(data=st.data())
    def merge(self, data) -> None:
        """Queue a pair of records from two profiles for review, accept it: the two end up in one profile."""
        members = self._memberships()
        profiles = sorted(set(members.values()))
        if len(profiles) < 2:
            return
        a_profile, b_profile = data.draw(st.lists(st.sampled_from(profiles), min_size=2, max_size=2, unique=True))
        a = self._query("SELECT min(record_id) FROM identity_members WHERE profile_id = :p", p=a_profile)[0][0]
        b = self._query("SELECT min(record_id) FROM identity_members WHERE profile_id = :p", p=b_profile)[0][0]
        store = open_store(self._cfg())
        try:
            with store.transaction() as conn:
                added = queue_pairs(conn, [(a, b, 0.5, {"levels": {}})], datetime.now(UTC))
        finally:
            store.close()
        if not added:
            return  # already decided (an earlier unmerge or merge of this very pair)
        (review_id,), = self._query("SELECT max(id) FROM identity_review")
        assert run_cli("--config", str(self.config_file), "review", "accept", str(review_id)) == 0
        conflicts = self._query("SELECT count(*) FROM identity_decisions WHERE decision = 'cannot_link'")
        after = self._query("SELECT record_id, profile_id FROM identity_members "
                            "WHERE record_id IN (:a, :b)", a=a, b=b)
        event("merge accepted")
        if conflicts == [(0,)]:
            assert len({pid for _, pid in after}) == 1, "an accepted pair must end up in one profile"
        self.synced = None

    @precondition(lambda self: self.resolved)
    @rule(data=st.data())
    def unmerge(self, data) -> None:
        """Split one record out of a profile of several: it leaves every other member."""
        members = self._memberships()
        by_profile: dict[int, list[str]] = {}
        for pk, pid in members.items():
            by_profile.setdefault(pid, []).append(pk)
        big = sorted(pid for pid, pks in by_profile.items() if len(pks) > 1)
        if not big:
            return
        profile = data.draw(st.sampled_from(big))
        record_ids = [r for (r,) in self._query("SELECT record_id FROM identity_members "
                                                "WHERE profile_id = :p ORDER BY record_id", p=profile)]
        out = data.draw(st.sampled_from(record_ids))
        assert run_cli("--config", str(self.config_file), "profiles", "unmerge", str(profile), "--record",
                       str(out)) == 0
        rows = dict(self._query("SELECT record_id, profile_id FROM identity_members"))
        assert all(rows[out] != rows[r] for r in record_ids if r != out), "an unmerged record stays apart"
        event("unmerge")
        self.synced = None

    @precondition(lambda self: self.resolved)
    @rule(person=st.integers(0, PEOPLE - 1))
    def erase(self, person) -> None:
        """``custhub privacy erase --email``: the person's records and profiles go, here and in the file."""
        if person in self.erased:
            return
        before = self._memberships()
        mine = {pk for pk in self.held if self.held[pk][0] == person}
        profiles = {before[pk] for pk in mine}
        gone_pks = {pk for pk, pid in before.items() if pid in profiles}
        assert run_cli("--config", str(self.config_file), "privacy", "erase", "--email", email_of(person),
                       "--as-role", "dpo", "--yes") == 0
        erased_people = {self.held[pk][0] for pk in gone_pks}  # their identifiers are suppressed now
        for pk in gone_pks:
            del self.held[pk]
        self.erased |= erased_people
        # People suppressed through a merged profile may keep records in other profiles (split out before).
        for pk in [pk for pk, (p, _) in self.held.items() if p in erased_people]:
            del self.held[pk]
            self.keep_after_erase.add(pk)
        self.erased_profiles |= {str(p) for p in profiles}
        event("erase")
        assert not set(self._file_keys()) & self.erased_profiles, "the file still holds an erased profile"
        self.synced = None

    @precondition(lambda self: self.resolved)
    @rule()
    def sync(self) -> None:
        cfg = self._cfg()
        store = open_store(cfg)
        try:
            result = sync_destination(cfg, store, DEST)
        finally:
            store.close()
        assert result.status == "succeeded", result
        self.synced = {str(p) for p in set(self._memberships().values())}
        event(f"sync: {len(self.synced)} profiles")

    # ------------------------------------------------------------------ invariants

    @invariant()
    def every_row_once_at_its_latest_version(self) -> None:
        stored = self._stored()
        for pk, versions in stored.items():
            assert len(versions) == 1, f"{pk} stored {len(versions)} times"
            if pk in self.keep_after_erase:
                continue
            assert pk in self.held, f"{pk} is stored but the model does not hold it (erased: {self.erased})"
            person, version = self.held[pk]
            assert versions[0]["person"]["emails"][0]["address"] == email_of(person)
            assert versions[0]["person"]["title"] == f"title-v{version}", pk
        missing = set(self.held) - set(stored)
        assert not missing, f"lost rows: {sorted(missing)}"

    @invariant()
    def erased_people_come_back_only_as_suppressed_quarantine(self) -> None:
        if not self.pending_suppressed:
            return
        rows = self._query("SELECT source_pk, reasons FROM quarantine WHERE status = 'open'")
        reasons = {pk: json.loads(r) for pk, r in rows}
        event("suppressed rows checked")
        for pk in self.pending_suppressed:
            assert reasons.get(pk) == ["suppressed"], (pk, reasons.get(pk))

    @invariant()
    def resolved_records_are_in_exactly_one_active_profile(self) -> None:
        if not self.resolved:
            return
        members = self._memberships()
        (records,), = self._query("SELECT count(*) FROM source_records")
        (member_rows,), = self._query("SELECT count(*) FROM identity_members")
        assert len(members) == records == member_rows

    @invariant()
    def file_holds_one_line_per_synced_profile(self) -> None:
        keys = self._file_keys()
        assert len(keys) == len(set(keys)), "a profile has two lines in the file"
        assert not set(keys) & self.erased_profiles
        if self.synced is not None:
            assert set(keys) == self.synced


SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
                derandomize=True)

# CI: a dozen short runs (about 20 s on a quiet machine); the slow variant explores many longer ones.
TestStoreModel = StoreModel.TestCase
TestStoreModel.settings = settings(max_examples=12, stateful_step_count=15,
                                   phases=[Phase.explicit, Phase.reuse, Phase.generate], **SETTINGS)  # no shrinking


@pytest.mark.slow
class TestStoreModelLong(StoreModel.TestCase):
    settings = settings(max_examples=60, stateful_step_count=30, **SETTINGS)


def test_erase_by_email_finds_a_person_whose_address_is_no_match_key():
    model = StoreModel()
    try:
        row = csv_row(0, 0, 0)
        row[3] = "kefu@smallbiz.cn"  # a real person's only address, but a blocked match key
        model._write_batch([row])
        assert model._ingest() == "succeeded"
        assert run_cli("--config", str(model.config_file), "resolve") == 0
        assert run_cli("--config", str(model.config_file), "privacy", "erase", "--email", "kefu@smallbiz.cn",
                       "--as-role", "dpo", "--yes") == 0
        assert pk_of(0, 0) not in model._stored(), "the erased person's record is still stored"
    finally:
        model.teardown()

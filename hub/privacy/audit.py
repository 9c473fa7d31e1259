"""The audit log: append-only, each entry chained to the previous one with a keyed HMAC.

``mac_n = HMAC-SHA256(audit key, mac_{n-1} ‖ canonical JSON of entry n)``. The audit key is wrapped
by the KEK (``hub.privacy.keys``), so whoever can write the database but lacks the KEK cannot
forge or re-chain entries. Because a chain alone cannot show that its *tail* was cut off, the head
is exported now and then to a checkpoint file outside the database (Crosby & Wallach); ``verify``
names the first entry that was edited or deleted, and compares the log with every checkpoint.

Entries name people only by pseudonymous references (``profile:12``, ``record:7``,
``request:…``) and fields only by name: never a value. ``record`` refuses anything else.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select

from hub.privacy.errors import AuditError
from hub.privacy.tables import privacy_audit_checkpoints, privacy_audit_log

GENESIS = "0" * 64
ACTIONS = ("read", "unmask", "export", "erase", "dsar", "sync", "consent_change", "config_change",
           "key_init", "key_rotate", "key_rewrap", "key_retire", "purge", "suppress", "audit_checkpoint",
           "pipia_ack")
SUBJECT_KINDS = ("profile", "record", "request", "quarantine", "run", "connection", "destination", "key", "outbox",
                 "config")
_SUBJECT = re.compile(rf"(?:{'|'.join(SUBJECT_KINDS)}):[A-Za-z0-9_.-]{{1,100}}")
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\[\])?(?:\.[A-Za-z_][A-Za-z0-9_]*(?:\[\])?)*|\*")
_NAME = re.compile(r"[\w.:@-]{1,120}")


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    role: str
    purpose: str
    action: str
    subjects: tuple[str, ...]
    fields: tuple[str, ...]
    row_count: int
    request_id: str | None
    outcome: str
    prev_mac: str
    mac: str


def _canonical(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _iso(at: datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def compute_mac(key: bytes, prev_mac: str, body: dict[str, Any]) -> str:
    return hmac.new(key, prev_mac.encode("ascii") + b"|" + _canonical(body), hashlib.sha256).hexdigest()


def _body(row: Any) -> dict[str, Any]:
    return {"seq": row["seq"], "at": _iso(row["at"]), "actor": row["actor"], "role": row["role"],
            "purpose": row["purpose"], "action": row["action"], "subjects": json.loads(row["subjects"]),
            "fields": json.loads(row["fields"]), "row_count": row["row_count"],
            "request_id": row["request_id"], "outcome": row["outcome"]}


def _check(actor: str, role: str, purpose: str, action: str, subjects: Sequence[str],
           fields: Sequence[str], row_count: int) -> None:
    for label, value in (("actor", actor), ("role", role), ("purpose", purpose)):
        if not _NAME.fullmatch(value or ""):
            raise AuditError(f"audit {label} must be a short name (letters, digits, . : @ _ -)")
    if action not in ACTIONS:
        raise AuditError(f"unknown audit action '{action}' (one of: {', '.join(ACTIONS)})")
    for subject in subjects:
        if not _SUBJECT.fullmatch(subject):
            raise AuditError("audit subjects must be pseudonymous references such as profile:12 or record:7, "
                             "never customer values")
    for name in fields:
        if not _FIELD.fullmatch(name):
            raise AuditError("audit fields must be field names such as person.emails[].address")
    if row_count < 0:
        raise AuditError("audit row_count cannot be negative")


def is_short_name(text: str) -> bool:
    """Whether ``text`` may be an actor, role, purpose or request id (letters, digits, . : @ _ -)."""
    return bool(_NAME.fullmatch(text or ""))


_installed_key: bytes | None = None


def install_key(key: bytes | None) -> None:
    """Set the audit key ``record`` uses when none is passed (``hub.privacy.runtime.activate``)."""
    global _installed_key
    _installed_key = key


def _key(key: bytes | None) -> bytes:
    if key is not None:
        return key
    if _installed_key is None:
        raise AuditError("the audit log is not set up in this process (call hub.privacy.runtime.activate)")
    return _installed_key


def record(conn: Connection, *, actor: str, role: str, purpose: str, action: str,
           subjects: Iterable[str] = (), fields: Iterable[str] = (), row_count: int = 0,
           request_id: str | None = None, outcome: str = "ok", at: datetime | None = None,
           key: bytes | None = None) -> int:
    """Append one entry in the caller's transaction; returns its sequence number.

    ``subjects`` are pseudonymous references (``profile:12``), ``fields`` field names; never values.
    """
    key = _key(key)
    subjects, fields = tuple(subjects), tuple(sorted(set(fields)))
    _check(actor, role, purpose, action, subjects, fields, row_count)
    if request_id is not None and not _NAME.fullmatch(request_id):
        raise AuditError("audit request_id must be a short id")
    if conn.dialect.name == "postgresql":  # serialise appenders: one chain, no forks
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7243105)")
    head = conn.execute(select(privacy_audit_log.c.seq, privacy_audit_log.c.mac)
                        .order_by(privacy_audit_log.c.seq.desc()).limit(1)).first()
    seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
    at = (at or datetime.now(UTC)).astimezone(UTC)
    row = {"seq": seq, "at": at, "actor": actor, "role": role, "purpose": purpose, "action": action,
           "subjects": json.dumps(list(subjects)), "fields": json.dumps(list(fields)), "row_count": row_count,
           "request_id": request_id, "outcome": outcome}
    mac = compute_mac(key, prev, _body(row))
    conn.execute(insert(privacy_audit_log).values(**row, prev_mac=prev, mac=mac))
    return seq


# ----------------------------------------------------------------------------- checkpoints

def _checkpoint_line(key: bytes, seq: int, mac: str, at: datetime) -> str:
    body = {"seq": seq, "mac": mac, "at": _iso(at)}
    seal = hmac.new(key, b"custhub-audit-checkpoint|" + _canonical(body), hashlib.sha256).hexdigest()
    return json.dumps({**body, "seal": seal}, sort_keys=True)


def export_checkpoint(engine: Engine, key: bytes, path: str | Path) -> tuple[int, str] | None:
    """Append the current head (seq, mac) to ``path``, outside the database; None for an empty log.

    Run it after the transactions that wrote entries have committed (a scheduler job, the end of
    each run, or ``custhub audit checkpoint``).
    """
    path = Path(path)
    with engine.begin() as conn:
        head = conn.execute(select(privacy_audit_log.c.seq, privacy_audit_log.c.mac)
                            .order_by(privacy_audit_log.c.seq.desc()).limit(1)).first()
        if head is None:
            return None
        now = datetime.now(UTC)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as out:
            out.write(_checkpoint_line(key, head[0], head[1], now) + "\n")
            out.flush()
        known = conn.execute(select(func.count()).select_from(privacy_audit_checkpoints).where(
            privacy_audit_checkpoints.c.seq == head[0], privacy_audit_checkpoints.c.exported_to == str(path)))
        if not known.scalar_one():
            conn.execute(insert(privacy_audit_checkpoints).values(seq=head[0], mac=head[1],
                                                                  exported_to=str(path), at=now))
    return head[0], head[1]


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    mac: str
    line: int


def read_checkpoints(key: bytes, path: str | Path) -> tuple[list[Checkpoint], list[str]]:
    """The checkpoints in ``path`` whose seal verifies, and one problem per line that does not."""
    good, problems = [], []
    path = Path(path)
    if not path.is_file():
        return [], []
    for n, text in enumerate(path.read_text("utf-8").splitlines(), start=1):
        try:
            data = json.loads(text)
            body = {"seq": int(data["seq"]), "mac": str(data["mac"]), "at": str(data["at"])}
            seal = hmac.new(key, b"custhub-audit-checkpoint|" + _canonical(body), hashlib.sha256).hexdigest()
            ok = hmac.compare_digest(seal.encode(), str(data["seal"]).encode())
        except (ValueError, KeyError, TypeError):
            ok = False
        if ok:
            good.append(Checkpoint(body["seq"], body["mac"], n))
        else:
            problems.append(f"checkpoint file line {n}: seal does not verify (edited or forged)")
    return good, problems


# ----------------------------------------------------------------------------- verification

@dataclass(frozen=True)
class Problem:
    seq: int
    kind: str  # altered | missing | truncated | checkpoint_mismatch | bad_checkpoint
    detail: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.kind}: {self.detail}"


@dataclass
class VerifyResult:
    entries: int
    head_seq: int
    checkpoints_checked: int
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems


MAX_CHAIN_PROBLEMS = 20


def verify(conn: Connection, key: bytes, checkpoint_file: str | Path | None = None) -> VerifyResult:
    """Recompute the chain; name each edited or deleted entry (the first 20) and every checkpoint mismatch.

    Each entry is checked on its own (its MAC over its body and its recorded ``prev_mac``) and
    against its predecessor, so one edit or deletion does not hide a second one further on.
    """
    chain: list[Problem] = []
    expected_seq, prev, count, head = 1, GENESIS, 0, 0
    macs: dict[int, str] = {}
    for row in conn.execute(select(privacy_audit_log).order_by(privacy_audit_log.c.seq)).mappings():
        count += 1
        seq = head = row["seq"]
        macs[seq] = row["mac"]
        own = hmac.compare_digest(compute_mac(key, str(row["prev_mac"]), _body(row)).encode(),
                                  str(row["mac"]).encode())
        if seq != expected_seq:
            gap = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}..{seq - 1}"
            chain.append(Problem(expected_seq, "missing", f"entry {gap} deleted (the log jumps to {seq})"))
        if not own:
            chain.append(Problem(seq, "altered", "entry does not match its MAC (edited, or written without the key)"))
        elif seq == expected_seq and row["prev_mac"] != prev:
            chain.append(Problem(seq, "altered", "entry is not chained to the entry before it (inserted or moved)"))
        expected_seq, prev = seq + 1, row["mac"]
    problems = chain[:MAX_CHAIN_PROBLEMS]
    if len(chain) > MAX_CHAIN_PROBLEMS:
        problems.append(Problem(chain[MAX_CHAIN_PROBLEMS].seq, "more", f"{len(chain) - MAX_CHAIN_PROBLEMS} "
                                                                       "further problem(s) not listed"))
    checked = 0
    if checkpoint_file is not None:
        checkpoints, bad = read_checkpoints(key, checkpoint_file)
        problems += [Problem(0, "bad_checkpoint", text) for text in bad]
        for cp in checkpoints:
            checked += 1
            if cp.seq > head and cp.seq not in macs:
                problems.append(Problem(cp.seq, "truncated", f"checkpoint (file line {cp.line}) records entry "
                                                             f"{cp.seq} but the log ends at {head}"))
            elif macs.get(cp.seq) != cp.mac:
                problems.append(Problem(cp.seq, "checkpoint_mismatch",
                                        f"entry differs from checkpoint (file line {cp.line}): the log was "
                                        "rewritten or the entry deleted"))
    return VerifyResult(entries=count, head_seq=head, checkpoints_checked=checked, problems=problems)


# ----------------------------------------------------------------------------- reading

def show(conn: Connection, *, actor: str | None = None, subject: str | None = None,
         action: str | None = None, since: datetime | None = None, until: datetime | None = None,
         limit: int = 100) -> list[AuditEntry]:
    """Entries filtered by actor, subject reference, action and time (newest first)."""
    t = privacy_audit_log
    query = select(t).order_by(t.c.seq.desc()).limit(limit)
    if actor:
        query = query.where(t.c.actor == actor)
    if subject:
        query = query.where(t.c.subjects.contains(json.dumps(subject), autoescape=True))
    if action:
        query = query.where(t.c.action == action)
    if since:
        query = query.where(t.c.at >= since)
    if until:
        query = query.where(t.c.at < until)
    return [AuditEntry(r["seq"], r["at"], r["actor"], r["role"], r["purpose"], r["action"],
                       tuple(json.loads(r["subjects"])), tuple(json.loads(r["fields"])), r["row_count"],
                       r["request_id"], r["outcome"], r["prev_mac"], r["mac"])
            for r in conn.execute(query).mappings()]


def entry_count(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(privacy_audit_log)).scalar_one()


def checkpoint_if_due(engine: Engine, key: bytes, path: str | Path, every: int) -> tuple[int, str] | None:
    """Export a checkpoint when ``every`` or more entries were written since the last one to ``path``.

    Cheap enough to call after every run or from a scheduler tick (``privacy.audit.checkpoint_every``).
    """
    with engine.connect() as conn:
        head = conn.execute(select(func.max(privacy_audit_log.c.seq))).scalar() or 0
        last = conn.execute(select(func.max(privacy_audit_checkpoints.c.seq)).where(
            privacy_audit_checkpoints.c.exported_to == str(Path(path)))).scalar() or 0
    if head - last < every or head == 0:
        return None
    return export_checkpoint(engine, key, path)

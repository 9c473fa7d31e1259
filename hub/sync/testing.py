"""Test and benchmark helpers: seed profiles into a store, and a local fake Zoho CRM.

``FakeZoho`` is an HTTP server on 127.0.0.1 that speaks the Zoho token and upsert shapes
(``POST /oauth/v2/token``, ``POST /crm/v2/<module>/upsert``, ``PUT``, ``DELETE``) and keeps its
records in memory keyed on the duplicate-check field, as the real CRM does. Used by the crash tests
and ``bench/sync.py``; never by the product.
"""

from __future__ import annotations

import itertools
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import orjson

from hub.privacy.runtime import ensure_active
from hub.privacy.settings import PrivacySettings
from hub.store import Store
from hub.store.bulk import db_value, insert_rows
from hub.store.schema import source_records
from hub.store.sealed import seal_json, source_key


def activate(store: Store) -> None:
    """The privacy layer for ``store`` with default settings (the KEK from ``$CUSTHUB_KEK``)."""
    ensure_active(store.engine, PrivacySettings(), Path.cwd())


def seed_profiles(store: Store, records: list[dict[str, Any]], *, connection: str = "crm",
                  stream: str = "contacts", start: int = 0, sealed: bool = True) -> list[str]:
    """Store ``records`` (canonical-shaped, sealed as ingest stores them) as source records; returns profile ids."""
    activate(store)
    now = datetime.now(UTC)
    rows, ids = [], []
    with store.transaction() as conn:
        stamp = db_value(conn, source_records.c.updated_at, now)
        for i, record in enumerate(records, start):
            pk = f"p{i:07d}"
            ids.append(f"{connection}:{stream}:{pk}")
            canonical = orjson.dumps({"schema_version": "1.0", **record}).decode()
            if sealed:
                canonical = seal_json("source_records", "canonical", source_key(connection, stream, pk), canonical)
            rows.append((connection, stream, pk, "h", "{}", canonical, stamp, stamp, 0))
        cols = ("connection", "stream", "source_pk", "record_hash", "raw", "canonical", "first_seen_at",
                "updated_at", "run_id")
        for s in range(0, len(rows), 5000):
            insert_rows(conn, source_records, cols, rows[s:s + 5000])
    return ids


def update_profile(store: Store, profile_id: str, record: dict[str, Any]) -> None:
    connection, stream, pk = profile_id.split(":", 2)
    c = source_records.c
    activate(store)
    canonical = seal_json("source_records", "canonical", source_key(connection, stream, pk),
                          {"schema_version": "1.0", **record})
    with store.transaction() as conn:
        conn.execute(source_records.update().where(c.connection == connection, c.stream == stream,
                                                   c.source_pk == pk).values(
            canonical=canonical, updated_at=datetime.now(UTC)))


def delete_profile(store: Store, profile_id: str) -> None:
    connection, stream, pk = profile_id.split(":", 2)
    c = source_records.c
    with store.transaction() as conn:
        conn.execute(source_records.delete().where(c.connection == connection, c.stream == stream,
                                                   c.source_pk == pk))


def person(i: int, **extra: Any) -> dict[str, Any]:
    return {"person": {"name": {"full": f"Person {i}", "family": f"Family{i}", "given": "Given"},
                       "emails": [{"address": f"p{i}@example.com"}], "phones": [{"number": f"+8613800{i:06d}"}]},
            **extra}


class FakeZoho:
    """A local Zoho CRM: token endpoint and upsert/update/delete of one module, in memory."""

    def __init__(self, key_field: str = "Custhub_Id") -> None:
        self.key = key_field
        self.records: dict[str, dict[str, Any]] = {}  # Zoho id -> record
        self.by_key: dict[str, str] = {}
        self.requests = 0
        self.upserted_rows = 0
        self.lock = threading.Lock()
        self._ids = itertools.count(4150868000000000001)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeZoho:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def upsert(self, rows: list[dict[str, Any]], check: list[str]) -> list[dict[str, Any]]:
        out = []
        with self.lock:
            self.upserted_rows += len(rows)
            for row in rows:
                key = row.get(check[0]) if check else None
                zid = self.by_key.get(key) if key is not None else None
                action = "update" if zid else "insert"
                if zid is None:
                    zid = str(next(self._ids))
                    if key is not None:
                        self.by_key[key] = zid
                self.records[zid] = {**self.records.get(zid, {}), **row}
                out.append({"code": "SUCCESS", "duplicate_field": check[0] if action == "update" else None,
                            "action": action, "details": {"id": zid}, "message": "record added", "status": "success"})
        return out

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # one reply is two writes: no 40 ms delayed-ACK stalls

            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> dict[str, Any]:
                length = int(self.headers.get("Content-Length") or 0)
                return orjson.loads(self.rfile.read(length)) if length else {}

            def do_POST(self) -> None:  # noqa: N802
                with fake.lock:
                    fake.requests += 1
                path = urlparse(self.path).path
                if path.endswith("/oauth/v2/token"):
                    self._reply(200, {"access_token": "1000.fake", "api_domain": fake.url, "token_type": "Bearer",
                                      "expires_in": 3600})
                    return
                if not self.headers.get("Authorization", "").startswith("Zoho-oauthtoken "):
                    self._reply(401, {"code": "INVALID_TOKEN", "details": {}, "message": "invalid oauth token",
                                      "status": "error"})
                    return
                body = self._body()
                self._reply(200, {"data": fake.upsert(body["data"], body.get("duplicate_check_fields") or [])})

            def do_DELETE(self) -> None:  # noqa: N802
                with fake.lock:
                    fake.requests += 1
                ids = parse_qs(urlparse(self.path).query).get("ids", [""])[0].split(",")
                data = []
                with fake.lock:
                    for zid in ids:
                        record = fake.records.pop(zid, None)
                        if record is not None:
                            fake.by_key.pop(record.get(fake.key), None)
                        data.append({"code": "SUCCESS", "details": {"id": zid}, "status": "success",
                                     "message": "record deleted"})
                self._reply(200, {"data": data})

        return Handler

"""Helpers for the identity tests (no tests here): canonical records, a store, who is with whom."""

from __future__ import annotations

from typing import Any

from hub.identity.resolver import resolve_identities
from hub.identity.seed import write_canonical
from hub.identity.settings import IdentitySettings
from hub.store import Store


def rec(connection: str, pk: str, *, name: str | None = None, email: str | None = None, phone: str | None = None,
        at: str = "2026-01-01T00:00:00+00:00", stream: str = "s", **person: Any) -> dict[str, Any]:
    """A cleaned canonical record (values already normalised, as the cleaner leaves them)."""
    body: dict[str, Any] = dict(person)
    if name:
        body["name"] = {"full": name}
    if email:
        body["emails"] = [{"address": email}]
    if phone:
        body["phones"] = [{"number": phone, "kind": "mobile"}]
    extra = {k: body.pop(k) for k in ("interactions", "consents") if k in body}
    return {"schema_version": "1.0", "person": body, **extra,
            "provenance": {"connection": connection, "stream": stream, "source_pk": pk, "read_at": at}}


def resolve(store: Store, settings: IdentitySettings | None = None, **kwargs: Any):  # noqa: ANN201
    return resolve_identities(store, settings or IdentitySettings(), **kwargs)


def seeded(url: str, records: list[dict[str, Any]]) -> Store:
    store = Store.open(url)
    write_canonical(store, records)
    return store


def profile_of(store: Store) -> dict[str, int]:
    """source_pk -> profile id."""
    with store.reading() as conn:
        rows = conn.exec_driver_sql("SELECT s.source_pk, m.profile_id FROM source_records s "
                                    "JOIN identity_members m ON m.record_id = s.id").all()
    return {pk: pid for pk, pid in rows}


def record_id(store: Store, pk: str) -> int:
    with store.reading() as conn:
        return conn.exec_driver_sql("SELECT id FROM source_records WHERE source_pk = ?" if store.dialect == "sqlite"
                                    else "SELECT id FROM source_records WHERE source_pk = %(pk)s",
                                    (pk,) if store.dialect == "sqlite" else {"pk": pk}).scalar_one()


def together(store: Store, *pks: str) -> bool:
    profiles = profile_of(store)
    return len({profiles[pk] for pk in pks}) == 1


def apart(store: Store, *pks: str) -> bool:
    profiles = profile_of(store)
    return len({profiles[pk] for pk in pks}) == len(pks)

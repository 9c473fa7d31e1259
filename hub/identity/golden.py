"""The golden profile: each field chosen from the members by a survivorship rule, with provenance.

Single-valued fields (name, gender, birth date, employer, ...) take one value by the field's rule
(``source_priority``, ``most_recent``, ``most_complete``, ``most_frequent``; ties fall back to the
most recent) and keep every other value as an alternative with its sources. Multi-valued fields
(e-mails, phones, addresses, identifiers, tags) are the union of the members' values, each with its
sources. Interactions are gathered from all members; consents too, with the latest decision per
purpose and channel as the current one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson

from hub.identity.settings import IdentitySettings

SINGLE_FIELDS = ("name", "gender", "birth_date", "employer", "title", "department", "language", "lifecycle_stage")
MULTI_FIELDS = {"emails": "address", "phones": "number", "addresses": None, "crm_ids": None}


@dataclass(slots=True)
class Member:
    record_id: int
    connection: str
    stream: str
    source_pk: str
    canonical: dict[str, Any]

    @property
    def at(self) -> str:
        prov = self.canonical.get("provenance") or {}
        return prov.get("updated_at") or prov.get("read_at") or ""

    def source(self) -> dict[str, Any]:
        return {"record_id": self.record_id, "connection": self.connection, "stream": self.stream,
                "source_pk": self.source_pk, "at": self.at}


@lru_cache(maxsize=100_000)
def _when(text: str) -> float:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def _completeness(value: Any) -> float:
    if isinstance(value, dict):
        return sum(_completeness(v) for k, v in value.items() if k not in ("raw", "script")) + len(value)
    if isinstance(value, str):
        return len(value) / 100.0 + 1
    return 1.0


def _key(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def choose(rule: str, candidates: list[tuple[Any, Member]], settings: IdentitySettings,
           sources: dict[int, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Pick one value among ``candidates`` by ``rule``; the others become alternatives."""
    src = (lambda m: sources[m.record_id]) if sources is not None else (lambda m: m.source())  # noqa: E731
    if len(candidates) == 1:
        value, member = candidates[0]
        return {"value": value, "rule": rule, "sources": [src(member)], "alternatives": []}
    groups: dict[bytes, list[tuple[Any, Member]]] = {}
    for value, member in candidates:
        groups.setdefault(_key(value), []).append((value, member))
    priority = {name: i for i, name in enumerate(settings.source_priority)}

    def score(items: list[tuple[Any, Member]]) -> tuple:
        value = items[0][0]
        newest = max(_when(m.at) for _, m in items)
        if rule == "source_priority":
            return (-min(priority.get(m.connection, len(priority)) for _, m in items), newest)
        if rule == "most_complete":
            return (_completeness(value), newest)
        if rule == "most_frequent":
            return (len(items), newest)
        return (newest,)

    ranked = sorted(groups.values(), key=score, reverse=True)
    best = ranked[0]
    return {"value": best[0][0], "rule": rule, "sources": [src(m) for _, m in best],
            "alternatives": [{"value": items[0][0], "sources": [src(m) for _, m in items]}
                             for items in ranked[1:]]}


_SINGLE = frozenset(SINGLE_FIELDS)


def build_golden(members: Sequence[Member], settings: IdentitySettings, *, compact: bool = False) -> dict[str, Any]:
    """The golden profile of ``members`` (see the module docstring); one pass over the members.
    ``compact``: each source in it (but those of the top-level ``sources`` list) is the index of
    that source in the list instead of a copy; ``expand_golden`` gives the plain profile back."""
    full = {m.record_id: m.source() for m in members}
    sources: dict[int, Any] = {rid: i for i, rid in enumerate(full)} if compact else full
    single: dict[str, list[tuple[Any, Member]]] = {}
    multi: dict[str, dict[bytes, dict[str, Any]]] = {}
    platform: dict[str, dict[str, list[Any]]] = {}
    tags: dict[str, list[Any]] = {}
    orgs, interactions, consents = [], [], []
    for m in members:
        source = sources[m.record_id]
        for name, value in (m.canonical.get("person") or {}).items():
            if name in _SINGLE:
                if value:
                    single.setdefault(name, []).append((value, m))
            elif name in MULTI_FIELDS:
                key = MULTI_FIELDS[name]
                seen = multi.setdefault(name, {})
                for item in value or ():
                    clean = {k: v for k, v in item.items() if k != "raw"}
                    ident = _key(item.get(key) if key else clean)
                    seen.setdefault(ident, {"value": clean, "sources": []})["sources"].append(source)
            elif name == "platform_ids":
                for kind, ident in value.items():
                    platform.setdefault(kind, {}).setdefault(ident, []).append(source)
            elif name == "tags":
                for tag in value or ():
                    tags.setdefault(tag, []).append(source)
        if m.canonical.get("organization"):
            orgs.append((m.canonical["organization"], m))
        interactions.extend({**i, "source": source} for i in m.canonical.get("interactions") or ())
        consents.extend(({**c, "source": source}, m.at) for c in m.canonical.get("consents") or ())
    fields = {name: choose(settings.field_rules.get(name, settings.default_rule), single[name], settings, sources)
              for name in SINGLE_FIELDS if name in single}
    golden: dict[str, Any] = {"fields": fields}
    for name in MULTI_FIELDS:
        if multi.get(name):
            golden[name] = list(multi[name].values())
    if platform:
        golden["platform_ids"] = {kind: [{"value": v, "sources": s} for v, s in values.items()]
                                  for kind, values in platform.items()}
    if tags:
        golden["tags"] = [{"value": t, "sources": s} for t, s in tags.items()]
    if orgs:
        golden["organization"] = choose(settings.field_rules.get("organization", "most_complete"), orgs, settings,
                                        sources)
    if interactions:
        golden["interactions"] = sorted(interactions, key=lambda i: _when(i.get("at", "")))
    if consents:
        consents.sort(key=lambda item: _when(item[0].get("at") or item[1]))  # a member's at is its source's
        history = [c for c, _ in consents]
        current: dict[tuple[str, str], dict[str, Any]] = {}
        for c in history:
            current[(c["purpose"], c.get("channel", "any"))] = c
        golden["consents"] = {"current": list(current.values()), "history": history}
    golden["sources"] = list(full.values())
    return golden


COMPACT = "g1:"  # how the text of a compact golden profile starts (JSON text never does)


def golden_text(members: Sequence[Member], settings: IdentitySettings) -> str:
    """The golden profile of ``members`` as stored: ``COMPACT`` and the compact profile's JSON (each source
    once: a profile's sources were about 60% of its size). ``parse_golden`` reads it back."""
    return COMPACT + orjson.dumps(build_golden(members, settings, compact=True)).decode()


def parse_golden(text: str | bytes) -> dict[str, Any]:
    """A stored golden profile's text (``golden_text``, or plain JSON written before) as the plain profile."""
    if isinstance(text, bytes):
        text = text.decode()
    if text.startswith(COMPACT):
        return expand_golden(orjson.loads(text[len(COMPACT):]))
    return orjson.loads(text)


def expand_golden(golden: dict[str, Any]) -> dict[str, Any]:
    """The plain profile of a compact one (``build_golden(..., compact=True)``), in place: each source
    index becomes a copy of that source."""
    listed = golden.get("sources") or []

    def many(entry: dict[str, Any]) -> None:
        entry["sources"] = [dict(listed[i]) for i in entry["sources"]]

    chosen = list(golden.get("fields", {}).values())
    if "organization" in golden:
        chosen.append(golden["organization"])
    for entry in chosen:
        many(entry)
        for alternative in entry["alternatives"]:
            many(alternative)
    for name in (*MULTI_FIELDS, "tags"):
        for entry in golden.get(name, ()):
            many(entry)
    for entries in golden.get("platform_ids", {}).values():
        for entry in entries:
            many(entry)
    consents = golden.get("consents") or {}
    for item in (*golden.get("interactions", ()), *consents.get("current", ()), *consents.get("history", ())):
        if isinstance(item["source"], int):  # (current consents are history's own objects until stored)
            item["source"] = dict(listed[item["source"]])
    return golden

"""Masked views of what custhub stores outside the canonical shape: golden profiles and raw payloads.

A golden profile (``hub.identity.golden``) keeps each value with its sources; each value is masked
at its canonical path (``fields.name.value`` is ``person.name``, ``emails[].value`` is
``person.emails[]``, ...). A raw payload (a quarantine row, a source record as the source sent it)
has no declared tiers, so every value is highly confidential (fail closed); its fields are audited
under one name (``<table>.raw``) because source field names need not be identifiers.
"""

from __future__ import annotations

import copy
from typing import Any

from hub.privacy.access import Viewer
from hub.privacy.masking import mask_value
from hub.privacy.tiers import tier_of

SOURCE_KEY_FIELD = "provenance.source_pk"  # a source's own key can be a platform id (a WeChat openid)

_PERSON_MULTI = ("emails", "phones", "addresses", "crm_ids")


def _person(name: str, value: Any) -> dict[str, Any]:
    return {"person": {name: value}}


def mask_golden(golden: dict[str, Any], viewer: Viewer) -> tuple[dict[str, Any], set[str]]:
    """A masked copy of ``golden`` and the canonical fields it shows in clear (one row)."""
    out = copy.deepcopy(golden)
    seen: set[str] = set()

    def put(wrapper: dict[str, Any]) -> Any:
        masked, fields = viewer.mask(wrapper)
        seen.update(fields)
        return masked

    for name, entry in (out.get("fields") or {}).items():
        entry["value"] = put(_person(name, entry.get("value")))["person"][name]
        for alt in entry.get("alternatives") or ():
            alt["value"] = put(_person(name, alt.get("value")))["person"][name]
    for name in _PERSON_MULTI:
        for entry in out.get(name) or ():
            entry["value"] = put(_person(name, [entry.get("value")]))["person"][name][0]
    for kind, entries in (out.get("platform_ids") or {}).items():
        for entry in entries:
            entry["value"] = put(_person("platform_ids", {kind: entry.get("value")}))["person"]["platform_ids"][kind]
    if isinstance(out.get("interactions"), list):
        out["interactions"] = _lineage_kept(out["interactions"], "interactions", put)
    consents = out.get("consents")
    if isinstance(consents, dict):
        for part, items in consents.items():
            consents[part] = _lineage_kept(items, "consents", put)
    org = out.get("organization")
    if isinstance(org, dict):
        for entry in (org, *(org.get("alternatives") or ())):
            entry["value"] = put({"organization": entry.get("value")})["organization"]
    for entry in out.get("tags") or ():
        entry["value"] = put(_person("tags", [entry.get("value")]))["person"]["tags"][0]
    # "sources" is lineage (connection, stream, record id, time); its source keys are masked below.
    known = {"fields", "platform_ids", "interactions", "consents", "organization", "tags", "sources", *_PERSON_MULTI}
    for name in [k for k in out if k not in known]:  # anything else: fail closed
        out[name] = put({f"golden_{name}": out[name]})[f"golden_{name}"]
    _mask_source_keys(out, viewer, seen)
    return out, seen


def _lineage_kept(items: Any, name: str, put: Any) -> Any:
    """Items masked at ``name[]``, each one's ``source`` (lineage added by the golden record) kept."""
    if not isinstance(items, list):
        return put({name: items})[name]
    out = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("source"), dict):
            rest = put({name: [{k: v for k, v in item.items() if k != "source"}]})[name][0]
            out.append({**rest, "source": item["source"]})
        else:
            out.append(put({name: [item]})[name][0])
    return out


def _mask_source_keys(node: Any, viewer: Viewer, seen: set[str]) -> None:
    """A source's own key can be a platform id (a WeChat openid): mask it in the lineage too."""
    if isinstance(node, dict):
        if isinstance(node.get("source_pk"), str):
            tier = tier_of(SOURCE_KEY_FIELD)
            if viewer.unmask and viewer.role.may_see(tier):
                seen.add(SOURCE_KEY_FIELD)
            else:
                node["source_pk"] = mask_value(node["source_pk"], tier, SOURCE_KEY_FIELD)
        for value in node.values():
            _mask_source_keys(value, viewer, seen)
    elif isinstance(node, list):
        for value in node:
            _mask_source_keys(value, viewer, seen)


def present_golden(golden: dict[str, Any], viewer: Viewer) -> dict[str, Any]:
    """``golden`` masked for ``viewer``, counted as one row."""
    masked, seen = mask_golden(golden, viewer)
    viewer.note(seen)
    return masked


def present_raw(raw: Any, viewer: Viewer, *, table: str) -> Any:
    """A raw payload masked for ``viewer`` (every value highly confidential), counted as one row."""
    masked, fields = viewer.mask({"raw": raw})
    viewer.note({f"{table}.raw"} if fields else set())
    return masked["raw"]

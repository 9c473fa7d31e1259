"""Data classification tiers from the canonical schema, and the roles that may see each tier.

Every canonical field declares ``x-tier``: ``highly_confidential``, ``confidential`` or
``general``. A field that declares none, or a path the schema does not know, counts as
``highly_confidential`` (fail closed: the lesson of Segment's pattern matchers missing fields).
A declared tier on an array of values or on an object without declared properties covers what is
inside it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from hub.canonical import canonical_schema

HIGHLY_CONFIDENTIAL = "highly_confidential"
CONFIDENTIAL = "confidential"
GENERAL = "general"
TIERS = (GENERAL, CONFIDENTIAL, HIGHLY_CONFIDENTIAL)  # least to most sensitive

_INDEX = re.compile(r"\[\d*\]")


@dataclass(frozen=True)
class Role:
    """A role and the tiers it may see unmasked (every other tier is masked)."""

    name: str
    unmask: frozenset[str]

    def may_see(self, tier: str) -> bool:
        return tier in self.unmask


DEFAULT_ROLES: dict[str, Role] = {r.name: r for r in (
    Role("admin", frozenset(TIERS)),
    Role("dpo", frozenset(TIERS)),
    Role("sync_job", frozenset(TIERS)),  # sends the fields a destination mapping asks for
    Role("marketing", frozenset({GENERAL, CONFIDENTIAL})),
    Role("operator", frozenset({GENERAL})),
    Role("auditor", frozenset({GENERAL})),
    Role("webhook", frozenset()),
)}
NO_ACCESS = Role("(unknown role)", frozenset())


def role_named(name: str, roles: dict[str, Role] | None = None) -> Role:
    """The role ``name``; an unknown role sees nothing unmasked (fail closed)."""
    return (DEFAULT_ROLES if roles is None else roles).get(name, NO_ACCESS)


def _deref(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[-1]]
    return node


def _walk(node: dict[str, Any], path: str, defs: dict[str, Any], out: dict[str, str],
          opaque: dict[str, str], depth: int = 0) -> None:
    if depth > 12:
        return
    declared = node.get("x-tier")
    node = _deref(node, defs)
    declared = declared or node.get("x-tier")
    if path:
        out[path] = declared or HIGHLY_CONFIDENTIAL
    kind = node.get("type")
    if kind == "array":
        items = node.get("items") or {}
        item_tier = items.get("x-tier") or _deref(items, defs).get("x-tier") or declared
        if "properties" in _deref(items, defs):
            _walk(items, f"{path}[]", defs, out, opaque, depth + 1)
        else:
            out[f"{path}[]"] = item_tier or HIGHLY_CONFIDENTIAL
    elif "properties" in node:
        for name, child in node["properties"].items():
            _walk(child, f"{path}.{name}" if path else name, defs, out, opaque, depth + 1)
    elif kind == "object" and path:
        opaque[path] = declared or HIGHLY_CONFIDENTIAL


@cache
def _tier_maps() -> tuple[dict[str, str], dict[str, str]]:
    schema = canonical_schema()
    out: dict[str, str] = {}
    opaque: dict[str, str] = {}
    _walk(schema, "", schema.get("$defs", {}), out, opaque)
    return out, opaque


def field_tiers() -> dict[str, str]:
    """Every field path of the canonical schema (``person.emails[].address``) with its tier."""
    return dict(_tier_maps()[0])


def tier_of(path: str) -> str:
    """The tier of a canonical field path; list indices are ignored; unknown means highly confidential."""
    path = _INDEX.sub("[]", path)
    tiers, opaque = _tier_maps()
    if path in tiers:
        return tiers[path]
    for prefix, tier in opaque.items():
        if path.startswith((prefix + ".", prefix + "[")):
            return tier
    return HIGHLY_CONFIDENTIAL


def leaf_fields_under(target: str) -> dict[str, str]:
    """The leaf fields a mapping target (``person.phones[]``) can write, with their tiers."""
    base = _INDEX.sub("[]", target)
    tiers = _tier_maps()[0]
    below = {p: t for p, t in tiers.items() if p == base or p.startswith((base + ".", base + "["))}
    parents = {p.rsplit(".", 1)[0] for p in below} | {p[:-2] for p in below if p.endswith("[]")}
    return {p: t for p, t in below.items() if p not in parents} or {base: tier_of(base)}

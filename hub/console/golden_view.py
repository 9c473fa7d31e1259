"""A golden profile ready for a page: every value masked for the viewer's role, with its provenance.

Golden values are taken apart into small canonical-shaped records (``{"person": {"emails":
[...]}}``) so that ``hub.privacy.masking.mask_record`` applies the tiers of the canonical schema,
exactly as for the CLI and exports; ``unmasked_fields`` on the same records gives the field names
the page shows in clear, which the caller writes to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hub.privacy.masking import mask_record, mask_value, unmasked_fields
from hub.privacy.tiers import Role, tier_of

SOURCE_PK = "provenance.source_pk"
_SKIP = ("raw", "script")


@dataclass
class Presenter:
    """Masks values for ``role`` and remembers which fields it showed in clear."""

    role: Role
    seen: set[str] = field(default_factory=set)

    def canonical(self, record: dict[str, Any]) -> dict[str, Any]:
        self.seen.update(unmasked_fields(record, self.role))
        return mask_record(record, self.role)

    def person_value(self, name: str, value: Any) -> Any:
        return self.canonical({"person": {name: value}})["person"][name]

    def source_pk(self, pk: str) -> str:
        if self.role.may_see(tier_of(SOURCE_PK)):
            self.seen.add(SOURCE_PK)
            return pk
        return mask_value(pk, tier_of(SOURCE_PK), SOURCE_PK)

    def source(self, src: dict[str, Any]) -> dict[str, Any]:
        return {**src, "source_pk": self.source_pk(str(src.get("source_pk", "")))}


def display(value: Any) -> str:
    """One line for a (masked) canonical value: a name's ``full``, an e-mail's address, an address line."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in ("full", "address", "number", "name"):
            if isinstance(value.get(key), str) and value[key]:
                rest = [f"{k}: {display(v)}" for k, v in value.items() if k in ("kind", "system", "object")]
                return value[key] + (f" ({', '.join(rest)})" if rest else "")
        return " · ".join(f"{k}: {display(v)}" for k, v in value.items() if k not in _SKIP and v not in (None, ""))
    if isinstance(value, list):
        return ", ".join(display(v) for v in value)
    return str(value)


def present_golden(golden: dict[str, Any], p: Presenter) -> dict[str, Any]:
    """The sections of a profile page; every value passed through ``p``."""
    def sources(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [p.source(s) for s in items]

    fields = []
    for name, entry in (golden.get("fields") or {}).items():
        fields.append({"name": name, "value": display(p.person_value(name, entry.get("value"))),
                       "rule": entry.get("rule", ""), "sources": sources(entry.get("sources") or []),
                       "alternatives": [{"value": display(p.person_value(name, alt.get("value"))),
                                         "sources": sources(alt.get("sources") or [])}
                                        for alt in entry.get("alternatives") or []]})
    if golden.get("organization"):
        org = golden["organization"]
        fields.append({"name": "organization", "value": display(p.canonical({"organization": org["value"]})
                                                                ["organization"]),
                       "rule": org.get("rule", ""), "sources": sources(org.get("sources") or []),
                       "alternatives": [{"value": display(p.canonical({"organization": a["value"]})["organization"]),
                                         "sources": sources(a.get("sources") or [])}
                                        for a in org.get("alternatives") or []]})
    multi = []
    for name in ("emails", "phones", "addresses", "crm_ids"):
        for entry in golden.get(name) or []:
            multi.append({"name": name, "value": display(p.person_value(name, [entry.get("value")])[0]),
                          "sources": sources(entry.get("sources") or [])})
    for kind, entries in (golden.get("platform_ids") or {}).items():
        for entry in entries:
            masked = p.canonical({"person": {"platform_ids": {kind: entry.get("value")}}})
            multi.append({"name": kind, "value": display(masked["person"]["platform_ids"][kind]),
                          "sources": sources(entry.get("sources") or [])})
    for entry in golden.get("tags") or []:
        multi.append({"name": "tag", "value": display(p.person_value("tags", [entry.get("value")])[0]),
                      "sources": sources(entry.get("sources") or [])})
    interactions = []
    for item in golden.get("interactions") or []:
        body = {k: v for k, v in item.items() if k != "source"}
        masked = p.canonical({"interactions": [body]})["interactions"][0]
        interactions.append({**{k: display(v) for k, v in masked.items()},
                             "source": p.source(item["source"]) if item.get("source") else None})
    consents = []
    for item in (golden.get("consents") or {}).get("current") or []:
        body = {k: v for k, v in item.items() if k != "source"}
        masked = p.canonical({"consents": [body]})["consents"][0]
        consents.append({**{k: display(v) for k, v in masked.items()},
                         "source": p.source(item["source"]) if item.get("source") else None})
    history = len((golden.get("consents") or {}).get("history") or [])
    return {"fields": fields, "multi": multi, "interactions": interactions, "consents": consents,
            "consent_history": history}

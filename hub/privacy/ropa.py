"""The record of processing activities (GDPR Art. 30, PIPL Art. 55/56), generated from the config.

Everything comes from what custhub already knows: connections and the canonical fields their
mappings write (with tiers), purposes, destinations with their region and relationship, retention
and the security measures in force. ``build_ropa`` returns plain data; ``render_markdown`` a page
for the DPO. Findings flag what needs attention (a transfer abroad without a mechanism, sensitive
fields that call for an impact assessment, an independent handler that needs separate consent).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from hub.privacy.tiers import HIGHLY_CONFIDENTIAL, TIERS, leaf_fields_under

if TYPE_CHECKING:
    from hub.config import Config


def _source_fields(config: Config, conn_name: str) -> dict[str, list[str]]:
    from hub.mapping import find_mapping, load_mapping

    by_tier: dict[str, set[str]] = {tier: set() for tier in TIERS}
    for stream in config.connections[conn_name].streams.values():
        path = find_mapping(stream.mapping, config.mappings_dirs)
        if path is None:
            continue
        for target in load_mapping(path).targets:
            for field, tier in leaf_fields_under(target).items():
                by_tier[tier].add(field)
    return {tier: sorted(fields) for tier, fields in by_tier.items()}


def build_ropa(config: Config) -> dict[str, Any]:
    settings = config.privacy
    sources = []
    for name, conn in sorted(config.connections.items()):
        sources.append({"name": name, "source": conn.source, "description": conn.description,
                        "enabled": conn.enabled, "streams": sorted(conn.streams),
                        "fields_by_tier": _source_fields(config, name)})
    recipients = []
    findings = []
    for name, dest in sorted(config.destinations.items()):
        info = settings.recipients.get(name)
        region = info.region if info else settings.region
        cross_border = region != settings.region
        entry = {"name": name, "connector": dest.connector, "purpose": dest.purpose, "mapping": dest.mapping,
                 "region": region, "relationship": info.relationship if info else "processor",
                 "vendor": info.vendor if info else None,
                 "transfer_mechanism": info.transfer_mechanism if info else None, "cross_border": cross_border}
        recipients.append(entry)
        if cross_border and not entry["transfer_mechanism"]:
            findings.append(f"destination {name}: transfer to {region} without a transfer mechanism "
                            "(PIPL Art. 38, GDPR Ch. V); separate consent 'cross_border' is required")
        if entry["relationship"] == "independent_handler":
            findings.append(f"destination {name}: an independent handler needs separate consent "
                            "'share_third_party' (PIPL Art. 23)")
        if not dest.purpose:
            findings.append(f"destination {name}: no purpose declared")
    sensitive = sorted({f for s in sources for f in s["fields_by_tier"][HIGHLY_CONFIDENTIAL]})
    if sensitive:
        findings.append(f"{len(sensitive)} highly confidential field(s) are collected: keep a personal "
                        "information protection impact assessment (PIPL Art. 55) and review minimisation")
    purposes = dict(settings.purposes)
    for dest in config.destinations.values():
        if dest.purpose and dest.purpose not in purposes:
            purposes[dest.purpose] = "(declared by a destination; describe it in privacy.purposes)"
    return {
        "controller": settings.controller, "region": settings.region,
        "purposes": purposes, "sources": sources, "recipients": recipients,
        "retention": dict(sorted(settings.retention.items())),
        "security_measures": [
            "field encryption at rest: AES-256-GCM per value, data keys wrapped by a KEK held outside the store",
            "matching on keyed HMAC-SHA256 blind indexes of normalised values",
            "tiered masking by role: " + "; ".join(
                f"{r.name}: {', '.join(t for t in TIERS if t in r.unmask) or 'none'}"
                for r in sorted(settings.roles.values(), key=lambda r: r.name)),
            "HMAC-chained audit log with checkpoints exported outside the database",
            "suppression list of keyed digests for erased people",
        ],
        "findings": findings,
    }


def render_markdown(ropa: dict[str, Any]) -> str:
    lines = ["# Record of processing activities", ""]
    controller = ropa["controller"]
    lines.append(f"Controller: {controller.get('name', '(set privacy.controller.name)')}"
                 f"; contact: {controller.get('contact', '-')}; DPO: {controller.get('dpo', '-')}"
                 f"; processing region: {ropa['region']}")
    lines += ["", "## Purposes", ""] + [f"- {k}: {v}" for k, v in sorted(ropa["purposes"].items())]
    if not ropa["purposes"]:
        lines.append("- (none declared)")
    lines += ["", "## Sources and categories of data", ""]
    for src in ropa["sources"]:
        state = "" if src["enabled"] else " (disabled)"
        lines.append(f"### {src['name']}{state}: {src['source']}")
        if src["description"]:
            lines.append(src["description"])
        for tier in reversed(TIERS):
            fields = src["fields_by_tier"][tier]
            lines.append(f"- {tier}: {', '.join(fields) if fields else '-'}")
        lines.append("")
    lines += ["## Recipients and transfers", "",
              "| destination | connector | purpose | region | relationship | transfer mechanism | abroad |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in ropa["recipients"]:
        abroad = "yes" if r["cross_border"] else "no"
        lines.append(f"| {r['name']} | {r['connector']} | {r['purpose'] or '-'} | {r['region']} | "
                     f"{r['relationship']} | {r['transfer_mechanism'] or '-'} | {abroad} |")
    lines += ["", "## Retention", ""] + [f"- {k}: {v}" for k, v in ropa["retention"].items()]
    lines += ["", "## Security measures", ""] + [f"- {m}" for m in ropa["security_measures"]]
    lines += ["", "## Findings", ""] + ([f"- {f}" for f in ropa["findings"]] or ["- none"])
    return "\n".join(lines) + "\n"


def render_json(ropa: dict[str, Any]) -> str:
    return json.dumps(ropa, ensure_ascii=False, indent=2)

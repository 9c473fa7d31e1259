"""The ``quality`` section of the config: which fields are measured and the thresholds of a run.

    quality:
      after_run: true                 # measure after every `custhub run` (default)
      fields: [person.emails, ...]    # fields measured (default: DEFAULT_FIELDS)
      thresholds:
        completeness: {person.emails: 0.6}    # a number applies to every field
        validity: 0.95                        # a number is the whole stream; a mapping names fields ("*" = stream)
        uniqueness: 0.5                       # distinct profiles per resolved record, per connection
        consistency: 0.9                      # a number applies to every field
        freshness: {newest_record_hours: 48, last_success_hours: 26}   # maxima
        connections:                          # per-connection overrides, same shape
          expo_2026_signups: {completeness: {person.phones: 0.3}}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hub.errors import ConfigError

METRICS = ("completeness", "validity", "uniqueness", "consistency", "freshness")
FRESHNESS_FIELDS = ("newest_record_hours", "last_success_hours")
DEFAULT_FIELDS = (
    "person.name", "person.emails", "person.phones", "person.addresses", "person.gender", "person.birth_date",
    "person.employer", "person.title", "person.department", "person.language", "person.lifecycle_stage",
    "person.platform_ids", "person.crm_ids", "person.tags", "organization.name", "organization.industry",
    "interactions", "consents",
)
# Fields compared across sources for consistency: single-valued fields of the golden profile.
CONSISTENCY_FIELDS = ("person.name", "person.gender", "person.birth_date", "person.employer", "person.title",
                      "person.department", "person.language", "person.lifecycle_stage", "organization")
KNOWN_FIELDS = frozenset((*DEFAULT_FIELDS, *CONSISTENCY_FIELDS, "organization.registration_id",
                          "organization.size", "organization.website", "organization.country", "organization.crm_ids",
                          "organization.key_contacts"))

Limits = dict[str, dict[str, float]]  # metric -> field ("*" or a field, or "" for every field) -> limit


@dataclass(frozen=True)
class QualitySettings:
    after_run: bool = True
    fields: tuple[str, ...] = DEFAULT_FIELDS
    thresholds: Limits = field(default_factory=dict)
    connections: dict[str, Limits] = field(default_factory=dict)

    def limit(self, connection: str, metric: str, field_name: str) -> float | None:
        """The threshold for one metric row: the connection's own first, then the global one."""
        for limits in (self.connections.get(connection, {}), self.thresholds):
            by_field = limits.get(metric)
            if by_field is None:
                continue
            if field_name in by_field:
                return by_field[field_name]
            if "" in by_field and field_name != "*":
                return by_field[""]
        return None

    @property
    def has_thresholds(self) -> bool:
        return bool(self.thresholds or self.connections)


def parse_quality(raw: dict[str, Any] | None, *, file: str = "", connections: Any = ()) -> QualitySettings:
    """Settings from the config's ``quality`` mapping (its shape already checked by the JSON Schema)."""
    if not raw:
        return QualitySettings()
    fields = tuple(raw.get("fields") or DEFAULT_FIELDS)
    for i, name in enumerate(fields):
        if name not in KNOWN_FIELDS:
            raise ConfigError(f"unknown field '{name}'", file=file, path=f"quality.fields[{i}]",
                              fix="use a canonical field such as person.emails or organization.name")
    thresholds = dict(raw.get("thresholds") or {})
    per_connection = thresholds.pop("connections", None) or {}
    parsed = {}
    for name, body in per_connection.items():
        if connections and name not in connections:
            raise ConfigError(f"unknown connection '{name}'", file=file, path=f"quality.thresholds.connections.{name}",
                              fix="name a connection of this config")
        parsed[name] = _limits(body or {}, f"quality.thresholds.connections.{name}", file)
    return QualitySettings(after_run=raw.get("after_run", True), fields=fields,
                           thresholds=_limits(thresholds, "quality.thresholds", file), connections=parsed)


def _limits(raw: dict[str, Any], where: str, file: str) -> Limits:
    out: Limits = {}
    for metric, body in raw.items():
        path = f"{where}.{metric}"
        if metric == "freshness":
            out[metric] = {k: float(v) for k, v in body.items()}
        elif metric == "uniqueness":
            out[metric] = {"*": float(body)}
        elif isinstance(body, int | float):
            out[metric] = {"*" if metric == "validity" else "": float(body)}
        else:
            for name in body:
                if name != "*" and name not in KNOWN_FIELDS:
                    raise ConfigError(f"unknown field '{name}'", file=file, path=f"{path}.{name}",
                                      fix="use a canonical field such as person.emails, or '*' for the whole stream")
            out[metric] = {k: float(v) for k, v in body.items()}
    return out

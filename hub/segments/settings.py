"""The ``segments`` section of the config: named rules over golden profiles, compiled at load.

    segments:
      - name: guangdong                     # also the tag sent to destinations
        description: Customers in Guangdong
        rule: {field: person.addresses.province, eq: 广东}
        recheck_hours: 24                   # time-based rules only: re-check every profile this often
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import orjson

from hub.errors import ConfigError
from hub.segments.rules import CompiledRule, compile_rule

NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")


@dataclass(frozen=True)
class Segment:
    name: str
    description: str
    rule: dict[str, Any]
    compiled: CompiledRule
    recheck_hours: float = 24.0

    @property
    def rule_hash(self) -> str:
        return hashlib.blake2b(orjson.dumps(self.rule, option=orjson.OPT_SORT_KEYS, default=str),
                               digest_size=16).hexdigest()

    @property
    def time_based(self) -> bool:
        return self.compiled.time_based


@dataclass(frozen=True)
class SegmentSettings:
    segments: tuple[Segment, ...] = ()

    def get(self, name: str) -> Segment | None:
        return next((s for s in self.segments if s.name == name), None)


def parse_segments(raw: Any, *, file: str = "") -> SegmentSettings:
    """Compile each segment's rule; errors name ``segments[i].rule...`` and the fix."""
    if not raw:
        return SegmentSettings()
    seen: set[str] = set()
    out = []
    for i, body in enumerate(raw):
        where = f"segments[{i}]"
        name = body["name"]
        if not NAME.match(name):
            raise ConfigError("invalid segment name", file=file, path=f"{where}.name",
                              fix="lower-case letters, digits, _ . - (it becomes a tag)")
        if name in seen:
            raise ConfigError(f"segment '{name}' is defined twice", file=file, path=f"{where}.name",
                              fix="give each segment its own name")
        seen.add(name)
        compiled = compile_rule(body["rule"], file=file, where=f"{where}.rule")
        out.append(Segment(name, body.get("description", ""), body["rule"], compiled,
                           float(body.get("recheck_hours", 24))))
    return SegmentSettings(tuple(out))

"""Outbound mappings: a canonical profile to the fields of one CRM object.

A small grammar of its own (the inbound mapping engine reshapes raw source rows; this one only picks
values out of a canonical record). ``mappings/outbound/<name>.yaml``::

    name: out_zoho_leads                 # equals the file stem
    key: Custhub_Id                      # the CRM field that holds custhub's profile id (the upsert key)
    fields:
      Last_Name: {from: [person.name.family, person.name.full]}   # first present value wins
      Email: {from: "person.emails[0].address", on_missing: clear} # missing -> send null, clearing it
      Phone: "person.phones[0].number"   # a plain string is a path; missing -> field left out (skip)
      Lead_Source: {const: custhub}
    on_withdrawal:                       # sent when consent for the destination's purpose is withdrawn
      Email_Opt_Out: true
    on_erasure:                          # where a destination anonymises instead of deleting (erasure)
      Last_Name: Erased                  # every mapped field is cleared (null), then these are set

``on_missing: skip`` (default) leaves the CRM's value alone; ``clear`` overwrites it with null.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub import validation
from hub.config import read_yaml
from hub.errors import ConfigError

_TOKEN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")
_PATH = re.compile(r"[A-Za-z_]\w*(\[\d+\])*(\.[A-Za-z_]\w*(\[\d+\])*)*")
_MISSING = object()
TOP_KEYS = ("name", "description", "key", "fields", "on_withdrawal", "on_erasure")
FIELD_KEYS = ("from", "const", "on_missing", "default")


@dataclass(frozen=True, slots=True)
class OutField:
    target: str
    paths: tuple[tuple[str | int, ...], ...]
    const: Any = _MISSING
    default: Any = _MISSING
    clear: bool = False


@dataclass(frozen=True)
class OutMapping:
    name: str
    key: str
    fields: tuple[OutField, ...]
    on_withdrawal: dict[str, Any]
    on_erasure: dict[str, Any] = field(default_factory=dict)

    def apply(self, record: dict[str, Any], profile_id: str) -> dict[str, Any]:
        """The CRM payload of ``record``: the key field first, then every mapped field present."""
        out: dict[str, Any] = {self.key: profile_id}
        for f in self.fields:
            value = f.const if f.const is not _MISSING else _first(record, f.paths)
            if value is _MISSING:
                value = f.default
            if value is not _MISSING:
                out[f.target] = value
            elif f.clear:
                out[f.target] = None
        return out

    def withdrawal(self, profile_id: str) -> dict[str, Any]:
        return {self.key: profile_id, **self.on_withdrawal}

    def anonymised(self, profile_id: str) -> dict[str, Any]:
        """What an anonymising erasure writes: every mapped value cleared, opted out, ``on_erasure`` set."""
        cleared = {f.target: None for f in self.fields if f.const is _MISSING}
        return {self.key: profile_id, **cleared, **self.on_withdrawal, **self.on_erasure}


def _first(record: dict[str, Any], paths: tuple[tuple[str | int, ...], ...]) -> Any:
    for path in paths:
        value: Any = record
        for part in path:
            try:
                value = value[part]
            except (KeyError, IndexError, TypeError):
                value = _MISSING
                break
        if value is not _MISSING and value is not None and value != "":
            return value
    return _MISSING


def parse_path(text: str, *, file: str, where: str) -> tuple[str | int, ...]:
    if not isinstance(text, str) or not _PATH.fullmatch(text):
        raise ConfigError(f"'{text}' is not a path", file=file, path=where,
                          fix="use dotted names with [N] indexes, e.g. person.emails[0].address")
    return tuple(name if name else int(index) for name, index in _TOKEN.findall(text))


def _field(target: str, spec: Any, file: str) -> OutField:
    where = f"fields.{target}"
    if isinstance(spec, str | list):
        spec = {"from": spec}
    if not isinstance(spec, dict):
        raise ConfigError("must be a path or a mapping", file=file, path=where,
                          fix="e.g. person.title, [a, b] or {from: person.title}")
    for key in spec:
        if key not in FIELD_KEYS:
            raise ConfigError(f"unknown key '{key}'", file=file, path=f"{where}.{key}",
                              fix=validation.did_you_mean(key, FIELD_KEYS) or "use " + ", ".join(FIELD_KEYS))
    if ("from" in spec) == ("const" in spec):
        raise ConfigError("needs exactly one of 'from' and 'const'", file=file, path=where)
    on_missing = spec.get("on_missing", "skip")
    if on_missing not in ("skip", "clear"):
        raise ConfigError(f"unknown on_missing '{on_missing}'", file=file, path=f"{where}.on_missing",
                          fix="use skip or clear")
    sources = spec.get("from", [])
    sources = [sources] if isinstance(sources, str) else sources
    paths = tuple(parse_path(s, file=file, where=f"{where}.from") for s in sources)
    return OutField(target, paths, spec.get("const", _MISSING), spec.get("default", _MISSING),
                    on_missing == "clear")


def compile_outmap(raw: Any, file: str) -> OutMapping:
    if not isinstance(raw, dict):
        raise ConfigError("must be a YAML mapping", file=file, path="(top level)")
    for key in raw:
        if key not in TOP_KEYS:
            raise ConfigError(f"unknown key '{key}'", file=file, path=key,
                              fix=validation.did_you_mean(key, TOP_KEYS) or "use " + ", ".join(TOP_KEYS))
    for key in ("name", "key", "fields"):
        if key not in raw:
            raise ConfigError(f"missing '{key}'", file=file, path="(top level)")
    if raw["name"] != Path(file).stem:
        raise ConfigError(f"name '{raw['name']}' differs from the file name", file=file, path="name",
                          fix=f"use name: {Path(file).stem}")
    if not isinstance(raw["fields"], dict) or not raw["fields"]:
        raise ConfigError("must map CRM fields to profile paths", file=file, path="fields")
    fields = tuple(_field(target, spec, file) for target, spec in raw["fields"].items())
    extras = {}
    for section in ("on_withdrawal", "on_erasure"):
        extras[section] = raw.get(section) or {}
        if not isinstance(extras[section], dict):
            raise ConfigError("must map CRM fields to constant values", file=file, path=section)
    return OutMapping(raw["name"], str(raw["key"]), fields, dict(extras["on_withdrawal"]),
                      dict(extras["on_erasure"]))


def outbound_dirs(mappings_dirs: tuple[Path, ...]) -> list[Path]:
    return [d / "outbound" for d in mappings_dirs] + list(mappings_dirs)


def load_outmap(name: str, mappings_dirs: tuple[Path, ...], *, config_file: str, where: str) -> OutMapping:
    for folder in outbound_dirs(mappings_dirs):
        path = folder / f"{name}.yaml"
        if path.is_file():
            return compile_outmap(read_yaml(path), str(path))
    raise ConfigError(f"outbound mapping '{name}' not found", file=config_file, path=where,
                      fix=f"add mappings/outbound/{name}.yaml or fix the name")

"""The canonical customer schema (versioned JSON Schema in ``hub/schemas``) and its validator."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
import jsonschema_rs

SCHEMA_VERSION = "1.0"


@cache
def canonical_schema() -> dict[str, Any]:
    """The canonical customer record schema, version ``SCHEMA_VERSION``."""
    text = resources.files("hub.schemas").joinpath(f"canonical-{SCHEMA_VERSION}.json").read_text("utf-8")
    return json.loads(text)


@cache
def _validator() -> jsonschema.protocols.Validator:
    schema = canonical_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@cache
def _fast_validator() -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for(canonical_schema())


def schema_errors(record: dict[str, Any]) -> list[str]:
    """Every way ``record`` breaks the canonical schema, as ``path: problem`` without values.

    The compiled validator (jsonschema-rs, ~100x faster) answers the common case, a valid record;
    only an invalid one is walked by ``jsonschema`` for value-free, per-field reasons.
    """
    if _fast_validator().is_valid(record):
        return []
    return sorted(f"{_path(error)}: {_describe(error)}" for error in _validator().iter_errors(record))


def _path(error: jsonschema.ValidationError) -> str:
    parts: list[str] = []
    for part in error.absolute_path:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{part}]"]
        else:
            parts.append(str(part))
    return ".".join(parts) or "(record)"


def _describe(error: jsonschema.ValidationError) -> str:
    """A value-free description of a schema violation (values may be personal data)."""
    v = error.validator
    if v == "required":
        missing = [name for name in error.validator_value if name not in (error.instance or {})]
        return f"missing required field {', '.join(repr(m) for m in missing)}"
    if v == "additionalProperties":
        allowed = set(error.schema.get("properties", {}))
        extra = sorted((k for k in (error.instance or {}) if k not in allowed), key=str)
        return f"unknown field {', '.join(repr(e) for e in extra)}"
    if v == "enum":
        return "must be one of " + ", ".join(map(str, error.validator_value))
    if v == "const":
        return f"must be {error.validator_value!r}"
    if v == "type":
        return f"must be of type {error.validator_value}"
    if v == "pattern":
        return "has an invalid format"
    if v in ("minLength", "minProperties"):
        return "must not be empty"
    if v == "anyOf" and error.schema is canonical_schema():
        return "needs a person or an organization"
    return f"fails '{v}'"

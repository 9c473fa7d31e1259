"""Turn JSON Schema violations in a config or mapping file into one-line errors with a fix.

Messages name keys and paths, never values: a value may be a secret or personal data.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from hub.errors import ConfigError


def dotted(parts: Iterable[Any]) -> str:
    """``('connections', 'crm', 'files', 0)`` -> ``connections.crm.files[0]``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{match[0]}'?" if match else None


def check(instance: Any, schema: dict[str, Any], *, file: str, prefix: tuple[Any, ...] = ()) -> None:
    """Raise the most relevant violation of ``schema`` by ``instance`` as a ConfigError."""
    validator_cls = jsonschema.validators.validator_for(schema)
    errors = list(validator_cls(schema).iter_errors(instance))
    if errors:
        raise to_config_error(_most_relevant(errors), file=file, prefix=prefix)


# A misspelt key also makes the right key "missing": report the misspelling, it holds the fix.
_PRIORITY = {"additionalProperties": 0, "propertyNames": 1, "required": 2}


def _most_relevant(errors: list[ValidationError]) -> ValidationError:
    """The deepest error, unknown keys first; inside anyOf/oneOf, the best branch's error."""
    def key(error: ValidationError) -> tuple[int, int, str]:
        return (-len(error.absolute_path), _PRIORITY.get(str(error.validator), 3), dotted(error.absolute_path))

    chosen = min(errors, key=key)
    return best_match([chosen]) or chosen


def to_config_error(error: ValidationError, *, file: str, prefix: tuple[Any, ...] = ()) -> ConfigError:
    path = (*prefix, *error.absolute_path)
    problem, fix = _describe(error)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        extra = _unknown_keys(error.instance, error.schema.get("properties", {}))
        if extra:
            path = (*path, str(extra[0]))  # a key, even when YAML read it as a number
    return ConfigError(problem, file=file, path=dotted(path) or "(top level)", fix=fix)


def _unknown_keys(instance: dict[Any, Any], allowed: Iterable[str]) -> list[Any]:
    """Keys not in ``allowed``, in a stable order; YAML keys may be null or numbers, so sort them as text."""
    allowed = set(allowed)
    return sorted((k for k in instance if k not in allowed), key=lambda k: (not isinstance(k, str), str(k)))


def _describe(error: ValidationError) -> tuple[str, str | None]:
    hint = _fix_hint(error)
    kind, expected, instance = error.validator, error.validator_value, error.instance
    if kind == "additionalProperties" and isinstance(instance, dict):
        allowed = list(error.schema.get("properties", {}))
        extra = _unknown_keys(instance, allowed)
        if extra:
            suggestion = did_you_mean(str(extra[0]), allowed)
            fix = suggestion or ("allowed keys: " + ", ".join(allowed) if allowed else "remove it")
            return "unknown key", fix
        return "invalid entry", hint
    if kind == "required":
        missing = [k for k in expected if not isinstance(instance, dict) or k not in instance]
        name = missing[0] if missing else expected[0]
        return f"missing required key '{name}'", hint or f"add '{name}'"
    if kind == "type":
        wanted = expected if isinstance(expected, str) else " or ".join(expected)
        return f"must be {_article(wanted)}", hint
    if kind == "enum":
        choices = [str(c) for c in expected]
        suggestion = did_you_mean(instance, choices) if isinstance(instance, str) else None
        return "must be one of: " + ", ".join(choices), suggestion or hint
    if kind == "const":
        return f"must be {expected!r}", hint
    if kind in ("minProperties", "minItems", "minLength"):
        return "must not be empty", hint
    if kind in ("maxProperties", "maxItems", "maxLength"):
        return "has too many entries", hint
    if "propertyNames" in error.relative_schema_path or "propertyNames" in error.schema_path:
        return f"invalid name '{instance}'", hint
    if kind == "pattern":
        return "has an invalid form", hint
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return f"must be {'at least' if 'inimum' in kind else 'at most'} {expected}", hint
    if kind == "oneOf":
        return "has an invalid form", hint
    return f"is invalid ({kind})", hint


def _fix_hint(error: ValidationError) -> str | None:
    """The ``x-fix`` of the failing schema, or of the nearest enclosing one (e.g. around a oneOf)."""
    node: ValidationError | None = error
    while node is not None:
        if isinstance(node.schema, dict) and node.schema.get("x-fix"):
            return node.schema["x-fix"]
        node = node.parent
    return None


def _article(word: str) -> str:
    return {"object": "a mapping", "array": "a list", "integer": "an integer", "string": "a string",
            "boolean": "true or false", "number": "a number"}.get(word, word)

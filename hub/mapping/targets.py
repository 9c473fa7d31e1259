"""Where a mapping may write: target paths checked against the canonical customer schema."""

from __future__ import annotations

from typing import Any

from hub.canonical import canonical_schema
from hub.validation import did_you_mean

SET_BY_PIPELINE = ("schema_version", "provenance")


class TargetError(Exception):
    """A target path does not fit the canonical schema."""

    def __init__(self, problem: str, fix: str | None = None) -> None:
        self.problem, self.fix = problem, fix
        super().__init__(problem)


def resolve(path: str, start: dict[str, Any] | None = None) -> dict[str, Any]:
    """The schema of the field at dotted ``path`` below ``start`` (the whole record by default).

    A free-form object (one without ``properties``, such as an interaction's ``details``) accepts
    any path below it; its schema is then ``{}``.
    """
    top = start is None
    node = _deref(canonical_schema() if top else start)
    parts = path.split(".")
    for i, part in enumerate(parts):
        above = ".".join(parts[:i])
        if node.get("type") == "array":
            if is_object_list(node):
                raise TargetError(f"'{parts[i - 1]}' is a list", f"map it as '{above}[]' with item specs")
            raise TargetError(f"'{parts[i - 1]}' is a list of values and has no sub-fields")
        properties = node.get("properties")
        if properties is None:
            if node.get("type") == "object" or not node:
                return {}
            raise TargetError(f"'{parts[i - 1]}' has no sub-fields")
        if top and i == 0 and part in SET_BY_PIPELINE:
            raise TargetError(f"'{part}' is set by the pipeline", "remove this field")
        if part not in properties:
            choices = [p for p in properties if not (top and i == 0 and p in SET_BY_PIPELINE)]
            raise TargetError(f"unknown target field '{part}'",
                              did_you_mean(part, choices) or "known: " + ", ".join(choices))
        node = _deref(properties[part])
    return node


def is_object_list(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "array" and _deref(schema.get("items", {})).get("type") == "object"


def is_structured_object(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "object" and "properties" in schema


def item_schema(schema: dict[str, Any]) -> dict[str, Any]:
    return _deref(schema.get("items", {}))


def _deref(node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    target: Any = canonical_schema()
    for key in ref.removeprefix("#/").split("/"):
        target = target[key]
    return target

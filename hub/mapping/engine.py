"""The compiled form of a mapping: closures that read a raw record and write a partial canonical one.

Everything here runs per record, so it is built once at load (``hub.mapping.loader``) into plain
closures and tuples. A value is *missing* when it is absent, ``None``, a blank string, or an empty
list or mapping (a list is also missing when every item in it is); missing values are ``None``
here and never reach the output.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from hub.cleaning.text import copy_json
from hub.errors import RecordError
from hub.mapping.errors import TransformError

Getter = Callable[[dict[str, Any]], Any]
Runner = Callable[[dict[str, Any], dict[str, Any], list[str]], None]
# (name, function, params, accepts_missing)
Step = tuple[str, Callable[..., Any], Any, bool]  # params: a mapping (a plugin's prepare may build any)

_ABSENT = object()
# Results of pure pipes per getter, by text value: sign-up times, cities, yes/no answers and
# common names repeat from record to record, and a pipe runs a dozen microseconds.
PIPE_CACHE_SIZE = 1 << 15


def blank(value: Any) -> bool:
    """Whether ``value`` counts as missing."""
    if value is None:
        return True
    kind = value.__class__
    if kind is str:
        return not value or value.isspace()
    if kind is list or kind is tuple:
        return all(blank(item) for item in value)
    if kind is dict:
        return not value
    return False


def source_reader(field: str) -> Getter:
    """Read ``field`` from a raw record: the exact key first, else a dotted path (``answers.0.text``)."""
    if "." not in field:
        def read_key(raw: dict[str, Any]) -> Any:
            value = raw.get(field)
            if value.__class__ is str:
                return value if value and not value.isspace() else None
            return None if blank(value) else value
        return read_key

    parts = tuple((part, int(part) if part.isdigit() else None) for part in field.split("."))

    def read_path(raw: dict[str, Any]) -> Any:
        value = raw.get(field, _ABSENT)
        if value is _ABSENT:
            value = walk(raw, parts)
        return None if blank(value) else value
    return read_path


def walk(node: Any, parts: tuple[tuple[str, int | None], ...]) -> Any:
    """Follow ``parts`` (key, index-or-None) through nested dicts and lists; None when it breaks."""
    for key, index in parts:
        if isinstance(node, dict):
            node = node.get(key)
        elif index is not None and isinstance(node, list) and index < len(node):
            node = node[index]
        else:
            return None
    return node


def sources_reader(fields: list[str]) -> Getter:
    """Read several fields into a list (missing ones as None); the list is missing if all are."""
    readers = [source_reader(field) for field in fields]

    def read(raw: dict[str, Any]) -> Any:
        values = [read_one(raw) for read_one in readers]
        for value in values:
            if value is not None:
                return values
        return None
    return read


def const_reader(value: Any) -> Getter:
    """A constant; a list or mapping is copied for each record, so records never share one."""
    if blank(value):
        return lambda raw: None
    if value.__class__ in (dict, list):
        return lambda raw: copy.deepcopy(value)
    return lambda raw: value


def run_pipe(steps: tuple[Step, ...], value: Any) -> Any:
    """Pass ``value`` through ``steps``; a missing value skips every step that does not accept it."""
    for name, function, params, accepts_missing in steps:
        if value is None and not accepts_missing:
            continue
        try:
            value = function(value, **params)
        except TransformError:
            raise
        except Exception as exc:  # a bug or an unexpected shape: the record, not the run, fails
            raise TransformError(f"transform '{name}' failed ({type(exc).__name__})") from None
        if value is not None and blank(value):
            value = None
    return value


def value_getter(read: Getter, steps: tuple[Step, ...], default: Any = None) -> Getter:
    """Compose reading, the pipe and the spec's default into one ``get(raw)``."""
    default = None if blank(default) else default
    if not steps and default is None:
        return read
    if not steps:
        def get_or_default(raw: dict[str, Any]) -> Any:
            value = read(raw)
            return default if value is None else value
        return get_or_default

    if all(getattr(function, "pure", False) for _, function, _, _ in steps):
        return _memoised_getter(read, steps, default)

    def get(raw: dict[str, Any]) -> Any:
        value = run_pipe(steps, read(raw))
        return default if value is None else value
    return get


def _memoised_getter(read: Getter, steps: tuple[Step, ...], default: Any) -> Getter:
    """``get`` for a pipe of pure transforms (``fn.pure``): each text value runs the pipe once.

    A failure (``TransformError``) is not cached, it is raised again each time; a list or mapping
    result is copied for each record, so records never share one."""
    piped = lru_cache(maxsize=PIPE_CACHE_SIZE)(lambda value: run_pipe(steps, value))

    def get(raw: dict[str, Any]) -> Any:
        value = read(raw)
        value = piped(value) if value.__class__ is str else run_pipe(steps, value)
        if value is None:
            return default
        return copy_json(value) if value.__class__ in (dict, list) else value
    return get


def put(node: dict[str, Any], heads: tuple[str, ...], last: str, value: Any) -> None:
    """Set ``node[heads...][last] = value``; a mapping value is merged into what is there."""
    for key in heads:
        child = node.get(key)
        if child is None:
            child = node[key] = {}
        node = child
    if value.__class__ is dict and node.get(last).__class__ is dict:
        merge(node[last], value)
    else:
        node[last] = value


def merge(into: dict[str, Any], value: dict[str, Any]) -> None:
    for key, item in value.items():
        if item.__class__ is dict and into.get(key).__class__ is dict:
            merge(into[key], item)
        else:
            into[key] = item


def _from(sources: list[str] | None) -> str:
    return " (from " + ", ".join(f"'{s}'" for s in sources) + ")" if sources else ""


def value_field(target: str, parts: tuple[str, ...], get: Getter, sources: list[str] | None) -> Runner:
    """A runner that sets one target from one value spec."""
    heads, last, where = parts[:-1], parts[-1], _from(sources)

    def run(raw: dict[str, Any], out: dict[str, Any], errors: list[str]) -> None:
        try:
            value = get(raw)
        except TransformError as exc:
            errors.append(f"{target}: {exc}{where}")
            return
        if value is not None:
            put(out, heads, last, value)
    return run


# One sub-field of a list item: (sub-path parts, getter, is_const, source fields)
SubField = tuple[tuple[str, ...], Getter, bool, list[str] | None]


def items_field(target: str, parts: tuple[str, ...],
                items: list[tuple[list[SubField], tuple[str, ...]]]) -> Runner:
    """A runner that appends list items; ``items`` holds each item's sub-fields and required keys.

    An item is emitted when one of its non-const sub-fields has a value and every sub-field the
    canonical schema requires has one. Constant sub-fields are computed once, into a template.
    """
    heads, last = parts[:-1], parts[-1]
    compiled = []
    for index, (subfields, required) in enumerate(items):
        template: dict[str, Any] = {}
        variable = []
        for sub, get, is_const, sources in subfields:
            if is_const:
                value = get({})
                if value is not None:
                    put(template, sub[:-1], sub[-1], value)
            else:
                label = f"{target}[{index}].{'.'.join(sub)}"
                variable.append((sub[:-1], sub[-1], get, label, _from(sources)))
        shallow = all(v.__class__ not in (dict, list) for v in template.values())
        compiled.append((template, shallow, tuple(variable), frozenset(required)))

    def run(raw: dict[str, Any], out: dict[str, Any], errors: list[str]) -> None:
        made = []
        for template, shallow, variable, required in compiled:
            item = template.copy() if shallow else copy.deepcopy(template)
            has_data = False
            for sub_heads, sub_last, get, label, where in variable:
                try:
                    value = get(raw)
                except TransformError as exc:
                    errors.append(f"{label}: {exc}{where}")
                    continue
                if value is not None:
                    has_data = True
                    if sub_heads:
                        put(item, sub_heads, sub_last, value)
                    else:
                        item[sub_last] = value
            if has_data and required <= item.keys():
                made.append(item)
        if made:
            node = out
            for key in heads:
                child = node.get(key)
                if child is None:
                    child = node[key] = {}
                node = child
            node.setdefault(last, []).extend(made)
    return run


class Mapping:
    """A loaded, validated and compiled mapping. ``apply`` turns one raw record into a partial
    canonical record (without ``schema_version`` and ``provenance``)."""

    __slots__ = ("name", "path", "description", "targets", "_runners")

    def __init__(self, name: str, path: Path, description: str, targets: tuple[str, ...],
                 runners: list[Runner]) -> None:
        self.name, self.path, self.description, self.targets = name, path, description, targets
        self._runners = tuple(runners)

    def apply(self, raw: Any) -> dict[str, Any]:
        """The partial canonical record; raises ``RecordError`` naming every failing field."""
        if not isinstance(raw, dict):
            raise RecordError([f"(record): must be an object, not {type(raw).__name__}"])
        out: dict[str, Any] = {}
        errors: list[str] = []
        for run in self._runners:
            run(raw, out, errors)
        if errors:
            raise RecordError(errors)
        return out

    def __repr__(self) -> str:
        return f"<Mapping {self.name} ({self.path})>"

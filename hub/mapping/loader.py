"""Find, read, validate and compile mapping files (``mappings/<name>.yaml``).

A mapping is checked against ``config/mapping.schema.json``, then beyond it: the name equals the
file stem, every target exists in the canonical schema and has the right shape, every transform is
known and its parameters fit its ``params_schema``. Each problem is one ``ConfigError`` line naming
the file, the path and the fix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from hub import paths, plugins, validation
from hub.config import read_yaml
from hub.errors import ConfigError
from hub.mapping import targets
from hub.mapping.engine import (
    Getter,
    Mapping,
    Runner,
    Step,
    SubField,
    const_reader,
    items_field,
    run_pipe,
    source_reader,
    sources_reader,
    value_field,
    value_getter,
)
from hub.mapping.errors import TransformError

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_cache: dict[Path, tuple[tuple[int, int], Mapping]] = {}


def find_mapping(name: str, dirs: Sequence[Path]) -> Path | None:
    """The first ``<dir>/<name>.yaml`` that exists, or None."""
    if not _NAME.fullmatch(name) or ".." in name:
        return None
    for folder in dirs:
        candidate = Path(folder) / f"{name}.yaml"
        if candidate.is_file():
            return candidate
    return None


def load_mapping(path: Path) -> Mapping:
    """The validated, compiled mapping in ``path``; cached until the file changes (mtime, size)."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        raise ConfigError("mapping file not found", file=_display(path), fix="check the path") from None
    key, stamp = path.resolve(), (stat.st_mtime_ns, stat.st_size)
    cached = _cache.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    mapping = compile_mapping(read_yaml(Path(_display(path))), path)
    _cache[key] = (stamp, mapping)
    return mapping


@cache
def mapping_schema() -> dict[str, Any]:
    return json.loads((paths.bundled_dir("config") / "mapping.schema.json").read_text("utf-8"))


def compile_mapping(raw: Any, path: Path) -> Mapping:
    """Validate the parsed YAML of ``path`` and compile it into a ``Mapping``."""
    file = _display(path)
    if not isinstance(raw, dict):
        raise ConfigError("must be a YAML mapping", file=file, path="(top level)",
                          fix="start with 'name:' and 'fields:'; see docs/mappings.md")
    validation.check(raw, mapping_schema(), file=file)
    if raw["name"] != path.stem:
        raise ConfigError(f"must equal the file name '{path.stem}'", file=file, path="name",
                          fix=f"set 'name: {path.stem}' or rename the file")
    compiler = _Compiler(file, plugins.transforms())
    runners = [compiler.field(target, spec) for target, spec in raw["fields"].items()]
    return Mapping(raw["name"], path, raw.get("description", ""), tuple(raw["fields"]), runners)


def _display(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it, as users wrote it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class _Compiler:
    """Turns the ``fields`` of one mapping file into runners, raising ConfigError on the first problem."""

    def __init__(self, file: str, transforms: dict[str, tuple[Any, dict[str, Any]]]) -> None:
        self.file, self.transforms = file, transforms

    def error(self, problem: str, where: tuple[Any, ...], fix: str | None = None) -> ConfigError:
        return ConfigError(problem, file=self.file, path=validation.dotted(where), fix=fix)

    def field(self, target: str, spec: Any) -> Runner:
        where = ("fields", target)
        if target.endswith("[]"):
            base = target[:-2]
            schema = self.target(base, where)
            if not targets.is_object_list(schema):
                if schema.get("type") == "array":
                    raise self.error("a list of values, not of objects", where,
                                     f"map it as '{base}' without '[]', e.g. with split or as_list")
                raise self.error("not a list in the canonical schema", where, f"write '{base}' without '[]'")
            item_schema = targets.item_schema(schema)
            items = [self.item(item, item_schema, (*where, i)) for i, item in enumerate(spec)]
            return items_field(base, tuple(base.split(".")), items)
        schema = self.target(target, where)
        if targets.is_object_list(schema):
            raise self.error("a list of objects", where, f"map it as '{target}[]' with item specs")
        plain_copy = isinstance(spec, str) or ("from" in spec and not spec.get("pipe"))
        if targets.is_structured_object(schema) and plain_copy:
            raise self.error("an object, not a value", where,
                             f"map one of its fields, e.g. '{target}.{next(iter(schema['properties']))}'"
                             ", or use a transform that makes an object, such as split_name")
        get, sources, _ = self.value(spec, where, schema)
        return value_field(target, tuple(target.split(".")), get, sources)

    def target(self, path: str, where: tuple[Any, ...],
               start: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            return targets.resolve(path, start)
        except targets.TargetError as exc:
            raise self.error(exc.problem, where, exc.fix) from None

    def item(self, item: dict[str, Any], schema: dict[str, Any],
             where: tuple[Any, ...]) -> tuple[list[SubField], tuple[str, ...]]:
        subfields: list[SubField] = []
        for sub, spec in item.items():
            sub_schema = self.target(sub, (*where, sub), schema)
            if targets.is_object_list(sub_schema):
                raise self.error("a list inside a list item", (*where, sub), "map a value, not a list")
            get, sources, is_const = self.value(spec, (*where, sub), sub_schema)
            subfields.append((tuple(sub.split(".")), get, is_const, sources))
        required = tuple(schema.get("required", ()))
        for name in required:
            if name not in item:
                raise self.error(f"missing required sub-field '{name}'", where, f"add '{name}' to the item")
        return subfields, required

    def value(self, spec: Any, where: tuple[Any, ...],
              schema: dict[str, Any]) -> tuple[Getter, list[str] | None, bool]:
        """Compile one value spec for a target of ``schema`` into (getter, source fields, is_const)."""
        if isinstance(spec, str):
            return source_reader(spec), [spec], False
        if "from" in spec and "const" in spec:
            raise self.error("has both 'from' and 'const'", where, "keep one of them")
        if "from" not in spec and "const" not in spec:
            raise self.error("needs 'from' or 'const'", where,
                             "add 'from: <source field>' or 'const: <value>'")
        steps = tuple(self.step(step, (*where, "pipe", i)) for i, step in enumerate(spec.get("pipe") or ()))
        default = spec.get("default")
        self.check_enum(default, schema, (*where, "default"))
        if "const" in spec:  # a constant goes through its pipe once, here
            try:
                value = run_pipe(steps, spec["const"])
            except TransformError as exc:
                raise self.error(str(exc), (*where, "const"), exc.fix) from None
            self.check_enum(value, schema, (*where, "const"))
            return value_getter(const_reader(value), (), default), None, True
        source = spec["from"]
        if isinstance(source, str):
            return value_getter(source_reader(source), steps, default), [source], False
        return value_getter(sources_reader(source), steps, default), list(source), False

    def check_enum(self, value: Any, schema: dict[str, Any], where: tuple[Any, ...]) -> None:
        """A fixed value for a target with a closed set of values must be one of them."""
        if "enum" in schema and value is not None:
            validation.check(value, {"enum": schema["enum"]}, file=self.file, prefix=where)

    def step(self, step: str | dict[str, Any], where: tuple[Any, ...]) -> Step:
        if isinstance(step, str):
            name, params, at = step, {}, where
        else:
            ((name, params),) = step.items()
            params, at = ({} if params is None else params), (*where, name)
        if name not in self.transforms:
            known = sorted(self.transforms)
            raise self.error(f"unknown transform '{name}'", where,
                             validation.did_you_mean(name, known) or "known: " + ", ".join(known))
        function, params_schema = self.transforms[name]
        if not isinstance(params, dict):
            raise self.error("parameters must be a mapping", at, f"write '{name}: {{param: value}}'")
        validation.check(params, params_schema or {}, file=self.file, prefix=at)
        prepare = getattr(function, "prepare", None)
        if prepare is not None:
            try:
                params = prepare(**params)
            except TransformError as exc:
                raise self.error(str(exc), at, exc.fix) from None
        return name, function, params, bool(getattr(function, "accepts_missing", False))

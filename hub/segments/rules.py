"""The segment rule language: YAML mappings compiled into predicates over one golden profile. No eval.

A rule is one of::

    {all: [rule, ...]}   {any: [rule, ...]}   {not: rule}
    {field: person.addresses.province, eq: 广东}        # ops: eq ne in gte gt lte lt contains exists
    {source: expo_2026_signups}                         # has a member from that connection (or a list)
    {interactions: {type: event_registered, within_days: 90, count: {gte: 1}}}

Field paths follow the canonical record (``docs/canonical-schema.md``); lists are searched, so
``person.emails.address`` is every e-mail address and a comparison holds when any value satisfies it.
Strings compare as text (ISO dates order correctly), numbers as numbers, never one with the other.
``interactions`` selects the profile's interactions by ``type``/``channel``/``reference``/``name``
(a value or a list) and ``within_days`` (the last N days), then tests ``count``, ``sum_amount`` and
``recency_days`` (days since the newest selected one): a number means "at least", or a mapping of
``gte/gt/lte/lt/eq``. Without a test it means "at least one". Errors name the path and the fix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from hub import validation
from hub.errors import ConfigError

OPS = ("eq", "ne", "in", "gte", "gt", "lte", "lt", "contains", "exists")
COMPARE = ("gte", "gt", "lte", "lt", "eq")
LOGIC = ("all", "any", "not")
KINDS = (*LOGIC, "field", "source", "interactions")
SELECT_KEYS = ("type", "channel", "reference", "name")
INTERACTION_KEYS = (*SELECT_KEYS, "within_days", "count", "sum_amount", "recency_days")


@dataclass(frozen=True, slots=True)
class Subject:
    """What a rule sees of one profile: its canonical-shaped record, its sources, and the time."""

    record: dict[str, Any]
    connections: frozenset[str]
    now: datetime


Predicate = Callable[[Subject], bool]


@dataclass(frozen=True)
class CompiledRule:
    test: Predicate
    time_based: bool  # its answer can change with time alone (within_days, recency_days)


def compile_rule(raw: Any, *, file: str, where: str) -> CompiledRule:
    flags: list[bool] = []
    test = _node(raw, file, where, flags)
    return CompiledRule(test, any(flags))


def _fail(problem: str, file: str, where: str, fix: str | None = None) -> ConfigError:
    return ConfigError(problem, file=file, path=where, fix=fix)


def _node(raw: Any, file: str, where: str, flags: list[bool]) -> Predicate:
    if not isinstance(raw, dict) or not raw:
        raise _fail("must be a rule mapping", file, where, "e.g. {field: person.lifecycle_stage, eq: customer}")
    kinds = [k for k in raw if k in KINDS]
    unknown = [k for k in raw if k not in KINDS and k not in OPS]
    if unknown:
        raise _fail("unknown key", file, f"{where}.{unknown[0]}",
                    validation.did_you_mean(str(unknown[0]), (*KINDS, *OPS)) or "use one of: " + ", ".join(KINDS))
    if len(kinds) != 1:
        raise _fail("needs exactly one of: " + ", ".join(KINDS), file, where, "split it with all: [...]")
    kind = kinds[0]
    if kind != "field" and len(raw) > 1:
        extra = next(k for k in raw if k != kind)
        raise _fail(f"'{extra}' does not belong in a '{kind}' rule", file, f"{where}.{extra}",
                    "comparisons go with field: ...")
    if kind in ("all", "any"):
        items = raw[kind]
        if not isinstance(items, list) or not items:
            raise _fail("must be a non-empty list of rules", file, f"{where}.{kind}")
        tests = [_node(item, file, f"{where}.{kind}[{i}]", flags) for i, item in enumerate(items)]
        if kind == "all":
            return lambda s: all(t(s) for t in tests)
        return lambda s: any(t(s) for t in tests)
    if kind == "not":
        inner = _node(raw["not"], file, f"{where}.not", flags)
        return lambda s: not inner(s)
    if kind == "source":
        wanted = raw["source"]
        names = frozenset([wanted] if isinstance(wanted, str) else wanted if isinstance(wanted, list) else ())
        if not names or not all(isinstance(n, str) for n in names):
            raise _fail("must be a connection name or a list of them", file, f"{where}.source")
        return lambda s: not names.isdisjoint(s.connections)
    if kind == "interactions":
        return _interactions(raw["interactions"], file, f"{where}.interactions", flags)
    return _field(raw, file, where)


def _field(raw: dict[str, Any], file: str, where: str) -> Predicate:
    path = raw["field"]
    if not isinstance(path, str):
        raise _fail("must be a dotted field path", file, f"{where}.field", "e.g. person.addresses.province")
    parts = tuple(path.split("."))
    check_path(parts, file, f"{where}.field")
    ops = [k for k in raw if k in OPS]
    if len(ops) != 1:
        raise _fail("needs exactly one comparison: " + ", ".join(OPS), file, where, "e.g. eq: customer")
    op, arg = ops[0], raw[ops[0]]
    where_op = f"{where}.{op}"
    if op == "exists":
        if not isinstance(arg, bool):
            raise _fail("must be true or false", file, where_op)
        return lambda s: bool(values_at(s.record, parts)) == arg
    if op == "in":
        if not isinstance(arg, list) or not arg:
            raise _fail("must be a non-empty list", file, where_op, "e.g. in: [customer, evangelist]")
        choices = list(arg)
        return lambda s: any(v in choices for v in values_at(s.record, parts) if not isinstance(v, dict | list))
    if isinstance(arg, dict | list) or arg is None:
        raise _fail("must be a single value", file, where_op, "use in: [...] for several values")
    if op == "eq":
        return lambda s: any(v == arg for v in values_at(s.record, parts))
    if op == "ne":
        return lambda s: not any(v == arg for v in values_at(s.record, parts))
    if op == "contains":
        text = str(arg).casefold()
        return lambda s: any(isinstance(v, str) and text in v.casefold() for v in values_at(s.record, parts))
    return _compare_values(parts, op, arg)


def _compare_values(parts: tuple[str, ...], op: str, arg: Any) -> Predicate:
    cmp = _cmp(op, arg)
    return lambda s: any(cmp(v) for v in values_at(s.record, parts))


def _comparable(value: Any, arg: Any) -> bool:
    numeric = (int, float)
    if isinstance(arg, bool) or isinstance(value, bool):
        return False
    both_numbers = isinstance(value, numeric) and isinstance(arg, numeric)
    return both_numbers or (isinstance(value, str) and isinstance(arg, str))


def _cmp(op: str, arg: Any) -> Callable[[Any], bool]:
    if isinstance(arg, datetime):  # YAML reads an unquoted date-time as one
        arg = arg.isoformat()
    elif hasattr(arg, "isoformat"):
        arg = arg.isoformat()
    tests = {"gte": lambda v: v >= arg, "gt": lambda v: v > arg, "lte": lambda v: v <= arg,
             "lt": lambda v: v < arg, "eq": lambda v: v == arg}
    test = tests[op]
    return lambda v: _comparable(v, arg) and test(v)


def _bounds(raw: Any, file: str, where: str) -> Callable[[float], bool]:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return lambda v: v >= raw
    if not isinstance(raw, dict) or not raw:
        raise _fail("must be a number (at least) or a mapping of gte/gt/lte/lt/eq", file, where, "e.g. {gte: 3}")
    tests = []
    for key, value in raw.items():
        if key not in COMPARE:
            raise _fail("unknown key", file, f"{where}.{key}",
                        validation.did_you_mean(str(key), COMPARE) or "use gte, gt, lte, lt or eq")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail("must be a number", file, f"{where}.{key}")
        tests.append(_cmp(key, value))
    return lambda v: all(t(v) for t in tests)


def _interactions(raw: Any, file: str, where: str, flags: list[bool]) -> Predicate:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise _fail("must be a mapping", file, where, "e.g. {type: event_registered, within_days: 90}")
    for key in raw:
        if key not in INTERACTION_KEYS:
            raise _fail("unknown key", file, f"{where}.{key}",
                        validation.did_you_mean(str(key), INTERACTION_KEYS) or "use " + ", ".join(INTERACTION_KEYS))
    select: list[tuple[str, frozenset[str]]] = []
    for key in SELECT_KEYS:
        if key in raw:
            value = raw[key]
            values = [value] if isinstance(value, str) else value
            if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
                raise _fail("must be a text or a list of texts", file, f"{where}.{key}")
            if key == "type":
                for i, v in enumerate(values):
                    if v not in interaction_types():
                        raise _fail(f"unknown interaction type '{v}'", file,
                                    f"{where}.type" + (f"[{i}]" if isinstance(value, list) else ""),
                                    validation.did_you_mean(v, interaction_types())
                                    or "use " + ", ".join(interaction_types()))
            select.append((key, frozenset(values)))
    days = raw.get("within_days")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or days < 1):
        raise _fail("must be a whole number of days, at least 1", file, f"{where}.within_days")
    count = _bounds(raw["count"], file, f"{where}.count") if "count" in raw else None
    amount = _bounds(raw["sum_amount"], file, f"{where}.sum_amount") if "sum_amount" in raw else None
    recency = _bounds(raw["recency_days"], file, f"{where}.recency_days") if "recency_days" in raw else None
    if days is not None or recency is not None:
        flags.append(True)
    if count is None and amount is None and recency is None:
        count = _bounds(1, file, where)

    def test(s: Subject) -> bool:
        since = s.now - timedelta(days=days) if days is not None else None
        n, total, newest = 0, 0.0, None
        for item in s.record.get("interactions") or ():
            if any(item.get(key) not in values for key, values in select):
                continue
            at = _when(item.get("at"))
            if since is not None and (at is None or at < since):
                continue
            n += 1
            amount_value = item.get("amount")
            if isinstance(amount_value, int | float) and not isinstance(amount_value, bool):
                total += amount_value
            if at is not None and (newest is None or at > newest):
                newest = at
        if count is not None and not count(n):
            return False
        if amount is not None and not amount(total):
            return False
        if recency is not None:
            if newest is None or not recency((s.now - newest).total_seconds() / 86400):
                return False
        return True

    return test


def _when(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def values_at(record: Any, parts: tuple[str, ...]) -> list[Any]:
    """Every value at ``parts``, searching lists on the way (and flattening a list at the end)."""
    current = [record]
    for part in parts:
        nxt = []
        for node in current:
            if isinstance(node, list):
                nxt.extend(item.get(part) for item in node if isinstance(item, dict))
            elif isinstance(node, dict):
                nxt.append(node.get(part))
        current = [v for v in nxt if v is not None]
        current = [x for v in current for x in (v if isinstance(v, list) else [v])]
    return [v for v in current if v != ""]


@cache
def _canonical() -> dict[str, Any]:
    from hub.canonical import canonical_schema

    return canonical_schema()


@cache
def interaction_types() -> tuple[str, ...]:
    return tuple(_canonical()["$defs"]["interaction"]["properties"]["type"]["enum"])


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = _canonical()["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    while node.get("type") == "array" and "items" in node:
        node = node["items"]
        while "$ref" in node:
            node = _canonical()["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def check_path(parts: tuple[str, ...], file: str, where: str) -> None:
    """A field path must name a field of the canonical record (person.*, organization.*)."""
    node: dict[str, Any] = {"properties": {"person": {"$ref": "#/$defs/person"},
                                           "organization": {"$ref": "#/$defs/organization"}}}
    for i, part in enumerate(parts):
        props = node.get("properties") or {}
        if part not in props:
            if not props and node.get("type") == "object":  # free-form (platform_ids kinds, details)
                return
            known = list(props)
            fix = validation.did_you_mean(part, known) or ("known here: " + ", ".join(known) if known else None)
            raise _fail(f"unknown field '{'.'.join(parts[:i + 1])}'", file, where, fix)
        node = _resolve(props[part])

"""The built-in mapping transforms, registered through ``register_transforms`` like any plugin's.

A transform is ``fn(value, **params) -> value``; see docs/mappings.md for each one. The engine
skips a transform when the value is missing unless ``fn.accepts_missing`` is true, and calls the
optional ``fn.prepare(**params) -> params`` once at load to check and precompute parameters (a
``TransformError`` there becomes a ``ConfigError``). ``fn.pure`` (set on every built-in) lets the
engine run a pipe once per distinct text value. Text transforms marked *each* work item by
item on a list. Bad data raises ``TransformError`` with a message that never holds the value.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from hub.hookspecs import hookimpl
from hub.mapping import names
from hub.mapping.engine import blank, walk
from hub.mapping.errors import TransformError

MAX_PATTERN = 200
_NO_DEFAULT = object()
_YAML_BOOLS = {True: ("true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"),
               False: ("false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF")}
TRUE_WORDS = frozenset("true t yes y 1 on 是 对 有 同意 √ ✓".split())
FALSE_WORDS = frozenset("false f no n 0 off 否 不 无 不同意 × ✗".split())


# -- helpers ---------------------------------------------------------------------------------------

def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    return {list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)


def _text(value: Any) -> str:
    """``value`` as text: strings as they are, numbers written plainly; anything else is refused."""
    if value.__class__ is str:
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    raise TransformError(f"expects text, got {_kind(value)}")


def _key(value: Any) -> str:
    """``value`` as a lookup key: trimmed text, true/false for booleans."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _text(value).strip()


def _each(function: Callable[..., Any]) -> Callable[..., Any]:
    """Apply ``function`` to every present item of a list value, dropping missing results."""
    @functools.wraps(function)
    def each(value: Any, **params: Any) -> Any:
        if value.__class__ is list:
            results = (function(item, **params) for item in value if not blank(item))
            return [result for result in results if not blank(result)]
        return function(value, **params)
    return each


def _as_tuple(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _quoted(formats: tuple[str, ...]) -> str:
    return ("format " if len(formats) == 1 else "formats ") + ", ".join(f"'{f}'" for f in formats)


def _zone(tz: str | tzinfo) -> tzinfo:
    return tz if isinstance(tz, tzinfo) else ZoneInfo(tz)


def _prepare_zone(tz: str) -> tzinfo:
    try:
        return ZoneInfo(tz)
    except (ValueError, KeyError):
        raise TransformError(f"unknown time zone '{tz}'",
                             fix="use an IANA name such as Asia/Shanghai") from None


# Formats that datetime.fromisoformat parses ~40x faster than strptime, with the separators they need.
_ISO_SHAPES = {
    "%Y-%m-%d": (10, ()),
    "%Y-%m-%d %H:%M": (16, ((10, " "), (13, ":"))),
    "%Y-%m-%d %H:%M:%S": (19, ((10, " "), (13, ":"), (16, ":"))),
    "%Y-%m-%dT%H:%M": (16, ((10, "T"), (13, ":"))),
    "%Y-%m-%dT%H:%M:%S": (19, ((10, "T"), (13, ":"), (16, ":"))),
}


def _parse(text: str, formats: tuple[str, ...]) -> datetime | None:
    for fmt in formats:
        shape = _ISO_SHAPES.get(fmt)
        if shape and len(text) == shape[0] and text[4] == "-" and text[7] == "-" and all(
                text[i] == sep for i, sep in shape[1]):
            try:
                parsed = datetime.fromisoformat(text)
                if parsed.tzinfo is None:
                    return parsed
            except ValueError:
                pass
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


# -- text ------------------------------------------------------------------------------------------

@_each
def strip(value: Any) -> str:
    return _text(value).strip()


@_each
def lower(value: Any) -> str:
    return _text(value).lower()


@_each
def upper(value: Any) -> str:
    return _text(value).upper()


@_each
def to_string(value: Any) -> str:
    return _key(value) if isinstance(value, bool) else _text(value)


@_each
def concat(value: Any, parts: list[str]) -> str:
    text = _text(value)
    return "".join(text if part == "{}" else part for part in parts)


def split(value: Any, sep: str | list[str] = ",") -> list[str]:
    if value.__class__ is list:
        return [part for item in value if not blank(item) for part in split(item, sep)]
    text, seps = _text(value), _as_tuple(sep)
    for other in seps[1:]:
        text = text.replace(other, seps[0])
    return [part.strip() for part in text.split(seps[0]) if part.strip()]


def join(value: Any, sep: str = " ") -> str:
    if value.__class__ is list:
        return sep.join(_text(item) for item in value if not blank(item))
    return _text(value)


def first(value: Any) -> Any:
    if value.__class__ is list:
        return next((item for item in value if not blank(item)), None)
    return value


def as_list(value: Any) -> list[Any]:
    return value if value.__class__ is list else [value]


@_each
def regex_extract(value: Any, pattern: re.Pattern[str], group: int | str = 0) -> str | None:
    match = pattern.search(_text(value))
    return match.group(group) if match else None


def _prepare_regex(pattern: str, group: int | str | None = None) -> dict[str, Any]:
    if len(pattern) > MAX_PATTERN:
        raise TransformError(f"pattern is longer than {MAX_PATTERN} characters", fix="simplify it")
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise TransformError(f"pattern does not compile: {exc.msg}",
                             fix="check the regular expression") from None
    if group is None:
        group = 1 if compiled.groups else 0
    if group not in compiled.groupindex and not (isinstance(group, int) and 0 <= group <= compiled.groups):
        raise TransformError(f"pattern has no group {group!r}", fix="count the parentheses or name the group")
    return {"pattern": compiled, "group": group}


regex_extract.prepare = _prepare_regex  # type: ignore[attr-defined]


# -- names -----------------------------------------------------------------------------------------

def split_name(value: Any, order: str = "auto") -> dict[str, str]:
    return names.split_name(_text(value), order)


def join_name(value: Any, order: str = "given_first") -> str | None:
    if value.__class__ is not list or len(value) != 2:
        raise TransformError("expects two source fields (given and family name)")
    given, family = value if order == "given_first" else value[::-1]
    return names.join_name(None if blank(given) else _text(given).strip(),
                           None if blank(family) else _text(family).strip())


# -- dates and times -------------------------------------------------------------------------------

def parse_date(value: Any, format: str | tuple[str, ...] = "%Y-%m-%d") -> str:
    if isinstance(value, date):
        return (value.date() if isinstance(value, datetime) else value).isoformat()
    formats = _as_tuple(format)
    parsed = _parse(_text(value).strip(), formats)
    if parsed is None:
        raise TransformError(f"cannot parse date with {_quoted(formats)}")
    return parsed.date().isoformat()


def parse_datetime(value: Any, format: str | tuple[str, ...] | None = None, tz: str | tzinfo = "UTC") -> str:
    if isinstance(value, datetime):
        parsed: datetime | None = value
    elif format is None:
        try:
            parsed = datetime.fromisoformat(_text(value).strip())
        except ValueError:
            raise TransformError("cannot parse an ISO 8601 date-time") from None
    else:
        formats = _as_tuple(format)
        parsed = _parse(_text(value).strip(), formats)
        if parsed is None:
            raise TransformError(f"cannot parse date-time with {_quoted(formats)}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_zone(tz))
    return parsed.isoformat()


def epoch_to_datetime(value: Any, unit: str = "s", tz: str | tzinfo = "UTC") -> str:
    try:
        if isinstance(value, bool):
            raise ValueError
        number = value if isinstance(value, (int, float)) else float(_text(value).strip())
    except ValueError:
        raise TransformError(f"expects a number of {'milliseconds' if unit == 'ms' else 'seconds'}") from None
    seconds, millis = divmod(number, 1000) if unit == "ms" else (number, 0)
    try:
        moment = datetime.fromtimestamp(seconds, _zone(tz))
    except (OverflowError, OSError, ValueError):
        raise TransformError("timestamp out of range") from None
    return moment.replace(microsecond=moment.microsecond + int(millis * 1000)).isoformat()


def _prepare_date(format: str | list[str] = "%Y-%m-%d") -> dict[str, Any]:
    return {"format": _as_tuple(format)}


def _prepare_zoned(tz: str = "UTC", **rest: Any) -> dict[str, Any]:
    if "format" in rest:
        rest["format"] = _as_tuple(rest["format"])
    return {"tz": _prepare_zone(tz), **rest}


parse_date.prepare = _prepare_date  # type: ignore[attr-defined]
parse_datetime.prepare = _prepare_zoned  # type: ignore[attr-defined]
epoch_to_datetime.prepare = _prepare_zoned  # type: ignore[attr-defined]


# -- values ----------------------------------------------------------------------------------------

@_each
def lookup(value: Any, table: dict[str, Any], default: Any = _NO_DEFAULT,
           case_insensitive: bool = False) -> Any:
    key = _key(value)
    found = table.get(key.casefold() if case_insensitive else key, _NO_DEFAULT)
    if found is not _NO_DEFAULT:
        return found
    if default is _NO_DEFAULT:
        raise TransformError("value not in the lookup table", fix="add it to the table or set a default")
    return default


def _prepare_lookup(table: dict[Any, Any], default: Any = _NO_DEFAULT,
                    case_insensitive: bool = False) -> dict[str, Any]:
    """String keys as written; YAML's ``yes``/``no``/``on``/``off``/``true``/``false`` keys
    (read as booleans) match every spelling YAML would have read as that boolean."""
    fold = str.casefold if case_insensitive else str
    prepared = {fold(_key(key)): value for key, value in table.items() if not isinstance(key, bool)}
    for key, value in table.items():
        if isinstance(key, bool):
            for spelling in _YAML_BOOLS[key]:
                prepared.setdefault(fold(spelling), value)
    return {"table": prepared, "default": default, "case_insensitive": case_insensitive}


lookup.prepare = _prepare_lookup  # type: ignore[attr-defined]


def to_bool(value: Any, true: frozenset[str] = TRUE_WORDS, false: frozenset[str] = FALSE_WORDS) -> bool:
    if isinstance(value, bool):
        return value
    key = _key(value).casefold()
    if key in true:
        return True
    if key in false:
        return False
    raise TransformError("not a recognised true/false value", fix="add it to the 'true' or 'false' list")


def _prepare_bool(true: list[Any] | None = None, false: list[Any] | None = None) -> dict[str, Any]:
    def words(items: list[Any] | None, fallback: frozenset[str]) -> frozenset[str]:
        if items is None:
            return fallback
        out = {_key(item).casefold() for item in items if not isinstance(item, bool)}
        out.update(s.casefold() for item in items if isinstance(item, bool) for s in _YAML_BOOLS[item])
        return frozenset(out)
    return {"true": words(true, TRUE_WORDS), "false": words(false, FALSE_WORDS)}


to_bool.prepare = _prepare_bool  # type: ignore[attr-defined]


@_each
def to_number(value: Any) -> int | float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = _text(value).strip().replace(",", "").replace("_", "")
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        raise TransformError("not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise TransformError("not a finite number")
    return number


def default_value(current: Any, value: Any) -> Any:
    return value if current is None or blank(current) else current


default_value.accepts_missing = True  # type: ignore[attr-defined]


def pick(value: Any, key_field: str, key: Any, value_field: tuple[tuple[str, int | None], ...]) -> Any:
    if value.__class__ is not list:
        raise TransformError("expects a list of objects")
    for item in value:
        if isinstance(item, dict) and item.get(key_field) == key:
            return walk(item, value_field)
    return None


def _prepare_pick(key_field: str, key: Any, value_field: str) -> dict[str, Any]:
    parts = tuple((part, int(part) if part.isdigit() else None) for part in value_field.split("."))
    return {"key_field": key_field, "key": key, "value_field": parts}


pick.prepare = _prepare_pick  # type: ignore[attr-defined]


# -- registration ----------------------------------------------------------------------------------

def _params(properties: dict[str, Any] | None = None, required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": properties or {}}
    if required:
        schema["required"] = list(required)
    return schema


_TEXT = {"type": "string"}
_TEXTS = {"type": ["string", "array"], "minLength": 1, "minItems": 1,
          "items": {"type": "string", "minLength": 1}}
_FORMATS = {**_TEXTS, "x-fix": "give a format such as '%Y-%m-%d', or a list of formats"}
_ZONE = {"type": "string", "minLength": 1, "x-fix": "use an IANA name such as Asia/Shanghai"}
_SCALARS = {"type": "array", "items": {"type": ["string", "number", "boolean"]}}

BUILTINS: tuple[tuple[str, Callable[..., Any], dict[str, Any]], ...] = (
    ("strip", strip, _params()),
    ("lower", lower, _params()),
    ("upper", upper, _params()),
    ("to_string", to_string, _params()),
    ("first", first, _params()),
    ("as_list", as_list, _params()),
    ("join", join, _params({"sep": _TEXT})),
    ("concat", concat, _params({"parts": {"type": "array", "minItems": 1, "items": _TEXT}}, ("parts",))),
    ("split", split, _params({"sep": _TEXTS})),
    ("split_name", split_name, _params({"order": {"enum": ["auto", "family_first", "given_first"]}})),
    ("join_name", join_name, _params({"order": {"enum": ["given_first", "family_first"]}})),
    ("parse_date", parse_date, _params({"format": _FORMATS})),
    ("parse_datetime", parse_datetime, _params({"format": _FORMATS, "tz": _ZONE})),
    ("epoch_to_datetime", epoch_to_datetime, _params({"unit": {"enum": ["s", "ms"]}, "tz": _ZONE})),
    ("lookup", lookup, _params({"table": {"type": "object", "minProperties": 1}, "default": {},
                                "case_insensitive": {"type": "boolean"}}, ("table",))),
    ("to_bool", to_bool, _params({"true": _SCALARS, "false": _SCALARS})),
    ("to_number", to_number, _params()),
    ("regex_extract", regex_extract, _params({"pattern": {"type": "string", "minLength": 1},
                                              "group": {"type": ["integer", "string"]}}, ("pattern",))),
    ("default", default_value, _params({"value": {}}, ("value",))),
    ("pick", pick, _params({"key_field": {"type": "string", "minLength": 1},
                            "key": {"type": ["string", "number", "boolean"]},
                            "value_field": {"type": "string", "minLength": 1}},
                           ("key_field", "key", "value_field"))),
)


for _name, _function, _schema in BUILTINS:
    _function.pure = True  # type: ignore[attr-defined]  # a function of value and params only


@hookimpl
def register_transforms(register):
    for name, function, params_schema in BUILTINS:
        register(name, function, params_schema)

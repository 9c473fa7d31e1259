"""The answers of one form event as a flat ``{field: value}`` dict, the same way for every provider.

Mappings read ``fields.<name>``: a Typeform answer by its field ``ref``, a Facebook lead's
``field_data`` by ``name``, a Jotform answer by its unique name (``q3_fullName3`` gives
``fullName3`` and, unless taken, ``fullName``), a generic or WeChat form field by its name.
"""

from __future__ import annotations

import re
from typing import Any

_JOTFORM_KEY = re.compile(r"^q\d+_(.+)$")


def form_fields(provider: str, payload: dict[str, Any]) -> dict[str, Any]:
    if provider == "typeform":
        return typeform_fields(payload.get("form_response") or {})
    if provider == "facebook":
        return facebook_fields(payload.get("lead") or {})
    if provider == "jotform":
        return jotform_fields(payload.get("rawRequest") or {})
    return {k: v for k, v in payload.items() if isinstance(k, str)}


def typeform_fields(response: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for answer in response.get("answers") or []:
        if not isinstance(answer, dict):
            continue
        field = answer.get("field") or {}
        key = field.get("ref") or field.get("id")
        if key:
            fields[key] = _typeform_value(answer)
    return fields


def _typeform_value(answer: dict[str, Any]) -> Any:
    value = answer.get(answer.get("type") or "")
    if answer.get("type") == "choice" and isinstance(value, dict):
        return value.get("label") or value.get("other")
    if answer.get("type") == "choices" and isinstance(value, dict):
        return [*(value.get("labels") or []), *([value["other"]] if value.get("other") else [])]
    return value


def facebook_fields(lead: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for item in lead.get("field_data") or []:
        if isinstance(item, dict) and item.get("name"):
            values = item.get("values") or []
            fields[item["name"]] = values[0] if len(values) == 1 else values
    return fields


def jotform_fields(raw_request: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key, value in raw_request.items():
        match = _JOTFORM_KEY.match(key)
        if match:
            fields[match.group(1)] = value
    for name, value in list(fields.items()):
        base = re.sub(r"\d+$", "", name)
        if base and base not in fields:
            fields[base] = value
    return fields

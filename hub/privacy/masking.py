"""Masking: one way to hide values, used alike by the CLI, the admin API, exports and logs.

``mask_record(record, role)`` keeps the values of the tiers ``role`` may see and masks the rest;
``mask_value(value, tier, field)`` gives the masked form, in the formats usual in China: mobile
``138****8000``, e-mail ``z***@example.com``, name ``张*`` / ``张*丰``, ID card
``110101********1234``, platform ids with the last 4 kept, anything else ``***``.
"""

from __future__ import annotations

import re
from typing import Any

from hub.privacy.tiers import GENERAL, Role, role_named, tier_of

MASK = "***"
_CN_ID = re.compile(r"\d{17}[\dXx]")
_PHONEISH = re.compile(r"\+?[\d\s()-]{7,20}")
_NAME_FIELDS = {"full", "family", "given", "nickname", "name", "raw_name"}
_ID_FIELDS = {"wechat_openid", "wechat_unionid", "weibo_uid", "facebook_id", "id", "registration_id"}


def mask_email(text: str) -> str:
    local, _, domain = text.rpartition("@")
    return f"{local[:1]}{MASK}@{domain}" if local else MASK


def mask_phone(text: str) -> str:
    compact = re.sub(r"[\s()-]", "", text)
    if len(compact) < 8:
        return MASK
    return f"{compact[:-8]}****{compact[-4:]}" if len(compact) >= 11 else f"{compact[:2]}****{compact[-2:]}"


def mask_name(text: str) -> str:
    text = text.strip()
    if not text:
        return MASK
    if text.isascii():
        return f"{text[0]}{MASK}"
    if len(text) <= 2:
        return text[0] + "*" * (len(text) - 1 or 1)
    return text[0] + "*" * (len(text) - 2) + text[-1]


def mask_id(text: str) -> str:
    if _CN_ID.fullmatch(text):
        return f"{text[:6]}********{text[-4:]}"
    return f"{MASK}{text[-4:]}" if len(text) >= 8 else MASK


def mask_value(value: Any, tier: str, field: str | None = None) -> Any:
    """The masked form of ``value``, a field of tier ``tier`` (its path in ``field`` picks the format)."""
    if value is None or value == "":
        return value
    if not isinstance(value, str):
        return MASK
    leaf = (field or "").rsplit(".", 1)[-1].replace("[]", "")
    if "@" in value and (leaf in ("address", "email", "raw", "") or "email" in (field or "")):
        return mask_email(value)
    if leaf in ("number", "phone", "mobile") or (leaf in ("raw", "") and _PHONEISH.fullmatch(value)):
        return mask_phone(value)
    if _CN_ID.fullmatch(value) or leaf in _ID_FIELDS:
        return mask_id(value)
    if leaf in _NAME_FIELDS:
        return mask_name(value)
    if tier == GENERAL:
        return f"{value[:1]}{MASK}"
    return MASK


def _mask(node: Any, path: str, role: Role) -> Any:
    if isinstance(node, dict):
        return {k: _mask(v, f"{path}.{k}" if path else str(k), role) for k, v in node.items()}
    if isinstance(node, list):
        tier = tier_of(f"{path}[]")
        if all(not isinstance(v, dict | list) for v in node):
            return list(node) if role.may_see(tier) else [mask_value(v, tier, f"{path}[]") for v in node]
        return [_mask(v, f"{path}[]", role) for v in node]
    tier = tier_of(path)
    return node if role.may_see(tier) else mask_value(node, tier, path)


def mask_record(record: dict[str, Any], role: Role | str, roles: dict[str, Role] | None = None) -> dict[str, Any]:
    """A copy of canonical ``record`` with every value ``role`` may not see masked."""
    if isinstance(role, str):
        role = role_named(role, roles)
    return _mask(record, "", role)


def unmasked_fields(record: dict[str, Any], role: Role | str, roles: dict[str, Role] | None = None) -> list[str]:
    """The paths of the non-general fields ``role`` sees in clear in ``record``: what to audit."""
    if isinstance(role, str):
        role = role_named(role, roles)
    found: set[str] = set()

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(node, list):
            for v in node:
                walk(v, f"{path}[]")
        elif node not in (None, "") and tier_of(path) != GENERAL and role.may_see(tier_of(path)):
            found.add(path)

    walk(record, "")
    return sorted(found)

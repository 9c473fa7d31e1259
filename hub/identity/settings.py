"""Identity-resolution settings: the ``identity`` section of the config, with safe defaults.

Everything that decides whether two records are one person is here, so a run can be explained by
its settings: thresholds (as match probabilities), per-identifier-type rules (CDP-style limits),
blocked values, common-name handling and survivorship rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from hub.errors import ConfigError


@dataclass(frozen=True)
class KeyRule:
    """How one identifier type may link records.

    ``limit``: most distinct values of this type one profile may hold (1 = unique, as a WeChat
    unionid). ``max_records``/``max_names``: a value held by more records, or by records with more
    distinct names, is shared (a switchboard, info@) and stops being a key. ``priority``: lower
    links first, so a conflict is settled in favour of the stronger identifier.
    """

    limit: int = 5
    max_records: int = 50
    max_names: int = 3
    priority: int = 5


DEFAULT_KEY_RULES: dict[str, KeyRule] = {
    "wechat_unionid": KeyRule(limit=1, max_records=200, max_names=2, priority=1),
    "wechat_openid": KeyRule(limit=1, max_records=200, max_names=2, priority=1),  # per app
    "facebook_id": KeyRule(limit=1, max_records=200, max_names=2, priority=1),
    "weibo_uid": KeyRule(limit=1, max_records=200, max_names=2, priority=1),
    "crm": KeyRule(limit=1, max_records=200, max_names=2, priority=2),  # per CRM system
    "email": KeyRule(limit=5, max_records=50, max_names=3, priority=3),
    "phone": KeyRule(limit=5, max_records=50, max_names=3, priority=4),
}

# Values that are never keys (matched against the normalised value, before hashing).
DEFAULT_BLOCKED: dict[str, tuple[str, ...]] = {
    "email": (
        r"^(info|sales|admin|support|service|contact|hello|office|hr|marketing|noreply|no-reply|"
        r"webmaster|postmaster|enquiries|inquiry|team|help|kefu|business)@",
        r"^(test|noemail|none|null|na|n\.a|unknown|example)@", r"@(example\.(com|cn|org))$",
    ),
    "phone": (r"^\+861[3-9]\d0{8}$",  # 13800000000, 13900000000 ...
              r"^\+\d{1,3}(\d)\1{6,}$",  # one digit repeated: 11111111111, 00000000
              r"^\+\d{1,3}(0?12345678\d?|98765432\d?)$", r"^\+86(400|800)\d+$"),
    "*": (r"^(null|none|nil|n/?a|unknown|anonymous|test|-1|0+|void|abc123)$",),
}

SURVIVORSHIP_RULES = ("source_priority", "most_recent", "most_complete", "most_frequent")
DEFAULT_FIELD_RULES: dict[str, str] = {
    "name": "most_complete", "gender": "most_frequent", "birth_date": "source_priority",
    "employer": "most_recent", "title": "most_recent", "department": "most_recent",
    "language": "most_recent", "lifecycle_stage": "most_recent",
}


@dataclass(frozen=True)
class IdentitySettings:
    resolve_after_ingest: bool = True
    match_threshold: float = 0.95  # auto-link at or above this match probability
    review_threshold: float = 0.50  # between the two: review queue
    common_name_share: float = 0.0005  # a name carried by more than this share of records is common
    common_name_min_records: int = 20  # ... and by at least this many records
    common_name_min_agreements: int = 2  # fields besides the name a common-name pair must agree on
    max_block_size: int = 100  # candidate blocks larger than this are skipped (their pairs are too many)
    max_cluster_records: int = 500  # a profile never grows past this many source records
    em_max_pairs: int = 300_000
    key_rules: dict[str, KeyRule] = field(default_factory=lambda: dict(DEFAULT_KEY_RULES))
    blocked: dict[str, tuple[re.Pattern[str], ...]] = field(default_factory=lambda: _compile(DEFAULT_BLOCKED))
    source_priority: tuple[str, ...] = ()  # connection names, most trusted first
    default_rule: str = "most_recent"
    field_rules: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_FIELD_RULES))

    def rule_for(self, kind: str) -> KeyRule:
        return self.key_rules.get(kind, KeyRule())

    combined: dict[str, re.Pattern[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "combined", _combined(self.blocked))

    def is_blocked(self, kind: str, value: str) -> bool:
        pattern = self.combined.get(kind) or self.combined["*"]
        return pattern.search(value) is not None


def _combined(blocked: dict[str, tuple[re.Pattern[str], ...]]) -> dict[str, re.Pattern[str]]:
    """One alternation per identifier type (its own patterns and the ``*`` ones): one search per value."""
    every = blocked.get("*", ())
    return {kind: re.compile("|".join(f"(?:{p.pattern})" for p in (*patterns, *every)) or "(?!)", re.IGNORECASE)
            for kind, patterns in {**blocked, "*": ()}.items()}


def _compile(patterns: dict[str, tuple[str, ...]]) -> dict[str, tuple[re.Pattern[str], ...]]:
    return {kind: tuple(re.compile(p, re.IGNORECASE) for p in items) for kind, items in patterns.items()}


def parse_identity(raw: dict[str, Any] | None, file: str = "") -> IdentitySettings:
    """Settings from the config's ``identity`` mapping (already validated by the JSON Schema)."""
    settings = IdentitySettings()
    if not raw:
        return settings
    scalars = {k: raw[k] for k in ("resolve_after_ingest", "match_threshold", "review_threshold", "common_name_share",
                                   "common_name_min_records", "common_name_min_agreements",
                                   "max_block_size", "max_cluster_records") if k in raw}
    settings = replace(settings, **scalars)
    rules = dict(settings.key_rules)
    for kind, body in (raw.get("keys") or {}).items():
        rules[kind] = replace(rules.get(kind, KeyRule()), **body)
    if settings.review_threshold >= settings.match_threshold:
        raise ConfigError("must be below identity.match_threshold", file=file, path="identity.review_threshold",
                          fix=f"use a probability below {settings.match_threshold}")
    blocked = dict(DEFAULT_BLOCKED)
    for kind, patterns in (raw.get("blocked_values") or {}).items():
        for i, pattern in enumerate(patterns):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ConfigError(f"not a regular expression ({exc.msg})", file=file,
                                  path=f"identity.blocked_values.{kind}[{i}]",
                                  fix="escape special characters") from None
        blocked[kind] = (*blocked.get(kind, ()), *patterns)
    surv = raw.get("survivorship") or {}
    field_rules = {**settings.field_rules, **(surv.get("fields") or {})}
    return replace(settings, key_rules=rules, blocked=_compile(blocked),
                   source_priority=tuple(surv.get("source_priority", ())),
                   default_rule=surv.get("default", settings.default_rule), field_rules=field_rules)

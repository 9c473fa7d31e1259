"""Exports of identity results that go through masking, pseudonyms and formula-injection safety.

Rows are flat dicts; each column that can hold personal data has a canonical path that gives its
tier (``email`` is ``person.emails[].address``). A value is written in clear only when the viewer
asked ``--unmask`` and its role may see the tier; with a ``Pseudonymiser`` the identifying columns
(profile id, source key, name, e-mail, phone) become keyed pseudonyms (``psn_…``) instead, for
analysis that needs to count and join people but not to know who they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from hub.privacy.access import Viewer
from hub.privacy.export_safety import Pseudonymiser
from hub.privacy.masking import mask_value
from hub.privacy.tiers import GENERAL, tier_of

LINK_COLUMNS = ("connection", "stream", "source_pk", "profile_id")
PROFILE_COLUMNS = ("profile_id", "member_count", "name", "email", "phone", "employer", "city", "updated_at")
# Column -> canonical path (its tier). A source's own key can be a platform id (a WeChat openid).
COLUMN_PATHS = {"source_pk": "provenance.source_pk", "name": "person.name.full",
                "email": "person.emails[].address", "phone": "person.phones[].number",
                "employer": "person.employer", "city": "person.addresses[].city"}
PSEUDONYM_KINDS = {"profile_id": "profile", "source_pk": "source_pk", "name": "name", "email": "email",
                   "phone": "phone"}


def protect_row(row: Mapping[str, Any], viewer: Viewer, pseudonymiser: Pseudonymiser | None = None) -> dict[str, Any]:
    """``row`` with every personal column masked, pseudonymised or (when allowed) left in clear."""
    out = dict(row)
    seen = set()
    for column, value in row.items():
        if value in (None, ""):
            continue
        if pseudonymiser is not None and column in PSEUDONYM_KINDS:
            out[column] = pseudonymiser.pseudonym(PSEUDONYM_KINDS[column], str(value))
            continue
        path = COLUMN_PATHS.get(column)
        if path is None:
            continue
        tier = tier_of(path)
        if viewer.unmask and viewer.role.may_see(tier):
            if tier != GENERAL:
                seen.add(path)
        else:
            out[column] = mask_value(str(value), tier, path)
    viewer.note(seen)
    return out


def flat_profile(profile: Mapping[str, Any]) -> dict[str, Any]:
    """The main fields of an exported golden profile (``hub.identity.export.iter_profiles``) as one row."""
    golden = profile["golden"]
    fields = golden.get("fields", {})
    name = (fields.get("name") or {}).get("value") or {}

    def first(key: str, attr: str) -> Any:
        return ((golden.get(key) or [{}])[0].get("value") or {}).get(attr)

    return {"profile_id": profile["profile_id"], "member_count": profile["member_count"],
            "name": name.get("full") or " ".join(x for x in (name.get("family"), name.get("given")) if x),
            "email": first("emails", "address"), "phone": first("phones", "number"),
            "employer": (fields.get("employer") or {}).get("value"), "city": first("addresses", "city"),
            "updated_at": profile["updated_at"]}


def protected_rows(rows: Iterable[Mapping[str, Any]], columns: tuple[str, ...], viewer: Viewer,
                   pseudonymiser: Pseudonymiser | None = None) -> Iterator[list[Any]]:
    """Each row protected, as a list in ``columns`` order (for ``write_csv``/``write_xlsx``)."""
    for row in rows:
        safe = protect_row(row, viewer, pseudonymiser)
        yield [safe.get(c) for c in columns]

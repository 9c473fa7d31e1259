"""HubSpot CRM destination (contacts or another object): batch upsert with ``idProperty``.

* ``POST /crm/v3/objects/{object}/batch/upsert``, at most 100 inputs, ``idProperty`` = a unique
  property holding the custhub id (or e.g. ``email``). One duplicate id rejects the WHOLE batch, so
  ids are de-duplicated (case-insensitively) before sending: a repeat goes in a later request.
* 200 all done; 207 with ``numErrors`` and ``errors[].context.objectWriteTraceId`` naming the rows.
* 429 by ``policyName``: ``TEN_SECONDLY_ROLLING`` waits ~10 s; ``DAILY`` ends the run, rest deferred.
* HubSpot error messages can echo values, so reasons keep only ``category`` and property names.
* Erasure: contacts by ``POST /crm/v3/objects/contacts/gdpr-delete`` ``{"objectId": id}`` (permanent,
  GDPR-compliant), other objects by ``DELETE /crm/v3/objects/{object}/{id}``; 204 done, 404 not there.
  Without a known id the record is looked up first: ``GET /crm/v3/objects/{object}/{custhub id}?idProperty=``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import requests

from connectors.destinations.common import PRIVACY_PROPS, SECRET, as_text, by_op, http, json_body, not_present
from hub.errors import ConnectorError
from hub.sync.destination import OutRow, RowResult
from hub.sync.errors import BatchRejected, RateLimited
from hub.sync.retry import parse_retry_after

SPEC = {"type": "object", "additionalProperties": False, "required": ["access_token"], "properties": {
    "access_token": SECRET, "base_url": {"type": "string", "default": "https://api.hubapi.com"},
    "object": {"type": "string", "default": "contacts"},
    "id_property": {"type": "string", "description": "unique property to upsert on (default: the mapping key)"},
    "batch_size": {"type": "integer", "minimum": 1, "maximum": 100}, "timeout": {"type": "number"},
    "max_attempts": {"type": "integer", "minimum": 1}, "fail_max": {"type": "integer", "minimum": 1},
    "reset_timeout": {"type": "number", "minimum": 0}, **PRIVACY_PROPS}}
_PROPERTY = re.compile(r'\\?"error\\?":\\?"([A-Z_]+)\\?",\\?"name\\?":\\?"([A-Za-z0-9_]+)')


def reason_of(error: dict[str, Any]) -> tuple[str, str]:
    """(code, value-free reason) of a HubSpot error object."""
    category = str(error.get("category") or "ERROR")
    found = _PROPERTY.findall(str(error.get("message") or ""))
    if found:
        return category, "; ".join(f"{code} {name}" for code, name in found)
    return category, category


def _seconds_to_midnight() -> float:
    now = datetime.now(UTC)
    return ((now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0) - now).total_seconds()


class HubSpotWriter:
    def __init__(self, config: Mapping[str, Any], key_field: str, session: requests.Session | None = None) -> None:
        self.config = config
        self.key = key_field
        self.id_property = config.get("id_property") or key_field
        self.session = session or requests.Session()
        self.base = config.get("base_url", "https://api.hubapi.com").rstrip("/")
        self.object = config.get("object", "contacts")
        self.batch_size = min(100, int(config.get("batch_size", 100)))
        self.timeout = float(config.get("timeout", 30))

    def _post(self, path: str, body: dict[str, Any]) -> requests.Response:
        return self._request("POST", f"/crm/v3/objects/{self.object}/batch/{path}", json=body)

    def _request(self, method: str, path: str, *, missing_ok: bool = False, **kwargs: Any) -> requests.Response:
        response = http(self.session, method, f"{self.base}{path}", timeout=self.timeout,
                        headers={"Authorization": f"Bearer {self.config['access_token']}"}, **kwargs)
        if missing_ok and response.status_code == 404:
            return response
        data = json_body(response)
        if response.status_code == 429:
            policy = str(data.get("policyName") or "")
            if policy == "DAILY":
                raise RateLimited("HubSpot: DAILY limit reached", scope="daily", retry_after=_seconds_to_midnight())
            raise RateLimited(f"HubSpot: {policy or 'rate limit'}", scope="burst",
                              retry_after=parse_retry_after(response.headers.get("Retry-After")))
        if response.status_code in (401, 403):
            raise ConnectorError(f"HubSpot: HTTP {response.status_code} {data.get('category', '')}".strip())
        if response.status_code >= 400:
            code, reason = reason_of(data)
            raise BatchRejected(f"HubSpot: {reason}", code=code)
        return response

    def _results(self, response: requests.Response, rows: list[OutRow]) -> list[RowResult]:
        body = json_body(response)
        ok = {str(r.get("objectWriteTraceId")): str(r.get("id")) for r in body.get("results") or []}
        failed: dict[str, tuple[str, str]] = {}
        for error in body.get("errors") or []:
            for trace in (error.get("context") or {}).get("objectWriteTraceId") or []:
                failed[str(trace)] = reason_of(error)
        out = []
        for row in rows:
            trace = str(row.outbox_id)
            if trace in failed:
                out.append(RowResult.rejected(*failed[trace]))
            elif trace in ok:
                out.append(RowResult.ok(ok[trace]))
            elif len(rows) == 1 and body.get("results") and not body.get("numErrors"):
                out.append(RowResult.ok(str(body["results"][0].get("id"))))
            else:
                out.append(RowResult.rejected("NO_RESULT", "HubSpot returned no result for this row"))
        return out

    def upsert(self, rows: list[OutRow]) -> list[RowResult]:
        results: dict[int, RowResult] = {}
        pending = list(rows)
        while pending:  # one id per request: a duplicate inside a batch fails the whole batch
            seen: set[str] = set()
            batch, later = [], []
            for row in pending:
                ident = as_text(row.payload.get(self.id_property, row.profile_id)).strip().lower()
                (later if ident in seen else batch).append(row)
                seen.add(ident)
            inputs = [{"idProperty": self.id_property, "id": as_text(r.payload.get(self.id_property, r.profile_id)),
                       "properties": {k: as_text(v) for k, v in r.payload.items()},
                       "objectWriteTraceId": str(r.outbox_id)} for r in batch]
            found = self._results(self._post("upsert", {"inputs": inputs}), batch)
            results.update({r.outbox_id: res for r, res in zip(batch, found, strict=True)})
            pending = later
        return [results[r.outbox_id] for r in rows]

    def update(self, rows: list[OutRow]) -> list[RowResult]:
        inputs = [{"id": r.external_id, "properties": {k: as_text(v) for k, v in r.payload.items()},
                   "objectWriteTraceId": str(r.outbox_id)} for r in rows]
        return self._results(self._post("update", {"inputs": inputs}), rows)

    def delete(self, rows: list[OutRow]) -> list[RowResult]:
        self._post("archive", {"inputs": [{"id": r.external_id} for r in rows]})
        return [RowResult.ok(r.external_id) for r in rows]

    def find(self, profile_id: str) -> str | None:
        """The HubSpot id of the record whose id property holds ``profile_id``, if any."""
        response = self._request("GET", f"/crm/v3/objects/{self.object}/{quote(profile_id, safe='')}",
                                 params={"idProperty": self.id_property, "properties": self.id_property},
                                 missing_ok=True)
        return None if response.status_code == 404 else str(json_body(response).get("id") or "") or None

    def erase(self, rows: list[OutRow]) -> list[RowResult]:
        out = []
        for row in rows:
            record_id = row.external_id or self.find(row.profile_id)
            if record_id is None:
                out.append(not_present())
                continue
            if self.object == "contacts":
                response = self._request("POST", "/crm/v3/objects/contacts/gdpr-delete",
                                         json={"objectId": record_id}, missing_ok=True)
            else:
                response = self._request("DELETE", f"/crm/v3/objects/{self.object}/{quote(record_id, safe='')}",
                                         missing_ok=True)
            out.append(not_present(record_id) if response.status_code == 404 else RowResult.ok(record_id))
        return out

    def write(self, rows: list[OutRow]) -> list[RowResult]:
        return by_op(rows, {"upsert": self.upsert, "update": self.update, "delete": self.delete,
                            "erase": self.erase})

    def close(self) -> None:
        self.session.close()


class HubSpotDestination:
    name = "hubspot"
    description = "HubSpot CRM objects (contacts, ...): batch upsert on a unique id property"
    erasure_capabilities = ("delete", "anonymise")

    def spec(self) -> dict[str, Any]:
        return SPEC

    def open(self, config: Mapping[str, Any], *, key_field: str) -> HubSpotWriter:
        return HubSpotWriter(config, key_field)

"""Zoho CRM destination (Leads, Contacts or any module): upsert 100 per call, 207 read row by row.

* ``POST {api_domain}/crm/v2/{module}/upsert`` with ``duplicate_check_fields`` = the custhub id field
  (a unique custom field), so a resend after a crash updates instead of creating twice.
* HTTP 200/207/400 carry ``data[]`` in input order; each entry is a success or the row's error.
* ``Authorization: Zoho-oauthtoken <token>``; a 401 ``INVALID_TOKEN`` refreshes once. The token
  endpoint may answer HTTP 200 with ``{"error": ...}``: that is a failure.
* 429 ``TOO_MANY_REQUESTS``: wait ``Retry-After`` (or ``details.retry_after``).
* Erasure: ``DELETE /crm/v2/{module}?ids=...`` (a record not found, ``INVALID_DATA``, is not present);
  without a known id, ``GET /crm/v2/{module}/search?criteria=(<key>:equals:<custhub id>)`` first
  (204 No Content: not there).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from connectors.destinations.common import PRIVACY_PROPS, SECRET, by_op, http, json_body, not_present
from hub.errors import ConnectorError
from hub.sync.destination import OutRow, RowResult
from hub.sync.errors import AuthExpired, BatchRejected, RateLimited
from hub.sync.retry import parse_retry_after

SPEC = {"type": "object", "additionalProperties": False,
        "required": ["client_id", "client_secret", "refresh_token"], "properties": {
            "accounts_url": {"type": "string", "default": "https://accounts.zoho.com"},
            "api_domain": {"type": "string", "description": "overrides the api_domain of the token response"},
            "client_id": {"type": "string"}, "client_secret": SECRET, "refresh_token": SECRET,
            "module": {"type": "string", "default": "Leads"},
            "api_version": {"type": "string", "default": "v2"},
            "duplicate_check_fields": {"type": "array", "items": {"type": "string"}},
            "trigger": {"type": "array", "items": {"type": "string"}},
            "batch_size": {"type": "integer", "minimum": 1, "maximum": 100},
            "timeout": {"type": "number"}, "max_attempts": {"type": "integer", "minimum": 1},
            "fail_max": {"type": "integer", "minimum": 1}, "reset_timeout": {"type": "number", "minimum": 0},
            **PRIVACY_PROPS}}


def row_result(entry: Any) -> RowResult:
    """One element of Zoho's ``data[]``: success with the record id, or the row's error (value-free)."""
    if not isinstance(entry, dict):
        return RowResult.rejected("NO_RESULT", "no result for this row")
    if entry.get("status") == "success":
        return RowResult.ok(str((entry.get("details") or {}).get("id") or "") or None)
    details = entry.get("details") or {}
    field = details.get("api_name")
    code = str(entry.get("code") or "ERROR")
    return RowResult.rejected(code, f"{code} on field {field}" if field else code)


class ZohoWriter:
    def __init__(self, config: Mapping[str, Any], key_field: str, session: requests.Session | None = None) -> None:
        self.config = config
        self.key = key_field
        self.session = session or requests.Session()
        self.batch_size = min(100, int(config.get("batch_size", 100)))
        self.timeout = float(config.get("timeout", 30))
        self.module = config.get("module", "Leads")
        self.version = config.get("api_version", "v2")
        self.token: str | None = None
        self.api_domain: str | None = config.get("api_domain")

    def refresh(self) -> None:
        accounts = self.config.get("accounts_url", "https://accounts.zoho.com").rstrip("/")
        response = http(self.session, "POST", f"{accounts}/oauth/v2/token", timeout=self.timeout, params={
            "refresh_token": self.config["refresh_token"], "client_id": self.config["client_id"],
            "client_secret": self.config["client_secret"], "grant_type": "refresh_token"})
        body = json_body(response)
        if response.status_code != 200 or "error" in body or "access_token" not in body:
            code = body.get("error") or f"HTTP {response.status_code}"
            raise ConnectorError(f"Zoho token refresh failed ({code}); check client_id, client_secret and "
                                 "refresh_token")
        self.token = body["access_token"]
        self.api_domain = self.config.get("api_domain") or body.get("api_domain") or "https://www.zohoapis.com"

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        for attempt in (1, 2):
            if self.token is None:
                self.refresh()
            url = f"{self.api_domain.rstrip('/')}/crm/{self.version}/{self.module}{path}"
            response = http(self.session, method, url, timeout=self.timeout,
                            headers={"Authorization": f"Zoho-oauthtoken {self.token}"}, **kwargs)
            if response.status_code == 401 and attempt == 1:
                self.token = None  # INVALID_TOKEN: refresh once
                continue
            break
        body = json_body(response)
        if response.status_code == 401:
            raise AuthExpired(f"Zoho: {body.get('code', 'HTTP 401')} after a token refresh")
        if response.status_code == 429:
            after = parse_retry_after(response.headers.get("Retry-After"))
            if after is None:
                after = float((body.get("details") or {}).get("retry_after") or 60)
            raise RateLimited(f"Zoho: {body.get('code', 'TOO_MANY_REQUESTS')}", scope="burst", retry_after=after)
        if response.status_code in (403, 404):
            raise ConnectorError(f"Zoho {self.module}: {body.get('code', response.status_code)}")
        return response

    def _rows(self, response: requests.Response, count: int) -> list[RowResult]:
        body = json_body(response)
        data = body.get("data")
        if not isinstance(data, list):  # a whole-request error, e.g. 400 INVALID_DATA without data[]
            raise BatchRejected(f"Zoho: {body.get('code', 'HTTP ' + str(response.status_code))}",
                                code=str(body.get("code") or response.status_code))
        return [row_result(data[i] if i < len(data) else None) for i in range(count)]

    def upsert(self, rows: list[OutRow]) -> list[RowResult]:
        body = {"data": [r.payload for r in rows],
                "duplicate_check_fields": list(self.config.get("duplicate_check_fields") or [self.key]),
                "trigger": list(self.config.get("trigger") or [])}
        return self._rows(self._call("POST", "/upsert", json=body), len(rows))

    def update(self, rows: list[OutRow]) -> list[RowResult]:
        body = {"data": [{**r.payload, "id": r.external_id} for r in rows],
                "trigger": list(self.config.get("trigger") or [])}
        return self._rows(self._call("PUT", "", json=body), len(rows))

    def delete(self, rows: list[OutRow]) -> list[RowResult]:
        ids = ",".join(str(r.external_id) for r in rows)
        return self._rows(self._call("DELETE", "", params={"ids": ids}), len(rows))

    def find(self, profile_id: str) -> str | None:
        """The Zoho id of the record holding ``profile_id`` in the key field, if any."""
        criteria = f"({self.key}:equals:{profile_id})"
        response = self._call("GET", "/search", params={"criteria": criteria})
        if response.status_code == 204:
            return None
        found = json_body(response).get("data") or []
        return str(found[0]["id"]) if found and isinstance(found[0], dict) and found[0].get("id") else None

    def erase(self, rows: list[OutRow]) -> list[RowResult]:
        ids = {r.outbox_id: r.external_id or self.find(r.profile_id) for r in rows}
        present = [r for r in rows if ids[r.outbox_id]]
        results: dict[int, RowResult] = {r.outbox_id: not_present() for r in rows if not ids[r.outbox_id]}
        if present:
            response = self._call("DELETE", "", params={"ids": ",".join(str(ids[r.outbox_id]) for r in present)})
            for row, res in zip(present, self._rows(response, len(present)), strict=True):
                if res.status == "rejected" and res.code == "INVALID_DATA":
                    res = not_present(ids[row.outbox_id])
                elif res.status == "synced":
                    res = RowResult.ok(ids[row.outbox_id])
                results[row.outbox_id] = res
        return [results[r.outbox_id] for r in rows]

    def write(self, rows: list[OutRow]) -> list[RowResult]:
        return by_op(rows, {"upsert": self.upsert, "update": self.update, "delete": self.delete,
                            "erase": self.erase})

    def close(self) -> None:
        self.session.close()


class ZohoDestination:
    name = "zoho"
    description = "Zoho CRM module (Leads, Contacts, ...): upsert on the custhub id field, 100 per call"
    erasure_capabilities = ("delete", "anonymise")

    def spec(self) -> dict[str, Any]:
        return SPEC

    def open(self, config: Mapping[str, Any], *, key_field: str) -> ZohoWriter:
        return ZohoWriter(config, key_field)

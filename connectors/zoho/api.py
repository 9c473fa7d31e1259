"""Zoho CRM over HTTP: OAuth refresh, the error conventions, and reading one module incrementally.

* Token: ``POST {accounts}/oauth/v2/token?grant_type=refresh_token&...``. A bad refresh token is
  answered with HTTP **200** and ``{"error": "invalid_code"}``: the body, not the status, decides.
  API calls carry ``Authorization: Zoho-oauthtoken <token>`` (not Bearer) and go to the
  ``api_domain`` of the token response; a 401 ``INVALID_TOKEN`` refreshes once and retries.
* List: ``GET {api_domain}/crm/{version}/{Module}`` with the required ``fields`` parameter, sorted
  by ``Modified_Time`` ascending, paged by ``page_token`` (``page`` stops at 2,000 records), and
  ``If-Modified-Since`` for incremental reads (inclusive, so the cursor plus one second is sent).
  No records is HTTP 204 (or 304 for "nothing modified") with an empty body.

State of a stream: ``{"cursor": <Modified_Time of the newest record read>}`` between runs, plus
``"pass": {"since", "page_token", "skip", "max"}`` while a pass is under way, so a checkpoint taken
after any record resumes on the same page right after it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

import requests

from hub.errors import ConnectorError
from hub.sources.api_source import StreamDef
from hub.sources.http import (
    ApiClient,
    AuthExpired,
    QuotaExhausted,
    RateLimited,
    Transient,
    json_body,
    parse_retry_after,
)

VENDOR = "Zoho CRM"
ACCOUNTS = {"com": "https://accounts.zoho.com", "eu": "https://accounts.zoho.eu",
            "in": "https://accounts.zoho.in", "com.au": "https://accounts.zoho.com.au",
            "com.cn": "https://accounts.zoho.com.cn", "jp": "https://accounts.zoho.jp",
            "ca": "https://accounts.zohocloud.ca"}
MODULES = {"leads": "Leads", "contacts": "Contacts"}
ALWAYS = ("id", "Modified_Time")
DEFAULT_FIELDS = {
    "leads": ["First_Name", "Last_Name", "Full_Name", "Email", "Phone", "Mobile", "Company", "Designation",
              "Lead_Source", "Lead_Status", "Email_Opt_Out", "City", "State", "Country", "Created_Time"],
    "contacts": ["First_Name", "Last_Name", "Full_Name", "Email", "Phone", "Mobile", "Account_Name", "Title",
                 "Department", "Lead_Source", "Email_Opt_Out", "Mailing_City", "Mailing_State",
                 "Mailing_Country", "Date_of_Birth", "Created_Time"],
}
TOKEN_ERRORS = {
    "invalid_code": "the refresh token is invalid, expired or revoked, or belongs to another data centre "
                    "(generate a new one, or check data_center)",
    "invalid_client": "the client id is unknown in this data centre (check client_id and data_center)",
    "invalid_client_secret": "the client secret is wrong (check client_secret)",
    "access_denied": "access was denied (too many token requests: wait a minute)",
}


def accounts_url(config: Mapping[str, Any]) -> str:
    return (config.get("accounts_url") or ACCOUNTS[config.get("data_center", "com")]).rstrip("/")


class ZohoApi:
    """The Zoho CRM calls of one source instance (one access token, refreshed on demand)."""

    def __init__(self, config: Mapping[str, Any], client: ApiClient | None = None) -> None:
        self.config = config
        self.client = client or ApiClient(VENDOR)
        self.client.refresh_auth = self.refresh
        self.version = config.get("api_version", "v8")
        self.page_size = int(config.get("page_size", 200))
        self._token: str | None = None
        self._api_domain: str | None = config.get("api_domain")

    # --- auth ----------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Trade the refresh token for an access token (and the account's api_domain)."""
        params = {"refresh_token": self.config["refresh_token"], "client_id": self.config["client_id"],
                  "client_secret": self.config["client_secret"], "grant_type": "refresh_token"}
        response = self.client.send("POST", f"{accounts_url(self.config)}/oauth/v2/token", params=params,
                                    classify=_classify_token)
        body = json_body(response) or {}
        self._token = body["access_token"]
        if not self.config.get("api_domain") and body.get("api_domain"):
            self._api_domain = str(body["api_domain"]).rstrip("/")

    def _auth(self) -> dict[str, Any]:
        if self._token is None:
            self.refresh()
        return {"headers": {"Authorization": f"Zoho-oauthtoken {self._token}"}}

    @property
    def api_domain(self) -> str:
        if self._api_domain is None:
            self.refresh()
        return self._api_domain or "https://www.zohoapis.com"

    # --- protocol ------------------------------------------------------------------------------

    def check(self) -> None:
        self.refresh()
        for stream in MODULES:
            self.list_page(stream, fields=["id"], per_page=1)

    def streams(self) -> list[StreamDef]:
        return [StreamDef(name, lambda state, name=name: self.read(name, state), ("id",), "Modified_Time")
                for name in MODULES]

    def fields(self, stream: str) -> list[str]:
        chosen = (self.config.get("fields") or {}).get(stream) or DEFAULT_FIELDS[stream]
        return [*ALWAYS, *(f for f in chosen if f not in ALWAYS)]

    def list_page(self, stream: str, *, fields: list[str], per_page: int, page_token: str | None = None,
                  since: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of ``stream``: its records and the next page token (None on the last page)."""
        params: dict[str, Any] = {"fields": ",".join(fields), "per_page": per_page,
                                  "sort_by": "Modified_Time", "sort_order": "asc"}
        if page_token:
            params["page_token"] = page_token
        headers = {"If-Modified-Since": since} if since else {}
        url = f"{self.api_domain}/crm/{self.version}/{MODULES[stream]}"
        response = self.client.send("GET", url, params=params, headers=headers, prepare=self._auth,
                                    classify=_classify_api)
        if response.status_code in (204, 304):
            return [], None
        body = json_body(response) or {}
        info = body.get("info") or {}
        next_token = info.get("next_page_token") if info.get("more_records") else None
        return list(body.get("data") or []), next_token

    def read(self, stream: str, state: Mapping[str, Any]) -> Iterator[tuple[dict[str, Any] | None, dict[str, Any]]]:
        cursor = state.get("cursor")
        run = dict(state.get("pass") or {})
        if not run:
            run = {"since": _since(cursor) if cursor else self.config.get("start_date"),
                   "page_token": None, "skip": 0, "max": cursor}
        fields = self.fields(stream)
        while True:
            records, next_token = self.list_page(stream, fields=fields, per_page=self.page_size,
                                                 page_token=run["page_token"], since=run["since"])
            for index, record in enumerate(records[run["skip"]:], start=run["skip"] + 1):
                run = {**run, "skip": index, "max": _later(run["max"], record.get("Modified_Time"))}
                yield record, {"cursor": cursor, "pass": run}
            if not next_token:
                break
            run = {**run, "page_token": next_token, "skip": 0}
            yield None, {"cursor": cursor, "pass": run}
        yield None, {"cursor": run["max"]} if run["max"] else {}


def _since(cursor: str) -> str:
    """``If-Modified-Since`` is inclusive: one second after the newest record already read."""
    return (datetime.fromisoformat(cursor) + timedelta(seconds=1)).isoformat()


def _later(current: str | None, candidate: Any) -> str | None:
    if not isinstance(candidate, str) or not candidate:
        return current
    try:
        if current is None or datetime.fromisoformat(candidate) > datetime.fromisoformat(current):
            return candidate
    except ValueError:
        return current
    return current


def _error_code(response: requests.Response) -> str:
    body = json_body(response)
    if isinstance(body, dict):
        return str(body.get("code") or body.get("error") or "")
    return ""


def _classify_token(response: requests.Response) -> None:
    """The token endpoint: an ``error`` key means failure, even with HTTP 200."""
    body = json_body(response)
    if response.status_code >= 500:
        raise Transient(f"{VENDOR}: accounts server error (HTTP {response.status_code})")
    if isinstance(body, dict) and body.get("error"):
        code = str(body["error"])
        reason = TOKEN_ERRORS.get(code, "check client_id, client_secret, refresh_token and data_center")
        raise ConnectorError(f"{VENDOR}: token refresh refused ({code}): {reason}")
    if response.status_code >= 400 or not isinstance(body, dict) or not body.get("access_token"):
        raise ConnectorError(f"{VENDOR}: token refresh failed (HTTP {response.status_code}); "
                             "check accounts_url or data_center")


def _classify_api(response: requests.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    code = _error_code(response)
    if status == 401 and code == "INVALID_TOKEN":
        raise AuthExpired(f"{VENDOR}: access token expired")
    if status == 429:
        body = json_body(response) or {}
        hinted = parse_retry_after(response.headers.get("Retry-After"))
        if hinted is None and isinstance(body, dict):
            hinted = (body.get("details") or {}).get("retry_after")
        if code in ("LIMIT_REACHED", "API_LIMIT_EXCEEDED"):
            raise QuotaExhausted(f"{VENDOR}: API credits for the day are used up ({code}); "
                                 "the run stops here and resumes next run")
        raise RateLimited(f"{VENDOR}: rate limited ({code or 'HTTP 429'})",
                          retry_after=float(hinted) if hinted is not None else None)
    if status >= 500:
        raise Transient(f"{VENDOR}: server error (HTTP {status})")
    if status in (401, 403):
        raise ConnectorError(f"{VENDOR}: access refused ({code or status}); the token's user or scopes "
                             "cannot read this module (scope ZohoCRM.modules.<module>.READ)")
    if code == "REQUIRED_PARAM_MISSING":
        raise ConnectorError(f"{VENDOR}: a required parameter is missing ({code}); this API version "
                             "requires 'fields'")
    if code == "LIMIT_EXCEEDED":
        raise ConnectorError(f"{VENDOR}: too many fields requested ({code}); list at most 48 in 'fields'")
    raise ConnectorError(f"{VENDOR}: request refused ({code or 'HTTP ' + str(status)})")

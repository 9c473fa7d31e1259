"""Fetch one Facebook lead by id from the Graph API (the leadgen webhook carries only ids).

Errors are classified without their text (an exception from ``requests`` can quote the URL, and the
URL holds the access token): throttling, 5xx and network trouble are retriable, an invalid token is
fatal, a lead that no longer exists is reported as ``None`` so the event is quarantined.
"""

from __future__ import annotations

from typing import Any

import requests

from hub.errors import ConnectorError, RetriableError

LEAD_FIELDS = "id,created_time,ad_id,adset_id,campaign_id,form_id,field_data,is_organic,platform"
THROTTLING_CODES = {4, 17, 32, 613, 80001}
TOKEN_CODES = {102, 190}
GONE_CODES = {100}


class GraphClient:
    def __init__(self, graph_url: str, access_token: str, timeout: float = 30) -> None:
        self.graph_url = graph_url.rstrip("/")
        self._token = access_token
        self.timeout = timeout
        self._session = requests.Session()

    def lead(self, leadgen_id: str) -> dict[str, Any] | None:
        """The lead, or None when the Graph API says it does not exist (any more)."""
        if not leadgen_id.isdigit():
            return None
        try:
            response = self._session.get(f"{self.graph_url}/{leadgen_id}", timeout=self.timeout,
                                         params={"fields": LEAD_FIELDS, "access_token": self._token})
        except requests.RequestException as exc:
            raise RetriableError(f"Graph API unreachable ({type(exc).__name__})") from None
        if response.status_code == 200:
            try:
                body = response.json()
            except ValueError:
                raise RetriableError("Graph API answered 200 with a body that is not JSON") from None
            if isinstance(body, dict) and body.get("id"):
                return body
            raise RetriableError("Graph API answered 200 without a lead")
        return _classify(response)


def _classify(response: requests.Response) -> None:
    try:
        error = (response.json() or {}).get("error") or {}
    except ValueError:
        error = {}
    code = error.get("code")
    if response.status_code == 429 or code in THROTTLING_CODES:
        retry_after = response.headers.get("Retry-After")
        raise RetriableError(f"Graph API throttled the lead reads (code {code})",
                             retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None)
    if code in TOKEN_CODES or response.status_code == 401:
        raise ConnectorError(f"Graph API refused the access token (code {code}); "
                             "set a valid Page access token with leads_retrieval")
    if code in GONE_CODES or response.status_code == 404:
        return None
    if response.status_code >= 500:
        raise RetriableError(f"Graph API answered {response.status_code}")
    raise ConnectorError(f"Graph API refused the lead read ({response.status_code}, code {code})")

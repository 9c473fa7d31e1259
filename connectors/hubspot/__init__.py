"""The HubSpot source: CRM contacts, incremental by ``lastmodifieddate``.

Declarative: ``manifest.yaml`` (search API, ``after`` paging, windows of ``window`` length, 429 by
``policyName``) run in-process by ``hub.sources.declarative``. The one addition in Python: with
``portal_id`` set, ``check`` also confirms the token belongs to that account (a token of another
portal would read the wrong customers without any error).
Docs: ``docs/connectors/hubspot.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests

from hub import hookimpl
from hub.protocol import CheckResult
from hub.sources.declarative import DeclarativeSourceConnector

__all__ = ["HUBSPOT_SOURCE", "HubspotSource", "register_sources"]

ACCOUNT_DETAILS = "/account-info/v3/details"


class HubspotSource(DeclarativeSourceConnector):
    """The declarative HubSpot source, whose check also verifies the account when ``portal_id`` is set."""

    def check(self, config: Mapping[str, Any]) -> CheckResult:
        result = super().check(config)
        if not result.ok or not config.get("portal_id"):
            return result
        base = str(config.get("base_url") or "https://api.hubapi.com").rstrip("/")
        try:
            response = requests.get(base + ACCOUNT_DETAILS, timeout=30,
                                    headers={"Authorization": f"Bearer {config['access_token']}"})
        except requests.RequestException as exc:
            return CheckResult(False, f"HubSpot: cannot read the account details ({type(exc).__name__})")
        if response.status_code != 200:
            return CheckResult(False, f"HubSpot: cannot read the account details (HTTP {response.status_code}); "
                                      "check the token's scopes")
        try:
            portal = int(response.json().get("portalId"))
        except (ValueError, TypeError, AttributeError):
            return CheckResult(False, "HubSpot: the account details carry no portalId")
        if portal != int(config["portal_id"]):
            return CheckResult(False, f"HubSpot: the access token belongs to account {portal}, not portal_id "
                                      f"{config['portal_id']} (use a token of that account or fix portal_id)")
        return result


HUBSPOT_SOURCE = HubspotSource("hubspot", Path(__file__).with_name("manifest.yaml"))


@hookimpl
def register_sources(register):
    """Register the HubSpot source."""
    register(HUBSPOT_SOURCE)

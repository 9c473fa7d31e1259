"""What the destination connectors share: HTTP error classification, grouping a batch by op, erasure.

Besides ``upsert``/``update``/``delete``, every built-in writer handles ``erase``: remove the record of a
person for good (GDPR Art. 17/19, PIPL Art. 47), found by ``external_id`` or else by the custhub id.
A record that is not there comes back as ``not_present()``. Each destination declares the erasures it
can do (``erasure_capabilities``); ``config.erasure`` picks one (default: the first).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from hub.sync.destination import OutRow, RowResult
from hub.sync.errors import Transient, UnknownOutcome
from hub.sync.retry import parse_retry_after

SECRET = {"type": "string", "airbyte_secret": True}
NOT_PRESENT = "NOT_PRESENT"
# Config keys every destination accepts (hub.sync.erase and hub.sync.runner read them).
PRIVACY_PROPS: dict[str, Any] = {
    "erasure": {"enum": ["delete", "anonymise"],
                "description": "how `custhub privacy erase` removes a person here (default: delete when possible)"},
    "cross_border_warn_at": {"type": "integer", "minimum": 1,
                             "description": "warn when this many people were sent here (abroad) this year"}}


def not_present(external_id: str | None = None) -> RowResult:
    """The result of an erasure of a record the destination does not hold."""
    return RowResult("synced", external_id, NOT_PRESENT, None)


def http(session: requests.Session, method: str, url: str, *, timeout: float, **kwargs: Any) -> requests.Response:
    """One request; network failures and 5xx become ``Transient`` (``UnknownOutcome`` once sent)."""
    try:
        response = session.request(method, url, timeout=timeout, **kwargs)
    except (requests.Timeout, requests.ConnectionError) as exc:
        raise UnknownOutcome(f"{method} {_path(url)}: no answer ({type(exc).__name__})") from None
    except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
        # the answer broke off mid-body: the CRM may have applied the write
        raise UnknownOutcome(f"{method} {_path(url)}: answer cut off ({type(exc).__name__})") from None
    if response.status_code >= 500:
        raise Transient(f"{method} {_path(url)}: HTTP {response.status_code}",
                        retry_after=parse_retry_after(response.headers.get("Retry-After")))
    return response


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0]


def json_body(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def by_op(rows: list[OutRow], handlers: dict[str, Callable[[list[OutRow]], list[RowResult]]]) -> list[RowResult]:
    """Send each op's rows with its handler; results come back in the order of ``rows``."""
    results: dict[int, RowResult] = {}
    for op in dict.fromkeys(r.op for r in rows):
        group = [r for r in rows if r.op == op]
        handler = handlers.get(op)
        if handler is None:
            found = [RowResult.rejected("UNSUPPORTED_OP", f"op '{op}' is not supported")] * len(group)
        else:
            found = handler(group)
        results.update({id(r): res for r, res in zip(group, found, strict=True)})
    return [results[id(r)] for r in rows]


def as_text(value: Any) -> str:
    """A CRM property value as text: HubSpot and FxiaoKe take strings; null clears."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        import orjson

        return orjson.dumps(value).decode()
    return str(value)

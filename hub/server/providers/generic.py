"""Any HTML form of the company's own site, posted by its backend (JSON, urlencoded or multipart).

With a ``secret``: ``X-Custhub-Timestamp: <unix seconds>`` and ``X-Custhub-Signature: sha256=<hex
HMAC-SHA256(secret, "<timestamp>." + raw body)>``, the timestamp within the tolerance. With only a
``token``: the token in the URL (``/hooks/generic/<form>/<token>``). The event id is the
``Idempotency-Key`` header, else the ``submission_id`` field, else the SHA-256 of the body.
"""

from __future__ import annotations

from typing import Any

from hub.inbox import InboxEvent
from hub.privacy.runtime import current
from hub.server.http import Refused, parse_form, parse_json_object, read_capped_body
from hub.server.providers import Delivery
from hub.server.signatures import generic_valid, timestamp_fresh, token_valid


async def receive(delivery: Delivery) -> list[InboxEvent]:
    form, headers = delivery.form, delivery.request.headers
    secret = form.secret("secret")
    if secret is None:
        if not token_valid(form.secret("token"), delivery.url_token):
            raise Refused(403, "invalid token")
    elif delivery.url_token is not None:
        raise Refused(404, "unknown endpoint")
    raw = await read_capped_body(delivery.request, delivery.settings.max_body_bytes)
    if secret is not None:
        timestamp = headers.get("x-custhub-timestamp")
        if not generic_valid(secret, timestamp, raw, headers.get("x-custhub-signature")):
            raise Refused(401, "invalid signature")
        if not timestamp_fresh(timestamp, delivery.settings.timestamp_tolerance):
            raise Refused(401, "stale timestamp")
    fields = await _fields(raw, headers.get("content-type", ""), delivery)
    if form.honeypot and fields.get(form.honeypot):
        return []  # a bot filled the hidden field: acknowledged, not stored
    key = headers.get("idempotency-key") or fields.get("submission_id") or current().content_hash(raw)
    if isinstance(key, int) and not isinstance(key, bool):
        key = str(key)  # a numeric id in a JSON body
    if not isinstance(key, str) or len(key) > 150:
        raise Refused(400, "invalid idempotency key")
    return [InboxEvent("generic", form.name, f"{form.name}:{key}", fields)]


async def _fields(raw: bytes, content_type: str, delivery: Delivery) -> dict[str, Any]:
    if content_type.startswith("application/json"):
        return parse_json_object(raw)
    return await parse_form(raw, delivery.request.headers)

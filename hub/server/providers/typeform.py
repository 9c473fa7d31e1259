"""Typeform: ``Typeform-Signature: sha256=<base64 HMAC-SHA256>`` over the raw body; the event id is ``event_id``."""

from __future__ import annotations

from hub.inbox import InboxEvent
from hub.server.http import Refused, parse_json_object, read_capped_body
from hub.server.providers import Delivery
from hub.server.signatures import typeform_valid


async def receive(delivery: Delivery) -> list[InboxEvent]:
    if delivery.url_token is not None:
        raise Refused(404, "unknown endpoint")
    raw = await read_capped_body(delivery.request, delivery.settings.max_body_bytes)
    if not typeform_valid(delivery.form.secret("secret"), raw, delivery.request.headers.get("typeform-signature")):
        raise Refused(401, "invalid signature")
    body = parse_json_object(raw)
    event_id = body.get("event_id")
    if not isinstance(event_id, str) or not event_id or len(event_id) > 150:
        raise Refused(400, "missing event_id")
    if body.get("event_type", "form_response") != "form_response":
        return []  # nothing about a person; acknowledged so that Typeform stops retrying
    if not isinstance(body.get("form_response"), dict):
        raise Refused(400, "missing form_response")
    return [InboxEvent("typeform", delivery.form.name, event_id, body)]

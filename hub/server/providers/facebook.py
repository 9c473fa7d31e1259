"""Facebook Lead Ads: ``X-Hub-Signature-256`` (hex HMAC with the app secret), the ``hub.challenge``
handshake, and one inbox event per ``leadgen`` change (the lead itself is fetched by the inbox source).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import PlainTextResponse, Response

from hub.inbox import InboxEvent
from hub.server.http import Refused, parse_json_object, read_capped_body
from hub.server.providers import Delivery
from hub.server.signatures import meta_valid, token_valid

ID_FIELDS = ("leadgen_id", "page_id", "form_id", "adgroup_id", "ad_id")


def verify_get(delivery: Delivery) -> Response:
    """Meta's subscription check: echo ``hub.challenge`` when ``hub.verify_token`` is ours."""
    query = delivery.request.query_params
    if query.get("hub.mode") != "subscribe" or not token_valid(delivery.form.secret("verify_token"),
                                                              query.get("hub.verify_token")):
        raise Refused(403, "verification failed")
    challenge = query.get("hub.challenge", "")
    if not challenge or len(challenge) > 200 or not challenge.isalnum():
        raise Refused(400, "invalid hub.challenge")
    return PlainTextResponse(challenge)


async def receive(delivery: Delivery) -> list[InboxEvent]:
    if delivery.url_token is not None:
        raise Refused(404, "unknown endpoint")
    raw = await read_capped_body(delivery.request, delivery.settings.max_body_bytes)
    header = delivery.request.headers.get("x-hub-signature-256")
    if not meta_valid(delivery.form.secret("app_secret"), raw, header):
        raise Refused(401, "invalid signature")
    body = parse_json_object(raw)
    if body.get("object") != "page" or not isinstance(body.get("entry"), list):
        raise Refused(400, "not a page webhook")
    return [InboxEvent("facebook", delivery.form.name, value["leadgen_id"], value)
            for value in _leadgen_values(body["entry"])]


def _leadgen_values(entries: list[Any]) -> list[dict[str, Any]]:
    values = []
    for entry in entries:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            raise Refused(400, "malformed entry")
        for change in changes:
            if not isinstance(change, dict) or change.get("field") != "leadgen":
                continue
            value = change.get("value")
            if not isinstance(value, dict) or value.get("leadgen_id") in (None, ""):
                raise Refused(400, "leadgen change without leadgen_id")
            values.append(_ids_as_text(value))
    return values


def _ids_as_text(value: dict[str, Any]) -> dict[str, Any]:
    """Ids arrive as numbers or strings: keep them as text (numbers this long lose digits in JSON tools)."""
    out = dict(value)
    for key in ID_FIELDS:
        if out.get(key) is not None:
            if isinstance(out[key], bool) or not isinstance(out[key], (int, str)):
                raise Refused(400, "malformed leadgen id")
            out[key] = str(out[key])
    if len(out["leadgen_id"]) > 100:
        raise Refused(400, "malformed leadgen id")
    return out

"""Jotform: no signature, so a per-form secret token in the URL (``/hooks/jotform/<form>/<token>``),
checked before the body is read; the body is multipart with the answers as JSON in ``rawRequest``.
"""

from __future__ import annotations

import json

from hub.inbox import InboxEvent
from hub.server.http import Refused, parse_form, read_capped_body
from hub.server.providers import Delivery
from hub.server.signatures import token_valid

KEPT_FIELDS = ("formID", "submissionID", "formTitle")


async def receive(delivery: Delivery) -> list[InboxEvent]:
    if not token_valid(delivery.form.secret("token"), delivery.url_token):
        raise Refused(403, "invalid token")
    raw = await read_capped_body(delivery.request, delivery.settings.max_body_bytes)
    fields = await parse_form(raw, delivery.request.headers)
    submission_id = fields.get("submissionID")
    if not isinstance(submission_id, str) or not submission_id.strip() or len(submission_id) > 100:
        raise Refused(400, "missing submissionID")
    try:
        answers = json.loads(fields.get("rawRequest") or "")
    except (TypeError, ValueError, RecursionError):
        raise Refused(400, "malformed rawRequest") from None
    if not isinstance(answers, dict):
        raise Refused(400, "malformed rawRequest")
    payload = {key: fields[key] for key in KEPT_FIELDS if isinstance(fields.get(key), str)}
    payload["rawRequest"] = answers
    return [InboxEvent("jotform", delivery.form.name, submission_id.strip(), payload)]

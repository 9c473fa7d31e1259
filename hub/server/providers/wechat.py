"""The form of a WeChat H5 page, delivered in WeChat's safe mode (安全模式) envelope only.

Query ``msg_signature``, ``timestamp``, ``nonce``, ``encrypt_type=aes``; the body is the XML
``<xml><Encrypt>...</Encrypt></xml>`` (or JSON ``{"Encrypt": ...}``). Plaintext mode signs only
the query, never the body, so it is refused. The decrypted message (JSON or XML) must carry our
appid; its event id is ``MsgId``, else ``submission_id``, else the SHA-256 of the message.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from starlette.responses import PlainTextResponse, Response

from hub.inbox import InboxEvent
from hub.privacy.runtime import current
from hub.server.http import Refused, parse_json_object, read_capped_body
from hub.server.providers import Delivery
from hub.server.signatures import timestamp_fresh, wechat_valid
from hub.server.wechat_crypto import DecryptError, decrypt


def _signed_query(delivery: Delivery, *, post: bool) -> tuple[str, str, str | None]:
    query = delivery.request.query_params
    if (post and query.get("encrypt_type") != "aes") or not query.get("msg_signature"):
        raise Refused(403, "plaintext mode is refused; enable safe mode (安全模式)")
    timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
    if not nonce or len(nonce) > 64:
        raise Refused(401, "invalid signature")
    return timestamp, nonce, query.get("msg_signature")


def verify_get(delivery: Delivery) -> Response:
    """The server-config check: decrypt ``echostr`` and answer it."""
    echostr = delivery.request.query_params.get("echostr", "")
    timestamp, nonce, signature = _signed_query(delivery, post=False)
    form = delivery.form
    if not echostr or not wechat_valid(form.secret("token"), timestamp, nonce, echostr, signature):
        raise Refused(401, "invalid signature")
    try:
        plain = decrypt(form.secret("encoding_aes_key"), echostr, form.app_id or "")
    except DecryptError:
        raise Refused(401, "invalid signature") from None
    return PlainTextResponse(plain.decode("utf-8", errors="replace"))


async def receive(delivery: Delivery) -> list[InboxEvent]:
    if delivery.url_token is not None:
        raise Refused(404, "unknown endpoint")
    timestamp, nonce, signature = _signed_query(delivery, post=True)
    raw = await read_capped_body(delivery.request, delivery.settings.max_body_bytes)
    encrypted = _encrypted_field(raw)
    form = delivery.form
    if not wechat_valid(form.secret("token"), timestamp, nonce, encrypted, signature):
        raise Refused(401, "invalid signature")
    if not timestamp_fresh(timestamp, delivery.settings.timestamp_tolerance):
        raise Refused(401, "stale timestamp")
    try:
        message = decrypt(form.secret("encoding_aes_key"), encrypted, form.app_id or "")
    except DecryptError:
        raise Refused(401, "invalid signature") from None
    fields = _message_fields(message)
    key = fields.get("MsgId") or fields.get("submission_id") or current().content_hash(message)
    if not isinstance(key, (str, int)) or len(str(key)) > 150:
        raise Refused(400, "invalid message id")
    return [InboxEvent("wechat", form.name, f"{form.name}:{key}", fields)]


def _encrypted_field(raw: bytes) -> str:
    stripped = raw.lstrip()
    if stripped.startswith(b"{"):
        value = parse_json_object(raw).get("Encrypt")
    else:
        value = _xml_fields(raw).get("Encrypt")
    if not isinstance(value, str) or not value:
        raise Refused(400, "missing Encrypt")
    return value


def _message_fields(message: bytes) -> dict[str, Any]:
    if message.lstrip().startswith(b"{"):
        return parse_json_object(message)
    return _xml_fields(message)


def _xml_fields(raw: bytes) -> dict[str, Any]:
    """The child elements of a flat ``<xml>`` document as {tag: text}."""
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        raise Refused(400, "malformed XML body")  # no entity tricks
    try:
        root = ElementTree.fromstring(raw)
    except ElementTree.ParseError:
        raise Refused(400, "malformed XML body") from None
    return {child.tag: (child.text or "").strip() for child in root}

"""The OpenAPI 3.1 document of ``custhub serve``, served at ``GET /openapi.json``.

It lists the endpoints a deployment really has: one path per configured form (``/hooks/<provider>/<form>``,
plus ``/<token>`` for token forms), the handshake ``GET`` where the provider has one (Facebook,
WeChat), and ``/healthz``. Every status the server can answer is documented with the fixed error
shape ``{"error": "<reason>"}``; anything else (a 500) is a bug, which the schemathesis suite checks.
The document names forms and providers only: no secret, token value or customer data.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hub.server.settings import ServerSettings

HANDSHAKE_PROVIDERS = ("facebook", "wechat")
ERROR = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
STORED = {"type": "object", "required": ["status", "events", "new"], "properties": {
    "status": {"enum": ["stored", "duplicate", "ignored"]},
    "events": {"type": "integer", "minimum": 0},
    "new": {"type": "integer", "minimum": 0}}}
REFUSALS = {
    "400": "malformed body, missing fields or a stale timestamp",
    "401": "missing or wrong signature or token",
    "403": "refused by the form's rules (handshake token, honeypot, app id)",
    "404": "no such form",
    "405": "method not allowed for this provider",
    "413": "body larger than server.max_body_bytes",
    "415": "unsupported content type",
    "503": "the inbox could not be written; retry later",
}
CONTENT_TYPES = {"typeform": "application/json", "facebook": "application/json", "generic": "application/json",
                 "jotform": "multipart/form-data", "wechat": "text/xml"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: str) -> dict[str, Any]:
    return {code: _json(ERROR, REFUSALS[code]) for code in codes}


def _post(provider: str, form: str) -> dict[str, Any]:
    body_type = CONTENT_TYPES.get(provider, "application/json")
    body_schema: dict[str, Any] = {"type": "object"} if body_type != "text/xml" else {"type": "string"}
    return {
        "operationId": f"post_{provider}_{form}",
        "summary": f"Receive a {provider} delivery for form '{form}' (stored in the inbox before the answer)",
        "requestBody": {"required": True, "content": {body_type: {"schema": body_schema}}},
        "responses": {"200": _json(STORED, "verified and committed (or a replay, stored once)"),
                      **_errors("400", "401", "403", "404", "405", "413", "415", "503")},
    }


def _get(provider: str, form: str) -> dict[str, Any]:
    return {
        "operationId": f"handshake_{provider}_{form}",
        "summary": f"The {provider} subscription handshake of form '{form}'",
        "parameters": [{"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
                       for name in (("hub.mode", "hub.verify_token", "hub.challenge") if provider == "facebook"
                                    else ("signature", "timestamp", "nonce", "echostr", "msg_signature"))],
        "responses": {"200": {"description": "the challenge echoed", "content": {"text/plain": {
            "schema": {"type": "string"}}}}, **_errors("400", "401", "403", "404", "405")},
    }


def openapi_document(settings: ServerSettings) -> dict[str, Any]:
    """The OpenAPI document for the forms configured in ``settings``."""
    paths: dict[str, Any] = {"/healthz": {"get": {"operationId": "healthz", "summary": "Liveness",
                                                  "responses": {"200": _json({"type": "object"}, "up")}}}}
    for form in sorted(settings.forms.values(), key=lambda f: f.name):
        base = f"/hooks/{form.provider}/{form.name}"
        item: dict[str, Any] = {"post": _post(form.provider, form.name)}
        if form.provider in HANDSHAKE_PROVIDERS:
            item["get"] = _get(form.provider, form.name)
        paths[base] = item
        if form.provider in ("jotform", "generic") and "token" in form.secrets:  # the token in the path
            paths[base + "/{token}"] = {"post": {**_post(form.provider, form.name),
                                                 "operationId": f"post_{form.provider}_{form.name}_token",
                                                 "parameters": [{"name": "token", "in": "path", "required": True,
                                                                 "schema": {"type": "string"}}]}}
    return {"openapi": "3.1.0",
            "info": {"title": "custhub webhook server", "version": "1",
                     "description": "Form webhooks into the custhub inbox (docs/connectors/webhooks.md)."},
            "paths": paths}


def openapi_route(settings: ServerSettings) -> Route:
    """``GET /openapi.json``: the document, built once."""
    document = openapi_document(settings)

    async def serve_document(request: Request) -> JSONResponse:
        return JSONResponse(document)

    return Route("/openapi.json", serve_document, methods=["GET"])

"""The ASGI app of ``custhub serve``: webhook endpoints that verify, store in the inbox, then answer.

``POST /hooks/<provider>/<form>`` (``/hooks/<provider>/<form>/<token>`` for token forms) runs
the provider's checks, writes the delivery's events with ``INSERT ... ON CONFLICT DO NOTHING`` and
answers 200 only after the commit (a replay is acknowledged and stored once); any storage failure
is a 503, so the provider retries. ``GET`` on the same path answers Facebook's and WeChat's
handshakes. Responses and log lines name the provider, the form, a status and counts: never a
value from the request.
"""

from __future__ import annotations

import logging
from types import ModuleType

from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub.errors import CusthubError
from hub.inbox import InboxEvent, record_events
from hub.privacy.logfilter import install_log_filter
from hub.privacy.runtime import ensure_active
from hub.server.http import Refused
from hub.server.openapi import openapi_route
from hub.server.providers import Delivery, facebook, generic, jotform, typeform, wechat
from hub.server.settings import FormSettings, ServerSettings
from hub.store import Store

log = logging.getLogger("custhub.server")
PROVIDERS: dict[str, ModuleType] = {"typeform": typeform, "facebook": facebook, "jotform": jotform,
                                    "generic": generic, "wechat": wechat}


def build_app(settings: ServerSettings, store: Store) -> Starlette:
    """The webhook app for ``settings``, storing into ``store`` (payloads sealed with the store's keys)."""
    ensure_active(store.engine, settings.privacy, settings.base_dir)
    install_log_filter(log)  # the last line of defence: the app logs no values

    async def hook(request: Request) -> Response:
        provider, name = request.path_params["provider"], request.path_params["form"]
        try:
            form = _form(settings, provider, name)
            delivery = Delivery(request, form, settings, request.path_params.get("token"))
            if request.method == "GET":
                return _handshake(delivery)
            events = await PROVIDERS[provider].receive(delivery)
            stored = await run_in_threadpool(_commit, store, events)
        except Refused as refused:
            log.info("%s/%s: refused %d (%s)", provider, name, refused.status, refused.reason)
            # Close the connection: the rest of an unread (oversized) body is not drained.
            return JSONResponse({"error": refused.reason}, status_code=refused.status, headers={"Connection": "close"})
        except (SQLAlchemyError, CusthubError) as exc:
            log.error("%s/%s: inbox write failed (%s); answered 503", provider, name, type(exc).__name__)
            return JSONResponse({"error": "storage unavailable, retry later"}, status_code=503)
        except Exception as exc:  # a bug: no traceback (it could hold request data), one line
            log.error("%s/%s: internal error (%s)", provider, name, type(exc).__name__)
            return JSONResponse({"error": "internal error"}, status_code=500)
        status = "stored" if stored else "duplicate" if events else "ignored"
        log.info("%s/%s: %s (%d event(s), %d new)", provider, name, status, len(events), stored)
        return JSONResponse({"status": status, "events": len(events), "new": stored})

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[
        Route("/healthz", health, methods=["GET"]),
        openapi_route(settings),
        Route("/hooks/{provider}/{form}", hook, methods=["GET", "POST"]),
        Route("/hooks/{provider}/{form}/{token}", hook, methods=["POST"]),
    ])


def _form(settings: ServerSettings, provider: str, name: str) -> FormSettings:
    form = settings.forms.get(name)
    if form is None or form.provider != provider:
        raise Refused(404, "unknown endpoint")
    return form


def _handshake(delivery: Delivery) -> Response:
    verify_get = getattr(PROVIDERS[delivery.form.provider], "verify_get", None)
    if verify_get is None:
        raise Refused(405, "method not allowed")
    return verify_get(delivery)


def _commit(store: Store, events: list[InboxEvent]) -> int:
    """Write the events in one transaction; returns how many were new (the rest were replays)."""
    if not events:
        return 0
    with store.transaction() as conn:
        return record_events(conn, events)

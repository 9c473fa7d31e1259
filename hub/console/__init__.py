"""The admin console: server-rendered pages at ``/console`` of ``custhub serve`` (docs/console.md).

    from hub.console import build_console, with_console
    app = with_console(webhook_app, config, store)     # /console/... beside /hooks/...

Modules, one job each: ``settings`` (the ``console:`` config section), ``passwords`` (scrypt
hashes), ``auth`` (sessions, CSRF, lockout), ``web`` (templates, the logged-in guard, security
headers), ``pages`` (the handlers), ``status`` (connections, runs, quarantine), ``profiles``
(search and profile data), ``golden_view`` (masking a golden profile for a role),
``quality_view`` and ``charts`` (metrics over time as inline SVG), ``cli`` (``custhub console``).
Every page masks values with ``hub.privacy.masking`` for the user's role and writes one audit
entry (``hub.privacy.audit``) naming the fields it showed in clear.
"""

from __future__ import annotations

from functools import partial

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import RedirectResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from hub.config import Config
from hub.console import pages
from hub.console.auth import LoginGuard
from hub.console.settings import ConsoleSettings, console_settings
from hub.console.web import HERE, Console, SecurityHeaders, page
from hub.privacy.runtime import current, ensure_active
from hub.store import Store

COOKIE = "custhub_console"


def _session_secret(settings: ConsoleSettings) -> str:
    if settings.session_secret:
        return settings.session_secret
    # Derived from the store's keys (wrapped by the KEK): stable across restarts, never stored.
    return current().content_hash(b"custhub-console-session|v1")


def build_console(config: Config, store: Store, settings: ConsoleSettings | None = None) -> Starlette:
    """The console app (mount it at ``/console``); activates the privacy layer for ``store``."""
    ensure_active(store.engine, config.privacy, config.base_dir)
    settings = settings or console_settings(config)
    console = Console(config, store, settings)
    console.guard = LoginGuard(settings)

    def p(handler, methods=("GET",)):  # noqa: ANN001, ANN202
        return {"endpoint": page(console, handler), "methods": list(methods)}

    routes = [
        Route("/login", partial(pages.login, console=console), methods=["GET", "POST"]),
        Route("/logout", **p(pages.logout, ["POST"])),
        Route("/", **p(pages.home)),
        Route("/runs", **p(pages.runs)),
        Route("/runs/{run_id:int}", **p(pages.run_detail)),
        Route("/quarantine/{row_id:int}", **p(pages.quarantine_detail)),
        Route("/quality", **p(pages.quality_page)),
        Route("/segments", **p(pages.segments_page)),
        Route("/segments/{name}", **p(pages.segment_detail)),
        Route("/profiles", **p(pages.profiles_page, ["GET", "POST"])),
        Route("/profiles/{profile_id:int}", **p(pages.profile_detail)),
        Route("/review", **p(pages.review_page)),
        Route("/review/{review_id:int}/{decision:str}", **p(pages.review_decide, ["POST"])),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(SessionMiddleware, secret_key=_session_secret(settings), session_cookie=COOKIE,
                   max_age=settings.max_age_minutes * 60, same_site="lax", https_only=settings.secure_cookie),
    ]
    return Starlette(routes=routes, middleware=middleware)


def with_console(app: Starlette, config: Config, store: Store) -> Starlette:
    """``app`` (the webhook app) with the console mounted at ``/console`` when it is enabled."""
    settings = console_settings(config)
    if not settings.enabled:
        return app
    console = build_console(config, store, settings)

    async def to_console(request):  # noqa: ANN001, ANN202
        return RedirectResponse("/console/", status_code=307)

    return Starlette(routes=[Route("/", to_console), Route("/console", to_console),
                             Mount("/console", app=console), Mount("/", app=app)])


__all__ = ["ConsoleSettings", "build_console", "console_settings", "with_console"]

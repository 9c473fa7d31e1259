"""The plumbing of console pages: templates, the logged-in guard, CSRF on POST, security headers.

``page(handler)`` wraps a plain function ``handler(request, ctx) -> Response`` (run in a worker
thread, so it may use the store synchronously): it requires a logged-in user, parses a POST form
and refuses it without the session's CSRF token, and fills ``ctx``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.config import Config
from hub.console.auth import CSRF_FIELD, csrf_ok, csrf_token, current_user
from hub.console.settings import ConsoleSettings, ConsoleUser
from hub.store import Store

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))


def _when(value: Any) -> str:
    if not isinstance(value, datetime):
        return "" if value is None else str(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


templates.env.filters["when"] = _when


@dataclass
class Console:
    """What every handler needs: the config, the store, the console settings."""

    config: Config
    store: Store
    settings: ConsoleSettings
    guard: Any = None
    counts: dict[str, tuple[float, Any]] = field(default_factory=dict)  # small TTL cache


@dataclass
class Ctx:
    console: Console
    user: ConsoleUser
    form: dict[str, str]

    @property
    def actor(self) -> str:
        return f"console:{self.user.name}"


def base(request: Request) -> str:
    """The path the console is mounted at (``/console`` under ``custhub serve``)."""
    return request.scope.get("root_path", "")


def render(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    values.setdefault("user", None)
    return templates.TemplateResponse(request, template, {"base": base(request), "csrf": csrf_token(request),
                                                          **values}, status_code=status)


def page(console: Console, handler: Callable[[Request, Ctx], Response]) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        user = current_user(request, console.settings)
        if user is None:
            if request.method != "GET":
                return HTMLResponse("login required", status_code=401)
            target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""), safe="/?=&")
            return RedirectResponse(f"{base(request)}/login?next={target}", status_code=303)
        form: dict[str, str] = {}
        if request.method == "POST":
            data = await request.form()
            form = {k: str(v) for k, v in data.items() if isinstance(v, str)}
            if not csrf_ok(request, form.pop(CSRF_FIELD, None)):
                return render(request, "error.html", 403, user=user,
                              message="This form has expired or did not come from the console. "
                                      "Go back, reload the page and try again.")
        return await run_in_threadpool(handler, request, Ctx(console, user, form))

    return endpoint


SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                                 b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


class SecurityHeaders:
    """Adds the console's security headers to every response (pages hold personal data: no caching)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *((k, v) for k, v in SECURITY_HEADERS if k not in names)]
            await send(message)

        await self.app(scope, receive, wrapped)

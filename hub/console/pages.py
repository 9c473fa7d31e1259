"""The console's pages. Each handler reads through the owning package's functions, masks values for
the user's role and writes one audit entry when a page shows non-general fields in clear."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hub.console import profiles, status
from hub.console.auth import csrf_ok, start_session
from hub.console.golden_view import Presenter, present_golden
from hub.console.web import Console, Ctx, base, render
from hub.identity import review
from hub.identity.tables import identity_profiles, identity_review
from hub.privacy import audit
from hub.privacy.masking import mask_value
from hub.privacy.tiers import HIGHLY_CONFIDENTIAL

log = logging.getLogger("custhub.console")
COUNT_TTL = 60.0  # seconds a dashboard count may be stale


def cached(console: Console, name: str, compute: Callable[[], Any]) -> Any:
    hit = console.counts.get(name)
    if hit and time.monotonic() - hit[0] < COUNT_TTL:
        return hit[1]
    value = compute()
    console.counts[name] = (time.monotonic(), value)
    return value


def may_decide(ctx: Ctx) -> bool:
    return ctx.user.role.name in ctx.console.settings.decide_roles


def write_audit(ctx: Ctx, presenter: Presenter, subjects: list[str], rows: int = 1) -> None:
    """One ``unmask`` entry naming the fields the page showed in clear (none: nothing is written)."""
    if not presenter.seen:
        return
    with ctx.console.store.transaction() as conn:
        audit.record(conn, actor=ctx.actor, role=ctx.user.role.name, purpose=ctx.console.settings.purpose,
                     action="unmask", subjects=subjects, fields=sorted(presenter.seen), row_count=rows)


# ----------------------------------------------------------------------------- login

async def login(request: Request, console: Console) -> Response:
    if request.method == "GET":
        return render(request, "login.html", next=request.query_params.get("next", ""))
    form = await request.form()
    name, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
    nxt = _safe_next(request, str(form.get("next", "")))
    if not csrf_ok(request, str(form.get("csrf", ""))):
        return render(request, "login.html", 403, next=nxt, error="The login form expired; please try again.")
    guard = console.guard
    keys = (f"user:{name.lower()}", f"ip:{request.client.host if request.client else '-'}")
    if guard.locked(*keys):
        return render(request, "login.html", 429, next=nxt,
                      error=f"Too many failed logins. Try again in {console.settings.lockout_minutes} minutes.")
    user = await asyncio.to_thread(guard.check, name, password)
    if user is None:
        guard.failed(*keys)
        await asyncio.sleep(console.settings.failure_delay_ms / 1000)
        return render(request, "login.html", 401, next=nxt, error="Wrong user name or password.")
    guard.succeeded(*keys)
    start_session(request, user)
    return RedirectResponse(nxt or f"{base(request)}/", status_code=303)


def _safe_next(request: Request, nxt: str) -> str:
    """Only a path inside the console (no scheme, no host, no ``//``): never an open redirect."""
    parts = urlsplit(nxt)
    if parts.scheme or parts.netloc or not nxt.startswith(f"{base(request)}/") or nxt.startswith("//"):
        return ""
    return nxt


def logout(request: Request, ctx: Ctx) -> Response:
    request.session.clear()
    return RedirectResponse(f"{base(request)}/login", status_code=303)


# ----------------------------------------------------------------------------- status and runs

def home(request: Request, ctx: Ctx) -> Response:
    console = ctx.console
    with console.store.reading() as conn:
        targets = status.overview(conn, console.config)
        totals = cached(console, "totals", lambda: {
            "active_profiles": conn.execute(select(func.count()).select_from(identity_profiles).where(
                identity_profiles.c.status == "active")).scalar_one(),
            "open_review": conn.execute(select(func.count()).select_from(identity_review).where(
                identity_review.c.status == "open")).scalar_one()})
    return render(request, "home.html", user=ctx.user, targets=targets, totals=totals, section="home")


def runs(request: Request, ctx: Ctx) -> Response:
    target = request.query_params.get("target") or None
    before = request.query_params.get("before")
    with ctx.console.store.reading() as conn:
        rows = status.list_runs(conn, target=target, before=int(before) if before and before.isdigit() else None)
    more = rows[-1]["id"] if len(rows) == status.PAGE else None
    return render(request, "runs.html", user=ctx.user, runs=rows, target=target, more=more, section="runs")


def run_detail(request: Request, ctx: Ctx) -> Response:
    with ctx.console.store.reading() as conn:
        detail = status.run_detail(conn, int(request.path_params["run_id"]))
    if detail is None:
        return render(request, "error.html", 404, user=ctx.user, message="No such run.")
    return render(request, "run.html", user=ctx.user, section="runs", **detail)


def quarantine_detail(request: Request, ctx: Ctx) -> Response:
    row_id = int(request.path_params["row_id"])
    with ctx.console.store.reading() as conn:
        row = status.quarantine_row(conn, row_id)
    if row is None:
        return render(request, "error.html", 404, user=ctx.user, message="No such quarantined record.")
    # Raw fields are the source's own: no canonical tier, so they count as highly confidential.
    clear = ctx.user.role.may_see(HIGHLY_CONFIDENTIAL)
    fields = [(str(k), _raw_text(v) if clear else mask_value(_raw_text(v), HIGHLY_CONFIDENTIAL, str(k).lower()))
              for k, v in row["raw"].items()]
    presenter = Presenter(ctx.user.role, {"quarantine.raw"} if clear and fields else set())
    write_audit(ctx, presenter, [f"quarantine:{row_id}"])
    return render(request, "quarantine.html", user=ctx.user, section="runs", row=row, fields=fields, clear=clear)


def _raw_text(value: Any) -> str:
    import orjson

    return value if isinstance(value, str) else orjson.dumps(value).decode()


# ----------------------------------------------------------------------------- quality and segments

def quality_page(request: Request, ctx: Ctx) -> Response:
    from hub.console.quality_view import connection_quality

    names = sorted(ctx.console.config.connections)
    chosen = request.query_params.get("connection") or (names[0] if names else None)
    with ctx.console.store.reading() as conn:
        data = connection_quality(conn, chosen) if chosen in names else None
    return render(request, "quality.html", user=ctx.user, section="quality", names=names, chosen=chosen, data=data)


def segments_page(request: Request, ctx: Ctx) -> Response:
    from hub import segments

    configured = {s.name: s for s in ctx.console.config.segments.segments}
    with ctx.console.store.reading() as conn:
        sizes = segments.sizes(conn)
    rows = [{"name": name, "description": configured[name].description if name in configured else "",
             "configured": name in configured, **sizes.get(name, {"size": None, "evaluated_at": None})}
            for name in sorted(set(configured) | set(sizes))]
    return render(request, "segments.html", user=ctx.user, section="segments", rows=rows)


def segment_detail(request: Request, ctx: Ctx) -> Response:
    from hub import segments
    from hub.segments.tables import segment_members

    name = request.path_params["name"]
    after = request.query_params.get("after", "")
    m = segment_members.c
    # Paged by profile id along ix_segment_members_current (segment, until, profile_id): hub.segments.members
    # orders by ``since``, which sorts every member of a large segment on each request.
    query = select(m.profile_id, m.since).where(m.segment == name, m.until.is_(None)).order_by(m.profile_id).limit(50)
    if after.isdigit():
        query = query.where(m.profile_id > int(after))
    with ctx.console.store.reading() as conn:
        size = segments.sizes(conn).get(name)
        members = [{"profile_id": pid, "since": since} for pid, since in conn.execute(query)]
    if size is None and name not in {s.name for s in ctx.console.config.segments.segments}:
        return render(request, "error.html", 404, user=ctx.user, message="No such segment.")
    more = members[-1]["profile_id"] if len(members) == 50 else None
    return render(request, "segment.html", user=ctx.user, section="segments", name=name, size=size,
                  members=members, more=more, first=not after)


# ----------------------------------------------------------------------------- profiles and review

def profiles_page(request: Request, ctx: Ctx) -> Response:
    result = None
    if request.method == "POST":
        kind, text = ctx.form.get("kind", "id"), ctx.form.get("q", "")
        with ctx.console.store.reading() as conn:
            result = profiles.search(conn, kind, text, ctx.console.config.default_region)
        if result.kind == "id" and len(result.profiles) == 1:
            return RedirectResponse(f"{base(request)}/profiles/{result.profiles[0]['id']}", status_code=303)
    with ctx.console.store.reading() as conn:
        latest = profiles.latest_profiles(conn)
    return render(request, "profiles.html", user=ctx.user, section="profiles", result=result, latest=latest,
                  kind=ctx.form.get("kind", "email"))


def profile_detail(request: Request, ctx: Ctx) -> Response:
    pid = int(request.path_params["profile_id"])
    with ctx.console.store.reading() as conn:
        info = profiles.profile_page(conn, pid)
    if info is None:
        return render(request, "error.html", 404, user=ctx.user, message="No such profile.")
    presenter = Presenter(ctx.user.role)
    golden = present_golden(info["golden"], presenter)
    members = [{**m, "source_pk": presenter.source_pk(str(m["source_pk"]))} for m in info["members"]]
    write_audit(ctx, presenter, [f"profile:{info['id']}"])
    return render(request, "profile.html", user=ctx.user, section="profiles", info=info, golden=golden,
                  members=members, seen=sorted(presenter.seen), notice=request.query_params.get("notice"))


def review_page(request: Request, ctx: Ctx) -> Response:
    state = request.query_params.get("status", "open")
    state = state if state in ("open", "accepted", "rejected", "stale") else "open"
    with ctx.console.store.reading() as conn:
        items = review.list_items(conn, state, 50)
    return render(request, "review.html", user=ctx.user, section="review", items=items, state=state,
                  may_decide=may_decide(ctx))


def review_decide(request: Request, ctx: Ctx) -> Response:
    if not may_decide(ctx):
        return render(request, "error.html", 403, user=ctx.user,
                      message=f"The role {ctx.user.role.name} may not decide review items.")
    if request.path_params["decision"] not in ("accept", "reject"):
        return render(request, "error.html", 404, user=ctx.user, message="Unknown decision.")
    review_id, accept = int(request.path_params["review_id"]), request.path_params["decision"] == "accept"
    r = identity_review.c
    with ctx.console.store.transaction() as conn:
        pair = conn.execute(select(r.record_a, r.record_b, r.status).where(r.id == review_id)).first()
        if pair is None or pair.status != "open":
            return render(request, "error.html", 409, user=ctx.user,
                          message="This review item does not exist or was already decided.")
        review.decide_and_resolve(conn, ctx.console.config.identity, review_id, accept)
        from hub.identity import storage

        placed = storage.memberships(conn, [pair.record_a, pair.record_b])
    log.info("review %d %s by %s", review_id, "accepted" if accept else "rejected", ctx.actor)
    ctx.console.counts.pop("totals", None)
    notice = (f"Review {review_id} accepted: records {pair.record_a} and {pair.record_b} are one person"
              if accept else f"Review {review_id} rejected: records {pair.record_a} and {pair.record_b} stay apart")
    target = placed.get(pair.record_a)
    if target is None:
        return RedirectResponse(f"{base(request)}/review", status_code=303)
    return RedirectResponse(f"{base(request)}/profiles/{target}?notice={quote(notice)}", status_code=303)

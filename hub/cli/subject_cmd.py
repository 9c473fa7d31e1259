"""``custhub privacy export|erase|purge``: access and erasure requests, and the retention purge."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from hub.cli.common import AsRoleOption, ConfigOption, console, err_console, get_config, open_store
from hub.config import Config
from hub.errors import ConfigError
from hub.privacy import audit
from hub.privacy.access import Viewer, cli_viewer
from hub.privacy.tiers import HIGHLY_CONFIDENTIAL
from hub.store import Store

SubjectArg = Annotated[int | None, typer.Argument(metavar="[PROFILE_ID]", help="The person's profile id.",
                                                  show_default=False)]
EmailOption = Annotated[str | None, typer.Option("--email", help="Find the person by e-mail (blind index).")]
PhoneOption = Annotated[str | None, typer.Option("--phone", help="Find the person by phone (blind index).")]
RequestOption = Annotated[str | None, typer.Option("--request-id", help="Your ticket id for the request.")]


def register(app: typer.Typer) -> None:
    app.command("export")(export_subject)
    app.command("erase")(erase_subject)
    app.command("purge")(purge_cmd)


def _request_id(given: str | None) -> str:
    if given:
        if not audit.is_short_name(given):
            raise ConfigError("--request-id must be a short id (letters, digits, . : @ _ -)")
        return given
    return f"dsr-{datetime.now(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(2)}"


def _dpo(cfg: Config, as_role: str | None, purpose: str) -> Viewer:
    """Subject requests show or remove everything: the role must see highly confidential data."""
    viewer = cli_viewer(cfg.privacy, as_role=as_role, unmask=True, purpose=purpose)
    if not viewer.role.may_see(HIGHLY_CONFIDENTIAL):
        raise ConfigError(f"role {viewer.role.name} may not handle subject requests (they need highly_confidential)",
                          fix="act as the dpo or admin role: set privacy.cli_role, or list it in privacy.cli_roles "
                              "and pass --as-role")
    return viewer


def _subject(store: Store, cfg: Config, profile_id: int | None, email: str | None, phone: str | None):  # noqa: ANN202
    from hub.privacy.subject import find_subject

    if profile_id is None and not email and not phone:
        raise ConfigError("name the person: a profile id, --email or --phone")
    with store.reading() as conn:
        return find_subject(conn, cfg, profile_id=profile_id, email=email, phone=phone)


def export_subject(ctx: typer.Context, profile_id: SubjectArg = None, email: EmailOption = None,
                   phone: PhoneOption = None, request_id: RequestOption = None,
                   out: Annotated[Path | None, typer.Option("--out", help="Write the JSON here (default: stdout).")]
                   = None, as_role: AsRoleOption = None, config: ConfigOption = None) -> None:
    """Everything held about one person and where it came from, as JSON (an access request; audited)."""
    from hub.privacy.subject import dsar_document

    cfg = get_config(ctx, config)
    viewer = _dpo(cfg, as_role, "access_request")
    request = _request_id(request_id)
    store = open_store(cfg)
    subject = _subject(store, cfg, profile_id, email, phone)
    with store.reading() as conn:
        document = dsar_document(conn, cfg, subject, request_id=request)
    rows = len(document["source_records"]) + len(document["quarantine"]) + len(document["profiles"])
    with store.transaction() as conn:
        audit.record(conn, actor=viewer.actor, role=viewer.role.name, purpose=viewer.purpose, action="dsar",
                     subjects=[f"request:{request}", *subject.refs,
                               *(f"quarantine:{q}" for q in subject.quarantine_ids)],
                     fields=["*"] if rows else [], row_count=rows, request_id=request)
    store.close()
    text = json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n"
    if out:
        out.write_text(text, "utf-8")
        err_console.print(f"request {request}: {len(document['profiles'])} profile(s), "
                          f"{len(document['source_records'])} source record(s), {len(document['quarantine'])} "
                          f"quarantine row(s), {len(document['recipients'])} recipient(s) written to {out}",
                          highlight=False)
    else:
        typer.echo(text, nl=False)


def erase_subject(ctx: typer.Context, profile_id: SubjectArg = None, email: EmailOption = None,
                  phone: PhoneOption = None, request_id: RequestOption = None,
                  yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
                  as_role: AsRoleOption = None, config: ConfigOption = None) -> None:
    """Erase one person: every destination, the store (records, indexes, quarantine, outbox), then suppress.

    Safe to run again (after a destination failed, say): what is already gone is skipped.
    """
    from hub.privacy.erasure import delete_people
    from hub.privacy.runtime import current
    from hub.privacy.suppression import suppress

    cfg = get_config(ctx, config)
    viewer = _dpo(cfg, as_role, "erasure_request")
    request = _request_id(request_id)
    store = open_store(cfg)
    subject = _subject(store, cfg, profile_id, email, phone)
    asked = [profile_id] if profile_id is not None and not subject.profile_ids else []
    if not yes and not typer.confirm(f"erase {len(subject.profile_ids) or len(asked)} profile(s), "
                                     f"{len(subject.record_ids)} record(s) and {len(subject.quarantine_ids)} "
                                     "quarantine row(s), here and in every destination?"):
        raise typer.Abort()
    statuses = _erase_in_destinations(store, cfg, [str(p) for p in subject.profile_ids or asked])
    identifiers = subject.identifiers()
    with store.transaction() as conn:
        deleted = delete_people(conn, profile_ids=subject.profile_ids, record_ids=subject.record_ids,
                                quarantine_ids=subject.quarantine_ids, consent_events=cfg.privacy.erasure_consent,
                                inbox_events=subject.inbox_events)
        added = suppress(conn, current().indexer, identifiers, reason="erasure", request_id=request)
        failed = [s for s in statuses if s.status == "failed"]
        audit.record(conn, actor=viewer.actor, role=viewer.role.name, purpose=viewer.purpose, action="erase",
                     subjects=[f"request:{request}", *subject.refs, *(f"profile:{p}" for p in asked),
                               *(f"destination:{s.destination}" for s in statuses)],
                     row_count=deleted.total, request_id=request, outcome="partial" if failed else "ok")
        if added:
            audit.record(conn, actor=viewer.actor, role=viewer.role.name, purpose=viewer.purpose, action="suppress",
                         subjects=[f"request:{request}"], row_count=added, request_id=request)
    store.close()
    table = Table("destination", "status", "detail", title=f"erasure {request}")
    for s in statuses:
        style = {"failed": "red", "deleted": "green", "anonymised": "green"}.get(s.status, "")
        table.add_row(s.destination, f"[{style}]{s.status}[/{style}]" if style else s.status, s.detail or "")
    if statuses:
        console.print(table, highlight=False)
    counts = ", ".join(f"{t} {n:,}" for t, n in sorted(deleted.counts.items())) or "nothing left to delete"
    console.print(f"store: {counts}; {added} identifier(s) added to the suppression list", highlight=False)
    if failed:
        err_console.print(f"{len(failed)} destination(s) failed: run the same command again to retry them",
                          highlight=False)
        raise typer.Exit(1)


def _erase_in_destinations(store: Store, cfg: Config, profile_ids: list[str]) -> list:
    if not profile_ids or not cfg.destinations:
        return []
    try:
        from hub.sync.erase import erase_in_destinations
    except ImportError:
        raise ConfigError("this custhub cannot erase in destinations yet (hub.sync.erase is missing); "
                          "nothing was erased") from None
    return list(erase_in_destinations(store, cfg, profile_ids))


def purge_cmd(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Delete what privacy.retention keeps no longer (raw payloads, quarantine, inactive profiles); audited."""
    cfg = get_config(ctx, config)
    store = open_store(cfg)
    result = run_purge(store, cfg)
    store.close()
    console.print("purge: " + (", ".join(f"{k} {v:,}" for k, v in sorted(result.counts.items()) if v)
                              or "nothing has expired"), highlight=False)


def run_purge(store: Store, cfg: Config):  # noqa: ANN201
    """Purge and audit the counts in the same transaction (also called after ``custhub run``)."""
    from hub.privacy.access import cli_actor
    from hub.privacy.retention import purge

    with store.transaction() as conn:
        result = purge(conn, cfg.privacy)
        if result.total:
            audit.record(conn, actor=cli_actor(), role=cfg.privacy.cli_role, purpose="retention", action="purge",
                         fields=sorted(k for k, v in result.counts.items() if v), row_count=result.total)
    return result

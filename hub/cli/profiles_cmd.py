"""``custhub profiles show|unmerge`` and ``custhub review list|accept|reject``."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from hub.cli.common import AsRoleOption, ConfigOption, PurposeOption, UnmaskOption, console, get_config, open_store
from hub.privacy.access import cli_viewer

profiles_app = typer.Typer(no_args_is_help=True, help="Golden profiles: explain and correct.")
review_app = typer.Typer(no_args_is_help=True, help="Pairs the model was unsure about, waiting for a decision.")


def register(app: typer.Typer) -> None:
    app.add_typer(profiles_app, name="profiles")
    app.add_typer(review_app, name="review")


def _value(value) -> str:  # noqa: ANN001
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _src(source: dict) -> str:
    return f"{source['connection']}/{source['stream']}#{source['record_id']}"


@profiles_app.command("show")
def show(ctx: typer.Context, profile_id: Annotated[int, typer.Argument(help="Profile id.")],
         as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
         unmask: UnmaskOption = False, as_role: AsRoleOption = None, purpose: PurposeOption = "support",
         config: ConfigOption = None) -> None:
    """Members, the evidence of each link and where each golden field came from (values masked unless --unmask)."""
    from hub.identity.explain import describe
    from hub.privacy.exports import protect_row
    from hub.privacy.views import present_golden

    cfg = get_config(ctx, config)
    viewer = cli_viewer(cfg.privacy, as_role=as_role, unmask=unmask, purpose=purpose)
    store = open_store(cfg)
    with store.reading() as conn:
        info = describe(conn, profile_id)
    info["golden"] = present_golden(info["golden"], viewer)
    info["members"] = [protect_row(m, viewer) for m in info["members"]]
    with store.transaction() as conn:
        viewer.audit(conn, action="unmask", subjects=[f"profile:{info['id']}"], row_count=1)
    store.close()
    if as_json:
        console.print_json(json.dumps(info, default=str, ensure_ascii=False))
        return
    via = f" (profile {info['asked']} was merged into it)" if info["via"] else ""
    console.print(f"profile {info['id']}{via}: {info['status']}, {info['member_count']} record(s); "
                  f"merged in: {', '.join(map(str, info['merged_in'])) or '-'}", highlight=False)
    members = Table("record", "connection", "stream", "source pk", title="members")
    for m in info["members"]:
        members.add_row(str(m["record_id"]), m["connection"], m["stream"], m["source_pk"])
    console.print(members)
    links = Table("record", "record", "link", "weight", "evidence", title="links")
    for link in info["links"]:
        weight = f"{link['weight']:.1f}" if link["kind"] == "match" else ""
        links.add_row(str(link["a"]), str(link["b"]), link["kind"], weight, _value(link["evidence"]))
    console.print(links)
    fields = Table("field", "value", "rule", "from", "alternatives", title="golden profile")
    golden = info["golden"]
    for name, entry in golden.get("fields", {}).items():
        fields.add_row(name, _value(entry["value"]), entry["rule"], ", ".join(_src(s) for s in entry["sources"]),
                       str(len(entry["alternatives"])))
    for name in ("emails", "phones", "addresses", "crm_ids"):
        for entry in golden.get(name, []):
            fields.add_row(name, _value(entry["value"]), "union", ", ".join(_src(s) for s in entry["sources"]), "")
    for kind, entries in golden.get("platform_ids", {}).items():
        for entry in entries:
            fields.add_row(kind, entry["value"], "union", ", ".join(_src(s) for s in entry["sources"]), "")
    console.print(fields)
    consents = golden.get("consents", {}).get("current", [])
    console.print(f"{len(golden.get('interactions', []))} interaction(s); current consents: "
                  + (", ".join(f"{c['purpose']}/{c.get('channel', 'any')}={c['status']}" for c in consents) or "-"),
                  highlight=False)


@profiles_app.command("unmerge")
def unmerge(ctx: typer.Context, profile_id: Annotated[int, typer.Argument(help="Profile id.")],
            records: Annotated[list[int], typer.Option("--record", "-r", help="Record id to split out (repeat).")],
            config: ConfigOption = None) -> None:
    """Split records out of a profile; the decision is kept (cannot-link) for every later run."""
    from hub.cli.identity_cmd import print_summary
    from hub.identity.explain import unmerge as do_unmerge

    cfg = get_config(ctx, config)
    store = open_store(cfg)
    with store.transaction() as conn:
        summary = do_unmerge(conn, cfg.identity, profile_id, records)
    store.close()
    console.print(f"split {len(records)} record(s) out of profile {profile_id}", highlight=False)
    print_summary(summary)


@review_app.command("list")
def review_list(ctx: typer.Context,
                status: Annotated[str, typer.Option(help="open, accepted, rejected, stale")] = "open",
                limit: Annotated[int, typer.Option(help="Rows to show.")] = 50, config: ConfigOption = None) -> None:
    """Pairs between the review and match thresholds (no customer values: ids, probability, field levels)."""
    from hub.identity.review import list_items

    cfg = get_config(ctx, config)
    store = open_store(cfg)
    with store.reading() as conn:
        items = list_items(conn, status, limit)
    store.close()
    table = Table("id", "record", "profile", "record", "profile", "probability", "evidence", title=f"review ({status})")
    for item in items:
        table.add_row(str(item["id"]), str(item["record_a"]), str(item["profile_a"]), str(item["record_b"]),
                      str(item["profile_b"]), f"{item['probability']:.3f}", _value(item["evidence"].get("levels")))
    console.print(table)


def _decide(ctx: typer.Context, review_id: int, accept: bool, config) -> None:  # noqa: ANN001
    from hub.cli.identity_cmd import print_summary
    from hub.identity.review import decide_and_resolve

    cfg = get_config(ctx, config)
    store = open_store(cfg)
    with store.transaction() as conn:
        summary = decide_and_resolve(conn, cfg.identity, review_id, accept)
    store.close()
    console.print(f"review {review_id} {'accepted' if accept else 'rejected'}", highlight=False)
    print_summary(summary)


@review_app.command("accept")
def accept(ctx: typer.Context, review_id: Annotated[int, typer.Argument()], config: ConfigOption = None) -> None:
    """The two records are one person: link them (kept for later runs)."""
    _decide(ctx, review_id, True, config)


@review_app.command("reject")
def reject(ctx: typer.Context, review_id: Annotated[int, typer.Argument()], config: ConfigOption = None) -> None:
    """The two records are different people: never link them (kept for later runs)."""
    _decide(ctx, review_id, False, config)

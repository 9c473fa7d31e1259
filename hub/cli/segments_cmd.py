"""``custhub segments list | show NAME | evaluate``: customer segments from the config."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer
from rich.table import Table

from hub.cli.common import ConfigOption, console, get_config, open_store
from hub.errors import ConfigError
from hub.segments.api import member_count, members, sizes
from hub.segments.evaluate import SegmentsSummary, evaluate_segments

app = typer.Typer(no_args_is_help=True, help="Customer segments: rules over golden profiles (docs/segments.md).")


@app.command("list")
def list_segments(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Every configured segment with its size and when it was last evaluated."""
    cfg = get_config(ctx, config)
    store = open_store(cfg)
    with store.reading() as conn:
        known = sizes(conn)
    table = Table("segment", "members", "evaluated", "time-based", "description", title="segments")
    for seg in cfg.segments.segments:
        info = known.get(seg.name)
        table.add_row(seg.name, f"{info['size']:,}" if info else "-",
                      f"{info['evaluated_at']:%Y-%m-%d %H:%M}" if info else "never",
                      "yes" if seg.time_based else "", seg.description)
    console.print(table)
    if not cfg.segments.segments:
        console.print("no segments configured: add a `segments:` list to the config (docs/segments.md)")


@app.command("show")
def show(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Segment name.")],
         sample: Annotated[int, typer.Option(help="Member profile ids to show (masked).")] = 10,
         config: ConfigOption = None) -> None:
    """A segment's rule, size and a masked sample of its member profile ids."""
    cfg = get_config(ctx, config)
    seg = cfg.segments.get(name)
    if seg is None:
        from hub.validation import did_you_mean

        raise ConfigError(f"no segment named '{name}'", file=str(cfg.file),
                          fix=did_you_mean(name, [s.name for s in cfg.segments.segments])
                          or "see `custhub segments list`")
    store = open_store(cfg)
    with store.reading() as conn:
        info = sizes(conn).get(name)
        count = member_count(conn, name)
        sample_rows = members(conn, name, limit=sample)
    console.print(f"[bold]{seg.name}[/bold]: {seg.description}")
    console.print(f"rule: {orjson.dumps(seg.rule, default=str).decode()}", highlight=False)
    console.print(f"members: {count:,}" + (f" (evaluated {info['evaluated_at']:%Y-%m-%d %H:%M} UTC)" if info
                                           else " (never evaluated: run `custhub segments evaluate`)"))
    if seg.time_based:
        console.print(f"time-based: every profile re-checked at least every {seg.recheck_hours:g} h")
    if sample_rows:
        table = Table("profile", "member since", title=f"sample of {len(sample_rows)}")
        for row in sample_rows:
            table.add_row(mask_profile_id(row["profile_id"]), f"{row['since']:%Y-%m-%d %H:%M}")
        console.print(table)


@app.command("evaluate")
def evaluate(ctx: typer.Context,
             full: Annotated[bool, typer.Option("--full", help="Re-check every profile, not only changed ones.")
                             ] = False,
             config: ConfigOption = None) -> None:
    """Bring segment membership up to date with the golden profiles."""
    cfg = get_config(ctx, config)
    store = open_store(cfg)
    print_summary(evaluate_segments(store, cfg, full=full))


def mask_profile_id(profile_id: int) -> str:
    """``****37``: enough to tell sample rows apart, not to look a profile up."""
    text = str(profile_id)
    return "*" * max(2, len(text) - 2) + text[-2:]


def print_summary(summary: SegmentsSummary) -> None:
    if not summary.segments and not summary.removed:
        return
    table = Table("segment", "mode", "evaluated", "entered", "left", "members", title="segments")
    for name, c in summary.segments.items():
        table.add_row(name, c.mode, f"{c.evaluated:,}", f"{c.entered:,}", f"{c.left:,}", f"{c.size:,}")
    console.print(table)
    for name in summary.removed:
        console.print(f"segment {name} is no longer configured: its members were released")

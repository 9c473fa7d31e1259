"""``custhub resolve`` and ``custhub export links|profiles``."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from hub.cli.common import ConfigOption, console, err_console, get_config, open_store

export_app = typer.Typer(no_args_is_help=True, help="Export the identity resolution (links, golden profiles).")


class Format(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


def register(app: typer.Typer) -> None:
    app.command("resolve")(resolve)
    app.add_typer(export_app, name="export")


def print_summary(summary) -> None:  # noqa: ANN001
    """One value-free summary of a resolve run."""
    console.print(f"resolve ({summary.mode}, run {summary.run_id}): {summary.pending:,} new or changed record(s); "
                  f"{summary.records:,} linked into {summary.profiles:,} profile(s), {summary.created:,} new, "
                  f"{summary.merged:,} merged; {summary.review_added:,} pair(s) added to review", highlight=False)
    if summary.demoted:
        console.print("shared keys not used: " + ", ".join(f"{k} {v:,}" for k, v in sorted(summary.demoted.items())),
                      highlight=False)
    refused = {k: v for k, v in summary.refused.items() if v}
    if refused:
        console.print("links refused by guards: " + ", ".join(f"{k} {v:,}" for k, v in sorted(refused.items())),
                      highlight=False)


def resolve(ctx: typer.Context,
            full: Annotated[bool, typer.Option("--full", help="Link every record again, not only new ones.")] = False,
            retrain: Annotated[bool, typer.Option("--retrain", help="Learn the match model again (implies --full).")]
            = False,
            config: ConfigOption = None) -> None:
    """Link stored records into golden profiles (new and changed records against existing profiles)."""
    from hub.identity.resolver import resolve_identities

    cfg = get_config(ctx, config)
    store = open_store(cfg)
    try:
        print_summary(resolve_identities(store, cfg.identity, full=full, retrain=retrain))
    finally:
        store.close()


def _export(ctx: typer.Context, config: Path | None, output: Path | None, fmt: Format, which: str) -> None:
    from hub.identity import export

    cfg = get_config(ctx, config)
    store = open_store(cfg)
    write = export.export_links if which == "links" else export.export_profiles
    try:
        with store.reading() as conn:
            if output:
                with output.open("w", encoding="utf-8", newline="") as handle:
                    count = write(conn, handle, fmt.value)
                err_console.print(f"{count:,} {which} row(s) written to {output}", highlight=False)
            else:
                write(conn, sys.stdout, fmt.value)
    finally:
        store.close()


OutputOption = Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: standard output).")]


@export_app.command("links")
def export_links(ctx: typer.Context, fmt: Annotated[Format, typer.Option("--format")] = Format.csv,
                 output: OutputOption = None, config: ConfigOption = None) -> None:
    """One row per stored source record: connection, stream, source primary key, profile id."""
    _export(ctx, config, output, fmt, "links")


@export_app.command("profiles")
def export_profiles(ctx: typer.Context, fmt: Annotated[Format, typer.Option("--format")] = Format.jsonl,
                    output: OutputOption = None, config: ConfigOption = None) -> None:
    """The golden profiles: JSON lines with every field's source, or a flat CSV of the main fields."""
    _export(ctx, config, output, fmt, "profiles")

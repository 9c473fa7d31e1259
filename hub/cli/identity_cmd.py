"""``custhub resolve`` and ``custhub export links|profiles``."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import orjson
import typer

from hub.cli.common import (
    AsRoleOption,
    ConfigOption,
    PurposeOption,
    UnmaskOption,
    console,
    err_console,
    get_config,
    open_store,
)
from hub.errors import ConfigError

export_app = typer.Typer(no_args_is_help=True, help="Export the identity resolution (links, golden profiles).")


class Format(StrEnum):
    csv = "csv"
    jsonl = "jsonl"
    xlsx = "xlsx"


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


def _export(ctx: typer.Context, config: Path | None, output: Path | None, fmt: Format, which: str,
            access: tuple[str | None, bool, bool, str]) -> None:
    from hub.identity import export
    from hub.privacy import exports
    from hub.privacy.access import cli_viewer
    from hub.privacy.export_safety import Pseudonymiser, write_csv, write_csv_stream, write_xlsx
    from hub.privacy.views import present_golden

    as_role, unmask, pseudonymise, purpose = access
    cfg = get_config(ctx, config)
    viewer = cli_viewer(cfg.privacy, as_role=as_role, unmask=unmask, purpose=purpose)
    if fmt is Format.xlsx and not output:
        raise ConfigError("--format xlsx needs --output FILE")
    if pseudonymise and fmt is Format.jsonl and which == "profiles":
        raise ConfigError("--pseudonymise works on the flat export", fix="use --format csv or xlsx")
    pseudonymiser = Pseudonymiser() if pseudonymise else None  # a fresh key: not linkable across exports
    store = open_store(cfg)
    columns = exports.LINK_COLUMNS if which == "links" else exports.PROFILE_COLUMNS
    try:
        with store.reading() as conn:
            items = export.iter_links(conn) if which == "links" else export.iter_profiles(conn)
            if fmt is Format.jsonl:
                if which == "links":
                    safe = (exports.protect_row(item, viewer, pseudonymiser) for item in items)
                else:
                    safe = ({**item, "golden": present_golden(item["golden"], viewer)} for item in items)
                count = _write_jsonl(safe, output)
            else:
                flat = items if which == "links" else (exports.flat_profile(p) for p in items)
                rows = exports.protected_rows(flat, columns, viewer, pseudonymiser)
                if fmt is Format.xlsx:
                    count = write_xlsx(output, columns, rows)
                elif output:
                    count = write_csv(output, columns, rows)
                else:
                    count = write_csv_stream(sys.stdout, columns, rows)
        with store.transaction() as conn:
            viewer.audit(conn, action="export", subjects=[], row_count=count, always=True)
        if output:
            err_console.print(f"{count:,} {which} row(s) written to {output}"
                              + (" (pseudonymised)" if pseudonymise else ""), highlight=False)
    finally:
        store.close()


def _write_jsonl(items, output: Path | None) -> int:  # noqa: ANN001
    handle = output.open("w", encoding="utf-8") if output else sys.stdout
    count = 0
    try:
        for item in items:
            handle.write(orjson.dumps(item, default=str).decode() + "\n")
            count += 1
    finally:
        if output:
            handle.close()
    return count


OutputOption = Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: standard output).")]
PseudonymiseOption = Annotated[bool, typer.Option(
    "--pseudonymise", help="Replace profile ids, source keys, names, e-mails and phones by keyed pseudonyms "
                           "(a fresh key per export) for analysis.")]


@export_app.command("links")
def export_links(ctx: typer.Context, fmt: Annotated[Format, typer.Option("--format")] = Format.csv,
                 output: OutputOption = None, unmask: UnmaskOption = False, as_role: AsRoleOption = None,
                 pseudonymise: PseudonymiseOption = False, purpose: PurposeOption = "export",
                 config: ConfigOption = None) -> None:
    """One row per stored source record: connection, stream, source primary key (masked), profile id."""
    _export(ctx, config, output, fmt, "links", (as_role, unmask, pseudonymise, purpose))


@export_app.command("profiles")
def export_profiles(ctx: typer.Context, fmt: Annotated[Format, typer.Option("--format")] = Format.jsonl,
                    output: OutputOption = None, unmask: UnmaskOption = False, as_role: AsRoleOption = None,
                    pseudonymise: PseudonymiseOption = False, purpose: PurposeOption = "export",
                    config: ConfigOption = None) -> None:
    """The golden profiles: JSON lines with every field's source, or a flat CSV/XLSX of the main fields.

    Values are masked unless --unmask and your role may see them; every export is audited.
    """
    _export(ctx, config, output, fmt, "profiles", (as_role, unmask, pseudonymise, purpose))

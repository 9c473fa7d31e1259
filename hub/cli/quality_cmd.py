"""``custhub quality [CONNECTION]``: data-quality metrics with trends; ``--html FILE`` for a shareable report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from hub.cli.common import ConfigOption, console, get_config, open_store
from hub.config import Config
from hub.quality.settings import QualitySettings
from hub.quality.trend import change, fmt_change, fmt_value, sparkline
from hub.store import Store

if TYPE_CHECKING:
    from hub.quality.results import Evaluation

STATUS = {"ok": "[green]ok[/green]", "degraded": "[red]degraded[/red]"}


def register(app: typer.Typer) -> None:
    app.command("quality")(quality)


def quality(ctx: typer.Context,
            connection: Annotated[str | None, typer.Argument(help="Only this connection.")] = None,
            refresh: Annotated[bool, typer.Option("--refresh", help="Measure now before showing.")] = False,
            html: Annotated[Path | None, typer.Option("--html", help="Write a self-contained HTML report here.",
                                                      dir_okay=False)] = None,
            trend: Annotated[int, typer.Option(help="Evaluations shown in the trend.", min=2)] = 12,
            all_rows: Annotated[bool, typer.Option("--all", help="Also per-field validity rows with nothing "
                                                   "quarantined.")] = False,
            config: ConfigOption = None) -> None:
    """Completeness, validity, uniqueness, consistency and freshness per connection, stream and field."""
    cfg = get_config(ctx, config)
    if connection is not None:
        cfg.connection(connection)  # an unknown name fails with a suggestion
    store = open_store(cfg)
    if refresh:
        from hub.quality.runner import evaluate_quality

        evaluate_quality(store, cfg, [connection] if connection else None)
    # Imported here, like the runner: the metrics load the identity tables (and pinyin), which
    # other commands do not need at start-up.
    from hub.quality.results import evaluations, latest, series

    with store.reading() as conn:
        if html is not None:
            from hub.quality.report import render_html

            html.write_text(render_html(conn, [connection] if connection else None, limit=max(trend, 30)), "utf-8")
            console.print(f"wrote {html}")
            return
        found = latest(conn, connection)
        if not found:
            console.print("no quality evaluations yet: run `custhub run` or `custhub quality --refresh`")
            return
        for ev in found:
            print_evaluation(ev, series(conn, ev.connection, trend), evaluations(conn, ev.connection, trend),
                             cfg.quality, all_rows=all_rows)


def print_evaluation(ev: Evaluation, data: dict, past: list[Evaluation], settings: QualitySettings, *,
                     all_rows: bool = False) -> None:
    marks = "".join("[red]●[/red]" if e.degraded else "[green]●[/green]" for e in past)
    title = (f"{ev.connection}: {STATUS.get(ev.status, ev.status)} · measured {ev.computed_at:%Y-%m-%d %H:%M} UTC"
             + (f" after run {ev.run_id}" if ev.run_id else "") + f" · last runs {marks}")
    table = Table("stream", "metric", "field", "value", "counts", "change", "trend", "limit", title=title,
                  title_justify="left")
    for m in ev.metrics:
        limit = settings.limit(m.connection, m.metric, m.field)
        if m.metric == "validity" and m.field != "*" and m.value == 1.0 and limit is None and not all_rows:
            continue
        values = data.get((m.stream, m.metric, m.field), [])
        bad = limit is not None and (m.value > limit if m.metric == "freshness" else m.value < limit)
        value = fmt_value(m.metric, m.value)
        counts = f"{m.numerator:,}/{m.denominator:,}" if m.denominator is not None else ""
        table.add_row(m.stream, m.metric, m.field, f"[red]{value}[/red]" if bad else value, counts,
                      fmt_change(m.metric, change(values)), sparkline(values, share=m.metric != "freshness"),
                      "" if limit is None else (f"≤ {limit:g} h" if m.metric == "freshness" else f"≥ {limit:.2f}"))
    console.print(table)
    for reason in ev.reasons:
        console.print(f"  [red]degraded:[/red] {reason}", highlight=False)


def after_run(store: Store, cfg: Config, run_ids: dict[str, int]) -> None:
    """``custhub run``'s last step: segments, then quality, with one line per connection."""
    from hub.cli.segments_cmd import print_summary
    from hub.quality.runner import after_ingest

    found, summary = after_ingest(store, cfg, run_ids)
    if summary is not None:
        print_summary(summary)
    for ev in found:
        if ev.degraded:
            console.print(f"quality of {ev.connection}: [red]degraded[/red] ({'; '.join(ev.reasons)})",
                          highlight=False)
        else:
            console.print(f"quality of {ev.connection}: [green]ok[/green]", highlight=False)

"""The quality page's data, read through ``hub.quality``'s public API (``latest``, ``evaluations``,
``series``): per connection, the newest evaluation with its reasons, and per metric a chart of the
stream-level values over the last evaluations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from hub import quality
from hub.console.charts import line_chart
from hub.quality.trend import change, fmt_change, fmt_value

METRICS = ("completeness", "validity", "uniqueness", "consistency", "freshness")
MAX_LINES = 8


def connection_quality(conn: Connection, connection: str, limit: int = 30) -> dict[str, Any]:
    evaluations = quality.evaluations(conn, connection, limit)
    latest = quality.latest(conn, connection)
    data = quality.series(conn, connection, limit)
    labels = [e.computed_at.strftime("%m-%d %H:%M") for e in evaluations]
    charts = []
    for metric in METRICS:
        rows = {key: values for key, values in data.items() if key[1] == metric}
        if not rows:
            continue
        lines = {f"{stream}/{field}".replace("*/", "").replace("/*", ""): values
                 for (stream, _, field), values in sorted(rows.items())}
        shown = dict(list(lines.items())[:MAX_LINES])
        charts.append({"metric": metric, "svg": line_chart(shown, share=metric != "freshness", labels=labels,
                                                          title=f"{metric} of {connection}"),
                       "hidden": len(lines) - len(shown)})
    table = [{"stream": stream, "metric": metric, "field": field, "value": fmt_value(metric, values[-1]),
              "change": fmt_change(metric, change(values))}
             for (stream, metric, field), values in sorted(data.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2]))]
    return {"connection": connection, "latest": latest[0] if latest else None, "charts": charts, "table": table,
            "statuses": [e.status for e in evaluations]}

"""Data quality: metrics per connection, stream and field, kept over time, judged against thresholds.

Computing (after ``custhub run``, from the scheduler, or ``custhub quality --refresh``)::

    from hub.quality import evaluate_quality
    evaluations = evaluate_quality(store, config, ["crm_export"], run_ids={"crm_export": 42})
    [e.reasons for e in evaluations if e.degraded]   # "completeness of person.emails (crm_export/contacts) 0.41 < 0.60"

Reading (the CLI, the HTML report and the admin console), each with an open SQLAlchemy connection:

- ``latest(conn, connection=None) -> list[Evaluation]``: the newest evaluation of each connection,
  with ``status`` (``ok``/``degraded``), ``reasons``, ``computed_at`` and ``metrics`` (``Metric`` rows:
  ``stream``, ``metric``, ``field``, ``value`` 0..1 or hours for freshness, ``numerator``, ``denominator``).
- ``history(conn, connection, metric, field=None, stream=None, limit=50) -> list[dict]``: the values of one
  metric over the last ``limit`` evaluations, oldest first.
- ``evaluations(conn, connection, limit=50)``: the last evaluations (status and reasons), oldest first.
- ``series(conn, connection, limit=20)``: every metric row as a series, for trends and sparklines.
- ``render_html(conn, connections=None) -> str``: the self-contained HTML report (inline SVG charts).

Metric definitions: ``hub.quality.compute``; thresholds and the config section: ``hub.quality.settings``.
The tables hold aggregates only (counts and shares), never a customer value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.quality.compute import Metric
    from hub.quality.report import render_html
    from hub.quality.results import Evaluation, evaluations, history, latest, series
    from hub.quality.runner import evaluate_quality
    from hub.quality.settings import QualitySettings

__all__ = ["Evaluation", "Metric", "QualitySettings", "evaluate_quality", "evaluations", "history", "latest",
           "render_html", "series"]
_WHERE = {"Evaluation": "results", "evaluations": "results", "history": "results", "latest": "results",
          "series": "results", "Metric": "compute", "render_html": "report", "evaluate_quality": "runner",
          "QualitySettings": "settings"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"hub.quality.{_WHERE[name]}"), name)
    raise AttributeError(name)

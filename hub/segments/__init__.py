"""Customer segments: named rules over golden profiles (``segments:`` in the config), kept as membership.

Evaluating (after ``custhub run``/``custhub resolve``, from the scheduler, or ``custhub segments evaluate``)::

    from hub.segments import evaluate_segments
    summary = evaluate_segments(store, config)      # incremental; full=True re-checks every profile

Reading (the CLI, sync and the admin console), each with an open SQLAlchemy connection:

- ``sizes(conn) -> {name: {"size", "evaluated_at", "full_at"}}``: every evaluated segment.
- ``members(conn, name, limit=50, offset=0) -> [{"profile_id", "since"}]``: current members, newest first.
- ``member_count(conn, name)``, ``changes(conn, name, since) -> {"entered", "left"}``.
- ``segments_of(conn, profile_id) -> [{"segment", "since", "until"}]``: a profile's segment history.
- ``tags_for(conn, profile_ids) -> {str(profile_id): [tag, ...]}``: current segment tags, as sync sends them.
- ``with_segment_tags(conn, profiles)``: sync's profiles with the tags added to ``person.tags``.

Rule language: ``hub.segments.rules``; config section: ``hub.segments.settings``; docs/segments.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.segments.api import changes, member_count, members, segments_of, sizes, tags_for, with_segment_tags
    from hub.segments.evaluate import SegmentsSummary, evaluate_segments
    from hub.segments.settings import Segment, SegmentSettings

__all__ = ["Segment", "SegmentSettings", "SegmentsSummary", "changes", "evaluate_segments", "member_count",
           "members", "segments_of", "sizes", "tags_for", "with_segment_tags"]
_WHERE = {"changes": "api", "member_count": "api", "members": "api", "segments_of": "api", "sizes": "api",
          "tags_for": "api", "with_segment_tags": "api", "SegmentsSummary": "evaluate",
          "evaluate_segments": "evaluate", "Segment": "settings", "SegmentSettings": "settings"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"hub.segments.{_WHERE[name]}"), name)
    raise AttributeError(name)

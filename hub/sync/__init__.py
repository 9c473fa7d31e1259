"""Sync out: keep destinations (CRMs, SQL tables, files) aligned with the golden profiles.

Public API::

    from hub.sync import sync_destination, SyncResult, GoldenProfile, iter_profiles
    from hub.sync import OutRow, RowResult, DestinationConnector, Writer        # for destination authors
    from hub.sync import Transient, RateLimited, BatchRejected, AuthExpired, UnknownOutcome

Flow: ``planner`` diffs each profile's mapped payload against the link table into the outbox (one
transaction); ``dispatcher`` sends pending rows in batches with ``retry`` and a ``breaker``, settling
each batch (outbox, links, per-row results) in one transaction. Privacy: ``consent`` gates profiles
(purpose, separate cross-border and third-party consent), ``sealing`` seals outbox payloads, errors
and reasons, ``erase`` removes a person from every destination (``erase_in_destinations``). See
``docs/sync.md``.
"""

from hub.sync import tables  # noqa: F401  (registers the tables on the shared metadata)
from hub.sync.destination import DestinationConnector, OutRow, RowResult, Writer
from hub.sync.errors import AuthExpired, BatchRejected, RateLimited, Transient, UnknownOutcome
from hub.sync.profiles import GoldenProfile, iter_profiles
from hub.sync.runner import SyncResult, sync_destination

__all__ = ["AuthExpired", "BatchRejected", "DestinationConnector", "GoldenProfile", "OutRow", "RateLimited",
           "RowResult", "SyncResult", "Transient", "UnknownOutcome", "Writer", "iter_profiles",
           "sync_destination"]

"""Ingest: read a connection's source, map, clean and store its records with their state."""

from hub.ingest.pipeline import RunResult, run_connection
from hub.ingest.retry import RetryResult, retry_quarantined

__all__ = ["RetryResult", "RunResult", "retry_quarantined", "run_connection"]

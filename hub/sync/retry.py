"""Retries with tenacity that honour ``Retry-After``, and the split of a refused batch.

Burst rate limits wait as long as the CRM asks and do not use up the attempt budget; transient
failures back off exponentially and give up after ``attempts``; a daily quota, or a wait longer than
``max_inline_wait``, is never slept in-process: it propagates and the run ends ``partial``.
Logs name the error class, status and code only, never a response body.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tenacity import RetryCallState, Retrying, retry_if_exception, wait_random_exponential

from hub.sync.errors import BatchRejected, RateLimited, Transient

log = logging.getLogger("custhub.sync")


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass
class RetryPolicy:
    attempts: int = 5  # transient failures per batch before giving up
    max_inline_wait: float = 120.0
    max_rate_wait: float = 900.0  # total seconds of burst waits per batch
    jitter: float = 1.0
    sleep: Callable[[float], None] = time.sleep
    backoff: Any = field(default_factory=lambda: wait_random_exponential(multiplier=0.5, max=30))

    def _retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, RateLimited):
            return exc.scope == "burst" and (exc.retry_after or 0) <= self.max_inline_wait
        return isinstance(exc, Transient)

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        failures = 0

        def stop(rs: RetryCallState) -> bool:
            nonlocal failures
            exc = rs.outcome.exception() if rs.outcome else None
            if isinstance(exc, RateLimited):
                return rs.seconds_since_start > self.max_rate_wait
            failures += 1
            return failures >= self.attempts

        def wait(rs: RetryCallState) -> float:
            exc = rs.outcome.exception() if rs.outcome else None
            after = getattr(exc, "retry_after", None)
            if after is not None:
                return after + random.uniform(0, self.jitter)
            if isinstance(exc, RateLimited):  # burst without a header: HubSpot's window is 10 s
                return 10.0 + random.uniform(0, self.jitter)
            return self.backoff(rs)

        retrying = Retrying(retry=retry_if_exception(self._retryable), stop=stop, wait=wait,
                            sleep=self.sleep, before_sleep=_log_retry, reraise=True)
        return retrying(fn, *args)


def _log_retry(rs: RetryCallState) -> None:
    exc = rs.outcome.exception() if rs.outcome else None
    log.info("retrying after %s (%s); waiting %.1fs", type(exc).__name__, exc, rs.upcoming_sleep)


def deliver(write: Callable[[list[Any]], list[Any]], rows: list[Any], policy: RetryPolicy,
            rejected: Callable[[BatchRejected], Any]) -> list[Any]:
    """``write(rows)`` with retries; a batch the CRM refuses as a whole is split to find the bad rows."""
    try:
        return policy.call(write, rows)
    except BatchRejected as exc:
        if len(rows) == 1:
            return [rejected(exc)]
        mid = len(rows) // 2
        return deliver(write, rows[:mid], policy, rejected) + deliver(write, rows[mid:], policy, rejected)

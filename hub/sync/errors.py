"""What a destination raises, classified by what the dispatcher does with it.

* ``Transient``      back off and retry the batch (network, 5xx); counts against the attempt budget
* ``RateLimited``    ``scope="burst"``: wait ``retry_after`` and retry, NOT counted as a failed attempt;
                     ``scope="daily"``: stop the run as ``partial`` and defer the rest until the reset
* ``BatchRejected``  the CRM refused the whole batch (e.g. one bad row): split it to find the bad rows
* ``AuthExpired``    the token expired: the destination refreshes once, then it is ``FatalError``
* ``UnknownOutcome`` the request may or may not have been applied (timeout after sending)

Per-row refusals are not exceptions: they come back as ``RowResult(status="rejected")``.
Messages carry status codes, CRM error codes and field names, never values.
"""

from __future__ import annotations

from hub.errors import CusthubError, FatalError, RetriableError


class Transient(RetriableError):
    """A failure that may pass: retry with backoff."""


class UnknownOutcome(Transient):
    """Sent, but no answer: the write may have been applied. Create-only APIs search before retrying."""


class RateLimited(RetriableError):
    def __init__(self, message: str, *, scope: str = "burst", retry_after: float | None = None) -> None:
        self.scope = scope
        super().__init__(message, retry_after=retry_after)


class BatchRejected(CusthubError):
    """The whole batch was refused for a reason that belongs to some of its rows."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        self.code = code
        super().__init__(message)


class AuthExpired(RetriableError):
    """The access token is no longer valid."""


class DestinationUnavailable(FatalError):
    """The circuit breaker of a destination is open."""

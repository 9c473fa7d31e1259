"""A circuit breaker per destination: one failing CRM stops being called, the others go on.

Only transient failures that outlasted their retries count; a rejected row (a 4xx validation error)
never opens the breaker. After ``reset_timeout`` one half-open probe decides whether it closes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hub.sync.errors import DestinationUnavailable


@dataclass
class CircuitBreaker:
    name: str
    fail_max: int = 3
    reset_timeout: float = 60.0
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    opened_at: float | None = field(default=None)

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half_open" if self.clock() - self.opened_at >= self.reset_timeout else "open"

    def before(self) -> None:
        if self.state == "open":
            raise DestinationUnavailable(f"destination '{self.name}' is unavailable (circuit open after "
                                         f"{self.failures} failures; retried after {self.reset_timeout:.0f}s)")

    def success(self) -> None:
        self.failures, self.opened_at = 0, None

    def failure(self) -> None:
        self.failures += 1
        if self.state == "half_open" or self.failures >= self.fail_max:
            self.opened_at = self.clock()


_breakers: dict[str, CircuitBreaker] = {}


def breaker_for(destination: str, **settings: float) -> CircuitBreaker:
    """The process-wide breaker of ``destination`` (a long-running scheduler keeps it between runs)."""
    if destination not in _breakers:
        _breakers[destination] = CircuitBreaker(destination, **settings)  # type: ignore[arg-type]
    return _breakers[destination]


def reset_breakers() -> None:
    _breakers.clear()

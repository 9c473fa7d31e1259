"""The exception tree of custhub, classified by what the runner does with each error.

* CusthubError                 base of everything custhub raises on purpose
  * FatalError                 stop the run; the user must act (bad config, bad credentials)
    * ConfigError              a config or mapping file is wrong; names file, path and fix
    * ConnectorError           a connector cannot be found, installed or started
    * CorruptInputError        an input file cannot be read as a whole (encoding, truncation)
    * StoreError               the store is unreachable or its schema is wrong
  * RetriableError             back off and try again (network, 5xx, 429)
  * RecordError                skippable: one record is bad; quarantine it with its reasons and go on

Messages never contain customer data: they name fields, paths and counts, never values.
The CLI converts every CusthubError into one line on stderr and a non-zero exit.
"""

from __future__ import annotations


class CusthubError(Exception):
    """Base of every error custhub raises deliberately."""

    exit_code = 1


class FatalError(CusthubError):
    """Stops the run; retrying without a change will fail again."""


class ConfigError(FatalError):
    """A configuration or mapping file is invalid.

    ``str(error)`` is one line: ``<file>: <path>: <problem> (<fix>)``.
    """

    exit_code = 2

    def __init__(self, problem: str, *, file: str | None = None, path: str | None = None,
                 fix: str | None = None) -> None:
        self.file, self.path, self.problem, self.fix = file, path, problem, fix
        super().__init__(format_location(file, path, problem, fix))


def format_location(file: str | None, path: str | None, problem: str, fix: str | None) -> str:
    """Render ``file: path: problem (fix)``, leaving out the parts that are unknown."""
    parts = [p for p in (file, path or None) if p]
    text = ": ".join([*parts, problem])
    return f"{text} ({fix})" if fix else text


class ConnectorError(FatalError):
    """A connector is unknown, not installed, or failed in a way retrying will not fix."""


class CorruptInputError(FatalError):
    """An input cannot be read as a whole: nothing from it is imported."""


class StoreError(FatalError):
    """The store cannot be opened or used."""


class RetriableError(CusthubError):
    """A transient failure: the caller may back off and retry."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class RecordError(CusthubError):
    """One record is bad. ``reasons`` lists every problem found, without values."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = list(reasons)
        super().__init__("; ".join(self.reasons))

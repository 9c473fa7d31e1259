"""The error a transform raises for a value it cannot handle.

Its own module, outside the compiled ones (hub.native): plugins subclass it, and a compiled class
could not be subclassed from Python.
"""

from __future__ import annotations


class TransformError(Exception):
    """A transform cannot handle a value. The message must not contain the value.

    Raised by transforms at run time (``Mapping.apply`` turns it into a ``RecordError`` reason) and
    by a transform's optional ``prepare`` at load (the loader turns it into a ``ConfigError``).
    """

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        self.fix = fix
        super().__init__(message)

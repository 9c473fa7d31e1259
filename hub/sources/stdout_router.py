"""Route ``sys.stdout`` while in-process sources run, so their printed CONTROL messages are kept.

The CDK *prints* rotated configs (single-use OAuth refresh tokens). ``StdoutRouter`` stands in for
``sys.stdout`` while any source operation runs and hands each write to the operation it belongs to.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any


class StdoutTap:
    """What one operation's source printed, collected line by line."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._partial = ""
        self._lines: list[str] = []
        self.consumer: int | None = None  # the thread pulling messages from the source
        self.running_on: int | None = None  # that thread, while it runs the source's code

    def enter_source(self) -> None:
        self.consumer = self.running_on = threading.get_ident()

    def leave_source(self) -> None:
        self.running_on = None

    def capture(self, text: str) -> int:
        with self._lock:
            pieces = (self._partial + text).split("\n")
            self._partial = pieces.pop()
            self._lines.extend(pieces)
        return len(text)

    def has_lines(self) -> bool:
        return bool(self._lines)

    def take_lines(self) -> list[str]:
        with self._lock:
            lines, self._lines = self._lines, []
        return lines

    def finish(self) -> list[str]:
        """The lines not taken yet, including an unterminated last one."""
        with self._lock:
            lines, self._lines = self._lines, []
            if self._partial:
                lines.append(self._partial)
                self._partial = ""
        return lines


class StdoutRouter:
    """The one stand-in for ``sys.stdout`` while in-process sources run.

    ``contextlib.redirect_stdout`` is not enough: a read is a generator, so the hub's own output
    between two messages would be captured, and two reads on two threads would restore each other's
    stdout in the wrong order. Instead, while any operation is attached, every write is routed:

    * from a thread running a source's code: to that operation;
    * from a thread consuming an operation's messages (the hub's own output): to the real stdout;
    * from any other thread (e.g. the CDK's worker pool): to the only operation attached; when
      several are, nobody can tell whose it is, so it is logged instead (a rotated config among
      them is reported as lost rather than handed to the wrong connection).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._taps: tuple[StdoutTap, ...] = ()
        self._stdout: Any = None
        self._orphans = StdoutTap()

    def attach(self, tap: StdoutTap) -> None:
        with self._lock:
            if not self._taps:
                self._stdout = sys.stdout
                sys.stdout = self
            self._taps = (*self._taps, tap)

    def detach(self, tap: StdoutTap) -> None:
        with self._lock:
            if tap not in self._taps:
                return
            self._taps = tuple(t for t in self._taps if t is not tap)
            if not self._taps:
                if sys.stdout is self:
                    sys.stdout = self._stdout
                self._stdout = None

    def write(self, text: str) -> int:
        ident = threading.get_ident()
        taps = self._taps
        for tap in taps:
            if tap.running_on == ident:
                return tap.capture(text)
        if not taps or any(tap.consumer == ident for tap in taps):
            return self._real().write(text)
        if len(taps) == 1:
            return taps[0].capture(text)
        self._orphans.capture(text)
        log_orphans(self._orphans.take_lines())
        return len(text)

    def flush(self) -> None:
        self._real().flush()

    def isatty(self) -> bool:
        return False

    def _real(self) -> Any:
        return self._stdout if self._stdout is not None else sys.__stdout__

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real(), name)


STDOUT = StdoutRouter()


def log_orphans(lines: list[str]) -> None:
    logger = logging.getLogger(__name__)
    for line in lines:
        if '"CONTROL"' in line:
            logger.error("a source rotated its config on a worker thread while several in-process reads "
                         "were running; it cannot be told which connection it belongs to, so it was not "
                         "saved (run such connections one at a time)")
        elif line.strip():
            logger.debug("unattributed source output: %s", line)

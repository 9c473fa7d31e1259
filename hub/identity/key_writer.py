"""Writing a full run's keys on a thread while the resolver goes on (SQLite with the worker pool).

Each JSON chunk of key rows and each index is one SQLite statement, during which sqlite3 releases
the GIL, so the writing takes the otherwise idle core. The resolver must not touch the connection
until ``join``; on failure it calls ``wait`` before rolling back, never under a running statement.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from sqlalchemy import Connection

from hub.identity import storage


class KeyWriter:
    """``storage.replace_all_keys`` on a thread. On SQLite each JSON chunk of key rows and each index
    is one statement, during which sqlite3 releases the GIL: the work takes the otherwise idle core
    while the resolver goes on in Python (without touching the connection until ``join``)."""

    def __init__(self, conn: Connection, features: Sequence, key_json: Sequence[str]) -> None:
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(conn, features, key_json), name="identity-keys",
                                       daemon=True)
        self.thread.start()

    def _run(self, conn: Connection, features: Sequence, key_json: Sequence[str]) -> None:
        try:
            storage.replace_all_keys(conn, features, key_json)
        except BaseException as exc:  # raised in the resolver's thread by join()
            self.error = exc

    def wait(self) -> None:
        self.thread.join()

    def join(self) -> None:
        self.thread.join()
        if self.error is not None:
            error, self.error = self.error, None
            raise error

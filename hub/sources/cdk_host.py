"""Import ``airbyte_cdk`` lazily and keep the host process's wiring that the import changes.

Importing the CDK takes ~3 s, reconfigures logging (closing every handler and sending the root
logger's records to stdout as JSON) and the CDK installs its own ``sys.excepthook``. The import is
done on first use with the reconfiguration suppressed, and ``HostWiring`` puts root logging and
``sys.excepthook`` back after every operation.
"""

from __future__ import annotations

import contextlib
import logging
import logging.config
import sys
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

_cdk_names: SimpleNamespace | None = None
_import_lock = threading.Lock()


def cdk() -> SimpleNamespace:
    """The CDK names this module uses, imported on first use with the host's wiring restored."""
    global _cdk_names
    if _cdk_names is not None:
        return _cdk_names
    with _import_lock:
        if _cdk_names is None:
            host = HostWiring.snapshot()
            try:
                with warnings.catch_warnings(), logging_config_untouched():
                    warnings.simplefilter("ignore")  # the CDK's own experimental/deprecation notices
                    import airbyte_cdk.models as models
                    from airbyte_cdk.logger import PRINT_BUFFER, AirbyteLogFormatter
                    from airbyte_cdk.utils.traced_exception import AirbyteTracedException
            finally:
                host.restore()
            _cdk_names = SimpleNamespace(
                models=models,
                AirbyteTracedException=AirbyteTracedException,
                AirbyteLogFormatter=AirbyteLogFormatter,
                PRINT_BUFFER=PRINT_BUFFER,
                AirbyteMessageSerializer=models.AirbyteMessageSerializer,
                AirbyteStateMessageSerializer=models.AirbyteStateMessageSerializer,
                FailureType=models.FailureType,
                Status=models.Status,
                Type=models.Type,
            )
    return _cdk_names


@contextlib.contextmanager
def logging_config_untouched() -> Iterator[None]:
    """Make ``logging.config.dictConfig`` a no-op while the CDK is imported.

    The import calls it to install a JSON printer on the root logger, and ``dictConfig`` first
    closes every handler of the process (a ``FileHandler`` opened with mode "w" would stay closed).
    """
    original = logging.config.dictConfig
    logging.config.dictConfig = lambda config: None
    try:
        yield
    finally:
        logging.config.dictConfig = original


@dataclass
class HostWiring:
    """The process-wide settings that the CDK rewires: root logging and ``sys.excepthook``."""

    root_handlers: list[logging.Handler]
    root_level: int
    airbyte_level: int
    excepthook: Any

    @classmethod
    def snapshot(cls) -> HostWiring:
        root = logging.getLogger()
        return cls(list(root.handlers), root.level, logging.getLogger("airbyte").level, sys.excepthook)

    def restore(self) -> None:
        root = logging.getLogger()
        root.handlers[:] = self.root_handlers
        root.setLevel(self.root_level)
        logging.getLogger("airbyte").setLevel(self.airbyte_level)
        sys.excepthook = self.excepthook

    def undo_cdk_rewiring(self, cdk: SimpleNamespace) -> None:
        """Restore what the CDK changed since the snapshot, leaving the host's own changes alone."""
        root = logging.getLogger()
        if any(is_cdk_handler(cdk, handler) for handler in root.handlers):
            root.handlers[:] = self.root_handlers
            root.setLevel(self.root_level)
            logging.getLogger("airbyte").setLevel(self.airbyte_level)
        if getattr(sys.excepthook, "__module__", "").startswith("airbyte_cdk"):
            sys.excepthook = self.excepthook


def is_cdk_handler(cdk: SimpleNamespace, handler: logging.Handler) -> bool:
    return (isinstance(handler.formatter, cdk.AirbyteLogFormatter)
            or getattr(handler, "stream", None) is cdk.PRINT_BUFFER)




class QuietCdk(logging.Filter):
    """Keep the CDK's chatter out of the hub's log unless debugging.

    The CDK logs progress at INFO (including every stream's state) and a traceback for each failed
    stream; the hub reports both itself, as ``State`` and ``StreamFailure`` messages. Warnings
    without a traceback pass.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info or record.levelno < logging.WARNING:
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True

"""A logging filter that masks personal data in log records: the last line of defence.

Code should never log customer values; this filter catches the ones that slip through anyway
(an exception message carrying a phone number, a library logging a response body). It masks
mainland mobile numbers, E.164 numbers, e-mail addresses and CN resident ID numbers in the
message, its arguments and the formatted traceback.
"""

from __future__ import annotations

import logging
import re

from hub.privacy.masking import mask_email, mask_id, mask_phone

_PATTERNS = (
    (re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+"), mask_email),
    (re.compile(r"(?<![\dA-Za-z])\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3}[\dXx](?![\dA-Za-z])"), mask_id),
    (re.compile(r"(?<![\d+])\+\d{8,15}(?!\d)"), mask_phone),
    (re.compile(r"(?<!\d)(?:86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)"), mask_phone),
)


def scrub(text: str) -> str:
    """``text`` with every phone, e-mail and CN ID number masked."""
    for pattern, masker in _PATTERNS:
        text = pattern.sub(lambda m, f=masker: f(m.group(0)), text)
    return text


class PiiLogFilter(logging.Filter):
    """Masks personal data in every record it sees; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the template, drop the args
            message = str(record.msg)
        record.msg, record.args = scrub(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
            record.exc_info = None  # the handler uses exc_text, not a fresh (unmasked) format
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


def install_log_filter(logger: logging.Logger | None = None) -> PiiLogFilter:
    """Add the filter to every handler of ``logger`` (the root logger by default) and to the logger."""
    logger = logger or logging.getLogger()
    pii = PiiLogFilter()
    for handler in logger.handlers:
        if not any(isinstance(f, PiiLogFilter) for f in handler.filters):
            handler.addFilter(pii)
    if not any(isinstance(f, PiiLogFilter) for f in logger.filters):
        logger.addFilter(pii)
    return pii


_SCRUBBING_FACTORY_MARK = "_custhub_scrubs"


def install_record_scrubber() -> None:
    """Scrub every log record when it is created, whatever handler later emits it (idempotent).

    Handler filters miss handlers added later (airbyte-cdk rewires the root logger on import;
    uvicorn configures its own); a record factory sees every record that passes its logger's level.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, _SCRUBBING_FACTORY_MARK, False):
        return
    pii = PiiLogFilter()

    def factory(*args, **kwargs) -> logging.LogRecord:  # noqa: ANN002, ANN003
        record = previous(*args, **kwargs)
        pii.filter(record)
        return record

    setattr(factory, _SCRUBBING_FACTORY_MARK, True)
    logging.setLogRecordFactory(factory)

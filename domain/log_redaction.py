"""What libraries write at DEBUG with secrets in it, cut out before any handler sees the record.

A filter on a logger runs for every record that logger makes, whatever level a deployment sets, so turning on
DEBUG to chase a problem does not bring back an S3 signature, an FCM access token or a row of the users table.
Each adapter installs the filter for the loggers of its own library.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

REDACTED = "[redacted]"


class Redact(logging.Filter):
    """Replaces the second group of each pattern in the formatted message; drops the record when ``drop`` says
    so; blanks the extra fields named in ``extras`` (structured logs carry request headers there)."""

    def __init__(
        self,
        *patterns: str,
        drop: Callable[[logging.LogRecord], bool] | None = None,
        extras: tuple[str, ...] = (),
        flags: re.RegexFlag = re.NOFLAG,
    ) -> None:
        super().__init__()
        self._pattern = re.compile("|".join(f"(?:{p})" for p in patterns), flags) if patterns else None
        self._drop = drop
        self._extras = extras

    def filter(self, record: logging.LogRecord) -> bool:
        if self._drop is not None and self._drop(record):
            return False
        if self._pattern is not None:
            # Arguments are cleaned one by one and kept: formatters such as uvicorn's access log unpack them.
            if isinstance(record.args, tuple):
                record.args = tuple(self._clean(a) if isinstance(a, str) else a for a in record.args)
            if isinstance(record.msg, str):
                record.msg = self._clean(record.msg)
            message = record.getMessage()
            cleaned = self._clean(message)
            if cleaned != message:  # a secret made only by the formatting (or in other kinds of arguments)
                record.msg, record.args = cleaned, None
        for name in self._extras:
            if name in record.__dict__:
                setattr(record, name, REDACTED)
        return True

    def _clean(self, text: str) -> str:
        assert self._pattern is not None
        return self._pattern.sub(_keep_prefix, text)


def _keep_prefix(match: re.Match[str]) -> str:
    prefix = next((group for group in match.groups() if group is not None), "")
    return prefix + REDACTED


def install(redact: Redact, *logger_names: str) -> None:
    """Idempotent: a logger holds each filter once (``Filterer.addFilter``)."""
    for name in logger_names:
        logging.getLogger(name).addFilter(redact)

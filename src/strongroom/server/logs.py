"""Structured logs: one JSON object per line, with a level, an event name and fields.

This module owns the node's log format. Callers pass only non-secret fields (peer
addresses, command names, error codes, counts); request arguments are never logged.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any, Final, TextIO

__all__ = ["JSONFormatter", "configure_logging", "log"]

LOGGER: Final = logging.getLogger("strongroom.server")


class JSONFormatter(logging.Formatter):
    """``{"ts": …, "level": …, "event": …, **fields}`` per record."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "event": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        return json.dumps(entry, default=str, separators=(",", ":"))


def configure_logging(level: str = "info", path: Path | None = None) -> None:
    """Send the node's logs to ``path`` (appended) or standard error, as JSON lines."""
    stream: TextIO
    handler: logging.Handler
    if path is None:
        stream = sys.stderr
        handler = logging.StreamHandler(stream)
    else:
        handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(JSONFormatter())
    LOGGER.handlers[:] = [handler]
    LOGGER.setLevel(level.upper())
    LOGGER.propagate = False


def log(level: int, event: str, **fields: Any) -> None:
    """Log ``event`` with ``fields`` (which must hold no secret)."""
    if LOGGER.isEnabledFor(level):
        LOGGER.log(level, event, extra={"fields": fields})

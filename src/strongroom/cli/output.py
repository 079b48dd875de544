"""What the ``strongroom`` commands print: tables, JSON, timestamps, sizes, a progress bar, errors.

This module owns the look of the command line's output and the mapping of failures to exit
codes (0 done, 1 the operation failed, 2 the command line or configuration is wrong, 3 an
authentication or permission failure, 4 no HSM reachable). Human
output goes to stdout as aligned tables; ``--output json`` puts exactly one JSON document on
stdout and nothing else. Progress, warnings and errors go to stderr. It knows nothing about
backups or HSMs and never sees a secret: callers hand it only public facts.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TextIO

from strongroom.errors import AccessDenied, AuthenticationError, NetworkError, StrongroomError

__all__ = [
    "EXIT_AUTH",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_UNAVAILABLE",
    "EXIT_USAGE",
    "ProgressBar",
    "UsageError",
    "human_size",
    "iso_utc",
    "key_value_table",
    "print_json",
    "printable",
    "report_errors",
    "table",
    "warn",
]

EXIT_OK = 0
EXIT_FAILED = 1
"""The operation was attempted and failed (any Strongroom error, a failed verification)."""
EXIT_USAGE = 2
EXIT_AUTH = 3
"""Authentication or authorisation failed (wrong password, locked user, role not allowed)."""
EXIT_UNAVAILABLE = 4
"""No HSM could be reached, or the connection failed (network, TLS trust, timeout)."""
"""The command line or the configuration is wrong; nothing was done (argparse uses 2 too)."""


class UsageError(Exception):
    """The command line or the configuration is wrong: exit code 2, nothing done."""


def report_errors(command: Callable[[], int], stderr: TextIO | None = None) -> int:
    """Run ``command`` and turn its failures into a message on stderr and an exit code."""
    err = stderr if stderr is not None else sys.stderr
    try:
        return command()
    except UsageError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_USAGE
    except (AuthenticationError, AccessDenied) as exc:
        print(f"error: {exc}", file=err)
        return EXIT_AUTH
    except NetworkError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_UNAVAILABLE
    except StrongroomError as exc:  # str() is "[CODE] message"; messages carry no secrets
        print(f"error: {exc}", file=err)
        return EXIT_FAILED
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        print(f"error: {exc.strerror or type(exc).__name__}{where}", file=err)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("error: interrupted", file=err)
        return 130


def warn(message: str) -> None:
    """A warning on stderr."""
    print(f"WARNING: {message}", file=sys.stderr, flush=True)


def print_json(document: object) -> None:
    """The one JSON document of a ``--output json`` run, on stdout."""
    print(json.dumps(document, indent=2, ensure_ascii=False))


def iso_utc(ns: int | None) -> str:
    """Nanoseconds since the epoch as ISO-8601 UTC to the second (``-`` for none)."""
    if ns is None:
        return "-"
    return datetime.fromtimestamp(ns // 10**9, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def human_size(size: float | None) -> str:
    """A byte count in binary units: ``512 B``, ``1.5 KiB``, ``3.2 GiB``."""
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def printable(text: object) -> str:
    """``text`` with control characters escaped, so one value stays on one table line."""
    value = "-" if text is None else str(text)
    if value.isprintable():
        return value
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in value)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Rows under headers in left-aligned columns two spaces apart (no trailing blanks)."""
    cells = [[printable(h) for h in headers]] + [[printable(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    return "\n".join(lines)


def key_value_table(pairs: Sequence[tuple[str, object]]) -> str:
    """One record as ``name  value`` lines, names aligned."""
    width = max((len(k) for k, _ in pairs), default=0)
    return "\n".join(f"{k.ljust(width)}  {printable(v)}".rstrip() for k, v in pairs)


class ProgressBar:
    """Bytes done, rate and (when the total is known) a bar, redrawn on one stderr line.

    Call it with each piece's byte count (the backup service's ``progress`` callback); use it
    as a context manager so the line is finished (or wiped, after an error). ``total`` may be
    an estimate (the stored object's size while the inner bytes are counted): the bar stops at
    100 % and the finished line shows the bytes actually done.
    """

    _WIDTH = 24
    _INTERVAL_S = 0.1

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._label = label
        self._total = total if total else None
        self._stream = stream if stream is not None else sys.stderr
        self._clock = clock
        self._started = clock()
        self._last_draw = -1.0
        self._done = 0
        self._drawn = False

    def __repr__(self) -> str:
        return f"ProgressBar({self._label!r}, done={self._done}, total={self._total})"

    @property
    def done(self) -> int:
        """Bytes reported so far."""
        return self._done

    def __call__(self, count: int) -> None:
        self._done += count
        now = self._clock()
        if now - self._last_draw >= self._INTERVAL_S:
            self._draw(now)

    def render(self, now: float | None = None) -> str:
        """The current line (without the carriage return)."""
        now = self._clock() if now is None else now
        elapsed = max(now - self._started, 1e-9)
        rate = f"{human_size(self._done / elapsed)}/s"
        if self._total is None:
            return f"{self._label}  {human_size(self._done)}  {rate}"
        fraction = min(self._done / self._total, 1.0)
        filled = round(fraction * self._WIDTH)
        bar = "#" * filled + "." * (self._WIDTH - filled)
        return (
            f"{self._label}  [{bar}] {fraction:4.0%}  "
            f"{human_size(min(self._done, self._total))} / {human_size(self._total)}  {rate}"
        )

    def _draw(self, now: float) -> None:
        self._last_draw = now
        self._stream.write("\r\x1b[2K" + self.render(now))
        self._stream.flush()
        self._drawn = True

    def clear(self) -> None:
        """Wipe the line (before a prompt or a message)."""
        if self._drawn:
            self._stream.write("\r\x1b[2K")
            self._stream.flush()
            self._drawn = False
            self._last_draw = -1.0

    def finish(self) -> None:
        """Draw the final state and end the line."""
        if self._total is not None:  # the total may have been an estimate: end at 100 %
            self._total = self._done or self._total
        self._draw(self._clock())
        self._stream.write("\n")
        self._stream.flush()
        self._drawn = False

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.finish()
        else:
            self.clear()

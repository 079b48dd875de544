"""Bytes in and out of the session commands: base64 arguments, files, streams, output files.

This module owns how a command reads its input (``--data BASE64`` or ``--data-path FILE``,
``-`` for standard input) and writes binary results (base64 in JSON, base64 or ``--hex``
in text, raw bytes with ``--out``/``--path``). Input larger than ``SINGLE_PART_LIMIT`` is
handed to the SDK as an iterable of chunks, which streams it multi-part, with a progress
bar on stderr when stderr is a terminal (``--no-progress`` turns it off). It never decides
what the bytes mean.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Final

from strongroom.cli.output import ProgressBar, UsageError

__all__ = [
    "CHUNK_SIZE",
    "SINGLE_PART_LIMIT",
    "add_data_options",
    "add_hex_option",
    "b64",
    "data_source",
    "decode_base64",
    "read_small",
    "shown",
    "write_file",
]

SINGLE_PART_LIMIT: Final = 1 << 20
"""Inputs up to this many bytes go in one request; larger ones stream multi-part."""
CHUNK_SIZE: Final = 1 << 20
"""Bytes per multi-part update."""


def add_data_options(
    parser: argparse.ArgumentParser,
    name: str = "data",
    what: str = "the data",
    *,
    required: bool = True,
) -> None:
    """``--NAME BASE64`` or ``--NAME-path FILE`` (one of them)."""
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument(f"--{name}", metavar="BASE64", help=f"{what}, base64-encoded")
    group.add_argument(
        f"--{name}-path",
        type=Path,
        metavar="FILE",
        help=f"a file holding {what} ('-': standard input); large files stream",
    )
    if name == "data":
        parser.add_argument(
            "--no-progress",
            action="store_true",
            help="no progress bar for large files (shown only when stderr is a terminal)",
        )


def add_hex_option(parser: argparse.ArgumentParser) -> None:
    """``--hex``: binary results as hex in text output (JSON always has base64)."""
    parser.add_argument(
        "--hex", action="store_true", help="text output: print bytes as hex, not base64"
    )


def decode_base64(text: str, what: str) -> bytes:
    """Strict base64 (standard alphabet, padding required)."""
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise UsageError(f"{what} is not valid base64") from None


def b64(data: bytes) -> str:
    """Bytes as base64 text."""
    return base64.b64encode(data).decode("ascii")


def shown(data: bytes, args: argparse.Namespace) -> str:
    """Bytes for text output: base64, or hex with ``--hex``."""
    return data.hex() if getattr(args, "hex", False) else b64(data)


def _open(path: Path) -> tuple[BinaryIO, int | None, bool]:
    if str(path) == "-":
        return sys.stdin.buffer, None, False
    handle = open(path, "rb")  # noqa: SIM115 - closed by the caller
    return handle, os.fstat(handle.fileno()).st_size, True


def read_small(args: argparse.Namespace, name: str = "data", limit: int = 64 << 20) -> bytes:
    """The whole input in memory (keys, signatures, wrapped keys: small things)."""
    inline: str | None = getattr(args, name)
    if inline is not None:
        return decode_base64(inline, f"--{name}")
    path: Path = getattr(args, f"{name}_path")
    handle, _, close = _open(path)
    try:
        data = handle.read(limit + 1)
    finally:
        if close:
            handle.close()
    if len(data) > limit:
        raise UsageError(f"{path} is larger than {limit} bytes")
    return data


@contextlib.contextmanager
def data_source(
    args: argparse.Namespace, label: str, name: str = "data"
) -> Iterator[bytes | Iterable[bytes]]:
    """The input as bytes, or (when large) as chunks the SDK streams, with a progress bar."""
    inline: str | None = getattr(args, name)
    if inline is not None:
        yield decode_base64(inline, f"--{name}")
        return
    path: Path = getattr(args, f"{name}_path")
    handle, total, close = _open(path)
    try:
        head = handle.read(SINGLE_PART_LIMIT + 1)
        if len(head) <= SINGLE_PART_LIMIT:
            yield head
            return
        if getattr(args, "no_progress", False) or sys.stderr is None or not sys.stderr.isatty():
            yield _chunks(head, handle, None)
            return
        with ProgressBar(label, total) as bar:
            yield _chunks(head, handle, bar)
    finally:
        if close:
            handle.close()


def _chunks(head: bytes, handle: BinaryIO, bar: ProgressBar | None) -> Iterator[bytes]:
    for start in range(0, len(head), CHUNK_SIZE):
        piece = head[start : start + CHUNK_SIZE]
        if bar is not None:
            bar(len(piece))
        yield piece
    while piece := handle.read(CHUNK_SIZE):
        if bar is not None:
            bar(len(piece))
        yield piece


def write_file(path: Path, chunks: Iterable[bytes]) -> int:
    """Write ``chunks`` to ``path`` (created 0600: it may hold plaintext); returns the size.

    If producing the chunks fails (a tag that does not verify), the file is removed.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    written = 0
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
                written += len(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return written

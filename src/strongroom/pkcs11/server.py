"""Serving p11-kit clients: a unix socket (a thread per connection) or stdin/stdout.

This module owns connections: the version handshake, reading frames with every length
bounded, answering each request in order with its code echoed, and closing the
application's sessions when the client goes. It never closes an idle connection: p11-kit's
client does not guard against SIGPIPE, so a server that hangs up on a quiet application
kills it at its next call. A frame whose header is malformed or too large cannot be
skipped safely, so that connection (only) is closed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import stat
import threading
from collections.abc import Callable
from pathlib import Path

from strongroom.pkcs11.rpc import (
    SERVER_VERSION,
    ParseError,
    frame,
    parse_header,
)
from strongroom.pkcs11.token import Application, Token

__all__ = ["BridgeServer", "serve_connection", "serve_stdio"]

log = logging.getLogger("strongroom.pkcs11")

Read = Callable[[int], bytes]
Write = Callable[[bytes], None]


def _exact(read: Read, count: int) -> bytes | None:
    """``count`` bytes, or None at end of stream."""
    parts: list[bytes] = []
    missing = count
    while missing:
        chunk = read(min(missing, 1 << 20))
        if not chunk:
            return None
        parts.append(chunk)
        missing -= len(chunk)
    return b"".join(parts)


def serve_connection(token: Token, read: Read, write: Write) -> None:
    """Serve one client until it disconnects (or sends a frame that cannot be parsed)."""
    hello = _exact(read, 1)
    if hello is None:
        return
    client_version = hello[0]
    write(bytes((min(client_version, SERVER_VERSION),)))
    app = Application(token, client_version)
    try:
        while True:
            head = _exact(read, 12)
            if head is None:
                return
            try:
                header = parse_header(head)
            except ParseError as exc:
                log.warning("closing a p11-kit connection: %s", exc)
                return
            if _exact(read, header.options_length) is None:
                return
            body = _exact(read, header.body_length)
            if body is None:
                return
            write(frame(header.code, app.handle(body)))
    except OSError:
        return  # the client went away mid-frame
    finally:
        app.close()


class BridgeServer:
    """The bridge on a unix socket: ``P11_KIT_SERVER_ADDRESS=unix:path=<path>``."""

    def __init__(self, token: Token, path: Path | str) -> None:
        self.token = token
        self.path = Path(path).absolute()
        self._socket: socket.socket | None = None
        self._closed = threading.Event()

    @property
    def address(self) -> str:
        """The value for P11_KIT_SERVER_ADDRESS."""
        return f"unix:path={self.path}"

    def bind(self) -> None:
        """Create the socket (owner-only, 0600; a stale socket file is replaced)."""
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISSOCK(self.path.lstat().st_mode):
                self.path.unlink()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            sock.bind(str(self.path))
        finally:
            os.umask(old)
        sock.listen(128)
        self._socket = sock

    def serve_forever(self) -> None:
        """Accept connections until ``close()``; each gets a thread."""
        if self._socket is None:
            self.bind()
        assert self._socket is not None
        while not self._closed.is_set():
            try:
                conn, _ = self._socket.accept()
            except OSError:
                if self._closed.is_set():
                    return
                raise
            threading.Thread(
                target=self._serve, args=(conn,), name="p11-kit-connection", daemon=True
            ).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            serve_connection(self.token, conn.recv, conn.sendall)

    def close(self) -> None:
        """Stop accepting (open connections finish when their clients go)."""
        self._closed.set()
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)
            self._socket.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def serve_stdio(token: Token) -> None:
    """Serve the one client on stdin/stdout (``P11_KIT_SERVER_ADDRESS="|strongroom …"``)."""

    def write(data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(1, view)
            view = view[written:]

    serve_connection(token, lambda n: os.read(0, n), write)

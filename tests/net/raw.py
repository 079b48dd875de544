"""A raw wire-v1 connection for tests: TLS to a node, frames out, messages in, nothing else.

The SDK hides what the node does with a bad frame (it retries, reconnects, fails over); this
does not. ``RawConnection`` sends exactly the bytes it is given and reads what comes back
with a socket timeout, so a node that neither answers nor closes fails the test instead of
hanging it. A connection the node closed — with a TCP FIN, a reset or a TLS alert — reads
as ``None`` (end of stream).
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from strongroom.protocol import (
    DEFAULT_MAX_FRAME,
    ErrorResponse,
    FrameDecoder,
    Hello,
    Message,
    OkResponse,
    Request,
    encode_message,
)

from .cluster import ClientCertificate

__all__ = ["TIMEOUT_S", "RawConnection", "client_context", "frame", "split_address"]

TIMEOUT_S = 10.0
"""How long a read may wait: far longer than any answer on loopback takes."""


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` as a tuple."""
    host, _, port = address.rpartition(":")
    return host, int(port)


def frame(body: bytes) -> bytes:
    """``body`` with its 4-byte big-endian length header."""
    return len(body).to_bytes(4, "big") + body


def client_context(
    trust_anchor: Path, certificate: ClientCertificate | None = None
) -> ssl.SSLContext:
    """TLS 1.3 trusting ``trust_anchor`` only, presenting ``certificate`` if given."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.check_hostname = False
    context.load_verify_locations(cafile=str(trust_anchor))
    if certificate is not None:
        context.load_cert_chain(certificate.cert, certificate.key)
    return context


class RawConnection:
    """One TLS connection to a node, spoken to frame by frame."""

    def __init__(
        self,
        address: str,
        trust_anchor: Path,
        *,
        certificate: ClientCertificate | None = None,
        timeout: float = TIMEOUT_S,
    ) -> None:
        self.address = address
        plain = socket.create_connection(split_address(address), timeout=timeout)
        try:
            self.sock = client_context(trust_anchor, certificate).wrap_socket(plain)
        except BaseException:
            plain.close()
            raise
        self._decoder = FrameDecoder(DEFAULT_MAX_FRAME)
        self._ready: list[Message] = []
        self._next_id = 1
        self.closed_by_peer = False

    def __enter__(self) -> RawConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close without any goodbye."""
        self.sock.close()

    def send(self, data: bytes) -> None:
        """Send ``data`` exactly as given."""
        self.sock.sendall(data)

    def send_message(self, message: Message) -> None:
        """Send one well-formed message."""
        self.send(encode_message(message))

    def receive(self) -> Message | None:
        """The next message, or ``None`` once the node has closed the connection.

        A read that times out raises ``TimeoutError``: the node neither answered nor closed.
        """
        while not self._ready:
            if self.closed_by_peer:
                return None
            try:
                data = self.sock.recv(256 * 1024)
            except (ConnectionResetError, BrokenPipeError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
                data = b""
            if not data:
                self.closed_by_peer = True
                return None
            self._ready.extend(self._decoder.feed(data))
        return self._ready.pop(0)

    def closing_messages(self) -> list[Message]:
        """Every message until the node closes the connection (a timeout fails the test)."""
        messages = []
        while (message := self.receive()) is not None:
            messages.append(message)
        return messages

    def hello(self, versions: object = (1,)) -> dict[str, Any]:
        """Send the client's hello and return the node's."""
        wire = list(versions) if isinstance(versions, tuple) else versions
        self.send_message(Hello({"wire": wire, "agent": "strongroom-tests"}))
        answer = self.receive()
        assert isinstance(answer, Hello), f"expected the node's hello, got {answer!r}"
        return answer.fields

    def request(
        self, command: str, args: Mapping[str, Any] | None = None
    ) -> OkResponse | ErrorResponse:
        """Send one request and read its answer (which must be the next message)."""
        request_id = self._next_id
        self._next_id += 1
        self.send_message(Request(request_id, command, dict(args or {})))
        answer = self.receive()
        assert isinstance(answer, OkResponse | ErrorResponse), f"no answer: {answer!r}"
        assert answer.request_id == request_id
        return answer

    def ok(self, command: str, args: Mapping[str, Any] | None = None) -> Any:
        """The result of a request that must succeed."""
        answer = self.request(command, args)
        assert isinstance(answer, OkResponse), f"{command} failed: {answer!r}"
        return answer.result

    def error_code(self, command: str, args: Mapping[str, Any] | None = None) -> str:
        """The error code of a request that must fail."""
        answer = self.request(command, args)
        assert isinstance(answer, ErrorResponse), f"{command} unexpectedly succeeded"
        return answer.code

    def login(self, username: str, password: str) -> int:
        """Open a session on this connection and log it in; returns its handle."""
        session = int(self.ok("session.open"))
        self.ok("session.login", {"session": session, "username": username, "password": password})
        return session

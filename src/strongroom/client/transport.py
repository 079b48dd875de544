"""One TLS connection to one HSM, carrying many requests at once.

This module owns the client side of a connection: TLS 1.3 with the HSM's certificate checked
against the cluster's trust anchor (and a client certificate for mutual TLS when given), the
hello exchange, and request multiplexing — any number of threads call ``call`` at once; a
caller at a time reads the socket for everyone (leader/follower: no reader thread, so an
answer reaches its caller without a thread switch) and hands answers to their callers by
request id. An OpenSSL connection must not be
read and written by two threads at once, so the socket is non-blocking and every read and
write happens under one lock, held only for the system call (the reader waits in
``select`` without it). A dead connection fails every waiting call with HSM_UNAVAILABLE
(the request's outcome is unknown) and refuses new ones.
"""

from __future__ import annotations

import contextlib
import itertools
import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any, Final

from strongroom import __version__
from strongroom.errors import (
    FrameTooLarge,
    HSMUnavailable,
    ProtocolError,
    RequestTimeout,
    StrongroomError,
    TrustFailed,
    WireVersionUnsupported,
)
from strongroom.protocol.errors import error_from_wire
from strongroom.protocol.frames import (
    DEFAULT_MAX_FRAME,
    HEADER_SIZE,
    WIRE_VERSION,
    ErrorResponse,
    FrameDecoder,
    Hello,
    Message,
    OkResponse,
    Request,
    encode_message,
)

__all__ = ["Connection", "TLSSettings", "client_ssl_context"]

_READ_SIZE: Final = 256 * 1024
_SPIN_SECONDS: Final = 0.000_2
"""How long the reading caller polls before it sleeps in ``select``."""
_LEADER_WAIT: Final = 0.05
_FOLLOWER_WAIT: Final = 0.05


@dataclass(frozen=True, slots=True)
class TLSSettings:
    """The trust anchor (PEM file) and an optional client certificate and key (PEM files)."""

    trust_anchor: str
    client_cert: str | None = None
    client_key: str | None = None


def client_ssl_context(settings: TLSSettings) -> ssl.SSLContext:
    """TLS 1.3 only; trust only the cluster's anchor (not the system's CAs).

    Host names are not checked: the anchor is the cluster's own issuing CA, so any
    certificate it signed belongs to one of the cluster's HSMs (CloudHSM's model).
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.maximum_version = ssl.TLSVersion.TLSv1_3
    context.check_hostname = False
    context.verify_mode = ssl.CERT_REQUIRED
    try:
        context.load_verify_locations(cafile=settings.trust_anchor)
        if settings.client_cert is not None:
            context.load_cert_chain(settings.client_cert, settings.client_key)
    except (OSError, ssl.SSLError) as exc:
        raise TrustFailed(f"cannot load the trust anchor or client certificate: {exc}") from exc
    return context


class _Slot:
    """Where an answer lands. ``event`` is also set (without ``done``) to hand a waiting
    caller the job of reading; it clears it and looks again."""

    __slots__ = ("done", "error", "event", "result")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.done = False
        self.result: Any = None
        self.error: StrongroomError | None = None


def _parse_address(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"an HSM address is host:port, not {address!r}")
    return host.strip("[]"), int(port)


class Connection:
    """A live connection to the HSM at ``address``; thread-safe."""

    def __init__(
        self,
        address: str,
        context: ssl.SSLContext,
        *,
        connect_timeout: float = 5.0,
    ) -> None:
        self.address = address
        host, port = _parse_address(address)
        try:
            raw = socket.create_connection((host, port), timeout=connect_timeout)
        except OSError as exc:
            raise HSMUnavailable(f"cannot reach the HSM at {address}: {exc.strerror}") from exc
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self._sock = context.wrap_socket(raw)
        except ssl.SSLCertVerificationError as exc:
            raw.close()
            raise TrustFailed(
                f"the HSM at {address} has a certificate not under the trust anchor"
            ) from exc
        except (OSError, ssl.SSLError) as exc:
            raw.close()
            raise HSMUnavailable(f"TLS with the HSM at {address} failed: {exc}") from exc
        self._io_lock = threading.Lock()
        self._slots: dict[int, _Slot] = {}
        self._slots_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._decoder = FrameDecoder(DEFAULT_MAX_FRAME)
        self._dead: StrongroomError | None = None
        self.peer_certificate: bytes = self._sock.getpeercert(binary_form=True) or b""
        """The certificate the HSM presented in TLS (DER), for ``verify_hsm_identity``."""
        self.hello = self._handshake(connect_timeout)
        self.hsm_id = str(self.hello.get("hsm_id", ""))
        self.mtls = bool(self.hello.get("mtls", False))
        announced = self.hello.get("max_frame")
        self.max_frame = announced if isinstance(announced, int) else DEFAULT_MAX_FRAME
        self._sock.setblocking(False)
        self._read_lock = threading.Lock()

    def __repr__(self) -> str:
        state = "dead" if self._dead else "live"
        return f"Connection({self.address!r}, hsm_id={self.hsm_id!r}, {state})"

    @property
    def alive(self) -> bool:
        """False once the connection has failed or been closed."""
        return self._dead is None

    def _handshake(self, timeout: float) -> dict[str, Any]:
        self._sock.settimeout(timeout)
        try:
            self._sock.sendall(
                encode_message(
                    Hello({"wire": [WIRE_VERSION], "agent": f"strongroom {__version__}"})
                )
            )
            while True:
                data = self._sock.recv(_READ_SIZE)
                if not data:
                    raise HSMUnavailable(f"the HSM at {self.address} closed the connection")
                for message in self._decoder.feed(data):
                    if isinstance(message, ErrorResponse):
                        raise error_from_wire(message.code, message.message)
                    if not isinstance(message, Hello):
                        raise ProtocolError("the HSM did not answer with a hello")
                    if message.fields.get("wire") != WIRE_VERSION:
                        raise WireVersionUnsupported("the HSM speaks another wire version")
                    return message.fields
        except StrongroomError:
            self._sock.close()
            raise
        except ssl.SSLError as exc:
            self._sock.close()
            # TLS 1.3 sends the server's verdict on our certificate after the handshake.
            raise TrustFailed(f"the HSM at {self.address} refused this client: {exc}") from exc
        except OSError as exc:
            self._sock.close()
            raise HSMUnavailable(f"the HSM at {self.address} did not answer: {exc}") from exc

    def call(self, command: str, args: dict[str, Any], timeout: float = 30.0) -> Any:
        """Send one request and wait for its answer; server errors are raised as themselves."""
        if self._dead is not None:
            raise HSMUnavailable(f"the connection to {self.address} is closed")
        request_id = next(self._ids)
        frame = encode_message(Request(request_id, command, args))
        if len(frame) - HEADER_SIZE > self.max_frame:
            raise FrameTooLarge(
                f"the request is {len(frame)} bytes; the HSM takes frames of {self.max_frame}"
            )
        slot = _Slot()
        with self._slots_lock:
            self._slots[request_id] = slot
        try:
            self._send(frame)
        except OSError as exc:
            self._fail(HSMUnavailable(f"the connection to {self.address} failed: {exc}"))
        deadline = time.monotonic() + timeout
        while not slot.done:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                with self._slots_lock:
                    self._slots.pop(request_id, None)
                raise RequestTimeout(f"the HSM at {self.address} did not answer in {timeout:g} s")
            if self._read_lock.acquire(blocking=False):
                try:
                    self._lead(slot, deadline)
                finally:
                    self._read_lock.release()
                    self._wake_next_reader()
            else:
                slot.event.wait(min(remaining, _FOLLOWER_WAIT))
                if not slot.done:
                    slot.event.clear()
        if slot.error is not None:
            raise slot.error
        return slot.result

    def _lead(self, slot: _Slot, deadline: float) -> None:
        """Read answers for everyone until ``slot``'s has come (the caller holds the read lock).

        Spin briefly on a non-blocking read first: on loopback the answer usually comes
        within tens of microseconds, and a sleep-and-wake would cost more than that.
        """
        sock = self._sock
        # Spin only for a lone request: with others waiting, answers come in batches anyway
        # and the spinning reader would hold the GIL the other callers need.
        spin = _SPIN_SECONDS if len(self._slots) <= 1 else 0.0
        spin_until = time.perf_counter() + spin
        while not slot.done and self._dead is None:
            try:
                data = self._receive()
            except (OSError, ValueError) as exc:
                self._fail(HSMUnavailable(f"the connection to {self.address} failed: {exc}"))
                return
            if data is None:
                if time.perf_counter() < spin_until:
                    continue
                wait = min(_LEADER_WAIT, max(deadline - time.monotonic(), 0.0))
                if wait <= 0:
                    return
                try:
                    select.select([sock], [], [], wait)
                except (OSError, ValueError):
                    return
                continue
            if not data:
                self._fail(HSMUnavailable(f"the HSM at {self.address} closed the connection"))
                return
            try:
                for message in self._decoder.feed(data):
                    self._deliver(message)
            except StrongroomError as exc:
                self._fail(exc)
                return

    def _wake_next_reader(self) -> None:
        """Hand the reading to a caller still waiting (it takes the read lock next)."""
        with self._slots_lock:
            waiting = next(iter(self._slots.values()), None)
        if waiting is not None:
            waiting.event.set()

    def _send(self, frame: bytes) -> None:
        view = memoryview(frame)
        sock = self._sock
        with self._io_lock:
            while view:
                try:
                    view = view[sock.send(view) :]
                except ssl.SSLWantReadError:
                    select.select([sock], [], [], 1.0)
                except (ssl.SSLWantWriteError, BlockingIOError):
                    select.select([], [sock], [], 1.0)

    def _receive(self) -> bytes | None:
        """Whatever has arrived (None: nothing yet); b"" means the HSM closed."""
        sock = self._sock
        chunks: list[bytes] = []
        with self._io_lock:
            while True:
                try:
                    data = sock.recv(_READ_SIZE)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                    break
                if not data:
                    if chunks:
                        break
                    return b""
                chunks.append(data)
                if not sock.pending():
                    break
        return b"".join(chunks) if chunks else None

    def _deliver(self, message: Message) -> None:
        if isinstance(message, ErrorResponse) and message.request_id == 0:
            raise error_from_wire(message.code, message.message)
        if not isinstance(message, OkResponse | ErrorResponse):
            raise ProtocolError("the HSM sent a frame that is not an answer")
        with self._slots_lock:
            slot = self._slots.pop(message.request_id, None)
        if slot is None:
            return  # its caller timed out and left
        if isinstance(message, OkResponse):
            slot.result = message.result
        else:
            slot.error = error_from_wire(message.code, message.message)
        slot.done = True
        slot.event.set()

    def _fail(self, error: StrongroomError) -> None:
        with self._slots_lock:
            if self._dead is None:
                self._dead = error
            slots, self._slots = list(self._slots.values()), {}
        for slot in slots:
            slot.error = HSMUnavailable(
                f"the connection to {self.address} ended before the HSM answered ({error.code})"
            )
            slot.done = True
            slot.event.set()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        with self._io_lock:
            self._sock.close()

    def close(self) -> None:
        """Close the connection (the HSM closes this connection's sessions)."""
        self._fail(HSMUnavailable("the connection was closed by the client"))

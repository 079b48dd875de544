"""The node's listener: TLS 1.3 connections speaking wire-v1, dispatched to the engine.

This module owns connections. Each connection is an ``asyncio.Protocol``: bytes go into a
``FrameDecoder``; the first frame must be the client's hello; every request after that is
checked against the command table and run either on the event loop (commands measured to be
cheap) or on a worker thread (password hashing, key-pair generation, RSA, large inputs),
so many requests run at once and a slow command never stalls other clients. Answers go back
in completion order, each tagged with its request id. A malformed frame gets an error with
request id 0 and the connection is closed; a dropped connection closes every session it
opened (destroying their session objects) once its in-flight requests have finished.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from strongroom import __version__
from strongroom.crypto import verify_issued_by
from strongroom.engine import HSM
from strongroom.errors import (
    ArgumentsBad,
    CommandInvalid,
    MutualTLSRequired,
    ProtocolError,
    ServerBusy,
    StrongroomError,
    TrustFailed,
    WireVersionUnsupported,
)
from strongroom.protocol.commands import COMMANDS, check_args
from strongroom.protocol.errors import error_to_wire
from strongroom.protocol.frames import (
    DEFAULT_MAX_FRAME,
    WIRE_VERSION,
    ErrorResponse,
    FrameDecoder,
    Hello,
    OkResponse,
    Request,
    encode_message,
)
from strongroom.server.handlers import HANDLERS, ConnectionSessions
from strongroom.server.logs import log

__all__ = ["ListenerLimits", "NodeListener"]

_ALWAYS_THREADED: Final = frozenset(
    {
        "session.login",
        "session.activate",
        "user.create",
        "user.change_password",
        "key.generate_pair",
        "hsm.self_test",
        "audit.read",
        "object.find",
        "backup.begin",
        "backup.next",
        "restore.begin",
        "restore.data",
        "restore.commit",
        "restore.cancel",
    }
)
"""Commands that can take milliseconds or more whatever their arguments."""
_INLINE_BUDGET_S: Final = 0.000_3
"""A command whose recent average run time is under this runs on the event loop."""
_LONE_INLINE_BUDGET_S: Final = 0.002
"""…and under this when it is the node's only work: no worker thread busy, nothing else read.
Handing a lone request to a worker and back costs two thread wake-ups (hundreds of µs on a
virtual machine, more than an RSA signature); with other work around, the pool's
parallelism wins instead."""
_INLINE_MAX_DATA: Final = 16 * 1024
_BUSY_POLL_S: Final = 0.002
_HELLO_MAX_FRAME: Final = 64 * 1024


@dataclass(frozen=True, slots=True)
class ListenerLimits:
    """Bounds that keep one client from starving the others."""

    max_frame: int = DEFAULT_MAX_FRAME
    max_in_flight: int = 256
    """Requests one connection may have running; beyond it the node stops reading it."""
    max_connections: int = 4096
    hello_timeout: float = 10.0
    handshake_timeout: float = 10.0
    workers: int = field(default_factory=lambda: max(2, os.cpu_count() or 2))


class NodeListener:
    """Serve ``hsm`` on ``host:port`` over TLS with ``ssl_context``."""

    def __init__(
        self,
        hsm: HSM,
        ssl_context: ssl.SSLContext,
        *,
        node_info: dict[str, Any] | None = None,
        limits: ListenerLimits | None = None,
        cluster_anchor: bytes | None = None,
    ) -> None:
        self.hsm = hsm
        self.cluster_anchor = cluster_anchor
        """The cluster's trust anchor (DER): client certificates it issued are always good."""
        self.ssl_context = ssl_context
        self.node_info = dict(node_info or {})
        self.limits = limits or ListenerLimits()
        self._pool = concurrent.futures.ThreadPoolExecutor(
            self.limits.workers, thread_name_prefix="strongroom-worker"
        )
        self._costs: dict[tuple[str, object], float] = {}
        self._connections: set[_Connection] = set()
        self._server: asyncio.Server | None = None
        self._closing = False
        self._last_activity = 0.0
        self._poller: asyncio.Task[None] | None = None
        self.threaded_in_flight = 0
        """Commands running on worker threads, over all connections."""

    async def start(self, host: str, port: int) -> tuple[str, int]:
        """Listen; returns the bound address (``port`` 0 picks a free one)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self),
            host,
            port,
            ssl=self.ssl_context,
            ssl_handshake_timeout=self.limits.handshake_timeout,
            reuse_address=True,
        )
        bound = self._server.sockets[0].getsockname()
        log(logging.INFO, "listening", host=bound[0], port=bound[1], hsm_id=self.hsm.hsm_id)
        return bound[0], bound[1]

    async def close(self) -> None:
        """Stop accepting, end every connection (closing its sessions), stop the workers."""
        self._closing = True
        log(
            logging.DEBUG,
            "command-costs",
            costs={f"{c}/{m}": round(t * 1e6, 1) for (c, m), t in self._costs.items()},
        )
        if self._server is not None:
            self._server.close()
        for conn in list(self._connections):
            conn.abort("the HSM is shutting down", ServerBusy.code)
        for conn in list(self._connections):
            await conn.finished()
        if self._server is not None:
            await self._server.wait_closed()
        self._pool.shutdown(wait=True)

    @property
    def connection_count(self) -> int:
        """Open connections."""
        return len(self._connections)

    def drop_non_mtls(self) -> int:
        """Close every connection without a client certificate (enforcement just turned on)."""
        dropped = [c for c in self._connections if not c.client_certificate]
        for conn in dropped:
            conn.abort("the cluster now enforces mutual TLS", MutualTLSRequired.code)
        return len(dropped)

    def add_trust_anchor(self, certificate_der: bytes) -> None:
        """A newly registered anchor: TLS accepts its certificates from now on."""
        self.ssl_context.load_verify_locations(cadata=certificate_der)
        log(logging.INFO, "trust-anchor-added", anchors=len(self.hsm.trust_anchors()))

    def client_certificate_trusted(self, certificate_der: bytes) -> bool:
        """Issued by the cluster's anchor or by an anchor registered *now*.

        TLS has already checked the chain against every anchor this process ever loaded (an
        OpenSSL context can gain CAs but not lose them); this check drops the deregistered
        ones. Certificates must be issued directly by an anchor.
        """
        anchors = [self.cluster_anchor, *self.hsm.trust_anchors()]
        for anchor in anchors:
            if anchor is None:
                continue
            try:
                verify_issued_by(certificate_der, anchor)
            except ArgumentsBad:
                continue
            return True
        return False

    # --- latency ----------------------------------------------------------------------------

    def poke(self) -> None:
        """Traffic arrived: keep the loop polling (not sleeping) for a moment.

        Waking a sleeping event loop costs tens of microseconds on a virtual machine; a
        client that has just been answered usually asks again soon. While requests keep
        coming within ``_BUSY_POLL_S`` the loop polls instead of sleeping; when they stop,
        it sleeps again (no CPU is spent on an idle node).
        """
        self._last_activity = time.perf_counter()
        if self._poller is None or self._poller.done():
            self._poller = asyncio.get_running_loop().create_task(self._busy_poll())

    async def _busy_poll(self) -> None:
        # Not while worker threads run commands: their completions wake the loop anyway, and
        # spinning would take the GIL and a core from them.
        while (
            time.perf_counter() - self._last_activity < _BUSY_POLL_S
            and not self._closing
            and not self.threaded_in_flight
        ):
            await asyncio.sleep(0)

    # --- dispatch -------------------------------------------------------------------------

    def runs_inline(self, command: str, args: dict[str, Any], *, lone: bool = False) -> bool:
        """Whether ``command`` is known to be cheap enough to run on the event loop.

        ``lone``: nothing else was read with it; the node's idleness is checked here.
        """
        if command in _ALWAYS_THREADED:
            return False
        data = args.get("data")
        if isinstance(data, bytes) and len(data) > _INLINE_MAX_DATA:
            return False
        cost = self._costs.get((command, args.get("mechanism")))
        if cost is None:
            return False
        if lone and not self.threaded_in_flight:
            return cost < _LONE_INLINE_BUDGET_S
        return cost < _INLINE_BUDGET_S

    def record_cost(self, command: str, args: dict[str, Any], seconds: float) -> None:
        """Fold one run time into the command's moving average."""
        key = (command, args.get("mechanism"))
        previous = self._costs.get(key)
        self._costs[key] = seconds if previous is None else previous * 0.8 + seconds * 0.2


def _run(handler: Callable[[ConnectionSessions, dict[str, Any]], Any], conn: Any, args: Any) -> Any:
    # CPU time, not wall time: waiting for the GIL must not make a cheap command look dear.
    start = time.thread_time()
    result = handler(conn, args)
    return result, time.thread_time() - start


class _Connection(asyncio.Protocol):
    """One client connection."""

    def __init__(self, listener: NodeListener) -> None:
        self.listener = listener
        # Until the hello, a frame is at most 64 KiB: a stranger cannot make us buffer more.
        self.decoder = FrameDecoder(min(_HELLO_MAX_FRAME, listener.limits.max_frame))
        self.transport: asyncio.Transport | None = None
        self.sessions: ConnectionSessions | None = None
        self.peer = "?"
        self.client_certificate = False
        self.greeted = False
        self.closed = False
        self.in_flight = 0
        self.requests = 0
        self.paused_reading = False
        self.paused_writing = False
        self.pending: set[asyncio.Future[Any]] = set()
        self.active_ids: set[int] = set()
        self._done: asyncio.Future[None] | None = None
        self._hello_timer: asyncio.TimerHandle | None = None
        self._batch: list[bytes] | None = None
        self._later: list[bytes] = []
        self.peer_certificate: bytes | None = None

    # --- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        loop = asyncio.get_running_loop()
        self._done = loop.create_future()
        listener = self.listener
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        ssl_object = transport.get_extra_info("ssl_object")
        self.client_certificate = (
            ssl_object is not None and ssl_object.getpeercert(binary_form=True) is not None
        )
        listener._connections.add(self)
        if listener._closing or len(listener._connections) > listener.limits.max_connections:
            self.abort("the HSM has too many connections", ServerBusy.code)
            return
        self.sessions = ConnectionSessions(
            listener.hsm,
            self.peer,
            self.client_certificate,
            listener.node_info,
            anchor_added=listener.add_trust_anchor,
        )
        self.peer_certificate = (
            ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        )
        self._hello_timer = loop.call_later(
            listener.limits.hello_timeout, self.abort, "no hello in time", ProtocolError.code
        )
        transport.set_write_buffer_limits(high=4 * 1024 * 1024)  # type: ignore[attr-defined]
        log(logging.INFO, "connection-open", peer=self.peer, mtls=self.client_certificate)

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        self.listener.poke()
        self._batch = []  # answers made while handling this read go out in one write
        try:
            for message in self.decoder.feed(data):
                self._on_message(message)
                if self._stopped():
                    return
        except StrongroomError as exc:
            self._flush()
            self.abort(exc.message, exc.code)
        finally:
            self._flush()

    def _flush(self) -> None:
        batch, self._batch = self._batch, None
        if batch and not self.closed and self.transport is not None:
            self.transport.write(b"".join(batch))

    def _stopped(self) -> bool:
        return self.closed

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._hello_timer is not None:
            self._hello_timer.cancel()
        asyncio.get_running_loop().create_task(self._cleanup())

    def pause_writing(self) -> None:
        self.paused_writing = True
        self._update_reading()

    def resume_writing(self) -> None:
        self.paused_writing = False
        self._update_reading()

    # --- messages --------------------------------------------------------------------------

    def _on_message(self, message: object) -> None:
        if not self.greeted:
            self._on_hello(message)
            return
        if not isinstance(message, Request):
            raise ProtocolError("after the hello a client sends only requests")
        self.requests += 1
        self._dispatch(message, lone=self.decoder.pending == 0)

    def _on_hello(self, message: object) -> None:
        if not isinstance(message, Hello):
            raise ProtocolError("the first frame must be the client's hello")
        versions = message.fields.get("wire")
        if not isinstance(versions, list) or WIRE_VERSION not in versions:
            raise WireVersionUnsupported(f"this HSM speaks wire version {WIRE_VERSION} only")
        if self._hello_timer is not None:
            self._hello_timer.cancel()
        if not self.client_certificate and self.listener.hsm.policy().get("mtls_enforced"):
            raise MutualTLSRequired("this cluster requires a client certificate (mutual TLS)")
        if self.peer_certificate and not self.listener.client_certificate_trusted(
            self.peer_certificate
        ):
            raise TrustFailed("the client certificate's CA is not a registered trust anchor")
        self.greeted = True
        self.decoder.max_frame = self.listener.limits.max_frame
        self._send(
            Hello(
                {
                    "wire": WIRE_VERSION,
                    "hsm_id": self.listener.hsm.hsm_id,
                    "server": f"strongroom {__version__}",
                    "max_frame": self.listener.limits.max_frame,
                    "mtls": self.client_certificate,
                }
            )
        )

    def _dispatch(self, request: Request, *, lone: bool = False) -> None:
        listener = self.listener
        spec = COMMANDS.get(request.command)
        handler = HANDLERS.get(request.command)
        try:
            if spec is None or handler is None:
                raise CommandInvalid("unknown command")
            args = check_args(spec, request.args)
        except StrongroomError as exc:
            self._send(ErrorResponse(request.request_id, exc.code, exc.message))
            return
        assert self.sessions is not None
        if listener.runs_inline(request.command, args, lone=lone):
            start = time.thread_time()  # CPU time: a stolen time slice is not the command's cost
            try:
                result = handler(self.sessions, args)
            except Exception as exc:
                self._fail(request, exc)
            else:
                self._send(OkResponse(request.request_id, result))
                self._after(request, args)
            listener.record_cost(request.command, args, time.thread_time() - start)
            return
        if request.request_id in self.active_ids:
            raise ProtocolError("a request id was reused while its request is running")
        self.active_ids.add(request.request_id)
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(listener._pool, _run, handler, self.sessions, args)
        self.in_flight += 1
        listener.threaded_in_flight += 1
        self.pending.add(future)
        self._update_reading()
        future.add_done_callback(lambda f: self._threaded_done(f, request, args))

    def _threaded_done(self, future: asyncio.Future[Any], request: Request, args: Any) -> None:
        self.pending.discard(future)
        self.active_ids.discard(request.request_id)
        self.in_flight -= 1
        self.listener.threaded_in_flight -= 1
        self._update_reading()
        exc = future.exception()
        if exc is not None:
            self._fail(request, exc)
            return
        result, seconds = future.result()
        self.listener.record_cost(request.command, args, seconds)
        self._send(OkResponse(request.request_id, result))
        self._after(request, args)

    def _after(self, request: Request, args: dict[str, Any]) -> None:
        if request.command == "policy.set" and args["name"] == "mtls_enforced" and args["value"]:
            dropped = self.listener.drop_non_mtls()
            log(logging.WARNING, "mtls-enforced", dropped=dropped)

    def _fail(self, request: Request, exc: BaseException) -> None:
        code, message = error_to_wire(exc)
        if not isinstance(exc, StrongroomError):
            log(
                logging.ERROR,
                "internal-error",
                command=request.command,
                error=type(exc).__name__,
                peer=self.peer,
            )
        else:
            log(logging.DEBUG, "request-failed", command=request.command, code=code)
        self._send(ErrorResponse(request.request_id, code, message))

    def _send(self, message: Hello | OkResponse | ErrorResponse) -> None:
        if self.closed or self.transport is None:
            return
        try:
            frame = encode_message(message)
        except Exception as exc:  # a result the encoder cannot take is a bug: say so
            log(logging.ERROR, "encode-failed", error=type(exc).__name__)
            code, text = error_to_wire(exc)
            frame = encode_message(ErrorResponse(getattr(message, "request_id", 0), code, text))
        if self._batch is not None:
            self._batch.append(frame)
            return
        # answers from worker threads: coalesce those finishing in the same loop turn
        if not self._later:
            asyncio.get_running_loop().call_soon(self._flush_later)
        self._later.append(frame)

    def _flush_later(self) -> None:
        frames, self._later = self._later, []
        if frames and not self.closed and self.transport is not None:
            self.transport.write(b"".join(frames))

    def _update_reading(self) -> None:
        if self.closed or self.transport is None:
            return
        busy = self.paused_writing or self.in_flight >= self.listener.limits.max_in_flight
        if busy and not self.paused_reading:
            self.transport.pause_reading()
            self.paused_reading = True
        elif not busy and self.paused_reading:
            self.transport.resume_reading()
            self.paused_reading = False

    # --- ending ----------------------------------------------------------------------------

    def abort(self, reason: str, code: str = ProtocolError.code) -> None:
        """Tell the client why (request id 0), then close the connection.

        Answers already made go out first; the close is graceful (the error frame is written
        before TLS shuts down) with a hard abort after a second for a peer that never reads.
        """
        if self.closed or self.transport is None:
            return
        log(logging.INFO, "connection-refused", peer=self.peer, code=code, reason=reason)
        self._flush()
        self._flush_later()
        self.transport.write(encode_message(ErrorResponse(0, code, reason)))
        self.closed = True
        self.transport.close()
        asyncio.get_running_loop().call_later(1.0, self.transport.abort)

    async def _cleanup(self) -> None:
        try:
            if self.pending:
                await asyncio.gather(*self.pending, return_exceptions=True)
            if self.sessions is not None:
                await asyncio.get_running_loop().run_in_executor(
                    self.listener._pool, self.sessions.close_all
                )
        finally:
            self.listener._connections.discard(self)
            log(logging.INFO, "connection-closed", peer=self.peer, requests=self.requests)
            if self._done is not None and not self._done.done():
                self._done.set_result(None)

    async def finished(self) -> None:
        """Wait until the connection's sessions are closed."""
        if self._done is not None:
            await self._done

"""``AsyncHSMClient``: the SDK for asyncio programs (one event loop, many requests in flight).

This module owns the asyncio transport: one TLS connection per HSM as an ``asyncio.Protocol``
whose answers resolve futures by request id, so any number of tasks share it with no thread
switches. It speaks the same protocol and command table as the thread-safe ``HSMClient`` and
has its failover rule: when the connection dies, it reconnects to the next HSM that answers,
logs in again, and retries the request if the command is idempotent.
"""

from __future__ import annotations

import asyncio
import itertools
import ssl
from collections.abc import Sequence
from typing import Any

from strongroom import __version__
from strongroom.client.client import crypto_args
from strongroom.client.config import ClientConfig, Credentials
from strongroom.client.transport import TLSSettings, client_ssl_context
from strongroom.errors import (
    FrameTooLarge,
    HSMUnavailable,
    ProtocolError,
    RequestTimeout,
    StrongroomError,
    WireVersionUnsupported,
)
from strongroom.protocol.commands import COMMANDS
from strongroom.protocol.errors import error_from_wire
from strongroom.protocol.frames import (
    DEFAULT_MAX_FRAME,
    HEADER_SIZE,
    WIRE_VERSION,
    ErrorResponse,
    FrameDecoder,
    Hello,
    OkResponse,
    Request,
    encode_message,
)

__all__ = ["AsyncHSMClient", "AsyncKey"]


class _Wire(asyncio.Protocol):
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.decoder = FrameDecoder(DEFAULT_MAX_FRAME)
        self.transport: asyncio.Transport | None = None
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.hello: asyncio.Future[dict[str, Any]] = loop.create_future()
        self.ids = itertools.count(1)
        self.dead: StrongroomError | None = None
        self.lost: asyncio.Future[None] = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        hello = Hello({"wire": [WIRE_VERSION], "agent": f"strongroom {__version__} asyncio"})
        self.transport.write(encode_message(hello))  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        try:
            for message in self.decoder.feed(data):
                if isinstance(message, Hello):
                    if message.fields.get("wire") != WIRE_VERSION:
                        raise WireVersionUnsupported("the HSM speaks another wire version")
                    if not self.hello.done():
                        self.hello.set_result(message.fields)
                    continue
                if not isinstance(message, OkResponse | ErrorResponse):
                    raise ProtocolError("the HSM sent a frame that is not an answer")
                if isinstance(message, ErrorResponse) and message.request_id == 0:
                    raise error_from_wire(message.code, message.message)
                future = self.pending.pop(message.request_id, None)
                if future is None or future.done():
                    continue
                if isinstance(message, OkResponse):
                    future.set_result(message.result)
                else:
                    future.set_exception(error_from_wire(message.code, message.message))
        except StrongroomError as exc:
            self._die(exc)
            if self.transport is not None:
                self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self._die(HSMUnavailable("the HSM closed the connection"))
        if not self.lost.done():
            self.lost.set_result(None)

    def _die(self, error: StrongroomError) -> None:
        if self.dead is None:
            self.dead = error
        if not self.hello.done():
            self.hello.set_exception(error)
        pending, self.pending = self.pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(
                    HSMUnavailable(f"the connection ended before the HSM answered ({error.code})")
                )

    def send(self, command: str, args: dict[str, Any]) -> asyncio.Future[Any]:
        if self.dead is not None or self.transport is None:
            raise HSMUnavailable("the connection is closed")
        request_id = next(self.ids)
        frame = encode_message(Request(request_id, command, args))
        limit = self.hello.result().get("max_frame") if self.hello.done() else None
        if isinstance(limit, int) and len(frame) - HEADER_SIZE > limit:
            raise FrameTooLarge(f"the request is {len(frame)} bytes; the HSM takes {limit}")
        future = self.loop.create_future()
        self.pending[request_id] = future
        self.transport.write(frame)
        return future


class AsyncHSMClient:
    """An asyncio client of one cluster; ``await AsyncHSMClient.connect(config)``."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self._context: ssl.SSLContext = client_ssl_context(
            TLSSettings(config.trust_anchor, config.client_cert, config.client_key)
        )
        self._wire: _Wire | None = None
        self._session: int | None = None
        self._credentials: Credentials | None = None
        self._next_hsm = 0
        self._reconnect_lock = asyncio.Lock()
        self.address: str | None = None

    def __repr__(self) -> str:
        return f"AsyncHSMClient(address={self.address!r})"

    @classmethod
    async def connect(cls, config: ClientConfig) -> AsyncHSMClient:
        """Connect to the first HSM that answers."""
        client = cls(config)
        await client._reconnect(None)
        return client

    async def __aenter__(self) -> AsyncHSMClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection (the HSM ends its sessions); waits at most a second."""
        wire, self._wire = self._wire, None
        if wire is None or wire.transport is None:
            return
        wire.transport.close()
        try:
            await asyncio.wait_for(asyncio.shield(wire.lost), 1.0)
        except TimeoutError:
            wire.transport.abort()

    async def _open(self, address: str) -> _Wire:
        host, _, port = address.rpartition(":")
        loop = asyncio.get_running_loop()
        try:
            _transport, wire = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _Wire(loop), host.strip("[]"), int(port), ssl=self._context
                ),
                self.config.connect_timeout,
            )
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            raise HSMUnavailable(f"cannot reach the HSM at {address}: {exc}") from exc
        try:
            await asyncio.wait_for(wire.hello, self.config.connect_timeout)
        except BaseException as exc:
            if wire.transport is not None:
                wire.transport.abort()
            if isinstance(exc, OSError | TimeoutError | ssl.SSLError):
                raise HSMUnavailable(f"the HSM at {address} did not greet: {exc}") from exc
            raise
        return wire

    async def _reconnect(self, broken: _Wire | None) -> _Wire:
        async with self._reconnect_lock:
            if self._wire is not None and self._wire is not broken and self._wire.dead is None:
                return self._wire
            hsms: Sequence[str] = self.config.hsms
            last: StrongroomError | None = None
            for _ in range(len(hsms)):
                address = hsms[self._next_hsm % len(hsms)]
                self._next_hsm += 1
                try:
                    wire = await self._open(address)
                    session = await self._ask(wire, "session.open", {})
                    if self._credentials is not None:
                        await self._ask(
                            wire,
                            "session.login",
                            {
                                "session": session,
                                "username": self._credentials.username,
                                "password": self._credentials.password,
                            },
                        )
                except HSMUnavailable as exc:
                    last = exc
                    continue
                self._wire, self._session, self.address = wire, int(session), address
                return wire
            assert last is not None
            raise last

    async def _ask(self, wire: _Wire, command: str, args: dict[str, Any]) -> Any:
        try:
            return await asyncio.wait_for(wire.send(command, args), self.config.request_timeout)
        except TimeoutError:
            raise RequestTimeout(f"no answer in {self.config.request_timeout:g} s") from None

    async def call(self, command: str, args: dict[str, Any]) -> Any:
        """Run one wire command in this client's session (failover for idempotent ones)."""
        spec = COMMANDS[command]
        attempts = self.config.retries + 1
        for attempt in range(attempts):
            wire = self._wire
            if wire is None or wire.dead is not None:
                wire = await self._reconnect(wire)
            full = {**args, "session": self._session} if spec.session else args
            try:
                return await self._ask(wire, command, full)
            except HSMUnavailable:
                if not spec.idempotent or attempt + 1 == attempts:
                    raise
                await self._reconnect(wire)
        raise AssertionError("unreachable")  # pragma: no cover

    async def login(self, username: str, password: str) -> str:
        """Log in (again after any failover); returns the role."""
        role = await self.call("session.login", {"username": username, "password": password})
        self._credentials = Credentials(username, password)
        return str(role)

    def key(self, handle: int) -> AsyncKey:
        """A reference to the object ``handle``."""
        return AsyncKey(self, handle)

    async def find(self, template: dict[int, Any]) -> list[AsyncKey]:
        """Objects matching ``template``."""
        handles = await self.call("object.find", {"template": template})
        return [AsyncKey(self, h) for h in handles]

    async def generate_random(self, length: int) -> bytes:
        """Random bytes from the HSM."""
        return bytes(await self.call("crypto.random", {"length": length}))


class AsyncKey:
    """``(client, handle)``: a key on the cluster, used with ``await``."""

    __slots__ = ("client", "handle")

    def __init__(self, client: AsyncHSMClient, handle: int) -> None:
        self.client = client
        self.handle = handle

    def __repr__(self) -> str:
        return f"AsyncKey(handle={self.handle})"

    async def _crypto(
        self, command: str, mechanism: int, data: bytes, params: object, **extra: Any
    ) -> Any:
        args = crypto_args(self.handle, mechanism, data, params, extra)
        return await self.client.call(command, args)

    async def sign(self, mechanism: int, data: bytes, params: object = None) -> bytes:
        """Sign or MAC ``data``."""
        return bytes(await self._crypto("crypto.sign", mechanism, data, params))

    async def verify(
        self, mechanism: int, data: bytes, signature: bytes, params: object = None
    ) -> None:
        """Raise ``SignatureInvalid`` unless ``signature`` verifies."""
        await self._crypto("crypto.verify", mechanism, data, params, signature=signature)

    async def encrypt(self, mechanism: int, data: bytes, params: object = None) -> bytes:
        """Encrypt ``data``."""
        return bytes(await self._crypto("crypto.encrypt", mechanism, data, params))

    async def decrypt(self, mechanism: int, data: bytes, params: object = None) -> bytes:
        """Decrypt ``data``."""
        return bytes(await self._crypto("crypto.decrypt", mechanism, data, params))

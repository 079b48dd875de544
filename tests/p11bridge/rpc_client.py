"""A minimal p11-kit RPC client for tests: speaks any protocol version to a live bridge.

Debian 12 ships only p11-kit 0.24 (protocol 0); this client exercises the bridge the way
p11-kit ≥ 0.25 (protocol 1 and 2) encodes requests, from the encodings in
docs/formats/p11-kit-rpc.md.
"""

from __future__ import annotations

import socket
import struct
from pathlib import Path

from strongroom.pkcs11.rpc import CALLS, HANDSHAKE, Reader

_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")


class RPCError(Exception):
    """The bridge answered with an error frame."""

    def __init__(self, rv: int) -> None:
        super().__init__(f"CK_RV 0x{rv:x}")
        self.rv = rv


def u32(value: int) -> bytes:
    return _U32.pack(value)


def ulong(value: int) -> bytes:
    return _U64.pack(value)


def raw(data: bytes | None) -> bytes:
    return u32(0xFFFFFFFF) if data is None else u32(len(data)) + data


def byte_array(data: bytes) -> bytes:
    return b"\x01" + raw(data)


def attribute(kind: int, value: bool | int | bytes) -> bytes:
    """One attribute as p11-kit encodes it (BYTE for booleans, ULONG for ints)."""
    if isinstance(value, bool):
        return u32(kind) + b"\x01" + u32(1) + (b"\x01" if value else b"\x00")
    if isinstance(value, int):
        return u32(kind) + b"\x01" + u32(8) + ulong(value)
    return u32(kind) + b"\x01" + u32(len(value)) + raw(value)


def template(*attributes: bytes) -> bytes:
    return u32(len(attributes)) + b"".join(attributes)


class Client:
    """One connection, one protocol version."""

    def __init__(self, path: Path, version: int) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(str(path))
        self.sock.sendall(bytes((version,)))
        self.version = self.sock.recv(1)[0]
        self.client_version = version
        self.code = 0x10
        self.call(1, byte_array(HANDSHAKE) + b"\x00" + byte_array(b"\x00"))

    def close(self) -> None:
        self.sock.close()

    def _exact(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def call(self, call_id: int, args: bytes) -> Reader:
        """Send a request; returns a reader positioned at the response's arguments."""
        sig = CALLS[call_id].request.encode()
        body = u32(call_id) + raw(sig) + args
        self.code += 1
        self.sock.sendall(u32(self.code) + u32(6) + u32(len(body)) + b"client" + body)
        code, options, length = struct.unpack(">III", self._exact(12))
        assert code == self.code
        self._exact(options)
        reader = Reader(self._exact(length), self.client_version)
        answered = reader.u32()
        reader.sig()
        if answered == 0:
            raise RPCError(reader.ulong())
        assert answered == call_id
        return reader

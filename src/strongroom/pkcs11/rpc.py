"""The p11-kit RPC protocol: framing, the call table, and the typed readers and writers.

This module owns the bytes between Debian's ``p11-kit-client.so`` and the bridge
(docs/formats/p11-kit-rpc.md): the one-byte version handshake, the 12-byte frame header, the
message body (call id, signature string, arguments) and every argument type code. It knows
nothing of sessions or the HSM. Readers bound every length by what is left of the message,
so a hostile frame can only ever produce ``ParseError``; the caller answers it with
CKR_DEVICE_ERROR, as p11-kit's own server does.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

__all__ = [
    "CALLS",
    "HANDSHAKE",
    "MAX_BODY",
    "MAX_OPTIONS",
    "SERVER_VERSION",
    "Call",
    "Header",
    "ParseError",
    "Reader",
    "Writer",
    "error_body",
    "frame",
    "parse_header",
]

HANDSHAKE: Final = b"PRIVATE-GNOME-KEYRING-PKCS11-PROTOCOL-V-1"
"""The protocol string every C_Initialize carries."""

SERVER_VERSION: Final = 1
"""The highest protocol version the bridge speaks; it answers min(client's, this)."""

MAX_OPTIONS: Final = 4096
"""The longest options block a client may send (p11-kit sends its module name)."""
MAX_BODY: Final = 64 * 1024 * 1024 + 64 * 1024
"""The longest message body: a 64 MiB single-part input plus room for the rest."""
MAX_COUNT: Final = 65536
"""The most attributes, handles or mechanisms one array may hold."""
MAX_NESTING: Final = 4

NULL_LENGTH: Final = 0xFFFFFFFF
"""A raw byte array of this length is a NULL pointer."""

_HEADER = struct.Struct(">III")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")


class ParseError(Exception):
    """The message does not follow the protocol (answered with CKR_DEVICE_ERROR)."""


@dataclass(frozen=True, slots=True)
class Call:
    """One RPC call: its id, name, and the signatures of its request and response."""

    id: int
    name: str
    request: str
    response: str


def _calls() -> dict[int, Call]:
    table = [
        (1, "C_Initialize", "ayyay", ""),
        (2, "C_Finalize", "", ""),
        (3, "C_GetInfo", "", "vsusv"),
        (4, "C_GetSlotList", "yfu", "au"),
        (5, "C_GetSlotInfo", "u", "ssuvv"),
        (6, "C_GetTokenInfo", "u", "ssssuuuuuuuuuuuvvs"),
        (7, "C_GetMechanismList", "ufu", "au"),
        (8, "C_GetMechanismInfo", "uu", "uuu"),
        (9, "C_InitToken", "uayz", ""),
        (10, "C_OpenSession", "uu", "u"),
        (11, "C_CloseSession", "u", ""),
        (12, "C_CloseAllSessions", "u", ""),
        (13, "C_GetSessionInfo", "u", "uuuu"),
        (14, "C_InitPIN", "uay", ""),
        (15, "C_SetPIN", "uayay", ""),
        (16, "C_GetOperationState", "ufy", "ay"),
        (17, "C_SetOperationState", "uayuu", ""),
        (18, "C_Login", "uuay", ""),
        (19, "C_Logout", "u", ""),
        (20, "C_CreateObject", "uaA", "u"),
        (21, "C_CopyObject", "uuaA", "u"),
        (22, "C_DestroyObject", "uu", ""),
        (23, "C_GetObjectSize", "uu", "u"),
        (24, "C_GetAttributeValue", "uufA", "aAu"),
        (25, "C_SetAttributeValue", "uuaA", ""),
        (26, "C_FindObjectsInit", "uaA", ""),
        (27, "C_FindObjects", "ufu", "au"),
        (28, "C_FindObjectsFinal", "u", ""),
        (29, "C_EncryptInit", "uMu", ""),
        (30, "C_Encrypt", "uayfy", "ay"),
        (31, "C_EncryptUpdate", "uayfy", "ay"),
        (32, "C_EncryptFinal", "ufy", "ay"),
        (33, "C_DecryptInit", "uMu", ""),
        (34, "C_Decrypt", "uayfy", "ay"),
        (35, "C_DecryptUpdate", "uayfy", "ay"),
        (36, "C_DecryptFinal", "ufy", "ay"),
        (37, "C_DigestInit", "uM", ""),
        (38, "C_Digest", "uayfy", "ay"),
        (39, "C_DigestUpdate", "uay", ""),
        (40, "C_DigestKey", "uu", ""),
        (41, "C_DigestFinal", "ufy", "ay"),
        (42, "C_SignInit", "uMu", ""),
        (43, "C_Sign", "uayfy", "ay"),
        (44, "C_SignUpdate", "uay", ""),
        (45, "C_SignFinal", "ufy", "ay"),
        (46, "C_SignRecoverInit", "uMu", ""),
        (47, "C_SignRecover", "uayfy", "ay"),
        (48, "C_VerifyInit", "uMu", ""),
        (49, "C_Verify", "uayay", ""),
        (50, "C_VerifyUpdate", "uay", ""),
        (51, "C_VerifyFinal", "uay", ""),
        (52, "C_VerifyRecoverInit", "uMu", ""),
        (53, "C_VerifyRecover", "uayfy", "ay"),
        (54, "C_DigestEncryptUpdate", "uayfy", "ay"),
        (55, "C_DecryptDigestUpdate", "uayfy", "ay"),
        (56, "C_SignEncryptUpdate", "uayfy", "ay"),
        (57, "C_DecryptVerifyUpdate", "uayfy", "ay"),
        (58, "C_GenerateKey", "uMaA", "u"),
        (59, "C_GenerateKeyPair", "uMaAaA", "uu"),
        (60, "C_WrapKey", "uMuufy", "ay"),
        (61, "C_UnwrapKey", "uMuayaA", "u"),
        (62, "C_DeriveKey", "uMuaA", "u"),
        (63, "C_SeedRandom", "uay", ""),
        (64, "C_GenerateRandom", "ufy", "ay"),
        (65, "C_WaitForSlotEvent", "u", "u"),
    ]
    return {number: Call(number, *rest) for number, *rest in table}


CALLS: Final[dict[int, Call]] = _calls()
"""Call id → call, ids 1–65 (stable across every p11-kit version). Ids above 65 (PKCS#11
3.0 calls of protocol version 1) are answered CKR_FUNCTION_NOT_SUPPORTED unparsed."""


@dataclass(frozen=True, slots=True)
class Header:
    """A frame header: the request code to echo, and the two lengths that follow."""

    code: int
    options_length: int
    body_length: int


def parse_header(data: bytes) -> Header:
    """The 12-byte header; refuses code 0 and lengths over the limits."""
    code, options_length, body_length = _HEADER.unpack(data)
    if code == 0:
        raise ParseError("request code 0 is invalid")
    if options_length > MAX_OPTIONS or body_length > MAX_BODY:
        raise ParseError("frame too large")
    return Header(code, options_length, body_length)


def frame(code: int, body: bytes) -> bytes:
    """A response frame: ``code`` echoed, no options, then ``body``."""
    return _HEADER.pack(code, 0, len(body)) + body


def error_body(rv: int) -> bytes:
    """The body of an error response: call id 0, signature "u", the CK_RV."""
    return _U32.pack(0) + _U32.pack(1) + b"u" + _U64.pack(rv)


class Reader:
    """Reads one request body: call id and signature first, then typed arguments.

    ``client_version`` is the byte the client sent at the handshake; p11-kit keys some
    encodings on it rather than on the version agreed (docs/formats/p11-kit-rpc.md).
    """

    __slots__ = ("_data", "_pos", "client_version")

    def __init__(self, data: bytes, client_version: int = 0) -> None:
        self._data = data
        self._pos = 0
        self.client_version = client_version

    def _take(self, count: int) -> bytes:
        end = self._pos + count
        if count < 0 or end > len(self._data):
            raise ParseError("message truncated")
        out = self._data[self._pos : end]
        self._pos = end
        return out

    @property
    def remaining(self) -> int:
        """Bytes not yet read."""
        return len(self._data) - self._pos

    def done(self) -> None:
        """Refuse trailing bytes."""
        if self._pos != len(self._data):
            raise ParseError("trailing bytes after the arguments")

    def u32(self) -> int:
        """A 32-bit unsigned integer (lengths, counts, types)."""
        value: int = _U32.unpack(self._take(4))[0]
        return value

    def byte(self) -> int:
        """``y``: one byte."""
        return self._take(1)[0]

    def ulong(self) -> int:
        """``u``: a CK_ULONG, always 8 bytes on the wire."""
        value: int = _U64.unpack(self._take(8))[0]
        return value

    def raw(self) -> bytes | None:
        """A raw byte array: u32 length (0xffffffff: NULL) then the bytes."""
        length = self.u32()
        if length == NULL_LENGTH:
            return None
        if length >= 0x7FFFFFFF or length > self.remaining:
            raise ParseError("byte array longer than the message")
        return self._take(length)

    def byte_array(self) -> bytes | None:
        """``ay``: u8 valid; valid → raw array; not valid → u32 length of nothing (NULL)."""
        valid = self.byte()
        if valid == 0:
            self.u32()  # p11-kit 0.24 sends a length even for NULL; always consume it
            return None
        if valid != 1:
            raise ParseError("byte array validity must be 0 or 1")
        return self.raw()

    def byte_buffer(self) -> int | None:
        """``fy``: the caller's output capacity; None when it passed NULL (a size query).

        Protocol 0 cannot tell NULL from a zero-length buffer (both are 0); later clients
        send 0xffffffff for the latter.
        """
        capacity = self.u32()
        if capacity == 0:
            return None
        if capacity == NULL_LENGTH:
            return 0
        return capacity

    def ulong_buffer(self) -> int | None:
        """``fu``: how many CK_ULONGs the caller has room for; None for NULL."""
        capacity = self.u32()
        return None if capacity == 0 else capacity

    def count(self) -> int:
        """A u32 element count, bounded."""
        count = self.u32()
        if count > MAX_COUNT:
            raise ParseError("too many elements")
        return count

    def sig(self) -> bytes:
        """The signature string (raw array)."""
        value = self.raw()
        if value is None:
            raise ParseError("missing signature")
        return value


class Writer:
    """Builds one response body: call id and signature, then the arguments in order."""

    __slots__ = ("_parts",)

    def __init__(self, call: Call) -> None:
        sig = call.response.encode()
        self._parts: list[bytes] = [_U32.pack(call.id), _U32.pack(len(sig)), sig]

    def body(self) -> bytes:
        """The finished body."""
        return b"".join(self._parts)

    def u32(self, value: int) -> Writer:
        """A 32-bit unsigned integer."""
        self._parts.append(_U32.pack(value))
        return self

    def byte(self, value: int) -> Writer:
        """``y``."""
        self._parts.append(bytes((value,)))
        return self

    def ulong(self, value: int) -> Writer:
        """``u``: 8 bytes, big-endian."""
        self._parts.append(_U64.pack(value & 0xFFFFFFFFFFFFFFFF))
        return self

    def raw(self, value: bytes | None) -> Writer:
        """A raw byte array (None: NULL)."""
        if value is None:
            self._parts.append(_U32.pack(NULL_LENGTH))
        else:
            self._parts.append(_U32.pack(len(value)))
            self._parts.append(bytes(value))
        return self

    def version(self, major: int, minor: int) -> Writer:
        """``v``: CK_VERSION."""
        self._parts.append(bytes((major, minor)))
        return self

    def space_string(self, text: str, size: int) -> Writer:
        """``s``: a blank-padded UTF-8 field of exactly ``size`` bytes (cut on a character)."""
        data = text.encode()
        while len(data) > size:
            text = text[:-1]
            data = text.encode()
        return self.raw(data.ljust(size, b" "))

    def byte_array(self, value: bytes) -> Writer:
        """``ay`` with data: valid, then the raw array."""
        return self.byte(1).raw(value)

    def byte_array_length(self, length: int) -> Writer:
        """``ay`` without data: not valid, then the length the caller needs."""
        return self.byte(0).u32(length)

    def ulong_array(self, values: Sequence[int]) -> Writer:
        """``au`` with data."""
        self.byte(1).u32(len(values))
        for value in values:
            self.ulong(value)
        return self

    def ulong_array_length(self, length: int) -> Writer:
        """``au`` without data: the count the caller needs."""
        return self.byte(0).u32(length)

    def extend(self, data: bytes) -> Writer:
        """Bytes already encoded (attributes)."""
        self._parts.append(data)
        return self

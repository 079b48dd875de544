"""Wire-v1 framing: length-prefixed CBOR messages (docs/formats/wire-v1.md).

This module owns turning messages into bytes and bytes back into messages, for both ends.
It knows no sockets: ``FrameDecoder`` is fed whatever bytes arrived and yields whole
messages, so the asyncio server and the blocking client share it. Every frame is checked
before it is trusted — the length against the limit before anything is buffered, the CBOR
body for plain types only (no tags, no floats) and for the message shapes below — and any
breach raises ``ProtocolError`` (or ``FrameTooLarge``), after which the connection is dead.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import cbor2

from strongroom.errors import FrameTooLarge, ProtocolError

__all__ = [
    "DEFAULT_MAX_FRAME",
    "HEADER_SIZE",
    "MAX_NESTING",
    "WIRE_VERSION",
    "ErrorResponse",
    "FrameDecoder",
    "Hello",
    "Message",
    "OkResponse",
    "Request",
    "decode_message",
    "encode_message",
]

WIRE_VERSION: Final = 1
HEADER_SIZE: Final = 4
DEFAULT_MAX_FRAME: Final = 64 * 1024 * 1024 + 64 * 1024
"""64 MiB of data (the engine's single-part limit) plus room for the request around it."""
MAX_NESTING: Final = 16
"""Deepest nesting of arrays and maps a body may have (templates nest two or three deep)."""
_MAX_ID: Final = 2**63 - 1

KIND_HELLO: Final = 0
KIND_REQUEST: Final = 1
KIND_OK: Final = 2
KIND_ERROR: Final = 3


@dataclass(frozen=True, slots=True)
class Hello:
    """The first message each way: what the sender speaks and who it is."""

    fields: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Request:
    """Run ``command`` with ``args``; the answer carries the same ``request_id``."""

    request_id: int
    command: str
    args: dict[str, Any]

    def __repr__(self) -> str:  # arguments may hold passwords or plaintext: never shown
        return f"Request(request_id={self.request_id}, command={self.command!r})"


@dataclass(frozen=True, slots=True)
class OkResponse:
    """The command succeeded; ``result`` is its value."""

    request_id: int
    result: Any

    def __repr__(self) -> str:
        return f"OkResponse(request_id={self.request_id})"


@dataclass(frozen=True, slots=True)
class ErrorResponse:
    """The command failed with a stable ``code`` (errors.py; id 0: the connection failed)."""

    request_id: int
    code: str
    message: str


Message = Hello | Request | OkResponse | ErrorResponse


def encode_message(message: Message) -> bytes:
    """The whole frame (length header and CBOR body) for ``message``."""
    body: list[Any]
    if isinstance(message, Request):
        body = [KIND_REQUEST, message.request_id, message.command, message.args]
    elif isinstance(message, OkResponse):
        body = [KIND_OK, message.request_id, message.result]
    elif isinstance(message, ErrorResponse):
        body = [KIND_ERROR, message.request_id, message.code, message.message]
    else:
        body = [KIND_HELLO, message.fields]
    data = cbor2.dumps(body)
    return len(data).to_bytes(HEADER_SIZE, "big") + data


_MAX_ITEMS: Final = 1_000_000
"""Most data items one frame may hold (a template has tens)."""
_SIMPLE_OK: Final = frozenset({20, 21, 22})  # false, true, null


def _check_wellformed(body: bytes) -> None:
    """Walk the CBOR item heads without building anything; refuse what the protocol never uses.

    Only definite-length unsigned and negative integers, byte and text strings, arrays, maps
    (whose keys are integers or text, each key once), booleans and null, nested at most
    ``MAX_NESTING`` deep, exactly one item filling the frame. Tags (bignums, shared references,
    dates…), floats, ``undefined`` and indefinite lengths are refused here, before the decoder
    could spend time on them.
    """
    size = len(body)
    pos = 0
    items = 0
    # each open container: [items still to read, is_map, seen map keys (raw) or None]
    stack: list[list[Any]] = []
    while True:
        if pos >= size:
            raise ProtocolError("the frame ends inside a CBOR item")
        start = pos
        head = body[pos]
        major, info = head >> 5, head & 0x1F
        pos += 1
        if info < 24:
            value = info
        elif info <= 27:
            width = 1 << (info - 24)
            if pos + width > size:
                raise ProtocolError("the frame ends inside a CBOR item")
            value = int.from_bytes(body[pos : pos + width], "big")
            pos += width
        else:
            raise ProtocolError("indefinite lengths and reserved CBOR encodings are not used")
        items += 1
        if items > _MAX_ITEMS:
            raise ProtocolError("the frame holds too many items")
        container: list[Any] | None = None
        if major in (2, 3):
            if value > size - pos:
                raise ProtocolError("a string runs past the end of the frame")
            pos += value
        elif major in (4, 5):
            if len(stack) >= MAX_NESTING:
                raise ProtocolError("the frame nests too deeply")
            count = value * 2 if major == 5 else value
            if count > size - pos:
                raise ProtocolError("a container claims more items than the frame holds")
            container = [count, major == 5, set() if major == 5 else None]
        elif major == 6:
            raise ProtocolError("CBOR tags are not used by the protocol")
        elif major == 7 and (info >= 24 or value not in _SIMPLE_OK):
            raise ProtocolError(
                "floats and simple values other than true, false, null are not used"
            )
        # this item fills one slot of the enclosing container
        if stack:
            parent = stack[-1]
            if parent[1] and parent[0] % 2 == 0:  # a map key
                if major not in (0, 1, 3):
                    raise ProtocolError("map keys must be text or integers")
                raw = body[start:pos]
                if raw in parent[2]:
                    raise ProtocolError("a map repeats a key")
                parent[2].add(raw)
            parent[0] -= 1
        if container is not None and int(container[0]) > 0:
            stack.append(container)
            continue
        while stack and stack[-1][0] == 0:
            stack.pop()
        if not stack:
            break
    if pos != size:
        raise ProtocolError("bytes follow the frame's CBOR item")


def _request_id(value: object) -> int:
    if type(value) is not int or not 0 <= value <= _MAX_ID:
        raise ProtocolError("a request id is an unsigned 63-bit integer")
    return value


def _refuse_tag(*_args: object) -> Any:
    raise _TagRefused


class _TagRefused(Exception):
    pass


_NO_TAGS: Final = dict.fromkeys([*range(1024), 1040, 22098, 55799, 55800, 55801], _refuse_tag)
"""Every tag cbor2 interprets itself (bignums 2/3, string references 25/256, shared values
28/29, dates, sets, IP addresses, self-describe 55799… all registered numbers below 1024 and
the few above) is refused; any other tag reaches ``tag_hook``, which refuses it too. Whatever
slipped through would still have to decode to a plain value to pass ``_check_values``."""
_WALK_ABOVE: Final = 1024 * 1024
"""Bodies longer than this are walked first: only they could hold more than _MAX_ITEMS items."""
_CBOR_REFUSALS: Final = (
    ("semantic tag", "CBOR tags are not used by the protocol"),
    ("indefinite", "indefinite lengths are not used by the protocol"),
    ("Duplicate", "a map repeats a key"),
    ("depth", "the frame nests too deeply"),
)


def _check_values(value: object, depth: int) -> None:
    """After decoding: only the protocol's types (no floats, undefined or simple values)."""
    kind = type(value)
    if kind is list:
        for item in value:  # type: ignore[attr-defined]
            if type(item) not in _SCALARS:
                _check_values(item, depth + 1)
    elif kind is dict:
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is not str and type(key) is not int:
                raise ProtocolError("map keys must be text or integers")
            if type(item) not in _SCALARS:
                _check_values(item, depth + 1)
    elif kind not in _SCALARS:
        raise ProtocolError("floats and simple values other than true, false, null are not used")


_SCALARS: Final = frozenset({bytes, str, bool, int, type(None)})


def _decode_body(body: bytes) -> Any:
    if len(body) > _WALK_ABOVE:
        _check_wellformed(body)
    stream = io.BytesIO(body)
    try:
        raw = cbor2.CBORDecoder(
            stream,
            semantic_decoders=_NO_TAGS,
            tag_hook=_refuse_tag,
            allow_duplicate_keys=False,
            allow_indefinite=False,
            max_depth=MAX_NESTING,
        ).decode()
    except _TagRefused:
        raise ProtocolError("CBOR tags are not used by the protocol") from None
    except Exception as exc:  # cbor2 raises several types; name the ones we can
        text = str(exc)
        for needle, message in _CBOR_REFUSALS:
            if needle in text:
                raise ProtocolError(message) from None
        raise ProtocolError("the frame is not well-formed CBOR") from exc
    if stream.tell() != len(body):
        raise ProtocolError("bytes follow the frame's CBOR item")
    if type(raw) not in _SCALARS:
        _check_values(raw, 1)
    return raw


def decode_message(body: bytes) -> Message:
    """Parse one frame body; anything malformed raises ``ProtocolError``."""
    raw = _decode_body(body)
    if type(raw) is not list or not raw or type(raw[0]) is not int:
        raise ProtocolError("a frame is an array that starts with its kind")
    kind, rest = raw[0], raw[1:]
    if kind == KIND_REQUEST and len(rest) == 3:
        request_id, command, args = rest
        if request_id == 0:
            raise ProtocolError("request id 0 is reserved for connection-level errors")
        if type(command) is not str or type(args) is not dict:
            raise ProtocolError("a request is [1, id, command, {args}]")
        if any(type(k) is not str for k in args):
            raise ProtocolError("argument names are text")
        return Request(_request_id(request_id), command, args)
    if kind == KIND_OK and len(rest) == 2:
        return OkResponse(_request_id(rest[0]), rest[1])
    if kind == KIND_ERROR and len(rest) == 3:
        request_id, code, message = rest
        if type(code) is not str or type(message) is not str:
            raise ProtocolError("an error is [3, id, code, message]")
        return ErrorResponse(_request_id(request_id), code, message)
    if kind == KIND_HELLO and len(rest) == 1 and type(rest[0]) is dict:
        return Hello(rest[0])
    raise ProtocolError("unknown frame kind or shape")


class FrameDecoder:
    """Incremental framing: ``feed`` bytes as they arrive, iterate whole messages out.

    A length over ``max_frame`` raises ``FrameTooLarge`` as soon as the header is in,
    before any of the body is buffered.
    """

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._buffer = bytearray()

    def feed(self, data: bytes) -> Iterator[Message]:
        """Add ``data`` and yield every message now complete."""
        buffer = self._buffer
        buffer += data
        while len(buffer) >= HEADER_SIZE:
            length = int.from_bytes(buffer[:HEADER_SIZE], "big")
            if length > self.max_frame:
                raise FrameTooLarge(f"a frame of {length} bytes is over the {self.max_frame} limit")
            end = HEADER_SIZE + length
            if len(buffer) < end:
                return
            body = bytes(buffer[HEADER_SIZE:end])
            del buffer[:end]
            yield decode_message(body)

    @property
    def pending(self) -> int:
        """Bytes received that do not yet make a whole frame."""
        return len(self._buffer)

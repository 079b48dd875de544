"""Wire-v1 framing: round trips, incremental decoding, and refusal of every malformed frame.

Whatever arrives — random bytes, a frame cut short, a length over the limit, CBOR the
protocol does not use, a body of the wrong shape — the decoder raises ``ProtocolError`` (or
its subclass ``FrameTooLarge``) and nothing else, so the server can answer one way and close.
"""

from __future__ import annotations

import contextlib
from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.errors import FrameTooLarge, ProtocolError
from strongroom.protocol import (
    DEFAULT_MAX_FRAME,
    ErrorResponse,
    FrameDecoder,
    Hello,
    Message,
    OkResponse,
    Request,
    decode_message,
    encode_message,
)
from strongroom.protocol.frames import HEADER_SIZE, MAX_NESTING

from .strategies import messages


def _body(value: Any) -> bytes:
    return cbor2.dumps(value)


# --- round trips -------------------------------------------------------------------------------


@settings(max_examples=300)
@given(messages)
def test_every_message_round_trips(message: Message) -> None:
    """``decode_message`` gives back what ``encode_message`` was given, and re-encodes the same."""
    frame = encode_message(message)
    assert int.from_bytes(frame[:HEADER_SIZE], "big") == len(frame) - HEADER_SIZE
    decoded = decode_message(frame[HEADER_SIZE:])
    assert decoded == message
    assert type(decoded) is type(message)
    assert encode_message(decoded) == frame


@settings(max_examples=150)
@given(st.lists(messages, min_size=1, max_size=6), st.data())
def test_decoder_reassembles_frames_split_anywhere(messages: list[Message], data: Any) -> None:
    """Frames cut at random places and fed piece by piece come out whole, in order."""
    stream = b"".join(encode_message(m) for m in messages)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    decoder = FrameDecoder()
    out: list[Message] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        out.extend(decoder.feed(stream[start:end]))
    assert out == messages
    assert decoder.pending == 0


@settings(max_examples=100)
@given(messages, st.data())
def test_a_partial_frame_waits_in_the_buffer(message: Message, data: Any) -> None:
    """Until its last byte arrives a frame yields nothing; ``pending`` counts what is held."""
    frame = encode_message(message)
    cut = data.draw(st.integers(0, len(frame) - 1))
    decoder = FrameDecoder()
    assert list(decoder.feed(frame[:cut])) == []
    assert decoder.pending == cut
    assert list(decoder.feed(frame[cut:])) == [message]
    assert decoder.pending == 0


def test_requests_and_answers_hide_their_payloads_in_repr() -> None:
    """Arguments and results (passwords, plaintext) never appear in a message's repr."""
    request = Request(1, "session.login", {"username": "u", "password": "hunter2-secret"})
    answer = OkResponse(1, b"plaintext-secret")
    assert "hunter2" not in repr(request)
    assert "plaintext" not in repr(answer)


# --- the frame limit --------------------------------------------------------------------------


def test_an_oversized_length_is_refused_as_soon_as_the_header_is_in() -> None:
    """FRAME_TOO_LARGE comes with the fourth header byte, before any of the body."""
    decoder = FrameDecoder(max_frame=100)
    header = (101).to_bytes(HEADER_SIZE, "big")
    for i in range(HEADER_SIZE - 1):
        assert list(decoder.feed(header[i : i + 1])) == []
    with pytest.raises(FrameTooLarge):
        list(decoder.feed(header[-1:]))


@pytest.mark.parametrize("length", [DEFAULT_MAX_FRAME + 1, 2**31, 2**32 - 1])
def test_the_default_limit_refuses_longer_frames(length: int) -> None:
    """The default limit is 64 MiB + 64 KiB of body; any length above it is refused."""
    with pytest.raises(FrameTooLarge):
        list(FrameDecoder().feed(length.to_bytes(HEADER_SIZE, "big")))


def test_a_frame_of_exactly_the_limit_is_accepted() -> None:
    """The limit is inclusive: a body of ``max_frame`` bytes is a frame."""
    frame = encode_message(OkResponse(1, b"x" * 50))
    decoder = FrameDecoder(max_frame=len(frame) - HEADER_SIZE)
    assert list(decoder.feed(frame)) == [OkResponse(1, b"x" * 50)]
    with pytest.raises(FrameTooLarge):
        list(FrameDecoder(max_frame=len(frame) - HEADER_SIZE - 1).feed(frame))


def test_an_empty_body_is_refused() -> None:
    """A zero length is a frame with no CBOR item: a protocol error."""
    with pytest.raises(ProtocolError):
        list(FrameDecoder().feed(bytes(HEADER_SIZE)))


# --- garbage and tampering --------------------------------------------------------------------


@settings(max_examples=500)
@given(st.binary(max_size=200))
def test_random_bodies_raise_only_protocol_errors(body: bytes) -> None:
    """Random bytes as a body decode to a message or raise ProtocolError — nothing else."""
    try:
        message = decode_message(body)
    except ProtocolError:
        return
    assert isinstance(message, Hello | Request | OkResponse | ErrorResponse)


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_random_streams_raise_only_protocol_errors(stream: bytes) -> None:
    """A random byte stream fed to the decoder yields messages or raises ProtocolError."""
    decoder = FrameDecoder(max_frame=1024)
    try:
        for message in decoder.feed(stream):
            assert isinstance(message, Hello | Request | OkResponse | ErrorResponse)
    except ProtocolError:
        pass


@settings(max_examples=300)
@given(messages, st.data())
def test_tampered_frames_raise_only_protocol_errors(message: Message, data: Any) -> None:
    """Any byte of a valid body changed: a message or ProtocolError, never another error."""
    body = bytearray(encode_message(message)[HEADER_SIZE:])
    index = data.draw(st.integers(0, len(body) - 1))
    body[index] ^= data.draw(st.integers(1, 255))
    with contextlib.suppress(ProtocolError):
        decode_message(bytes(body))


@settings(max_examples=200)
@given(messages, st.data())
def test_truncated_bodies_are_refused(message: Message, data: Any) -> None:
    """A body missing any of its tail is not well-formed CBOR: ProtocolError."""
    body = encode_message(message)[HEADER_SIZE:]
    cut = data.draw(st.integers(0, len(body) - 1))
    with pytest.raises(ProtocolError):
        decode_message(body[:cut])


# Hand-built bodies: [1, 5, "a", {"a": <value>}] with <value> spliced in as raw CBOR.
_PREFIX = bytes.fromhex("8401056161a16161")


def _request_with(raw_value: str) -> bytes:
    return _PREFIX + bytes.fromhex(raw_value)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(_request_with("c074323032362d30312d30315430303a30303a30305a"), id="tag0"),
        pytest.param(_request_with("c100"), id="tag1-epoch"),
        pytest.param(_request_with("c48221196ab3"), id="tag4-decimal"),
        pytest.param(_request_with("d8184100"), id="tag24-embedded"),
        pytest.param(_request_with("d8206161"), id="tag32-uri"),
        pytest.param(_request_with("d9010283010203"), id="tag258-set"),
        pytest.param(_request_with("d86300"), id="tag99-unknown"),
        pytest.param(bytes.fromhex("d9d9f7") + _request_with("00"), id="tag55799-self-describe"),
        pytest.param(_request_with("c24101"), id="tag2-bignum"),
        pytest.param(_request_with("c34101"), id="tag3-negative-bignum"),
        pytest.param(_request_with("d81c00"), id="tag28-shareable"),
        pytest.param(
            bytes.fromhex("d9010084010563616263a1d81900") + bytes.fromhex("01"),
            id="tag256-stringref",
        ),
    ],
)
def test_cbor_tags_are_refused(body: bytes) -> None:
    """No CBOR tag of any number is part of the protocol."""
    with pytest.raises(
        ProtocolError, match=r"not used by the protocol|the protocol does not use|are not used"
    ):
        decode_message(body)


@pytest.mark.parametrize(
    "raw_value",
    [
        pytest.param("f93c00", id="half"),
        pytest.param("fa3fc00000", id="single"),
        pytest.param("fb3ff8000000000000", id="double"),
        pytest.param("f97e00", id="nan"),
        pytest.param("f7", id="undefined"),
        pytest.param("f0", id="simple-16"),
        pytest.param("f8ff", id="simple-255"),
        pytest.param("a14100f5", id="bytes-key"),
        pytest.param("a18101f5", id="array-key"),
        pytest.param("a1f5f5", id="bool-key"),
        pytest.param("62c328", id="bad-utf8"),
    ],
)
def test_floats_simple_values_odd_keys_and_bad_text_are_refused(raw_value: str) -> None:
    """Only ints, bytes, text, arrays, text/int-keyed maps, booleans and null are allowed."""
    with pytest.raises(ProtocolError):
        decode_message(_request_with(raw_value))


def _nested(levels: int) -> Any:
    value: Any = 0
    for _ in range(levels):
        value = [value]
    return value


def test_sixteen_levels_of_nesting_are_allowed() -> None:
    """The frame's own array counts: a result nested 15 deep inside it is still fine."""
    message = OkResponse(1, _nested(MAX_NESTING - 1))
    assert decode_message(encode_message(message)[HEADER_SIZE:]) == message


@pytest.mark.parametrize("levels", [MAX_NESTING, MAX_NESTING + 10, 10_000])
def test_deeper_nesting_is_refused(levels: int) -> None:
    """A 17th nested array or map is a protocol error, however deep it goes."""
    body = b"\x83\x02\x01" + b"\x81" * levels + b"\x00"
    with pytest.raises(ProtocolError):
        decode_message(body)


def test_deep_maps_count_like_arrays() -> None:
    """Maps nested in arguments count towards the same limit."""
    value: Any = 0
    for _ in range(MAX_NESTING - 1):
        value = {"k": value}
    request = Request(1, "x", {"a": value})
    with pytest.raises(ProtocolError):
        decode_message(encode_message(request)[HEADER_SIZE:])
    assert decode_message(encode_message(Request(1, "x", value))[HEADER_SIZE:])


@pytest.mark.parametrize(
    "value",
    [0, -1, "text", b"bytes", None, True, {"0": 1}, {0: 1}, []],
    ids=repr,
)
def test_bodies_that_are_not_arrays_starting_with_a_kind_are_refused(value: object) -> None:
    """A body is an array whose first element is the kind."""
    with pytest.raises(ProtocolError):
        decode_message(_body(value))


@pytest.mark.parametrize(
    "value",
    [
        [4, 1, None],
        [255, 1, "a", {}],
        [-1, 1, None],
        [True, 1, None],
        ["2", 1, None],
        [None, {}],
        [0],
        [0, {}, {}],
        [0, []],
        [0, "hello"],
        [1, 1, "a"],
        [1, 1, "a", {}, None],
        [1, 1, b"a", {}],
        [1, 1, "a", []],
        [1, 1, "a", {1: 2}],
        [2, 1],
        [2, 1, None, None],
        [3, 1, "CODE"],
        [3, 1, b"CODE", "m"],
        [3, 1, "CODE", None],
        [3, 1, "CODE", "m", "extra"],
    ],
    ids=repr,
)
def test_wrong_kinds_and_shapes_are_refused(value: list[Any]) -> None:
    """Each kind has one shape: anything else is a protocol error."""
    with pytest.raises(ProtocolError):
        decode_message(_body(value))


@pytest.mark.parametrize("bad_id", [-1, 2**63, 2**64 - 1, True, False, "1", b"\x01", None, [1]])
@pytest.mark.parametrize(
    "shape",
    [
        lambda i: [1, i, "wire.ping", {}],
        lambda i: [2, i, None],
        lambda i: [3, i, "CODE", "message"],
    ],
    ids=["request", "ok", "error"],
)
def test_bad_request_ids_are_refused(bad_id: object, shape: Any) -> None:
    """A request id is an unsigned integer below 2**63 (not a bool) in every message."""
    with pytest.raises(ProtocolError):
        decode_message(_body(shape(bad_id)))


@pytest.mark.parametrize("good_id", [0, 1, 2**63 - 1])
def test_request_ids_span_zero_to_two_to_the_63_minus_one(good_id: int) -> None:
    """The bounds of the request-id range are accepted."""
    assert decode_message(_body([2, good_id, None])) == OkResponse(good_id, None)


@pytest.mark.parametrize("raw", ["9f0201f6ff", "830201bf6161f6ff", "8302015f4101ff"])
def test_indefinite_lengths_are_refused(raw: str) -> None:
    """Only definite lengths: an indefinite array, map or string is a protocol error."""
    with pytest.raises(ProtocolError, match="indefinite"):
        decode_message(bytes.fromhex(raw))


def test_request_id_zero_is_reserved() -> None:
    """Request id 0 names connection-level errors; a request may not use it."""
    with pytest.raises(ProtocolError, match="reserved"):
        decode_message(_body([1, 0, "wire.ping", {}]))


def test_bytes_after_the_item_are_refused() -> None:
    """A body is exactly one CBOR item: trailing bytes are a protocol error."""
    with pytest.raises(ProtocolError):
        decode_message(_body([2, 1, None]) + b"\x00")


def test_repeated_map_keys_are_refused() -> None:
    """A map that repeats a key is ambiguous: a protocol error."""
    with pytest.raises(ProtocolError):
        decode_message(bytes.fromhex("8401056161a2616101616102"))


def _shared_levels(levels: int) -> bytes:
    """[2, 1, x] where x holds ten references to the level below, ``levels`` times over."""

    def level(k: int) -> bytes:
        if k == 0:
            return bytes.fromhex("d81c80")  # shareable []
        reference = bytes([0xD8, 0x1D, levels - k + 1])  # the level below's sharing index
        return bytes.fromhex("d81c8a") + level(k - 1) + reference * 9

    return bytes.fromhex("830201") + level(levels)


def test_a_small_frame_cannot_multiply_itself_with_shared_references() -> None:
    """156 bytes naming one array 10**5 times over are refused, not walked."""
    with pytest.raises(ProtocolError):
        decode_message(_shared_levels(5))

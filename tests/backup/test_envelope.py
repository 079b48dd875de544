"""The KMS envelope (format v1): round trips, tamper and truncation detection, rewrap, memory.

These run against the `local` KMS; tests/backup/test_kms_conformance.py runs an envelope round
trip and the refusals against every provider.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import struct
import tracemalloc
from collections.abc import Iterable, Iterator
from pathlib import Path

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.backup.envelope import (
    DEFAULT_CHUNK_SIZE,
    ENVELOPE_MAGIC,
    MAX_CHUNK_SIZE,
    MAX_HEADER_BYTES,
    EnvelopeHeader,
    chunk_aad,
    chunk_nonce,
    open_envelope,
    read_envelope_header,
    rewrap_envelope,
    seal_envelope,
)
from strongroom.backup.kms import DataKey, KMSProvider, LocalKMS
from strongroom.crypto.random import DeterministicRandom
from strongroom.errors import (
    ArgumentsBad,
    EnvelopeInvalid,
    EnvelopeVersionUnsupported,
    IntegrityError,
    KMSAccessDenied,
    KMSError,
)

CONTEXT = {"cluster": "cluster-1", "backup": "backup-1", "region": "region-1"}
KEY_ID = "backup-kek"
TAG = 16


@pytest.fixture(scope="module")
def kms(tmp_path_factory: pytest.TempPathFactory) -> LocalKMS:
    """A local KMS with two master keys, shared by the module (Hypothesis reuses it)."""
    provider = LocalKMS(tmp_path_factory.mktemp("kms") / "keys")
    provider.create_key(KEY_ID)
    provider.create_key("other-kek")
    return provider


def seal(
    kms: KMSProvider,
    data: bytes,
    chunk_size: int = 16,
    *,
    context: dict[str, str] | None = None,
    key_id: str = KEY_ID,
) -> bytes:
    return b"".join(
        seal_envelope(
            [data],
            kms=kms,
            key_id=key_id,
            context=CONTEXT if context is None else context,
            chunk_size=chunk_size,
        )
    )


def open_all(kms: KMSProvider, envelope: bytes, expected: dict[str, str] | None = None) -> bytes:
    return b"".join(open_envelope([envelope], kms_for=kms, expected_context=expected or CONTEXT))


def drain(kms: KMSProvider, envelope: bytes) -> tuple[bytes, BaseException | None]:
    """Everything the reader released, and the error that stopped it (None if it finished)."""
    released: list[bytes] = []
    try:
        for piece in open_envelope([envelope], kms_for=kms, expected_context=None):
            released.append(piece)
    except (IntegrityError, KMSError) as exc:
        return b"".join(released), exc
    return b"".join(released), None


def collect(pieces: Iterator[bytes]) -> tuple[list[bytes], Exception | None]:
    """Every piece an iterator yields, and the exception that ended it (None if none)."""
    out: list[bytes] = []
    try:
        for piece in pieces:
            out.append(piece)
    except Exception as exc:
        return out, exc
    return out, None


def frames(envelope: bytes) -> tuple[bytes, list[bytes]]:
    """Split an envelope into its header and its wire frames (length prefix included)."""
    header = read_envelope_header(envelope)
    out: list[bytes] = []
    position = header.size
    while position < len(envelope):
        (length,) = struct.unpack(">I", envelope[position : position + 4])
        out.append(envelope[position : position + 4 + length])
        position += 4 + length
    return envelope[: header.size], out


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


# --- round trips -----------------------------------------------------------------------------


@settings(max_examples=150)
@given(
    data=st.binary(max_size=400),
    chunk_size=st.integers(1, 70),
    in_cuts=st.lists(st.integers(0, 1000), max_size=6),
    out_cuts=st.lists(st.integers(0, 5000), max_size=12),
)
def test_round_trip(
    kms: LocalKMS, data: bytes, chunk_size: int, in_cuts: list[int], out_cuts: list[int]
) -> None:
    """Any inner bytes, cut anyhow on the way in and out, come back exactly, chunk by chunk."""
    envelope = b"".join(
        seal_envelope(
            split(data, in_cuts), kms=kms, key_id=KEY_ID, context=CONTEXT, chunk_size=chunk_size
        )
    )
    released = list(open_envelope(split(envelope, out_cuts), kms_for=kms, expected_context=CONTEXT))
    assert b"".join(released) == data
    assert all(0 < len(piece) <= chunk_size for piece in released)


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 32, 47, 48, 49])
def test_chunk_count_and_lengths(kms: LocalKMS, size: int) -> None:
    """n bytes make max(1, ⌈n / chunk⌉) frames: full ones, then a final one, empty only if n = 0."""
    envelope = seal(kms, bytes(range(size)), chunk_size=16)
    _, body = frames(envelope)
    assert len(body) == max(1, -(-size // 16))
    assert all(len(frame) == 4 + 16 + TAG for frame in body[:-1])
    last = size - 16 * (len(body) - 1)
    assert len(body[-1]) == 4 + last + TAG
    assert open_all(kms, envelope) == bytes(range(size))


def test_default_chunk_size_is_one_mebibyte(kms: LocalKMS) -> None:
    """Without a chunk size the header says 1 MiB."""
    envelope = b"".join(seal_envelope([b"x"], kms=kms, key_id=KEY_ID, context=CONTEXT))
    assert read_envelope_header(envelope).chunk_size == DEFAULT_CHUNK_SIZE == 1 << 20


def test_accepts_bytes_like_pieces(kms: LocalKMS) -> None:
    """bytes, bytearray and memoryview pieces (and empty ones) are all accepted, both ways."""
    pieces: list[bytes] = [bytearray(b"abc"), b"", memoryview(b"defghij"), b"k"]  # type: ignore[list-item]
    envelope = b"".join(
        seal_envelope(pieces, kms=kms, key_id=KEY_ID, context=CONTEXT, chunk_size=4)
    )
    reader_pieces: list[bytes] = [memoryview(envelope[:7]), b"", bytearray(envelope[7:])]  # type: ignore[list-item]
    out = open_envelope(reader_pieces, kms_for=kms, expected_context=CONTEXT)
    assert b"".join(out) == b"abcdefghijk"


def test_header_fields(kms: LocalKMS) -> None:
    """The header names provider, key, context and chunk size, and is exactly what is written."""
    envelope = seal(kms, b"hello", chunk_size=64)
    header = read_envelope_header(envelope + b"trailing bytes are ignored")
    assert header.kms == "local"
    assert header.key_id == KEY_ID
    assert dict(header.context) == CONTEXT
    assert header.chunk_size == 64
    assert header.version == 1
    assert header.cipher == "AES-256-GCM"
    assert len(header.nonce_base) == 12
    assert envelope.startswith(header.raw)
    assert header.raw[:4] == ENVELOPE_MAGIC
    assert header.sha256 == hashlib.sha256(header.raw).digest()
    assert kms.decrypt_data_key(KEY_ID, header.wrapped_key, CONTEXT)
    text = repr(header)
    assert header.wrapped_key.hex() not in text
    assert header.nonce_base.hex() not in text


def test_fresh_data_key_and_nonce_base_per_envelope(kms: LocalKMS) -> None:
    """Sealing the same bytes twice gives unrelated envelopes."""
    a, b = read_envelope_header(seal(kms, b"same")), read_envelope_header(seal(kms, b"same"))
    assert a.wrapped_key != b.wrapped_key
    assert a.nonce_base != b.nonce_base


def test_sealing_streams_before_the_input_ends(kms: LocalKMS) -> None:
    """The header and the first frames come out while the input is still being produced."""
    produced: list[int] = []

    def source() -> Iterator[bytes]:
        for i in range(10):
            produced.append(i)
            yield bytes(16)

    output = seal_envelope(source(), kms=kms, key_id=KEY_ID, context=CONTEXT, chunk_size=16)
    next(output)  # the header
    next(output)  # frame 0's length: chunk 1 had to be read to know chunk 0 is not final
    next(output)  # frame 0's ciphertext
    assert produced == [0, 1]


def test_opening_streams_chunk_by_chunk(kms: LocalKMS) -> None:
    """A verified chunk is released before the rest of the envelope has arrived."""
    envelope = seal(kms, bytes(range(48)), chunk_size=16)
    header, body = frames(envelope)

    def stream() -> Iterator[bytes]:
        yield header
        yield body[0]
        yield body[1]
        raise RuntimeError("the network went away")

    out = open_envelope(stream(), kms_for=kms, expected_context=CONTEXT)
    assert next(out) == bytes(range(16))
    with pytest.raises(RuntimeError):
        next(out)


# --- tampering --------------------------------------------------------------------------------


@settings(max_examples=300)
@given(
    data=st.binary(max_size=100),
    position=st.integers(min_value=0),
    mask=st.integers(1, 255),
)
def test_any_flipped_byte_is_refused(kms: LocalKMS, data: bytes, position: int, mask: int) -> None:
    """Flipping any bit pattern in any byte is refused; what was released is a true prefix."""
    envelope = bytearray(seal(kms, data, chunk_size=16))
    envelope[position % len(envelope)] ^= mask
    released, error = drain(kms, bytes(envelope))
    assert isinstance(error, EnvelopeInvalid | KMSAccessDenied)
    assert data.startswith(released)


def test_every_single_byte_of_a_small_envelope_is_covered(kms: LocalKMS) -> None:
    """Exhaustively: each position of a 3-chunk envelope, flipped, is refused."""
    data = bytes(range(40))
    envelope = seal(kms, data, chunk_size=16)
    for position in range(len(envelope)):
        damaged = bytearray(envelope)
        damaged[position] ^= 0x80
        released, error = drain(kms, bytes(damaged))
        assert isinstance(error, EnvelopeInvalid | KMSAccessDenied), position
        assert data.startswith(released)


def test_damaged_header_fails_before_output(kms: LocalKMS) -> None:
    """A flip in the header makes the first chunk fail: nothing at all is released."""
    envelope = bytearray(seal(kms, bytes(100), chunk_size=16))
    header = read_envelope_header(bytes(envelope))
    nonce_at = bytes(envelope).index(header.nonce_base)
    envelope[nonce_at] ^= 1
    released, error = drain(kms, bytes(envelope))
    assert released == b""
    assert isinstance(error, EnvelopeInvalid)


@pytest.mark.parametrize("size", [0, 5, 16, 40])
def test_every_truncation_is_refused(kms: LocalKMS, size: int) -> None:
    """Cutting the envelope anywhere (header, prefix, mid-chunk, between chunks) is refused."""
    data = bytes(range(size))
    envelope = seal(kms, data, chunk_size=16)
    for length in range(len(envelope)):
        released, error = drain(kms, envelope[:length])
        assert isinstance(error, EnvelopeInvalid), length
        assert data.startswith(released)


def test_error_is_uniform(kms: LocalKMS) -> None:
    """Every body failure is the same code and message, whatever the cause."""
    envelope = seal(kms, bytes(40), chunk_size=16)
    errors = [drain(kms, envelope[:-1])[1], drain(kms, envelope + b"\x00")[1]]
    flipped = bytearray(envelope)
    flipped[-3] ^= 4
    errors.append(drain(kms, bytes(flipped))[1])
    assert {type(e) for e in errors} == {EnvelopeInvalid}
    assert {str(e) for e in errors} == {f"[ENVELOPE_INVALID] {EnvelopeInvalid.UNIFORM_MESSAGE}"}


def test_chunks_cannot_be_reordered_dropped_or_duplicated(kms: LocalKMS) -> None:
    """Any rearrangement of whole frames is refused."""
    header, body = frames(seal(kms, bytes(range(64)), chunk_size=16))
    assert len(body) == 4
    for arrangement in (
        [body[1], body[0], body[2], body[3]],
        [body[0], body[1], body[3]],
        [body[0], body[1], body[2]],
        [body[0], body[0], body[1], body[2], body[3]],
        [body[0], body[1], body[2], body[3], body[3]],
        [body[3]],
        [],
    ):
        released, error = drain(kms, header + b"".join(arrangement))
        assert isinstance(error, EnvelopeInvalid)
        assert bytes(range(64)).startswith(released)


def test_chunks_cannot_be_spliced_between_envelopes(kms: LocalKMS) -> None:
    """Frames or headers from another envelope (same key, same context) are refused."""
    header_a, body_a = frames(seal(kms, bytes(48), chunk_size=16))
    header_b, body_b = frames(seal(kms, bytes(48), chunk_size=16))
    for spliced in (
        header_a + body_a[0] + body_b[1] + body_a[2],
        header_a + body_b[0] + body_b[1] + body_b[2],
        header_b + body_a[0] + body_a[1] + body_a[2],
        header_a + body_a[0] + body_a[1] + body_b[2],
    ):
        released, error = drain(kms, spliced)
        assert isinstance(error, EnvelopeInvalid)
        assert released in {b"", bytes(16), bytes(32)}


def test_appended_bytes_are_refused(kms: LocalKMS) -> None:
    """Anything after the final chunk, even a copy of a valid frame, is refused."""
    envelope = seal(kms, bytes(20), chunk_size=16)
    _, body = frames(envelope)
    for extra in (b"\x00", body[-1], b"\x00\x00\x00\x10" + bytes(16)):
        released, error = drain(kms, envelope + extra)
        assert isinstance(error, EnvelopeInvalid)
        assert released in {b"", bytes(16)}


def test_oversized_chunk_length_is_refused_before_reading_it(kms: LocalKMS) -> None:
    """A length prefix beyond the chunk size is refused without waiting for (or buffering) it."""
    header, _ = frames(seal(kms, bytes(20), chunk_size=16))
    consumed: list[int] = []

    def stream() -> Iterator[bytes]:
        yield header
        yield struct.pack(">I", 0xFFFFFFF0)
        consumed.append(1)
        yield bytes(1 << 20)

    with pytest.raises(EnvelopeInvalid):
        list(open_envelope(stream(), kms_for=kms, expected_context=None))
    assert consumed == []


def _rebuild(envelope: bytes, change: dict[str, object], *, canonical: bool = True) -> bytes:
    header = read_envelope_header(envelope)
    fields = cbor2.loads(header.raw[10:])
    fields.update(change)
    fields = {k: v for k, v in fields.items() if v is not None}
    body = cbor2.dumps(fields, canonical=canonical)
    return header.raw[:6] + struct.pack(">I", len(body)) + body + envelope[header.size :]


@pytest.mark.parametrize(
    "change",
    [
        {"extra": 1},
        {"cipher": "AES-128-GCM"},
        {"chunk_size": 0},
        {"chunk_size": MAX_CHUNK_SIZE + 1},
        {"nonce_base": bytes(11)},
        {"wrapped_key": b""},
        {"context": {"": "x"}},
        {"context": {"a": 1}},
        {"key_id": ""},
        {"kms": ""},
        {"v": None},
    ],
    ids=repr,
)
def test_malformed_headers_are_refused(kms: LocalKMS, change: dict[str, object]) -> None:
    """Unknown, missing or out-of-range header fields make the envelope invalid."""
    envelope = _rebuild(seal(kms, b"x"), change)
    with pytest.raises(EnvelopeInvalid):
        read_envelope_header(envelope)
    with pytest.raises(EnvelopeInvalid):
        open_envelope([envelope], kms_for=kms, expected_context=None)


def test_non_canonical_header_is_refused(kms: LocalKMS) -> None:
    """The same fields in a non-canonical CBOR order are not a v1 header."""
    envelope = seal(kms, b"x")
    reordered = _rebuild(envelope, {}, canonical=False)
    fields = cbor2.loads(read_envelope_header(envelope).raw[10:])
    body = cbor2.dumps(dict(reversed(list(fields.items()))))
    reordered = envelope[:6] + struct.pack(">I", len(body)) + body + envelope[len(envelope) - 21 :]
    with pytest.raises(EnvelopeInvalid):
        read_envelope_header(reordered)


def test_other_versions_and_magic_are_refused(kms: LocalKMS) -> None:
    """Version 2 (outer or in the map) is 'unsupported'; another magic is not an envelope."""
    envelope = seal(kms, b"x")
    newer = envelope[:4] + b"\x00\x02" + envelope[6:]
    with pytest.raises(EnvelopeVersionUnsupported):
        read_envelope_header(newer)
    with pytest.raises(EnvelopeVersionUnsupported):
        read_envelope_header(_rebuild(envelope, {"v": 2}))
    assert issubclass(EnvelopeVersionUnsupported, EnvelopeInvalid)
    with pytest.raises(EnvelopeInvalid):
        read_envelope_header(b"SREW" + envelope[4:])
    with pytest.raises(EnvelopeInvalid):
        read_envelope_header(envelope[:9])
    with pytest.raises(EnvelopeInvalid):
        read_envelope_header(envelope[:5] + b"\x01\x00\x01\x00\x01" + envelope[10:])


def test_header_fits_the_documented_bound(kms: LocalKMS) -> None:
    """MAX_HEADER_BYTES first bytes always hold the header; a huge map length is refused."""
    envelope = seal(kms, bytes(1000), chunk_size=512)
    assert read_envelope_header(envelope[:MAX_HEADER_BYTES]).size < MAX_HEADER_BYTES
    huge = envelope[:6] + struct.pack(">I", (1 << 16) + 1) + envelope[10:]
    with pytest.raises(EnvelopeInvalid):
        read_envelope_header(huge)


# --- the KMS's refusals come first -----------------------------------------------------------


class CountingStream:
    """An envelope handed over in 7-byte pieces, counting how many were taken."""

    def __init__(self, envelope: bytes) -> None:
        self.envelope = envelope
        self.taken = 0

    def __iter__(self) -> Iterator[bytes]:
        for i in range(0, len(self.envelope), 7):
            self.taken += 1
            yield self.envelope[i : i + 7]


def test_wrong_expected_context_refused_before_output(kms: LocalKMS) -> None:
    """A context other than the expected one is refused when opening, before any output."""
    envelope = seal(kms, bytes(100))
    header_pieces = -(-read_envelope_header(envelope).size // 7)
    for expected in (
        {**CONTEXT, "region": "region-2"},
        {**CONTEXT, "extra": "x"},
        {"cluster": "cluster-1", "backup": "backup-1"},
    ):
        stream = CountingStream(envelope)
        with pytest.raises(KMSAccessDenied):
            open_envelope(stream, kms_for=kms, expected_context=expected)
        assert stream.taken <= header_pieces


def test_wrong_master_key_refused_before_output(kms: LocalKMS, tmp_path: Path) -> None:
    """Another key file with the same key name cannot unwrap the data key."""
    stranger = LocalKMS(tmp_path / "keys")
    stranger.create_key(KEY_ID)
    stream = CountingStream(seal(kms, bytes(100)))
    with pytest.raises(KMSAccessDenied):
        open_envelope(stream, kms_for=stranger, expected_context=CONTEXT)
    assert stream.taken < len(stream.envelope) // 7


def test_context_or_key_id_edited_in_the_header_is_refused(kms: LocalKMS) -> None:
    """Rewriting the header's context or key id (without an expected context) fails at the KMS."""
    envelope = seal(kms, bytes(30))
    changes: list[dict[str, object]] = [
        {"context": {**CONTEXT, "backup": "backup-2"}},
        {"key_id": "other-kek"},
    ]
    for change in changes:
        with pytest.raises(KMSAccessDenied):
            open_envelope([_rebuild(envelope, change)], kms_for=kms, expected_context=None)


def test_provider_is_chosen_by_the_header(kms: LocalKMS) -> None:
    """``kms_for`` may be a function of the header's provider name; a mismatch is refused."""
    envelope = seal(kms, b"routed")
    asked: list[str] = []

    def resolver(name: str) -> KMSProvider:
        asked.append(name)
        return kms

    assert b"".join(open_envelope([envelope], kms_for=resolver, expected_context=None)) == b"routed"
    assert asked == ["local"]

    class Impostor:
        name = "openbao"

        def generate_data_key(self, key_id: str, context: object) -> DataKey:
            raise AssertionError

        def decrypt_data_key(self, key_id: str, wrapped: bytes, context: object) -> bytes:
            raise AssertionError

    with pytest.raises(KMSAccessDenied):
        open_envelope([envelope], kms_for=Impostor(), expected_context=None)


def test_sealing_refusals_come_first(kms: LocalKMS) -> None:
    """An unknown key, a bad context or a bad chunk size raise when sealing is asked for."""
    with pytest.raises(KMSAccessDenied):
        seal_envelope([b"x"], kms=kms, key_id="no-such-key", context=CONTEXT)
    with pytest.raises(ArgumentsBad):
        seal_envelope([b"x"], kms=kms, key_id=KEY_ID, context={"cluster": 1})  # type: ignore[dict-item]
    for size in (0, -1, MAX_CHUNK_SIZE + 1):
        with pytest.raises(ArgumentsBad):
            seal_envelope([b"x"], kms=kms, key_id=KEY_ID, context=CONTEXT, chunk_size=size)
    with pytest.raises(TypeError):
        list(seal_envelope(["text"], kms=kms, key_id=KEY_ID, context=CONTEXT))  # type: ignore[list-item]


def test_a_failing_input_leaves_no_valid_envelope(kms: LocalKMS) -> None:
    """If the inner bytes stop with an error, what was written lacks its final chunk."""

    def source() -> Iterator[bytes]:
        yield bytes(40)
        raise OSError("disk read failed")

    written, error = collect(
        seal_envelope(source(), kms=kms, key_id=KEY_ID, context=CONTEXT, chunk_size=16)
    )
    assert isinstance(error, OSError)
    assert len(written) == 3  # header, frame 0 (2 pieces); chunk 1 waited to learn if final
    with pytest.raises(EnvelopeInvalid):
        list(open_envelope([b"".join(written)], kms_for=kms, expected_context=CONTEXT))


# --- nonces ----------------------------------------------------------------------------------


def test_chunk_nonces_are_distinct_and_as_specified() -> None:
    """nonce_i = base XOR (0^32 || u64 i): distinct for every index, as the spec says."""
    base = bytes(range(0xC0, 0xCC))
    nonces = {chunk_nonce(base, i) for i in range(5000)}
    assert len(nonces) == 5000
    assert chunk_nonce(base, 0) == base
    assert chunk_nonce(base, 0x0102) == base[:10] + bytes([base[10] ^ 1, base[11] ^ 2])
    assert chunk_nonce(base, (1 << 32) - 1)[8:] == bytes(b ^ 0xFF for b in base[8:])
    with pytest.raises(ArgumentsBad):
        chunk_nonce(base, 1 << 32)
    with pytest.raises(ArgumentsBad):
        chunk_nonce(base[:8], 0)
    assert chunk_aad(bytes(32), 3, final=True) == bytes(32) + bytes(7) + b"\x03\x01"


# --- rewrap -----------------------------------------------------------------------------------


def test_rewrap_keeps_inner_bytes_and_changes_the_key(kms: LocalKMS, tmp_path: Path) -> None:
    """A rewrapped envelope holds the same inner bytes under a new KMS, key and context."""
    data = os.urandom(1000)
    envelope = seal(kms, data, chunk_size=64)
    destination = LocalKMS(tmp_path / "region-2.keys")
    destination.create_key("region-2-kek")
    new_context = {**CONTEXT, "region": "region-2"}
    rewrapped = b"".join(
        rewrap_envelope(
            [envelope],
            old_kms=kms,
            new_kms=destination,
            new_key_id="region-2-kek",
            new_context=new_context,
            expected_context=CONTEXT,
        )
    )
    old, new = read_envelope_header(envelope), read_envelope_header(rewrapped)
    assert new.key_id == "region-2-kek"
    assert dict(new.context) == new_context
    assert new.chunk_size == old.chunk_size == 64
    assert new.wrapped_key != old.wrapped_key
    assert new.nonce_base != old.nonce_base
    assert open_all(destination, rewrapped, new_context) == data
    with pytest.raises(KMSAccessDenied):
        open_envelope([rewrapped], kms_for=kms, expected_context=None)


def test_rewrap_refuses_before_output(kms: LocalKMS) -> None:
    """A wrong expected context or an unknown destination key raise before anything is written."""
    envelope = seal(kms, bytes(50))
    with pytest.raises(KMSAccessDenied):
        rewrap_envelope(
            [envelope],
            old_kms=kms,
            new_kms=kms,
            new_key_id="other-kek",
            new_context=CONTEXT,
            expected_context={**CONTEXT, "region": "elsewhere"},
        )
    with pytest.raises(KMSAccessDenied):
        rewrap_envelope(
            [envelope], old_kms=kms, new_kms=kms, new_key_id="missing", new_context=CONTEXT
        )


def test_rewrap_of_a_truncated_envelope_fails_without_a_valid_copy(kms: LocalKMS) -> None:
    """Rewrapping a truncated envelope raises, and what it wrote is not a valid envelope."""
    envelope = seal(kms, bytes(64), chunk_size=16)
    written, error = collect(
        rewrap_envelope(
            [envelope[:-30]], old_kms=kms, new_kms=kms, new_key_id="other-kek", new_context=CONTEXT
        )
    )
    assert isinstance(error, EnvelopeInvalid)
    with pytest.raises(EnvelopeInvalid):
        list(open_envelope([b"".join(written)], kms_for=kms, expected_context=None))


# --- memory ----------------------------------------------------------------------------------


def _source(total: int, piece: bytes) -> Iterable[bytes]:
    for _ in range(total // len(piece)):
        yield piece


def test_memory_stays_flat_for_64_mib(kms: LocalKMS) -> None:
    """Sealing and opening 64 MiB in 1 MiB chunks, piped, never holds more than a few MiB."""
    piece = os.urandom(1 << 20)
    expected = hashlib.sha256()
    for _ in range(64):
        expected.update(piece)
    actual = hashlib.sha256()
    tracemalloc.start()
    try:
        sealed = seal_envelope(
            _source(64 << 20, piece), kms=kms, key_id=KEY_ID, context=CONTEXT, chunk_size=1 << 20
        )
        total = 0
        for out in open_envelope(sealed, kms_for=kms, expected_context=CONTEXT):
            actual.update(out)
            total += len(out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == 64 << 20
    assert actual.digest() == expected.digest()
    assert peak < 8 << 20, f"peak {peak / (1 << 20):.1f} MiB"


def test_nonce_base_comes_from_the_given_random_source(kms: LocalKMS) -> None:
    """``rng`` supplies the 12-byte nonce base (tests fix it; production uses the system's)."""
    envelope = b"".join(
        seal_envelope(
            [b"x"], kms=kms, key_id=KEY_ID, context=CONTEXT, rng=DeterministicRandom(b"seed")
        )
    )
    header: EnvelopeHeader = read_envelope_header(envelope)
    assert header.nonce_base == DeterministicRandom(b"seed").random_bytes(12)

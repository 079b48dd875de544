"""The KMS envelope, format v1: the service's outer layer around an already-sealed backup.

This module owns envelope format v1 (docs/formats/envelope-v1.md): a header naming the KMS
provider, master key id, wrapped data key, encryption context, chunk size and nonce base, then
the inner bytes in AES-256-GCM chunks under the data key, each authenticated with the header's
SHA-256, its index and a final flag, so chunks cannot be reordered, dropped, duplicated,
truncated or spliced between envelopes. Sealing, opening and re-wrapping all stream, one chunk
at a time, so memory stays flat for backups of any size. Every integrity failure is the one
uniform `EnvelopeInvalid`; a KMS refusal (wrong key or context) is `KMSAccessDenied`, raised
before any output. The inner bytes are opaque here: this module never interprets them, and it
reaches keys only through a `KMSProvider`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from strongroom.backup.kms.api import (
    DATA_KEY_BYTES,
    KMSProvider,
    check_context,
    check_key_id,
)
from strongroom.crypto.aead import AESGCM
from strongroom.crypto.hashing import digest
from strongroom.crypto.random import RandomSource, SystemRandom
from strongroom.errors import (
    ArgumentsBad,
    EnvelopeInvalid,
    EnvelopeVersionUnsupported,
    IntegrityError,
    KMSAccessDenied,
    KMSError,
)
from strongroom.model.codec import decode_cbor, encode_cbor

__all__ = [
    "CIPHER",
    "DEFAULT_CHUNK_SIZE",
    "ENVELOPE_MAGIC",
    "ENVELOPE_VERSION",
    "MAX_CHUNKS",
    "MAX_CHUNK_SIZE",
    "MAX_HEADER_BYTES",
    "MAX_MAP_BYTES",
    "EnvelopeHeader",
    "KMSResolver",
    "chunk_aad",
    "chunk_nonce",
    "open_envelope",
    "read_envelope_header",
    "rewrap_envelope",
    "seal_envelope",
]

ENVELOPE_MAGIC: Final = b"SREV"
"""The first four bytes of every envelope."""
ENVELOPE_VERSION: Final = 1
"""The format version this module writes, and the only one it reads."""
CIPHER: Final = "AES-256-GCM"
"""The body cipher of format v1, named in the header."""
DEFAULT_CHUNK_SIZE: Final = 1 << 20
"""Plaintext bytes per chunk unless the sealer says otherwise (1 MiB)."""
MAX_CHUNK_SIZE: Final = 1 << 24
"""Largest chunk size a reader accepts (16 MiB): bounds a reader's memory."""
MAX_CHUNKS: Final = 1 << 32
"""Most chunks one envelope may have (indexes 0 … 2³² − 1)."""
MAX_MAP_BYTES: Final = 1 << 16
"""Largest header map a reader accepts (64 KiB)."""

_PREFIX: Final = struct.Struct(">4sHI")  # magic, version, map length
MAX_HEADER_BYTES: Final = _PREFIX.size + MAX_MAP_BYTES
"""The most bytes a header can take: this many first bytes always hold a whole header."""
_NONCE_BYTES: Final = 12
_TAG_BYTES: Final = 16
_LENGTH: Final = struct.Struct(">I")
_AAD_TAIL: Final = struct.Struct(">QB")  # chunk index, final flag
_HEADER_FIELDS: Final = frozenset(
    {"v", "kms", "key_id", "wrapped_key", "context", "cipher", "chunk_size", "nonce_base"}
)
_MAX_WRAPPED_KEY: Final = 8192
_MAX_PROVIDER_NAME: Final = 64

KMSResolver = Callable[[str], KMSProvider]
"""Finds the provider for the name an envelope's header carries (``local``, ``openbao``…)."""


@dataclass(frozen=True, slots=True)
class EnvelopeHeader:
    """A parsed, validated envelope header; ``raw`` is its exact bytes (what chunks bind)."""

    kms: str
    key_id: str
    wrapped_key: bytes = field(repr=False)
    context: Mapping[str, str] = field(hash=False)
    chunk_size: int
    nonce_base: bytes = field(repr=False)
    raw: bytes = field(repr=False)
    version: int = ENVELOPE_VERSION
    cipher: str = CIPHER

    @property
    def size(self) -> int:
        """How many bytes the header takes at the start of the envelope."""
        return len(self.raw)

    @property
    def sha256(self) -> bytes:
        """SHA-256 of the header bytes, the first part of every chunk's AAD."""
        return digest("SHA256", self.raw)


# --- building blocks (envelope-v1.md, "Body") ----------------------------------------------------


def chunk_nonce(nonce_base: bytes, index: int) -> bytes:
    """``nonce_base XOR (0x00000000 || u64 index)``: distinct for every index (as RFC 8446 §5.3)."""
    if len(nonce_base) != _NONCE_BYTES or not 0 <= index < MAX_CHUNKS:
        raise ArgumentsBad("a nonce base is 12 bytes and a chunk index 0 … 2^32 - 1")
    mixed = int.from_bytes(nonce_base, "big") ^ index
    return mixed.to_bytes(_NONCE_BYTES, "big")


def chunk_aad(header_digest: bytes, index: int, final: bool) -> bytes:
    """``SHA-256(header) || u64 index || u8 final``, integers big-endian."""
    return header_digest + _AAD_TAIL.pack(index, 1 if final else 0)


def _encode_header(
    kms: str,
    key_id: str,
    wrapped_key: bytes,
    context: Mapping[str, str],
    chunk_size: int,
    nonce_base: bytes,
) -> bytes:
    body = encode_cbor(
        {
            "v": ENVELOPE_VERSION,
            "kms": kms,
            "key_id": key_id,
            "wrapped_key": wrapped_key,
            "context": dict(context),
            "cipher": CIPHER,
            "chunk_size": chunk_size,
            "nonce_base": nonce_base,
        }
    )
    if len(body) > MAX_MAP_BYTES:
        raise ArgumentsBad("the envelope header would exceed 64 KiB")
    return _PREFIX.pack(ENVELOPE_MAGIC, ENVELOPE_VERSION, len(body)) + body


def _parse_prefix(prefix: bytes) -> int:
    """Check magic and version; return the map length. ``prefix`` is exactly 10 bytes."""
    if len(prefix) != _PREFIX.size:
        raise EnvelopeInvalid
    magic, version, length = _PREFIX.unpack(prefix)
    if magic != ENVELOPE_MAGIC:
        raise EnvelopeInvalid
    if version != ENVELOPE_VERSION:
        raise EnvelopeVersionUnsupported
    if not 0 < length <= MAX_MAP_BYTES:
        raise EnvelopeInvalid
    return int(length)


def _parse_map(prefix: bytes, body: bytes) -> EnvelopeHeader:
    try:
        fields = decode_cbor(body)
    except Exception:
        raise EnvelopeInvalid from None
    # Canonical form only: one byte string per header, so the digest every chunk binds is unique.
    if not isinstance(fields, dict) or set(fields) != _HEADER_FIELDS:
        raise EnvelopeInvalid
    try:
        canonical = encode_cbor(fields)
    except Exception:
        raise EnvelopeInvalid from None
    if canonical != body:
        raise EnvelopeInvalid
    version = fields["v"]
    kms = fields["kms"]
    key_id = fields["key_id"]
    wrapped_key = fields["wrapped_key"]
    context = fields["context"]
    chunk_size = fields["chunk_size"]
    nonce_base = fields["nonce_base"]
    if type(version) is not int or version != ENVELOPE_VERSION:
        raise EnvelopeVersionUnsupported
    if fields["cipher"] != CIPHER:
        raise EnvelopeInvalid
    if not isinstance(kms, str) or not 0 < len(kms) <= _MAX_PROVIDER_NAME:
        raise EnvelopeInvalid
    if not isinstance(wrapped_key, bytes) or not 0 < len(wrapped_key) <= _MAX_WRAPPED_KEY:
        raise EnvelopeInvalid
    if type(chunk_size) is not int or not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise EnvelopeInvalid
    if not isinstance(nonce_base, bytes) or len(nonce_base) != _NONCE_BYTES:
        raise EnvelopeInvalid
    try:
        check_key_id(key_id)
        plain_context = check_context(context)
    except ArgumentsBad:
        raise EnvelopeInvalid from None
    return EnvelopeHeader(
        kms=kms,
        key_id=key_id,
        wrapped_key=wrapped_key,
        context=MappingProxyType(plain_context),
        chunk_size=chunk_size,
        nonce_base=nonce_base,
        raw=prefix + body,
    )


def read_envelope_header(first_bytes: bytes) -> EnvelopeHeader:
    """Parse the header at the start of ``first_bytes`` (anything after it is ignored).

    `MAX_HEADER_BYTES` first bytes always suffice. Only structure is checked here — nothing is
    authenticated until a chunk decrypts — so use this to route an envelope (which KMS, which
    key, which context), never to trust it. Malformed or short input is `EnvelopeInvalid`.
    """
    data = bytes(first_bytes)
    length = _parse_prefix(data[: _PREFIX.size])
    end = _PREFIX.size + length
    if len(data) < end:
        raise EnvelopeInvalid
    return _parse_map(data[: _PREFIX.size], data[_PREFIX.size : end])


# --- sealing -------------------------------------------------------------------------------------


def seal_envelope(
    chunks: Iterable[bytes],
    *,
    kms: KMSProvider,
    key_id: str,
    context: Mapping[str, str],
    rng: RandomSource | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Iterator[bytes]:
    """Envelope the inner bytes ``chunks`` (pieces of any size) under a fresh KMS data key.

    The data key is requested and the header built before this returns, so KMS refusals and
    bad arguments raise here. The iterator then yields the header, then for each chunk its
    length prefix and its ciphertext || tag as two pieces; memory stays at a few chunks
    whatever the input size. An input that raises leaves the output without its final chunk,
    which no reader accepts.
    """
    if type(chunk_size) is not int or not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise ArgumentsBad(f"the chunk size is 1 … {MAX_CHUNK_SIZE} bytes")
    key_id = check_key_id(key_id)
    plain_context = check_context(context)
    name = kms.name
    if not isinstance(name, str) or not 0 < len(name) <= _MAX_PROVIDER_NAME:
        raise ArgumentsBad("a KMS provider's name is a short non-empty string")
    source = rng if rng is not None else SystemRandom()
    data_key = kms.generate_data_key(key_id, plain_context)
    if len(data_key.wrapped) > _MAX_WRAPPED_KEY:
        raise KMSError("the KMS returned a wrapped data key longer than 8 KiB")
    nonce_base = source.random_bytes(_NONCE_BYTES)
    header = _encode_header(name, key_id, data_key.wrapped, plain_context, chunk_size, nonce_base)
    cipher = AESGCM(data_key.plaintext)
    return _seal_body(chunks, header, cipher, nonce_base, chunk_size)


def _seal_body(
    chunks: Iterable[bytes], header: bytes, cipher: AESGCM, nonce_base: bytes, chunk_size: int
) -> Iterator[bytes]:
    yield header
    header_digest = digest("SHA256", header)
    index = 0
    pending: bytes | None = None
    for piece in _rechunk(chunks, chunk_size):
        if pending is not None:
            yield from _frame(cipher, nonce_base, header_digest, index, pending, final=False)
            index += 1
        pending = piece
    yield from _frame(cipher, nonce_base, header_digest, index, pending or b"", final=True)


def _frame(
    cipher: AESGCM, nonce_base: bytes, header_digest: bytes, index: int, data: bytes, final: bool
) -> tuple[bytes, bytes]:
    """One wire frame as two pieces (length prefix, ciphertext || tag): no 1 MiB concatenation."""
    if index >= MAX_CHUNKS:
        raise ArgumentsBad("the inner bytes need more than 2^32 chunks")
    sealed = cipher.encrypt(
        chunk_nonce(nonce_base, index), data, chunk_aad(header_digest, index, final)
    )
    return _LENGTH.pack(len(sealed)), sealed


def _rechunk(pieces: Iterable[bytes], size: int) -> Iterator[bytes]:
    """Cut pieces of any size into ``size``-byte chunks (the last may be shorter, never empty)."""
    held = bytearray()
    for piece in pieces:
        view = _byte_view(piece)
        if not held and type(piece) is bytes and len(piece) == size:
            yield piece  # already a chunk, and immutable: no copy
            continue
        if held:
            take = size - len(held)
            held += view[:take]
            view = view[take:]
            if len(held) < size:
                continue
            yield bytes(held)
            held.clear()
        while len(view) >= size:
            yield bytes(view[:size])
            view = view[size:]
        held += view
    if held:
        yield bytes(held)


def _byte_view(piece: object) -> memoryview:
    if not isinstance(piece, bytes | bytearray | memoryview):
        raise TypeError("envelope input pieces are bytes-like")
    return memoryview(piece).cast("B")


# --- opening -------------------------------------------------------------------------------------


class _Reader:
    """Exact-length reads over an iterable of byte pieces, holding at most one piece."""

    __slots__ = ("_pieces", "_pos", "_view")

    def __init__(self, stream: Iterable[bytes]) -> None:
        self._pieces = iter(stream)
        self._view = memoryview(b"")
        self._pos = 0

    def _fill(self) -> bool:
        while self._pos >= len(self._view):
            piece = next(self._pieces, None)
            if piece is None:
                return False
            self._view = _byte_view(piece)
            self._pos = 0
        return True

    def read(self, n: int) -> bytes:
        """Exactly ``n`` bytes, or `EnvelopeInvalid` if the stream ends first."""
        parts: list[memoryview] = []
        need = n
        while need:
            if not self._fill():
                raise EnvelopeInvalid
            take = min(need, len(self._view) - self._pos)
            parts.append(self._view[self._pos : self._pos + take])
            self._pos += take
            need -= take
        return b"".join(parts)

    def at_end(self) -> bool:
        """True when the stream has no byte left."""
        return not self._fill()


def _resolve(kms_for: KMSResolver | KMSProvider, name: str) -> KMSProvider:
    provider = kms_for if isinstance(kms_for, KMSProvider) else kms_for(name)
    if provider.name != name:
        raise KMSAccessDenied(
            f"the envelope was sealed with KMS provider {name!r}, not {provider.name!r}"
        )
    return provider


def _unwrap(
    reader: _Reader,
    kms_for: KMSResolver | KMSProvider,
    expected_context: Mapping[str, str] | None,
) -> tuple[EnvelopeHeader, AESGCM]:
    prefix = reader.read(_PREFIX.size)
    header = _parse_map(prefix, reader.read(_parse_prefix(prefix)))
    if expected_context is not None and check_context(expected_context) != dict(header.context):
        raise KMSAccessDenied("the envelope's encryption context is not the expected one")
    provider = _resolve(kms_for, header.kms)
    data_key = provider.decrypt_data_key(header.key_id, header.wrapped_key, header.context)
    if len(data_key) != DATA_KEY_BYTES:
        raise KMSAccessDenied("the KMS returned a data key of the wrong size")
    return header, AESGCM(data_key)


def open_envelope(
    stream: Iterable[bytes],
    *,
    kms_for: KMSResolver | KMSProvider,
    expected_context: Mapping[str, str] | None,
) -> Iterator[bytes]:
    """Verify and decrypt an envelope from ``stream`` (pieces of any size); yield the inner bytes.

    Before this returns it reads the header and has the KMS unwrap the data key: a damaged
    header raises `EnvelopeInvalid`, a context other than ``expected_context`` (when given),
    a provider other than the header's, or a KMS refusal raises `KMSAccessDenied`, all before
    any output. ``kms_for`` is a provider, or a function from the header's provider name to
    one. The iterator then yields each chunk's plaintext only after that chunk's GCM tag has
    verified; but truncation, and anything appended, shows only at the end, so **treat the
    output as unverified until the iterator is exhausted without error** (write it somewhere
    temporary, act on it afterwards). Every failure in the body is `EnvelopeInvalid`.
    """
    reader = _Reader(stream)
    header, cipher = _unwrap(reader, kms_for, expected_context)
    return _open_body(reader, header, cipher)


def _open_body(reader: _Reader, header: EnvelopeHeader, cipher: AESGCM) -> Iterator[bytes]:
    header_digest = header.sha256
    full = header.chunk_size + _TAG_BYTES
    index = 0
    while True:
        (length,) = _LENGTH.unpack(reader.read(_LENGTH.size))
        if not _TAG_BYTES <= length <= full:
            raise EnvelopeInvalid
        sealed = reader.read(length)
        # The final flag is not on the wire: a chunk is final when the stream ends after it.
        final = reader.at_end()
        if not final and length != full:
            raise EnvelopeInvalid  # only the final chunk may be short
        if final and length == _TAG_BYTES and index > 0:
            raise EnvelopeInvalid  # an empty final chunk only for empty inner bytes
        try:
            plaintext = cipher.decrypt(
                chunk_nonce(header.nonce_base, index),
                sealed,
                chunk_aad(header_digest, index, final),
            )
        except IntegrityError:
            raise EnvelopeInvalid from None
        if plaintext:
            yield plaintext
        if final:
            return
        index += 1
        if index >= MAX_CHUNKS:
            raise EnvelopeInvalid


# --- re-wrapping ---------------------------------------------------------------------------------


def rewrap_envelope(
    stream: Iterable[bytes],
    *,
    old_kms: KMSResolver | KMSProvider,
    new_kms: KMSProvider,
    new_key_id: str,
    new_context: Mapping[str, str],
    expected_context: Mapping[str, str] | None = None,
    rng: RandomSource | None = None,
) -> Iterator[bytes]:
    """Re-envelope under another KMS key and context (CopyBackupToRegion); inner bytes untouched.

    The old data key is unwrapped and a new one issued before this returns (KMS refusals raise
    here). The output is a fresh envelope — new data key, new nonce base, same chunk size —
    whose body is the old body decrypted and re-encrypted chunk by chunk; the inner bytes are
    never interpreted. If the old envelope turns out to be damaged or truncated, the iterator
    raises `EnvelopeInvalid` before the new envelope's final chunk, so a partial output is
    itself never a valid envelope; an uploader must still abort on the error.
    """
    reader = _Reader(stream)
    header, cipher = _unwrap(reader, old_kms, expected_context)
    inner = _open_body(reader, header, cipher)
    return seal_envelope(
        inner,
        kms=new_kms,
        key_id=new_key_id,
        context=new_context,
        rng=rng,
        chunk_size=header.chunk_size,
    )

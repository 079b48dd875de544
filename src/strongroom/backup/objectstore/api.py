"""The object-store contract: what a backup store keeps, how keys look, how reads are verified.

This module owns the ``ObjectStore`` protocol that every provider (``filesystem``, ``s3``)
implements, the ``StoredObject`` description, the key and metadata grammar shared by every
provider (so a key valid in one store is valid in all of them and objects copy between
regions unchanged), and ``VerifyingReader``, the one place where a read is checked against
the SHA-256 stored with the object. It knows nothing of backups, envelopes or KMS keys and
handles only bytes that are already sealed.

The contract every provider keeps:

- ``put`` streams: it never holds the whole object in memory. It computes the SHA-256 while
  writing and stores it with the object. Overwriting a key is allowed (the catalog decides
  when); a failed or interrupted put leaves no partial object visible — the previous object
  under that key, if any, stays as it was.
- ``get`` streams and verifies as it reads. A mismatch of size or SHA-256 raises
  ``ObjectCorrupt`` from the iterator, at the latest after the last chunk, so a caller acts on
  the data only once the iterator is exhausted. A missing key raises ``ObjectNotFound`` when
  ``get`` is called, before any chunk.
- ``head`` returns ``None`` for a missing key; ``list`` yields objects sorted by key, where the
  prefix is a plain string prefix as in S3 (``"a/b"`` matches ``"a/b"``, ``"a/b/c"`` and
  ``"a/bc"``); ``delete`` of a missing key is not an error.
- An object under a valid key that is not a well-formed Strongroom object (its checksum record
  is missing or damaged) makes ``head``, ``get`` and ``list`` raise ``ObjectCorrupt`` naming
  the key; ``delete`` removes it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from strongroom.errors import ArgumentsBad, ObjectCorrupt

__all__ = [
    "CHECKSUM_METADATA_KEY",
    "KEY_MAX_LENGTH",
    "METADATA_MAX_BYTES",
    "RESERVED_SUFFIXES",
    "SEGMENT_MAX_LENGTH",
    "ObjectStore",
    "StoredObject",
    "VerifyingReader",
    "as_bytes",
    "check_chunk_size",
    "check_key",
    "check_metadata",
    "check_prefix",
    "is_sha256_hex",
    "is_valid_key",
]

KEY_MAX_LENGTH = 512
"""Longest key, in characters (S3 allows 1,024 bytes including a store's own prefix)."""

SEGMENT_MAX_LENGTH = 200
"""Longest "/"-separated segment: leaves room for the filesystem store's suffixes in 255 bytes."""

RESERVED_SUFFIXES = (".meta.json", ".data")
"""Endings no segment may have: the filesystem store names its own files with them."""

CHECKSUM_METADATA_KEY = "strongroom-sha256"
"""The metadata entry that carries the object's SHA-256; reserved, callers may not set it."""

METADATA_MAX_BYTES = 1024
"""Most bytes of user metadata (keys plus values); S3 allows 2 KB including the checksum."""

_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
_PARTIAL_SEGMENT = re.compile(r"[A-Za-z0-9._-]*")
_METADATA_KEY = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
# Printable ASCII without leading or trailing blanks: HTTP header values lose those.
_METADATA_VALUE = re.compile(r"(?:[\x21-\x7e](?:[\x20-\x7e]{0,254}[\x21-\x7e])?)?")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class StoredObject:
    """One object as a store describes it.

    ``sha256`` is the lowercase hex SHA-256 of the object's bytes, computed when it was put;
    ``metadata`` is the small user metadata given to ``put`` (the checksum entry excluded).
    """

    key: str
    size: int
    sha256: str
    metadata: dict[str, str]


class ObjectStore(Protocol):
    """A place that keeps named, checksummed blobs: the filesystem or an S3 bucket."""

    name: str
    """The provider's name: ``"filesystem"`` or ``"s3"``."""

    def put(
        self, key: str, chunks: Iterable[bytes], *, metadata: Mapping[str, str] | None = None
    ) -> StoredObject:
        """Store the concatenation of ``chunks`` under ``key``, replacing any object there."""
        ...

    def get(self, key: str, *, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """Stream the object's bytes in chunks of at most ``chunk_size``, verifying them."""
        ...

    def head(self, key: str) -> StoredObject | None:
        """Describe the object under ``key``, or return ``None`` if there is none."""
        ...

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        """Every object whose key starts with ``prefix``, sorted by key."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object under ``key``; a missing key is not an error."""
        ...


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _segment_ok(segment: str) -> bool:
    return (
        len(segment) <= SEGMENT_MAX_LENGTH
        and _SEGMENT.fullmatch(segment) is not None
        and not segment.endswith(RESERVED_SUFFIXES)
    )


def is_valid_key(key: object) -> bool:
    """True if ``key`` is a valid object key (see ``check_key``)."""
    return (
        isinstance(key, str)
        and 0 < len(key) <= KEY_MAX_LENGTH
        and all(_segment_ok(segment) for segment in key.split("/"))
    )


def check_key(key: object) -> str:
    """Return ``key`` if it is a valid object key, else raise ``ArgumentsBad``.

    A key is a relative path of 1–512 characters: "/"-separated segments of ``A-Z a-z 0-9 . _ -``,
    none empty, none starting with "." (so no ".", ".." or hidden names), none longer than
    200 characters, none ending with ".meta.json" or ".data".
    """
    if not is_valid_key(key):
        raise ArgumentsBad(
            f"object key {_short(key)} is not a relative path of [A-Za-z0-9._-] segments "
            "(no empty, '.'-leading or '.meta.json'/'.data'-ending segment, at most "
            f"{KEY_MAX_LENGTH} characters)"
        )
    assert isinstance(key, str)
    return key


def check_prefix(prefix: object) -> str:
    """Return ``prefix`` if it can start a valid key, else raise ``ArgumentsBad``.

    The empty prefix matches everything. Otherwise every complete segment (before the last
    "/") must be a valid key segment; the last, partial segment may be any run of key
    characters, including nothing.
    """
    if not isinstance(prefix, str) or len(prefix) > KEY_MAX_LENGTH:
        raise ArgumentsBad(f"object key prefix {_short(prefix)} is not a string of key characters")
    *complete, partial = prefix.split("/")
    if not all(_segment_ok(segment) for segment in complete) or not _PARTIAL_SEGMENT.fullmatch(
        partial
    ):
        raise ArgumentsBad(f"object key prefix {_short(prefix)} cannot start a valid key")
    return prefix


def check_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """Return a sorted copy of valid user ``metadata``, else raise ``ArgumentsBad``.

    Keys are 1–64 characters of lowercase ``a-z 0-9 -`` (S3 folds metadata names to lowercase,
    so only these round-trip) and may not be ``strongroom-sha256``; values are printable ASCII
    of at most 256 characters without leading or trailing blanks; keys and values together
    take at most 1,024 bytes.
    """
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise ArgumentsBad("object metadata must be a mapping of strings to strings")
    total = 0
    checked: dict[str, str] = {}
    for name, value in sorted(metadata.items()):
        if not isinstance(name, str) or _METADATA_KEY.fullmatch(name) is None:
            raise ArgumentsBad(f"metadata key {_short(name)} is not 1–64 characters of [a-z0-9-]")
        if name == CHECKSUM_METADATA_KEY:
            raise ArgumentsBad(f"metadata key {name!r} is reserved for the store's checksum")
        if not isinstance(value, str) or _METADATA_VALUE.fullmatch(value) is None:
            raise ArgumentsBad(
                f"metadata value for {name!r} is not printable ASCII of at most 256 characters "
                "without leading or trailing blanks"
            )
        total += len(name) + len(value)
        checked[name] = value
    if total > METADATA_MAX_BYTES:
        raise ArgumentsBad(f"object metadata takes {total} bytes; at most {METADATA_MAX_BYTES}")
    return checked


def check_chunk_size(chunk_size: object) -> int:
    """Return ``chunk_size`` if it is a positive int, else raise ``ArgumentsBad``."""
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ArgumentsBad(f"chunk_size must be a positive int, not {_short(chunk_size)}")
    return chunk_size


def as_bytes(chunk: object) -> bytes | bytearray | memoryview:
    """Return ``chunk`` if it is bytes-like, else raise ``ArgumentsBad`` (chunks of a put)."""
    if isinstance(chunk, bytes | bytearray | memoryview):
        return chunk
    raise ArgumentsBad(f"object chunks must be bytes, not {type(chunk).__name__}")


def is_sha256_hex(value: object) -> bool:
    """True if ``value`` is a lowercase hex SHA-256 digest."""
    return isinstance(value, str) and _SHA256_HEX.fullmatch(value) is not None


class VerifyingReader(Iterator[bytes]):
    """Yields an object's chunks and checks their size and SHA-256 against the stored ones.

    ``ObjectCorrupt`` is raised as soon as more bytes arrive than the stored size, and
    otherwise after the last chunk if the size or the digest differ. The underlying stream is
    closed when the reader is exhausted, fails, is closed, or is used as a context manager.
    """

    def __init__(
        self,
        key: str,
        chunks: Iterator[bytes],
        *,
        sha256: str,
        size: int,
        close: Callable[[], None],
    ) -> None:
        self.key = key
        self._chunks = chunks
        self._expected_sha256 = sha256
        self._expected_size = size
        self._close = close
        self._digest = hashlib.sha256()
        self._seen = 0
        self._closed = False

    def __repr__(self) -> str:
        return f"VerifyingReader(key={self.key!r}, size={self._expected_size}, read={self._seen})"

    def __iter__(self) -> VerifyingReader:
        return self

    def __enter__(self) -> VerifyingReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __next__(self) -> bytes:
        if self._closed:
            raise StopIteration
        try:
            chunk = next(self._chunks)
        except StopIteration:
            self.close()
            if (
                self._seen != self._expected_size
                or self._digest.hexdigest() != self._expected_sha256
            ):
                raise ObjectCorrupt(
                    f"object {self.key!r} does not match its stored size and SHA-256"
                ) from None
            raise
        except BaseException:
            self.close()
            raise
        self._seen += len(chunk)
        if self._seen > self._expected_size:
            self.close()
            raise ObjectCorrupt(f"object {self.key!r} is longer than its stored size")
        self._digest.update(chunk)
        return chunk

    def close(self) -> None:
        """Release the underlying file or connection; further iteration yields nothing."""
        if not self._closed:
            self._closed = True
            self._close()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            self.close()

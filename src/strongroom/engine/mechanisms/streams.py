"""Multi-part building blocks shared by the families: hash-then-sign and buffered MACs.

This module owns the adapters that turn a crypto-layer primitive into the registry's
``SignStream`` shape. A hashed signature mechanism (ECDSA-SHA256, SHA256-RSA-PKCS…) runs
multi-part by hashing the stream and signing the digest, so the result is the same as the
single-part call over the concatenated input. Nothing here knows about users or storage.
"""

from __future__ import annotations

from collections.abc import Callable

from strongroom.crypto.hashing import Digest, HashName, MACStream
from strongroom.errors import ArgumentsBad

__all__ = ["HashThenSign", "MACSignStream"]


class HashThenSign:
    """A ``SignStream`` that hashes what it is fed and signs or verifies the digest."""

    __slots__ = ("_digest", "_sign", "_verify")

    def __init__(
        self,
        hash_name: HashName,
        sign_digest: Callable[[bytes], bytes],
        verify_digest: Callable[[bytes, bytes], None],
    ) -> None:
        self._digest = Digest(hash_name)
        self._sign = sign_digest
        self._verify = verify_digest

    def update(self, data: bytes) -> None:
        """Feed more data into the hash."""
        self._digest.update(data)

    def sign(self) -> bytes:
        """Sign the digest of everything fed."""
        return self._sign(self._digest.finalize())

    def verify(self, signature: bytes) -> None:
        """Verify ``signature`` over the digest of everything fed."""
        if not isinstance(signature, bytes):
            raise ArgumentsBad("signature must be bytes")
        self._verify(self._digest.finalize(), signature)

    def __repr__(self) -> str:
        return f"HashThenSign({self._digest.hash_name})"


class MACSignStream:
    """A ``SignStream`` over a crypto-layer MAC stream (HMAC, CMAC): sign is its finalize."""

    __slots__ = ("_stream",)

    def __init__(self, stream: MACStream) -> None:
        self._stream = stream

    def update(self, data: bytes) -> None:
        """Feed more data into the MAC."""
        self._stream.update(data)

    def sign(self) -> bytes:
        """The MAC over everything fed."""
        return self._stream.finalize()

    def verify(self, signature: bytes) -> None:
        """Check ``signature`` in constant time."""
        if not isinstance(signature, bytes):
            raise ArgumentsBad("signature must be bytes")
        self._stream.verify(signature)

    def __repr__(self) -> str:
        return f"MACSignStream({self._stream!r})"

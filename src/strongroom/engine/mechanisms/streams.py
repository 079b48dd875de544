"""Multi-part building blocks shared by the families: hash-then-sign and buffered MACs.

This module owns the adapters that turn a crypto-layer primitive into the registry's
``SignStream`` shape. A hashed signature mechanism (ECDSA-SHA256, SHA256-RSA-PKCS…) runs
multi-part by hashing the stream and signing the digest, so the result is the same as the
single-part call over the concatenated input. Nothing here knows about users or storage.
"""

from __future__ import annotations

from collections.abc import Callable

from strongroom.crypto.hashing import Digest, HashName
from strongroom.errors import ArgumentsBad

__all__ = ["HashThenSign"]


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

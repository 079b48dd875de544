"""Message digests, HMAC and constant-time comparison (FIPS 180-4, FIPS 202, FIPS 198-1).

This module owns the names of the hash functions the rest of the crypto layer accepts
(`HashName`: SHA-1, SHA-2 and SHA-3), their digest sizes, one-shot and multi-part digests,
one-shot and multi-part HMAC tag creation and verification, and the one constant-time byte
comparison everybody else uses. Every primitive is pyca/cryptography's; nothing here is
hand-rolled. It must not know about keys as HSM objects, handles or users: inputs and
outputs are plain bytes.
"""

from __future__ import annotations

import hmac as _stdlib_hmac
from typing import Final, Literal, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac

from strongroom.errors import ArgumentsBad, SignatureInvalid

__all__ = [
    "DIGEST_SIZES",
    "Digest",
    "HMACStream",
    "HashName",
    "MACStream",
    "constant_time_equal",
    "digest",
    "hash_algorithm",
    "hmac_sign",
    "hmac_verify",
]

HashName = Literal[
    "SHA1",
    "SHA224",
    "SHA256",
    "SHA384",
    "SHA512",
    "SHA3_224",
    "SHA3_256",
    "SHA3_384",
    "SHA3_512",
]

DIGEST_SIZES: Final[dict[HashName, int]] = {
    # FIPS 180-4 §1, Figure 1: message digest sizes in bytes.
    "SHA1": 20,
    "SHA224": 28,
    "SHA256": 32,
    "SHA384": 48,
    "SHA512": 64,
    # FIPS 202 §6.1: SHA3-d has a d-bit digest.
    "SHA3_224": 28,
    "SHA3_256": 32,
    "SHA3_384": 48,
    "SHA3_512": 64,
}

_ALGORITHMS: Final[dict[str, type[hashes.HashAlgorithm]]] = {
    "SHA1": hashes.SHA1,
    "SHA224": hashes.SHA224,
    "SHA256": hashes.SHA256,
    "SHA384": hashes.SHA384,
    "SHA512": hashes.SHA512,
    "SHA3_224": hashes.SHA3_224,
    "SHA3_256": hashes.SHA3_256,
    "SHA3_384": hashes.SHA3_384,
    "SHA3_512": hashes.SHA3_512,
}


def hash_algorithm(hash_name: HashName) -> hashes.HashAlgorithm:
    """The pyca hash object for ``hash_name``; an unknown name is caller misuse."""
    try:
        return _ALGORITHMS[hash_name]()  # pyca hash objects are cheap, stateless descriptors
    except (KeyError, TypeError):
        raise ArgumentsBad(f"unknown hash {hash_name!r}") from None


def digest(hash_name: HashName, data: bytes) -> bytes:
    """One-shot digest of ``data``."""
    context = hashes.Hash(hash_algorithm(hash_name))
    context.update(data)
    return context.finalize()


class Digest:
    """A multi-part digest: ``update`` any number of times, then ``finalize`` once."""

    __slots__ = ("_context", "_hash_name")

    def __init__(self, hash_name: HashName) -> None:
        self._context: hashes.Hash | None = hashes.Hash(hash_algorithm(hash_name))
        self._hash_name = hash_name

    @property
    def hash_name(self) -> HashName:
        """The hash function this digest runs."""
        return self._hash_name

    def update(self, data: bytes) -> None:
        """Feed more data; refused after ``finalize``."""
        if self._context is None:
            raise ArgumentsBad("digest already finalized")
        self._context.update(data)

    def finalize(self) -> bytes:
        """Return the digest of everything fed so far; the object is spent afterwards."""
        if self._context is None:
            raise ArgumentsBad("digest already finalized")
        context, self._context = self._context, None
        return context.finalize()

    def __repr__(self) -> str:
        state = "finalized" if self._context is None else "open"
        return f"Digest({self._hash_name}, {state})"


def hmac_sign(hash_name: HashName, key: bytes, data: bytes) -> bytes:
    """Full-length HMAC tag of ``data`` under ``key`` (FIPS 198-1 §4)."""
    context = hmac.HMAC(key, hash_algorithm(hash_name))
    context.update(data)
    return context.finalize()


def hmac_verify(hash_name: HashName, key: bytes, data: bytes, tag: bytes) -> None:
    """Check a full-length HMAC tag in constant time; raise `SignatureInvalid` on mismatch."""
    context = hmac.HMAC(key, hash_algorithm(hash_name))
    context.update(data)
    try:
        context.verify(tag)
    except InvalidSignature:
        raise SignatureInvalid("MAC did not verify") from None


class _MACContext(Protocol):
    def update(self, data: bytes) -> None: ...
    def finalize(self) -> bytes: ...
    def verify(self, signature: bytes) -> None: ...


class MACStream:
    """A multi-part MAC over a pyca context: ``update``, then one ``finalize`` or ``verify``.

    The object is spent after ``finalize`` or ``verify`` and refuses further use; its repr
    never shows the key. `HMACStream` and `strongroom.crypto.modes.CMACStream` are the two.
    """

    __slots__ = ("_context", "_detail", "_name")

    def __init__(self, context: _MACContext, name: str, detail: str = "") -> None:
        self._context: _MACContext | None = context
        self._name = name
        self._detail = detail

    def _take(self) -> _MACContext:
        if self._context is None:
            raise ArgumentsBad(f"{self._name} already finalized")
        return self._context

    def update(self, data: bytes) -> None:
        """Feed more data; refused after ``finalize`` or ``verify``."""
        self._take().update(data)

    def finalize(self) -> bytes:
        """Return the full-length tag of everything fed so far."""
        context = self._take()
        self._context = None
        return context.finalize()

    def verify(self, tag: bytes) -> None:
        """Check a full-length tag in constant time; raise `SignatureInvalid` on mismatch."""
        context = self._take()
        self._context = None
        try:
            context.verify(tag)
        except InvalidSignature:
            raise SignatureInvalid("MAC did not verify") from None

    def __repr__(self) -> str:
        state = "finalized" if self._context is None else "open"
        detail = f"{self._detail}, " if self._detail else ""
        return f"{type(self).__name__}({detail}key=<redacted>, {state})"


class HMACStream(MACStream):
    """A multi-part HMAC (FIPS 198-1 §4)."""

    __slots__ = ("_hash_name",)

    def __init__(self, hash_name: HashName, key: bytes) -> None:
        super().__init__(hmac.HMAC(key, hash_algorithm(hash_name)), "HMAC", hash_name)
        self._hash_name = hash_name

    @property
    def hash_name(self) -> HashName:
        """The hash function this HMAC runs."""
        return self._hash_name


def constant_time_equal(a: bytes, b: bytes) -> bool:
    """True if ``a == b``; the time taken does not depend on where they differ."""
    return _stdlib_hmac.compare_digest(a, b)

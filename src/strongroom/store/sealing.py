"""Sealing at rest: how secret material is encrypted before a backend sees it.

This module owns the storage-key layer of store format v1 (docs/formats/store-v1.md,
"Sealing"): AES-256-GCM under the HSM's storage key, with an AAD that binds the sealed
material to the object's handle, owner, share list and every clear attribute, so no
attribute can be flipped, no share added and no blob moved to another object on disk
without the next unseal failing. It also wraps the storage key itself (AES-KW, RFC 3394)
under password-derived KEKs and auto-unseal providers. It never decides policy.
"""

from __future__ import annotations

import struct
from typing import Protocol

from strongroom.crypto.aead import AESGCM
from strongroom.crypto.hashing import digest
from strongroom.crypto.keywrap import aes_key_unwrap, aes_key_wrap
from strongroom.crypto.random import RandomSource
from strongroom.errors import IntegrityError, StoreCorrupt

__all__ = [
    "SEAL_VERSION",
    "STORAGE_KEY_BYTES",
    "StorageKey",
    "UnsealProvider",
    "object_aad",
    "unwrap_storage_key",
    "wrap_storage_key",
]

SEAL_VERSION = 1
"""First byte of every sealed blob."""
STORAGE_KEY_BYTES = 32
"""The storage key is AES-256."""
_AAD_DOMAIN = b"strongroom/store/v1/object\x00"
_NONCE_BYTES = 12


def object_aad(handle: int, owner: int, public: bytes, shares: frozenset[int]) -> bytes:
    """AAD for an object's sealed blob (store-v1.md, "Sealing").

    ``domain || u64 handle || u64 owner || SHA-256(public) || u32 n || n × u64 share``,
    integers big-endian, shares ascending.
    """
    ordered = sorted(shares)
    return b"".join(
        [
            _AAD_DOMAIN,
            struct.pack(">QQ", handle, owner),
            digest("SHA256", public),
            struct.pack(">I", len(ordered)),
            b"".join(struct.pack(">Q", user_id) for user_id in ordered),
        ]
    )


class StorageKey:
    """The HSM's storage key, loaded; seals and unseals object material."""

    __slots__ = ("_cipher", "_key", "_rng")

    def __init__(self, key: bytes, rng: RandomSource) -> None:
        if len(key) != STORAGE_KEY_BYTES:
            raise ValueError("the storage key is 32 bytes")
        self._key = key
        self._cipher = AESGCM(key)
        self._rng = rng

    def __repr__(self) -> str:
        return "StorageKey(<redacted>)"

    @property
    def key_bytes(self) -> bytes:
        """The raw key, for wrapping it under a KEK; never store or log it."""
        return self._key

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        """``version || nonce(12) || AES-256-GCM(plaintext, aad) || tag(16)``."""
        nonce = self._rng.random_bytes(_NONCE_BYTES)
        return bytes([SEAL_VERSION]) + nonce + self._cipher.encrypt(nonce, plaintext, aad)

    def unseal(self, blob: bytes, aad: bytes) -> bytes:
        """Inverse of ``seal``; any mismatch means the store was tampered with or damaged."""
        if len(blob) < 1 + _NONCE_BYTES + 16 or blob[0] != SEAL_VERSION:
            raise StoreCorrupt("sealed blob has an unknown version or is truncated")
        nonce = blob[1 : 1 + _NONCE_BYTES]
        try:
            return self._cipher.decrypt(nonce, blob[1 + _NONCE_BYTES :], aad)
        except IntegrityError:
            raise StoreCorrupt("sealed object failed authentication") from None


def wrap_storage_key(kek: bytes, storage_key: StorageKey) -> bytes:
    """The storage key wrapped under a 32-byte KEK with AES-KW (RFC 3394 §2.2.1)."""
    return aes_key_wrap(kek, storage_key.key_bytes)


def unwrap_storage_key(kek: bytes, wrapped: bytes, rng: RandomSource) -> StorageKey:
    """Inverse of ``wrap_storage_key``; a wrong KEK raises ``IntegrityError``."""
    return StorageKey(aes_key_unwrap(kek, wrapped), rng)


class UnsealProvider(Protocol):
    """Seam for auto-unseal: something outside the HSM that can wrap the storage key.

    A later issue plugs a KMS in here so a restarted node can serve without a person.
    ``wrap`` runs whenever an admin has the HSM unsealed and no blob exists yet; ``unwrap``
    runs at start-up. Both get and return opaque bytes.
    """

    name: str

    def wrap(self, storage_key: bytes) -> bytes:
        """Return a blob only this provider can turn back into ``storage_key``."""

    def unwrap(self, blob: bytes) -> bytes:
        """Return the storage key from a blob ``wrap`` made; raise on any failure."""

"""AES-GCM authenticated encryption (NIST SP 800-38D), restricted to Strongroom's profile.

This module owns the one AEAD the HSM uses: AES-128/192/256 in GCM with a 96-bit IV and a
full 128-bit tag, via pyca/cryptography's ``AESGCM``. It refuses other IV sizes outright
(caller misuse) and turns every failed authenticated decryption into the one uniform
`IntegrityError`. It must not choose IVs, know what the key protects, or touch HSM
concepts; callers own IV uniqueness (SP 800-38D §8).
"""

from __future__ import annotations

from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import aead as _pyca_aead

from strongroom.errors import ArgumentsBad, IntegrityError

__all__ = ["AESGCM", "GCM_IV_SIZE", "GCM_TAG_SIZE", "aes_gcm_decrypt", "aes_gcm_encrypt"]

# SP 800-38D §5.2.1.1: a 96-bit IV is the recommended (and here the only) length.
GCM_IV_SIZE: Final = 12
# SP 800-38D §5.2.1.2: t = 128 bits; truncated tags are not offered.
GCM_TAG_SIZE: Final = 16
_AES_KEY_SIZES: Final = frozenset({16, 24, 32})


class AESGCM:
    """An AES-GCM key ready for use; build once per key and reuse (callers cache it)."""

    __slots__ = ("_aead", "_key_bits")

    def __init__(self, key: bytes) -> None:
        if len(key) not in _AES_KEY_SIZES:
            raise ArgumentsBad(f"AES key must be 16, 24 or 32 bytes, not {len(key)}")
        self._aead = _pyca_aead.AESGCM(key)
        self._key_bits = 8 * len(key)

    def __repr__(self) -> str:
        return f"AESGCM(key=<redacted {self._key_bits}-bit>)"

    def encrypt(self, iv: bytes, data: bytes, aad: bytes = b"") -> bytes:
        """Encrypt ``data``; return ciphertext || 16-byte tag (SP 800-38D §7.1)."""
        _check_iv(iv)
        return self._aead.encrypt(iv, data, aad)

    def decrypt(self, iv: bytes, data: bytes, aad: bytes = b"") -> bytes:
        """Check and decrypt ciphertext || tag; every failure is `IntegrityError` (§7.2)."""
        _check_iv(iv)
        if len(data) < GCM_TAG_SIZE:
            raise IntegrityError("authenticated decryption failed")
        try:
            return self._aead.decrypt(iv, data, aad)
        except InvalidTag:
            raise IntegrityError("authenticated decryption failed") from None


def _check_iv(iv: bytes) -> None:
    if len(iv) != GCM_IV_SIZE:
        raise ArgumentsBad(f"GCM IV must be {GCM_IV_SIZE} bytes, not {len(iv)}")


def aes_gcm_encrypt(key: bytes, iv: bytes, data: bytes, aad: bytes = b"") -> bytes:
    """One-shot `AESGCM.encrypt` for a key used once."""
    return AESGCM(key).encrypt(iv, data, aad)


def aes_gcm_decrypt(key: bytes, iv: bytes, data: bytes, aad: bytes = b"") -> bytes:
    """One-shot `AESGCM.decrypt` for a key used once."""
    return AESGCM(key).decrypt(iv, data, aad)

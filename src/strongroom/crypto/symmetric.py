"""Single-block AES and key check values.

This module owns the raw AES block operation (FIPS 197) that key check values need, and
the two check-value definitions Strongroom exposes as ``CKA_CHECK_VALUE``. It is not an
encryption mode (those, ECB included, live in `strongroom.crypto.modes`). The primitive
is pyca/cryptography's. It must not know where keys come from or who may see a check value.
"""

from __future__ import annotations

from typing import Final

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from strongroom.crypto.hashing import digest
from strongroom.errors import ArgumentsBad

__all__ = ["aes_check_value", "aes_ecb_encrypt_block", "generic_check_value"]

_AES_KEY_SIZES: Final = frozenset({16, 24, 32})
_AES_BLOCK: Final = 16
_CHECK_VALUE_SIZE: Final = 3


def aes_ecb_encrypt_block(key: bytes, block: bytes) -> bytes:
    """Encrypt exactly one 16-byte block with AES (FIPS 197 §5.1)."""
    if len(key) not in _AES_KEY_SIZES:
        raise ArgumentsBad(f"AES key must be 16, 24 or 32 bytes, not {len(key)}")
    if len(block) != _AES_BLOCK:
        raise ArgumentsBad(f"AES block must be 16 bytes, not {len(block)}")
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305 - one block
    return encryptor.update(block) + encryptor.finalize()


def aes_check_value(key: bytes) -> bytes:
    """First 3 bytes of AES-ECB(key, 16 zero bytes), the PKCS#11 ``CKA_CHECK_VALUE``.

    PKCS#11 v3.0 Current Mechanisms, "AES secret key objects": the first three bytes of the
    ECB encryption of a single block of null (0x00) bytes.
    """
    return aes_ecb_encrypt_block(key, bytes(_AES_BLOCK))[:_CHECK_VALUE_SIZE]


def generic_check_value(key: bytes) -> bytes:
    """First 3 bytes of SHA-1(key): PKCS#11 v3.0 "Generic secret key objects" CKA_CHECK_VALUE.

    SHA-1 is used here only as the specification's identifier function, so that check values
    match other tokens; it protects nothing.
    """
    return digest("SHA1", key)[:_CHECK_VALUE_SIZE]

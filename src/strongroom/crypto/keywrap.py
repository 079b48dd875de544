"""AES key wrap, with and without padding (NIST SP 800-38F KW and KWP; RFC 3394, RFC 5649).

This module owns the four wrap/unwrap functions and their error contract: a bad
wrapping-key size or an unwrappable input is caller misuse (`ArgumentsBad`), while every
unwrap failure, whatever its cause (length, integrity check value, padding), is the one
uniform `IntegrityError`, so that no padding or length oracle leaks (SP 800-38F §6.3,
Wycheproof key_wrap.md). The primitives are pyca/cryptography's. It must not decide which
keys may wrap which, nor know what the wrapped bytes mean.
"""

from __future__ import annotations

from typing import Final

from cryptography.hazmat.primitives import keywrap as _pyca_keywrap

from strongroom.errors import ArgumentsBad, IntegrityError

__all__ = [
    "aes_key_unwrap",
    "aes_key_unwrap_with_padding",
    "aes_key_wrap",
    "aes_key_wrap_with_padding",
]

_AES_KEY_SIZES: Final = frozenset({16, 24, 32})
# SP 800-38F §6.2: KW takes n >= 2 semiblocks of 8 bytes; §6.3: KWP takes 1 to 2^32 bytes.
_SEMIBLOCK: Final = 8
_KW_MIN_INPUT: Final = 16
_KWP_MAX_INPUT: Final = 2**32


def _check_wrapping_key(wrapping_key: bytes) -> None:
    if len(wrapping_key) not in _AES_KEY_SIZES:
        raise ArgumentsBad(f"wrapping key must be 16, 24 or 32 bytes, not {len(wrapping_key)}")


def aes_key_wrap(wrapping_key: bytes, key_to_wrap: bytes) -> bytes:
    """Wrap with KW (RFC 3394 §2.2.1); input must be a multiple of 8 bytes, at least 16."""
    _check_wrapping_key(wrapping_key)
    if len(key_to_wrap) < _KW_MIN_INPUT or len(key_to_wrap) % _SEMIBLOCK:
        raise ArgumentsBad(
            f"KW input must be a multiple of 8 bytes and at least 16, not {len(key_to_wrap)}"
        )
    return _pyca_keywrap.aes_key_wrap(wrapping_key, key_to_wrap)


def aes_key_unwrap(wrapping_key: bytes, wrapped: bytes) -> bytes:
    """Unwrap KW (RFC 3394 §2.2.2-§2.2.3); every failure is `IntegrityError`."""
    _check_wrapping_key(wrapping_key)
    try:
        return _pyca_keywrap.aes_key_unwrap(wrapping_key, wrapped)
    except (_pyca_keywrap.InvalidUnwrap, ValueError):
        raise IntegrityError("key unwrap failed") from None


def aes_key_wrap_with_padding(wrapping_key: bytes, key_to_wrap: bytes) -> bytes:
    """Wrap with KWP (RFC 5649 §4.1); input may be 1 to 2^32 bytes of any length."""
    _check_wrapping_key(wrapping_key)
    if not 1 <= len(key_to_wrap) <= _KWP_MAX_INPUT:
        raise ArgumentsBad(f"KWP input must be 1 to 2^32 bytes, not {len(key_to_wrap)}")
    return _pyca_keywrap.aes_key_wrap_with_padding(wrapping_key, key_to_wrap)


def aes_key_unwrap_with_padding(wrapping_key: bytes, wrapped: bytes) -> bytes:
    """Unwrap KWP (RFC 5649 §4.2, §3 checks); every failure is `IntegrityError`."""
    _check_wrapping_key(wrapping_key)
    try:
        return _pyca_keywrap.aes_key_unwrap_with_padding(wrapping_key, wrapped)
    except (_pyca_keywrap.InvalidUnwrap, ValueError):
        raise IntegrityError("key unwrap failed") from None

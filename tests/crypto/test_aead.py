"""Behaviour of the AES-GCM wrapper: round trips, tamper detection, sizes and redaction."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.ciphers import aead as pyca_aead
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.crypto.aead import AESGCM, aes_gcm_decrypt, aes_gcm_encrypt
from strongroom.errors import ArgumentsBad, IntegrityError

_keys = st.sampled_from([16, 24, 32]).flatmap(lambda n: st.binary(min_size=n, max_size=n))
_ivs = st.binary(min_size=12, max_size=12)
_data = st.binary(max_size=200)


def _flip(data: bytes, bit: int) -> bytes:
    bit %= 8 * len(data)
    flipped = bytearray(data)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


@settings(max_examples=50)
@given(key=_keys, iv=_ivs, data=_data, aad=_data)
def test_round_trip(key: bytes, iv: bytes, data: bytes, aad: bytes) -> None:
    """Decrypting what was encrypted gives the plaintext back; output is 16 bytes longer."""
    aead = AESGCM(key)
    sealed = aead.encrypt(iv, data, aad)
    assert len(sealed) == len(data) + 16
    assert aead.decrypt(iv, sealed, aad) == data


@settings(max_examples=50)
@given(key=_keys, iv=_ivs, data=_data, aad=_data, bit=st.integers(min_value=0))
def test_any_bit_flip_in_ciphertext_or_tag_is_integrity_error(
    key: bytes, iv: bytes, data: bytes, aad: bytes, bit: int
) -> None:
    """Flipping any single bit of ciphertext || tag makes decryption raise IntegrityError."""
    aead = AESGCM(key)
    sealed = aead.encrypt(iv, data, aad)
    with pytest.raises(IntegrityError):
        aead.decrypt(iv, _flip(sealed, bit), aad)


@settings(max_examples=50)
@given(key=_keys, iv=_ivs, data=_data, aad=_data, bit=st.integers(min_value=0))
def test_any_bit_flip_in_iv_is_integrity_error(
    key: bytes, iv: bytes, data: bytes, aad: bytes, bit: int
) -> None:
    """Decrypting under an IV that differs in one bit raises IntegrityError."""
    aead = AESGCM(key)
    sealed = aead.encrypt(iv, data, aad)
    with pytest.raises(IntegrityError):
        aead.decrypt(_flip(iv, bit), sealed, aad)


@settings(max_examples=50)
@given(key=_keys, iv=_ivs, data=_data, aad=st.binary(min_size=1, max_size=64), bit=st.integers(0))
def test_any_bit_flip_in_aad_is_integrity_error(
    key: bytes, iv: bytes, data: bytes, aad: bytes, bit: int
) -> None:
    """Decrypting with AAD that differs in one bit raises IntegrityError."""
    aead = AESGCM(key)
    sealed = aead.encrypt(iv, data, aad)
    with pytest.raises(IntegrityError):
        aead.decrypt(iv, sealed, _flip(aad, bit))


@settings(max_examples=25)
@given(key=_keys, iv=_ivs, data=_data, extra=st.binary(min_size=1, max_size=8))
def test_extended_or_missing_aad_is_integrity_error(
    key: bytes, iv: bytes, data: bytes, extra: bytes
) -> None:
    """AAD that gained or lost bytes since encryption raises IntegrityError."""
    aead = AESGCM(key)
    with pytest.raises(IntegrityError):
        aead.decrypt(iv, aead.encrypt(iv, data, b""), extra)
    with pytest.raises(IntegrityError):
        aead.decrypt(iv, aead.encrypt(iv, data, extra), b"")


def test_wrong_key_is_integrity_error() -> None:
    """Decrypting under a different key raises IntegrityError."""
    iv = bytes(12)
    sealed = AESGCM(bytes(32)).encrypt(iv, b"secret", b"")
    with pytest.raises(IntegrityError):
        AESGCM(bytes(31) + b"\x01").decrypt(iv, sealed, b"")


@pytest.mark.parametrize("length", [0, 1, 15])
def test_input_shorter_than_a_tag_is_integrity_error(length: int) -> None:
    """Ciphertext too short to hold a tag raises IntegrityError, not a size error."""
    with pytest.raises(IntegrityError):
        AESGCM(bytes(16)).decrypt(bytes(12), bytes(length))


def test_integrity_error_is_uniform_and_unchained() -> None:
    """Every decryption failure carries the same message and no chained pyca exception."""
    aead = AESGCM(bytes(16))
    sealed = aead.encrypt(bytes(12), b"data", b"aad")
    failures: list[Callable[[], object]] = [
        lambda: aead.decrypt(bytes(12), sealed[:-1] + bytes([sealed[-1] ^ 1]), b"aad"),
        lambda: aead.decrypt(bytes(12), sealed, b"other"),
        lambda: aead.decrypt(bytes(12), b"short"),
    ]
    messages = set()
    for failure in failures:
        with pytest.raises(IntegrityError) as caught:
            failure()
        assert caught.value.__cause__ is None
        assert caught.value.__context__ is None or caught.value.__suppress_context__
        messages.add(str(caught.value))
    assert len(messages) == 1


@pytest.mark.parametrize("size", [0, 1, 8, 15, 17, 20, 31, 33, 64])
def test_wrong_key_size_is_arguments_bad(size: int) -> None:
    """Keys other than 16, 24 or 32 bytes raise ArgumentsBad, a ValueError."""
    with pytest.raises(ArgumentsBad):
        AESGCM(bytes(size))
    with pytest.raises(ValueError, match="16, 24 or 32"):
        aes_gcm_encrypt(bytes(size), bytes(12), b"")


@pytest.mark.parametrize("size", [0, 1, 8, 11, 13, 16, 64])
def test_iv_other_than_96_bits_is_arguments_bad(size: int) -> None:
    """IVs other than 12 bytes raise ArgumentsBad in both directions."""
    aead = AESGCM(bytes(16))
    sealed = aead.encrypt(bytes(12), b"data")
    with pytest.raises(ArgumentsBad):
        aead.encrypt(bytes(size), b"data")
    with pytest.raises(ArgumentsBad):
        aead.decrypt(bytes(size), sealed)


@settings(max_examples=25)
@given(key=_keys, iv=_ivs, data=_data, aad=_data)
def test_interoperates_with_pyca(key: bytes, iv: bytes, data: bytes, aad: bytes) -> None:
    """Our output is pyca's AESGCM output and vice versa (ciphertext || 16-byte tag)."""
    sealed = aes_gcm_encrypt(key, iv, data, aad)
    assert sealed == pyca_aead.AESGCM(key).encrypt(iv, data, aad)
    assert aes_gcm_decrypt(key, iv, sealed, aad) == data


def test_default_aad_is_empty() -> None:
    """Leaving out the AAD is the same as passing empty AAD."""
    aead = AESGCM(bytes(24))
    assert aead.encrypt(bytes(12), b"x") == aead.encrypt(bytes(12), b"x", b"")


@settings(max_examples=50)
@given(key=_keys)
def test_repr_never_shows_the_key(key: bytes) -> None:
    """The repr names the key size but holds neither the key's bytes nor its hex."""
    text = repr(AESGCM(key))
    assert f"{8 * len(key)}-bit" in text
    assert key.hex() not in text
    assert key.hex().upper() not in text
    assert repr(key) not in text
    assert str(AESGCM(key)) == text


def test_repr_of_random_key() -> None:
    """A random key's repr is the fixed redacted form."""
    assert repr(AESGCM(os.urandom(32))) == "AESGCM(key=<redacted 256-bit>)"

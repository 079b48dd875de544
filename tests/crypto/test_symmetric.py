"""Behaviour of single-block AES and the key check values."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.crypto.symmetric import (
    aes_check_value,
    aes_ecb_encrypt_block,
    generic_check_value,
)
from strongroom.errors import ArgumentsBad

_FIPS197_PLAINTEXT = bytes.fromhex("00112233445566778899aabbccddeeff")


@pytest.mark.parametrize(
    ("key_bytes", "ciphertext"),
    [
        pytest.param(16, "69c4e0d86a7b0430d8cdb78070b4c55a", id="C.1-AES-128"),
        pytest.param(24, "dda97ca4864cdfe06eaf70a0ec0d7191", id="C.2-AES-192"),
        pytest.param(32, "8ea2b7ca516745bfeafc49904b496089", id="C.3-AES-256"),
    ],
)
def test_fips197_appendix_c_examples(key_bytes: int, ciphertext: str) -> None:
    """The FIPS 197 Appendix C cipher examples encrypt to the published blocks."""
    key = bytes(range(key_bytes))
    assert aes_ecb_encrypt_block(key, _FIPS197_PLAINTEXT) == bytes.fromhex(ciphertext)


@pytest.mark.parametrize("size", [0, 1, 15, 17, 32])
def test_block_must_be_16_bytes(size: int) -> None:
    """Anything but exactly one block raises ArgumentsBad (this is not an ECB mode)."""
    with pytest.raises(ArgumentsBad):
        aes_ecb_encrypt_block(bytes(16), bytes(size))


@pytest.mark.parametrize("size", [0, 8, 15, 17, 31, 33])
def test_key_must_be_an_aes_key(size: int) -> None:
    """Keys other than 16, 24 or 32 bytes raise ArgumentsBad for the block and the KCV."""
    with pytest.raises(ArgumentsBad):
        aes_ecb_encrypt_block(bytes(size), bytes(16))
    with pytest.raises(ArgumentsBad):
        aes_check_value(bytes(size))


def test_aes_check_value_of_the_zero_key() -> None:
    """The KCV of the all-zero AES-128 key is 66e94b, the head of AES(0, 0)."""
    assert aes_check_value(bytes(16)) == bytes.fromhex("66e94b")


@settings(max_examples=30)
@given(key=st.sampled_from([16, 24, 32]).flatmap(lambda n: st.binary(min_size=n, max_size=n)))
def test_aes_check_value_is_three_bytes_of_the_zero_block(key: bytes) -> None:
    """The AES KCV is the first 3 bytes of the encryption of one zero block."""
    assert aes_check_value(key) == aes_ecb_encrypt_block(key, bytes(16))[:3]


@settings(max_examples=30)
@given(key=st.binary(max_size=128))
def test_generic_check_value_is_pkcs11_sha1(key: bytes) -> None:
    """The generic-secret KCV is PKCS#11 v3.0's SHA-1(key)[:3], so it matches other tokens."""
    value = generic_check_value(key)
    assert value == hashlib.sha1(key).digest()[:3]
    assert len(value) == 3

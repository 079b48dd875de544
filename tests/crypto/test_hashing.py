"""Behaviour of digests, HMAC and the constant-time comparison."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.crypto.hashing import (
    DIGEST_SIZES,
    Digest,
    HashName,
    constant_time_equal,
    digest,
    hash_algorithm,
    hmac_sign,
    hmac_verify,
)
from strongroom.errors import ArgumentsBad, SignatureInvalid

_NAMES: list[HashName] = ["SHA1", "SHA224", "SHA256", "SHA384", "SHA512"]


def test_digest_sizes_cover_every_name() -> None:
    """DIGEST_SIZES has exactly the five HashNames with their FIPS 180-4 sizes."""
    assert DIGEST_SIZES == {"SHA1": 20, "SHA224": 28, "SHA256": 32, "SHA384": 48, "SHA512": 64}


@pytest.mark.parametrize("hash_name", _NAMES)
@settings(max_examples=20)
@given(data=st.binary(max_size=300))
def test_digest_matches_the_stdlib(hash_name: HashName, data: bytes) -> None:
    """digest() equals hashlib's and has the advertised size."""
    result = digest(hash_name, data)
    assert result == hashlib.new(hash_name.lower(), data).digest()
    assert len(result) == DIGEST_SIZES[hash_name]
    assert hash_algorithm(hash_name).digest_size == DIGEST_SIZES[hash_name]


@settings(max_examples=30)
@given(chunks=st.lists(st.binary(max_size=100), max_size=8))
def test_multipart_digest_equals_one_shot(chunks: list[bytes]) -> None:
    """Feeding data in pieces gives the same digest as feeding it at once."""
    context = Digest("SHA256")
    for chunk in chunks:
        context.update(chunk)
    assert context.hash_name == "SHA256"
    assert context.finalize() == digest("SHA256", b"".join(chunks))


def test_digest_is_spent_after_finalize() -> None:
    """update or finalize after finalize raises ArgumentsBad."""
    context = Digest("SHA512")
    context.finalize()
    with pytest.raises(ArgumentsBad):
        context.update(b"more")
    with pytest.raises(ArgumentsBad):
        context.finalize()


def test_digest_repr_shows_no_data() -> None:
    """The repr names the hash and state, never the data fed in."""
    context = Digest("SHA256")
    context.update(b"top secret message")
    assert repr(context) == "Digest(SHA256, open)"
    context.finalize()
    assert repr(context) == "Digest(SHA256, finalized)"


@pytest.mark.parametrize("name", ["MD5", "sha256", "SHA3_256", ""])
def test_unknown_hash_is_arguments_bad(name: str) -> None:
    """A name outside HashName raises ArgumentsBad everywhere a hash is named."""
    with pytest.raises(ArgumentsBad):
        digest(name, b"")  # type: ignore[arg-type]
    with pytest.raises(ArgumentsBad):
        Digest(name)  # type: ignore[arg-type]
    with pytest.raises(ArgumentsBad):
        hmac_sign(name, b"key", b"")  # type: ignore[arg-type]


@pytest.mark.parametrize("hash_name", _NAMES)
@settings(max_examples=20)
@given(key=st.binary(max_size=200), data=st.binary(max_size=200))
def test_hmac_matches_the_stdlib_and_verifies(hash_name: HashName, key: bytes, data: bytes) -> None:
    """hmac_sign equals the stdlib's HMAC, and hmac_verify accepts it (returning None)."""
    tag = hmac_sign(hash_name, key, data)
    assert tag == hmac.new(key, data, hash_name.lower()).digest()
    assert hmac_verify(hash_name, key, data, tag) is None  # type: ignore[func-returns-value]


@settings(max_examples=30)
@given(key=st.binary(max_size=64), data=st.binary(max_size=64), bit=st.integers(0, 255))
def test_hmac_verify_rejects_any_bit_flip(key: bytes, data: bytes, bit: int) -> None:
    """A tag differing in any one bit raises SignatureInvalid."""
    tag = bytearray(hmac_sign("SHA256", key, data))
    tag[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(SignatureInvalid):
        hmac_verify("SHA256", key, data, bytes(tag))


@pytest.mark.parametrize("length", [0, 16, 31, 33])
def test_hmac_verify_rejects_wrong_length_tags(length: int) -> None:
    """Truncated, empty or extended tags raise SignatureInvalid (full-length tags only)."""
    full = hmac_sign("SHA256", b"key", b"data")
    tag = (full + b"\x00")[:length]
    with pytest.raises(SignatureInvalid):
        hmac_verify("SHA256", b"key", b"data", tag)


def test_hmac_verify_rejects_other_key_and_data() -> None:
    """A tag made with another key, or over other data, raises SignatureInvalid."""
    tag = hmac_sign("SHA384", b"key", b"data")
    with pytest.raises(SignatureInvalid):
        hmac_verify("SHA384", b"other key", b"data", tag)
    with pytest.raises(SignatureInvalid) as caught:
        hmac_verify("SHA384", b"key", b"other data", tag)
    assert caught.value.__cause__ is None


@settings(max_examples=50)
@given(a=st.binary(max_size=40), b=st.binary(max_size=40))
def test_constant_time_equal_is_equality(a: bytes, b: bytes) -> None:
    """constant_time_equal agrees with == for any pair, including different lengths."""
    assert constant_time_equal(a, b) == (a == b)
    assert constant_time_equal(a, a)

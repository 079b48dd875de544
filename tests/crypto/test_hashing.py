"""Behaviour of digests (SHA-1, SHA-2, SHA-3), HMAC, multi-part HMAC and constant-time equality."""

from __future__ import annotations

import hashlib
import hmac
from typing import get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.crypto.hashing import (
    DIGEST_SIZES,
    Digest,
    HashName,
    HMACStream,
    constant_time_equal,
    digest,
    hash_algorithm,
    hmac_sign,
    hmac_verify,
)
from strongroom.errors import ArgumentsBad, SignatureInvalid

_NAMES: tuple[HashName, ...] = get_args(HashName)


def test_digest_sizes_cover_every_name() -> None:
    """DIGEST_SIZES has exactly the nine HashNames with their FIPS 180-4 and FIPS 202 sizes."""
    assert DIGEST_SIZES == {
        "SHA1": 20,
        "SHA224": 28,
        "SHA256": 32,
        "SHA384": 48,
        "SHA512": 64,
        "SHA3_224": 28,
        "SHA3_256": 32,
        "SHA3_384": 48,
        "SHA3_512": 64,
    }
    assert set(DIGEST_SIZES) == set(_NAMES)


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


@pytest.mark.parametrize("name", ["MD5", "sha256", "SHA3-256", "sha3_256", "SHAKE256", ""])
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


# FIPS 202 SHA3-256 known answers: the empty message is NIST's "SHA3-256_Msg0" example (CSRC
# "Examples with Intermediate Values"); "abc" is the customary one-block test message.
_SHA3_256_ABC = "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"
_SHA3_256_EMPTY = "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"


def test_sha3_256_known_answers() -> None:
    """SHA3-256("abc") and SHA3-256("") are the published FIPS 202 digests."""
    assert digest("SHA3_256", b"abc") == bytes.fromhex(_SHA3_256_ABC)
    assert digest("SHA3_256", b"") == bytes.fromhex(_SHA3_256_EMPTY)


@pytest.mark.parametrize("hash_name", ["SHA3_224", "SHA3_256", "SHA3_384", "SHA3_512"])
def test_sha3_names_are_sha3_not_sha2(hash_name: HashName) -> None:
    """Each SHA3 name runs SHA-3 (Keccak), not the SHA-2 function of the same size."""
    sha2 = hash_name.replace("SHA3_", "SHA")
    assert digest(hash_name, b"abc") == hashlib.new(hash_name.lower(), b"abc").digest()
    assert digest(hash_name, b"abc") != digest(sha2, b"abc")  # type: ignore[arg-type]


@pytest.mark.parametrize("hash_name", _NAMES)
@settings(max_examples=20)
@given(
    key=st.binary(max_size=200),
    data=st.binary(max_size=300),
    cuts=st.lists(st.integers(0, 300), max_size=5),
)
def test_hmac_stream_over_any_split_equals_one_shot(
    hash_name: HashName, key: bytes, data: bytes, cuts: list[int]
) -> None:
    """An HMACStream fed data in any pieces gives hmac_sign's tag and verifies it."""
    points = sorted({min(cut, len(data)) for cut in cuts})
    pieces = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    tag = hmac_sign(hash_name, key, data)
    signing = HMACStream(hash_name, key)
    verifying = HMACStream(hash_name, key)
    for piece in pieces:
        signing.update(piece)
        verifying.update(piece)
    assert signing.hash_name == hash_name
    assert signing.finalize() == tag
    assert verifying.verify(tag) is None  # type: ignore[func-returns-value]


@settings(max_examples=30)
@given(key=st.binary(max_size=64), data=st.binary(max_size=64), bit=st.integers(0, 255))
def test_hmac_stream_verify_rejects_any_bit_flip(key: bytes, data: bytes, bit: int) -> None:
    """An HMACStream given a tag differing in any one bit raises SignatureInvalid."""
    tag = bytearray(hmac_sign("SHA256", key, data))
    tag[bit // 8] ^= 1 << (bit % 8)
    stream = HMACStream("SHA256", key)
    stream.update(data)
    with pytest.raises(SignatureInvalid):
        stream.verify(bytes(tag))


@pytest.mark.parametrize("length", [0, 16, 31, 33])
def test_hmac_stream_verify_rejects_wrong_length_tags(length: int) -> None:
    """An HMACStream refuses truncated, empty or extended tags with SignatureInvalid."""
    tag = (hmac_sign("SHA256", b"key", b"data") + b"\x00")[:length]
    stream = HMACStream("SHA256", b"key")
    stream.update(b"data")
    with pytest.raises(SignatureInvalid):
        stream.verify(tag)


def test_hmac_stream_is_spent_after_finalize_or_verify() -> None:
    """After finalize or verify (even a failed one), every further call raises ArgumentsBad."""
    finalized = HMACStream("SHA256", b"key")
    tag = finalized.finalize()
    failed = HMACStream("SHA256", b"key")
    with pytest.raises(SignatureInvalid):
        failed.verify(bytes(32))
    for stream in (finalized, failed):
        with pytest.raises(ArgumentsBad):
            stream.update(b"")
        with pytest.raises(ArgumentsBad):
            stream.finalize()
        with pytest.raises(ArgumentsBad):
            stream.verify(tag)


def test_hmac_stream_repr_never_shows_the_key() -> None:
    """The repr names the hash and state, never the key or the data."""
    key = b"very secret hmac key"
    stream = HMACStream("SHA384", key)
    stream.update(b"top secret message")
    assert repr(stream) == "HMACStream(SHA384, key=<redacted>, open)"
    assert key.hex() not in repr(stream)
    stream.finalize()
    assert repr(stream) == "HMACStream(SHA384, key=<redacted>, finalized)"


def test_hmac_stream_unknown_hash_is_arguments_bad() -> None:
    """An HMACStream over a name outside HashName raises ArgumentsBad."""
    with pytest.raises(ArgumentsBad):
        HMACStream("MD5", b"key")  # type: ignore[arg-type]

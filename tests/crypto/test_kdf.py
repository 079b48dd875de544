"""Behaviour of the KDFs: SP 800-108 fixed-input layout, parameter checks, PBKDF2, HKDF, X9.63."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Literal, get_args

import pytest
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.crypto.hashing import DIGEST_SIZES, HashName, hash_algorithm
from strongroom.crypto.kdf import (
    PRFName,
    hkdf,
    hkdf_expand,
    hkdf_extract,
    hkdf_sha256,
    kbkdf_counter,
    kbkdf_counter_hmac,
    pbkdf2_hmac_sha256,
    sp800_108_counter_hmac_sha256,
    x963_kdf,
)
from strongroom.crypto.modes import aes_cmac_sign
from strongroom.errors import ArgumentsBad


def _reference_counter_kdf(key_in: bytes, fixed: bytes, length: int) -> bytes:
    """SP 800-108r1 §4.1 with [i]_32 first, written with the stdlib as an independent oracle."""
    blocks = -(-length // 32)
    output = b"".join(
        hmac.new(key_in, i.to_bytes(4, "big") + fixed, hashlib.sha256).digest()
        for i in range(1, blocks + 1)
    )
    return output[:length]


def _strongroom_fixed_input(label: bytes, context: bytes, length: int) -> bytes:
    return label + b"\x00" + context + (8 * length).to_bytes(4, "big")


@settings(max_examples=50)
@given(
    key_in=st.binary(min_size=1, max_size=64),
    label=st.binary(max_size=40),
    context=st.binary(max_size=40),
    length=st.integers(min_value=1, max_value=100),
)
def test_sp800_108_is_label_zero_context_length_layout(
    key_in: bytes, label: bytes, context: bytes, length: int
) -> None:
    """The KDF equals counter mode over label || 0x00 || context || [8*length]_32, counter first."""
    fixed = _strongroom_fixed_input(label, context, length)
    derived = sp800_108_counter_hmac_sha256(key_in, label=label, context=context, length=length)
    assert derived == kbkdf_counter_hmac(key_in, fixed=fixed, length=length)
    assert derived == _reference_counter_kdf(key_in, fixed, length)


def test_sp800_108_golden_value() -> None:
    """A frozen known answer pins Strongroom's fixed-input layout (the backup format needs it)."""
    derived = sp800_108_counter_hmac_sha256(
        bytes(range(32)), label=b"Strongroom backup KEK", context=b"\x00\x01hsm-1", length=48
    )
    assert derived == bytes.fromhex(
        "596694542919e72fd75fe9d2e87930a04b057ded9d59b6c0ac4a32f9caf1695e"
        "2cba6e205beadbfbdca74d8330b16907"
    )


def test_sp800_108_output_depends_on_length() -> None:
    """[L] is part of the input, so a shorter derivation is not a prefix of a longer one."""
    short = sp800_108_counter_hmac_sha256(b"k" * 32, label=b"l", context=b"c", length=16)
    long = sp800_108_counter_hmac_sha256(b"k" * 32, label=b"l", context=b"c", length=32)
    assert long[:16] != short


def test_sp800_108_separates_label_from_context() -> None:
    """Moving bytes between label and context changes the derived key."""
    first = sp800_108_counter_hmac_sha256(b"k" * 32, label=b"ab", context=b"c", length=32)
    second = sp800_108_counter_hmac_sha256(b"k" * 32, label=b"a", context=b"bc", length=32)
    assert first != second


@pytest.mark.parametrize("length", [0, -1, 2**29])
def test_sp800_108_bad_length_is_arguments_bad(length: int) -> None:
    """Lengths below 1 byte, or too long for [L]_32, raise ArgumentsBad."""
    with pytest.raises(ArgumentsBad):
        sp800_108_counter_hmac_sha256(b"k" * 32, label=b"", context=b"", length=length)


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"length": 0}, id="zero-length"),
        pytest.param({"rlen": 0}, id="rlen-0"),
        pytest.param({"rlen": 5}, id="rlen-5"),
        pytest.param({"rlen": 1, "length": 256 * 32}, id="counter-overflow"),
        pytest.param({"location": "sideways"}, id="unknown-location"),
        pytest.param({"location": "middle"}, id="middle-without-break"),
        pytest.param({"break_location": 2}, id="break-without-middle"),
        pytest.param({"location": "middle", "break_location": 99}, id="break-past-end"),
        pytest.param({"hash_name": "MD5"}, id="unknown-hash"),
    ],
)
def test_kbkdf_bad_parameters_are_arguments_bad(kwargs: dict[str, Any]) -> None:
    """Impossible counter widths, locations, lengths or hashes raise ArgumentsBad."""
    arguments: dict[str, Any] = {"fixed": b"fixed input", "length": 32} | kwargs
    with pytest.raises(ArgumentsBad):
        kbkdf_counter_hmac(b"k" * 32, **arguments)


@pytest.mark.parametrize("location", ["before", "after", "middle"])
def test_kbkdf_counter_location_changes_the_output(
    location: Literal["before", "after", "middle"],
) -> None:
    """The three counter locations give three different keys from the same inputs."""
    break_location = 4 if location == "middle" else None
    derived = kbkdf_counter_hmac(
        b"k" * 32, fixed=b"fixed input", length=32, location=location, break_location=break_location
    )
    others = {
        kbkdf_counter_hmac(
            b"k" * 32,
            fixed=b"fixed input",
            length=32,
            location=other,
            break_location=4 if other == "middle" else None,
        )
        for other in ("before", "after", "middle")
        if other != location
    }
    assert derived not in others


@pytest.mark.parametrize("hash_name", ["SHA1", "SHA224", "SHA256", "SHA384", "SHA512"])
def test_kbkdf_supports_every_hash(
    hash_name: Literal["SHA1", "SHA224", "SHA256", "SHA384", "SHA512"],
) -> None:
    """Every HashName works as the HMAC PRF and matches a stdlib reference."""
    fixed, length = b"fixed", 70
    derived = kbkdf_counter_hmac(b"k" * 16, fixed=fixed, length=length, hash_name=hash_name)
    name = hash_name.lower()
    size = hashlib.new(name).digest_size
    expected = b"".join(
        hmac.new(b"k" * 16, i.to_bytes(4, "big") + fixed, name).digest()
        for i in range(1, -(-length // size) + 1)
    )[:length]
    assert derived == expected


@settings(max_examples=20)
@given(
    password=st.binary(max_size=40),
    salt=st.binary(max_size=40),
    iterations=st.integers(min_value=1, max_value=50),
    length=st.integers(min_value=1, max_value=80),
)
def test_pbkdf2_matches_the_stdlib(
    password: bytes, salt: bytes, iterations: int, length: int
) -> None:
    """PBKDF2-HMAC-SHA256 equals hashlib.pbkdf2_hmac for the same inputs."""
    expected = hashlib.pbkdf2_hmac("sha256", password, salt, iterations, length)
    assert pbkdf2_hmac_sha256(password, salt, iterations, length) == expected


def test_pbkdf2_default_length_is_32() -> None:
    """Leaving out the length derives 32 bytes."""
    assert len(pbkdf2_hmac_sha256(b"password", b"salt", 1)) == 32


@pytest.mark.parametrize(("iterations", "length"), [(0, 32), (-1, 32), (1, 0), (1, -5)])
def test_pbkdf2_bad_parameters_are_arguments_bad(iterations: int, length: int) -> None:
    """Non-positive iteration counts or lengths raise ArgumentsBad."""
    with pytest.raises(ArgumentsBad):
        pbkdf2_hmac_sha256(b"password", b"salt", iterations, length)


def test_hkdf_rfc5869_case_3() -> None:
    """RFC 5869 A.3 (no salt, empty info) gives the published OKM."""
    okm = hkdf_sha256(bytes([0x0B] * 22), salt=None, info=b"", length=42)
    assert okm == bytes.fromhex(
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"
    )


def test_hkdf_missing_salt_is_zero_salt() -> None:
    """salt=None behaves as HashLen zero bytes (RFC 5869 §2.2)."""
    assert hkdf_sha256(b"ikm", salt=None, info=b"i", length=32) == hkdf_sha256(
        b"ikm", salt=bytes(32), info=b"i", length=32
    )


@pytest.mark.parametrize("length", [0, -1, 255 * 32 + 1])
def test_hkdf_bad_length_is_arguments_bad(length: int) -> None:
    """HKDF lengths outside 1..8160 bytes raise ArgumentsBad (RFC 5869 §2.3)."""
    with pytest.raises(ArgumentsBad):
        hkdf_sha256(b"ikm", salt=None, info=b"", length=length)


def test_hkdf_maximum_length() -> None:
    """HKDF can derive exactly 255 blocks."""
    assert len(hkdf_sha256(b"ikm", salt=b"s", info=b"", length=255 * 32)) == 255 * 32


# --- kbkdf_counter: SP 800-108r1 counter mode with a named PRF ------------------------------------

_HMAC_PRFS: dict[PRFName, HashName] = {
    "HMAC-SHA1": "SHA1",
    "HMAC-SHA224": "SHA224",
    "HMAC-SHA256": "SHA256",
    "HMAC-SHA384": "SHA384",
    "HMAC-SHA512": "SHA512",
}


def _reference_counter_cmac(key_in: bytes, fixed: bytes, length: int) -> bytes:
    """SP 800-108r1 §4.1 with PRF AES-CMAC and [i]_32 first, built on the one-shot CMAC."""
    blocks = -(-length // 16)
    output = b"".join(
        aes_cmac_sign(key_in, i.to_bytes(4, "big") + fixed) for i in range(1, blocks + 1)
    )
    return output[:length]


@pytest.mark.parametrize("prf", list(_HMAC_PRFS))
@settings(max_examples=15)
@given(
    key_in=st.binary(min_size=1, max_size=64),
    label=st.binary(max_size=30),
    context=st.binary(max_size=30),
    length=st.integers(min_value=1, max_value=150),
)
def test_kbkdf_counter_hmac_prfs_use_the_label_zero_context_length_layout(
    prf: PRFName, key_in: bytes, label: bytes, context: bytes, length: int
) -> None:
    """With an HMAC PRF, kbkdf_counter is counter mode over label || 0x00 || context || [L]_32."""
    fixed = _strongroom_fixed_input(label, context, length)
    hash_name = _HMAC_PRFS[prf]
    derived = kbkdf_counter(key_in, prf=prf, label=label, context=context, length=length)
    assert derived == kbkdf_counter_hmac(key_in, fixed=fixed, length=length, hash_name=hash_name)
    size = hashlib.new(hash_name.lower()).digest_size
    expected = b"".join(
        hmac.new(key_in, i.to_bytes(4, "big") + fixed, hash_name.lower()).digest()
        for i in range(1, -(-length // size) + 1)
    )[:length]
    assert derived == expected


@settings(max_examples=30)
@given(
    key_in=st.sampled_from([16, 24, 32]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
    label=st.binary(max_size=30),
    context=st.binary(max_size=30),
    length=st.integers(min_value=1, max_value=100),
)
def test_kbkdf_counter_cmac_aes_uses_the_same_layout(
    key_in: bytes, label: bytes, context: bytes, length: int
) -> None:
    """With CMAC-AES, kbkdf_counter is CMAC over [i]_32 || label || 0x00 || context || [L]_32."""
    fixed = _strongroom_fixed_input(label, context, length)
    derived = kbkdf_counter(key_in, prf="CMAC-AES", label=label, context=context, length=length)
    assert derived == _reference_counter_cmac(key_in, fixed, length)


def test_sp800_108_hmac_sha256_is_kbkdf_counter_with_hmac_sha256() -> None:
    """The HMAC-SHA256 profile function equals kbkdf_counter with prf HMAC-SHA256."""
    arguments: dict[str, Any] = {"label": b"label", "context": b"context", "length": 48}
    assert sp800_108_counter_hmac_sha256(b"k" * 32, **arguments) == kbkdf_counter(
        b"k" * 32, prf="HMAC-SHA256", **arguments
    )


@pytest.mark.parametrize("size", [0, 1, 15, 17, 64])
def test_kbkdf_counter_cmac_bad_key_size_is_arguments_bad(size: int) -> None:
    """A CMAC-AES key that is not 16, 24 or 32 bytes raises ArgumentsBad."""
    with pytest.raises(ArgumentsBad):
        kbkdf_counter(bytes(size), prf="CMAC-AES", label=b"", context=b"", length=16)


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"length": 0}, id="zero-length"),
        pytest.param({"length": -1}, id="negative-length"),
        pytest.param({"length": 2**29}, id="too-long-for-L32"),
        pytest.param({"prf": "HMAC-MD5"}, id="unknown-prf"),
        pytest.param({"prf": "HMAC-SHA3_256"}, id="sha3-prf"),
    ],
)
def test_kbkdf_counter_bad_parameters_are_arguments_bad(kwargs: dict[str, Any]) -> None:
    """Lengths outside 1..(2^32-1)/8 bytes and PRFs outside PRFName raise ArgumentsBad."""
    arguments: dict[str, Any] = {
        "prf": "HMAC-SHA256",
        "label": b"l",
        "context": b"c",
        "length": 32,
    } | kwargs
    with pytest.raises(ArgumentsBad):
        kbkdf_counter(b"k" * 32, **arguments)


# --- HKDF with any hash ---------------------------------------------------------------------------

_HASH_NAMES: tuple[HashName, ...] = get_args(HashName)


def _reference_hkdf(
    hash_name: HashName, ikm: bytes, salt: bytes | None, info: bytes, length: int
) -> bytes:
    """RFC 5869 §2.2-§2.3 written with the stdlib, as an independent oracle."""
    name = hash_name.lower()
    size = hashlib.new(name).digest_size
    prk = hmac.new(salt if salt is not None else bytes(size), ikm, name).digest()
    okm, block = b"", b""
    for i in range(1, -(-length // size) + 1):
        block = hmac.new(prk, block + info + bytes([i]), name).digest()
        okm += block
    return okm[:length]


@pytest.mark.parametrize("hash_name", _HASH_NAMES)
@settings(max_examples=10)
@given(
    ikm=st.binary(max_size=80),
    salt=st.none() | st.binary(max_size=80),
    info=st.binary(max_size=40),
    length=st.integers(min_value=1, max_value=200),
)
def test_hkdf_is_expand_of_extract_and_matches_the_stdlib(
    hash_name: HashName, ikm: bytes, salt: bytes | None, info: bytes, length: int
) -> None:
    """hkdf equals hkdf_expand(hkdf_extract(...)) and an stdlib RFC 5869 oracle, for every hash."""
    prk = hkdf_extract(hash_name, ikm, salt=salt)
    assert len(prk) == DIGEST_SIZES[hash_name]
    okm = hkdf(hash_name, ikm, salt=salt, info=info, length=length)
    assert okm == hkdf_expand(hash_name, prk, info=info, length=length)
    assert okm == _reference_hkdf(hash_name, ikm, salt, info, length)


def test_hkdf_sha256_is_hkdf_with_sha256() -> None:
    """hkdf_sha256 is hkdf with SHA-256."""
    assert hkdf_sha256(b"ikm", salt=b"salt", info=b"info", length=50) == hkdf(
        "SHA256", b"ikm", salt=b"salt", info=b"info", length=50
    )


def test_hkdf_extract_missing_salt_is_zero_salt() -> None:
    """salt=None in HKDF-Extract behaves as HashLen zero bytes (RFC 5869 §2.2)."""
    assert hkdf_extract("SHA384", b"ikm", salt=None) == hkdf_extract(
        "SHA384", b"ikm", salt=bytes(48)
    )


@pytest.mark.parametrize("hash_name", ["SHA1", "SHA512", "SHA3_256"])
def test_hkdf_length_limit_is_255_blocks(hash_name: HashName) -> None:
    """hkdf and hkdf_expand derive up to 255 * HashLen bytes and refuse 0 or one byte more."""
    limit = 255 * DIGEST_SIZES[hash_name]
    prk = hkdf_extract(hash_name, b"ikm", salt=None)
    assert len(hkdf(hash_name, b"ikm", salt=None, info=b"", length=limit)) == limit
    assert len(hkdf_expand(hash_name, prk, info=b"", length=limit)) == limit
    for length in (0, limit + 1):
        with pytest.raises(ArgumentsBad):
            hkdf(hash_name, b"ikm", salt=None, info=b"", length=length)
        with pytest.raises(ArgumentsBad):
            hkdf_expand(hash_name, prk, info=b"", length=length)


def test_hkdf_unknown_hash_is_arguments_bad() -> None:
    """Every HKDF entry point refuses a name outside HashName."""
    with pytest.raises(ArgumentsBad):
        hkdf("MD5", b"ikm", salt=None, info=b"", length=16)  # type: ignore[arg-type]
    with pytest.raises(ArgumentsBad):
        hkdf_extract("MD5", b"ikm", salt=None)  # type: ignore[arg-type]
    with pytest.raises(ArgumentsBad):
        hkdf_expand("MD5", bytes(16), info=b"", length=16)  # type: ignore[arg-type]


# --- ANSI X9.63 KDF -------------------------------------------------------------------------------


def _reference_x963(hash_name: HashName, z: bytes, shared_info: bytes, length: int) -> bytes:
    """SEC 1 §3.6.1 written with the stdlib: K_i = Hash(Z || [i]_32 || SharedInfo), i from 1."""
    name = hash_name.lower()
    size = hashlib.new(name).digest_size
    return b"".join(
        hashlib.new(name, z + i.to_bytes(4, "big") + shared_info).digest()
        for i in range(1, -(-length // size) + 1)
    )[:length]


@pytest.mark.parametrize("hash_name", _HASH_NAMES)
@settings(max_examples=10)
@given(
    z=st.binary(min_size=1, max_size=66),
    shared_info=st.binary(max_size=40),
    length=st.integers(min_value=1, max_value=150),
)
def test_x963_kdf_matches_pyca_and_the_stdlib(
    hash_name: HashName, z: bytes, shared_info: bytes, length: int
) -> None:
    """x963_kdf equals pyca's X963KDF used directly and an stdlib SEC 1 §3.6.1 oracle."""
    derived = x963_kdf(hash_name, z, length=length, shared_info=shared_info)
    pyca = X963KDF(hash_algorithm(hash_name), length, shared_info).derive(z)
    assert derived == pyca
    assert derived == _reference_x963(hash_name, z, shared_info, length)


def test_x963_kdf_empty_shared_info_is_the_default() -> None:
    """Leaving out SharedInfo is the same as passing it empty."""
    assert x963_kdf("SHA256", b"z" * 32, length=40) == x963_kdf(
        "SHA256", b"z" * 32, length=40, shared_info=b""
    )


@pytest.mark.parametrize("length", [0, -1, 20 * (2**32 - 1)])
def test_x963_kdf_bad_length_is_arguments_bad(length: int) -> None:
    """Lengths below 1 or not below HashLen * (2^32 - 1) raise ArgumentsBad (SEC 1 §3.6.1)."""
    with pytest.raises(ArgumentsBad):
        x963_kdf("SHA1", b"z", length=length)


def test_x963_kdf_unknown_hash_is_arguments_bad() -> None:
    """x963_kdf refuses a name outside HashName."""
    with pytest.raises(ArgumentsBad):
        x963_kdf("MD5", b"z", length=16)  # type: ignore[arg-type]

"""Behaviour of the KDFs: SP 800-108 fixed-input layout, parameter checks, PBKDF2 and HKDF."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.crypto.kdf import (
    hkdf_sha256,
    kbkdf_counter_hmac,
    pbkdf2_hmac_sha256,
    sp800_108_counter_hmac_sha256,
)
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

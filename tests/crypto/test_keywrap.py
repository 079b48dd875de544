"""Behaviour of AES-KW and AES-KWP: round trips, tamper detection, sizes and the uniform error."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import keywrap as pyca_keywrap
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.crypto.keywrap import (
    aes_key_unwrap,
    aes_key_unwrap_with_padding,
    aes_key_wrap,
    aes_key_wrap_with_padding,
)
from strongroom.errors import ArgumentsBad, IntegrityError

_wrapping_keys = st.sampled_from([16, 24, 32]).flatmap(lambda n: st.binary(min_size=n, max_size=n))
_kw_inputs = st.integers(min_value=2, max_value=40).flatmap(
    lambda n: st.binary(min_size=8 * n, max_size=8 * n)
)
_kwp_inputs = st.binary(min_size=1, max_size=300)

_Unwrap = Callable[[bytes, bytes], bytes]


def _flip(data: bytes, bit: int) -> bytes:
    bit %= 8 * len(data)
    flipped = bytearray(data)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


@settings(max_examples=50)
@given(wrapping_key=_wrapping_keys, key_to_wrap=_kw_inputs)
def test_kw_round_trip(wrapping_key: bytes, key_to_wrap: bytes) -> None:
    """KW unwrap returns what KW wrap wrapped; the output is 8 bytes longer."""
    wrapped = aes_key_wrap(wrapping_key, key_to_wrap)
    assert len(wrapped) == len(key_to_wrap) + 8
    assert aes_key_unwrap(wrapping_key, wrapped) == key_to_wrap


@settings(max_examples=50)
@given(wrapping_key=_wrapping_keys, key_to_wrap=_kwp_inputs)
def test_kwp_round_trip(wrapping_key: bytes, key_to_wrap: bytes) -> None:
    """KWP unwrap returns what KWP wrap wrapped, for any length; output is padded to 8 bytes."""
    wrapped = aes_key_wrap_with_padding(wrapping_key, key_to_wrap)
    assert len(wrapped) % 8 == 0
    assert len(wrapped) >= len(key_to_wrap) + 8
    assert aes_key_unwrap_with_padding(wrapping_key, wrapped) == key_to_wrap


@settings(max_examples=50)
@given(wrapping_key=_wrapping_keys, key_to_wrap=_kw_inputs, bit=st.integers(min_value=0))
def test_kw_any_bit_flip_is_integrity_error(
    wrapping_key: bytes, key_to_wrap: bytes, bit: int
) -> None:
    """Flipping any single bit of a KW-wrapped key makes unwrap raise IntegrityError."""
    wrapped = aes_key_wrap(wrapping_key, key_to_wrap)
    with pytest.raises(IntegrityError):
        aes_key_unwrap(wrapping_key, _flip(wrapped, bit))


@settings(max_examples=50)
@given(wrapping_key=_wrapping_keys, key_to_wrap=_kwp_inputs, bit=st.integers(min_value=0))
def test_kwp_any_bit_flip_is_integrity_error(
    wrapping_key: bytes, key_to_wrap: bytes, bit: int
) -> None:
    """Flipping any single bit of a KWP-wrapped key makes unwrap raise IntegrityError."""
    wrapped = aes_key_wrap_with_padding(wrapping_key, key_to_wrap)
    with pytest.raises(IntegrityError):
        aes_key_unwrap_with_padding(wrapping_key, _flip(wrapped, bit))


@settings(max_examples=25)
@given(key_to_wrap=_kw_inputs)
def test_unwrap_under_another_key_is_integrity_error(key_to_wrap: bytes) -> None:
    """Unwrapping with a different wrapping key raises IntegrityError for KW and KWP."""
    kek, other = bytes(32), bytes(31) + b"\x01"
    with pytest.raises(IntegrityError):
        aes_key_unwrap(other, aes_key_wrap(kek, key_to_wrap))
    with pytest.raises(IntegrityError):
        aes_key_unwrap_with_padding(other, aes_key_wrap_with_padding(kek, key_to_wrap))


@settings(max_examples=25)
@given(key_to_wrap=_kw_inputs)
def test_kw_and_kwp_outputs_are_not_interchangeable(key_to_wrap: bytes) -> None:
    """A KW output does not unwrap as KWP, nor the reverse (different ICVs, RFC 5649 §3)."""
    kek = bytes(range(16))
    with pytest.raises(IntegrityError):
        aes_key_unwrap_with_padding(kek, aes_key_wrap(kek, key_to_wrap))
    with pytest.raises(IntegrityError):
        aes_key_unwrap(kek, aes_key_wrap_with_padding(kek, key_to_wrap))


@pytest.mark.parametrize("length", [0, 1, 8, 15, 16, 17, 23, 25, 31])
def test_kw_unwrap_of_impossible_lengths_is_integrity_error(length: int) -> None:
    """KW unwrap of input that is too short or not whole semiblocks raises IntegrityError."""
    with pytest.raises(IntegrityError):
        aes_key_unwrap(bytes(16), bytes(length))


@pytest.mark.parametrize("length", [0, 1, 8, 9, 15, 17, 23])
def test_kwp_unwrap_of_impossible_lengths_is_integrity_error(length: int) -> None:
    """KWP unwrap of input that is too short or not whole semiblocks raises IntegrityError."""
    with pytest.raises(IntegrityError):
        aes_key_unwrap_with_padding(bytes(16), bytes(length))


@pytest.mark.parametrize("unwrap", [aes_key_unwrap, aes_key_unwrap_with_padding])
def test_unwrap_error_is_uniform_and_unchained(unwrap: _Unwrap) -> None:
    """Length, ICV and padding failures all raise the same message with no chained cause."""
    kek = bytes(24)
    good = aes_key_wrap_with_padding(kek, bytes(20))
    messages = set()
    for wrapped in (b"", bytes(9), bytes(24), good[:-8], _flip(good, 3)):
        with pytest.raises(IntegrityError) as caught:
            unwrap(kek, wrapped)
        assert caught.value.__cause__ is None
        assert caught.value.__context__ is None or caught.value.__suppress_context__
        messages.add(str(caught.value))
    assert len(messages) == 1


@pytest.mark.parametrize("size", [0, 8, 15, 17, 20, 31, 33, 64])
@pytest.mark.parametrize(
    "operation",
    [aes_key_wrap, aes_key_unwrap, aes_key_wrap_with_padding, aes_key_unwrap_with_padding],
)
def test_bad_wrapping_key_size_is_arguments_bad(size: int, operation: _Unwrap) -> None:
    """Wrapping keys other than 16, 24 or 32 bytes raise ArgumentsBad, wrap or unwrap."""
    with pytest.raises(ArgumentsBad):
        operation(bytes(size), bytes(24))


@pytest.mark.parametrize("length", [0, 1, 7, 8, 9, 15, 17, 23, 33])
def test_kw_wrap_of_bad_length_is_arguments_bad(length: int) -> None:
    """KW wrap of input under 16 bytes or not a multiple of 8 raises ArgumentsBad."""
    with pytest.raises(ArgumentsBad):
        aes_key_wrap(bytes(16), bytes(length))


def test_kwp_wrap_of_nothing_is_arguments_bad() -> None:
    """KWP wrap of empty input raises ArgumentsBad (SP 800-38F needs at least one byte)."""
    with pytest.raises(ArgumentsBad):
        aes_key_wrap_with_padding(bytes(16), b"")


@settings(max_examples=25)
@given(wrapping_key=_wrapping_keys, key_to_wrap=_kw_inputs)
def test_interoperates_with_pyca(wrapping_key: bytes, key_to_wrap: bytes) -> None:
    """Our KW and KWP output is byte-for-byte pyca's."""
    assert aes_key_wrap(wrapping_key, key_to_wrap) == pyca_keywrap.aes_key_wrap(
        wrapping_key, key_to_wrap
    )
    assert aes_key_wrap_with_padding(
        wrapping_key, key_to_wrap
    ) == pyca_keywrap.aes_key_wrap_with_padding(wrapping_key, key_to_wrap)

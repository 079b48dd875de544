"""Behaviour of the AES modes: streams equal one-shots, length and padding errors, CTR limits."""

from __future__ import annotations

from typing import Literal

import pytest
from cryptography.hazmat.primitives import cmac, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers import aead as pyca_aead
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.crypto import modes as modes_module
from strongroom.crypto.modes import (
    AESStream,
    CMACStream,
    GCMDecryptStream,
    GCMEncryptStream,
    aes_cbc_decrypt,
    aes_cbc_encrypt,
    aes_cmac_sign,
    aes_cmac_verify,
    aes_ctr,
    aes_ecb_decrypt,
    aes_ecb_encrypt,
    aes_stream,
)
from strongroom.crypto.symmetric import aes_ecb_encrypt_block
from strongroom.errors import ArgumentsBad, DataLenRange, IntegrityError, SignatureInvalid

_keys = st.sampled_from([16, 24, 32]).flatmap(lambda n: st.binary(min_size=n, max_size=n))
_blocks16 = st.binary(min_size=16, max_size=16)
_whole_blocks = st.integers(0, 6).flatmap(lambda n: st.binary(min_size=16 * n, max_size=16 * n))
_KEY = bytes(range(16))
# The one message each failure must carry (IntegrityError may itself replace it by a uniform one).
_DECRYPT_FAILED = str(IntegrityError("decryption failed"))
_GCM_FAILED = str(IntegrityError("authenticated decryption failed"))
_IV = bytes(range(16, 32))

Mode = Literal["ECB", "CBC", "CBC_PAD", "CTR"]


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at the given offsets (taken modulo its length + 1, sorted)."""
    points = sorted({cut % (len(data) + 1) for cut in cuts})
    pieces, start = [], 0
    for point in [*points, len(data)]:
        pieces.append(data[start:point])
        start = point
    return pieces


def _run(stream: AESStream, pieces: list[bytes]) -> bytes:
    return b"".join(stream.update(piece) for piece in pieces) + stream.finalize()


def _flip(data: bytes, bit: int) -> bytes:
    bit %= 8 * len(data)
    flipped = bytearray(data)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


# --- one-shot functions against pyca directly -----------------------------------------------


@settings(max_examples=30)
@given(key=_keys, data=_whole_blocks)
def test_ecb_matches_pyca_and_round_trips(key: bytes, data: bytes) -> None:
    """ECB equals pyca's ECB block by block and decrypts back to the plaintext."""
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    expected = encryptor.update(data) + encryptor.finalize()
    assert aes_ecb_encrypt(key, data) == expected
    assert aes_ecb_decrypt(key, expected) == data


@settings(max_examples=30)
@given(key=_keys, iv=_blocks16, data=_whole_blocks)
def test_cbc_matches_pyca_and_round_trips(key: bytes, iv: bytes, data: bytes) -> None:
    """Unpadded CBC equals pyca's CBC and decrypts back to the plaintext."""
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    expected = encryptor.update(data) + encryptor.finalize()
    assert aes_cbc_encrypt(key, iv, data, pad=False) == expected
    assert aes_cbc_decrypt(key, iv, expected, pad=False) == data


@settings(max_examples=50)
@given(key=_keys, iv=_blocks16, data=st.binary(max_size=100))
def test_cbc_pad_round_trips_any_length(key: bytes, iv: bytes, data: bytes) -> None:
    """CBC_PAD takes any length, adds 1 to 16 bytes of PKCS#7 padding and round-trips."""
    sealed = aes_cbc_encrypt(key, iv, data, pad=True)
    assert len(sealed) == 16 * (len(data) // 16 + 1)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(data) + padder.finalize()
    assert sealed == aes_cbc_encrypt(key, iv, padded, pad=False)
    assert aes_cbc_decrypt(key, iv, sealed, pad=True) == data


@settings(max_examples=50)
@given(key=_keys, iv=_blocks16, body=_whole_blocks, last=_blocks16)
def test_cbc_pad_bad_padding_is_integrity_error(
    key: bytes, iv: bytes, body: bytes, last: bytes
) -> None:
    """A final plaintext block that is not valid PKCS#7 makes CBC_PAD decryption IntegrityError."""
    pad = last[-1]
    valid = 1 <= pad <= 16 and last[-pad:] == bytes([pad]) * pad
    sealed = aes_cbc_encrypt(key, iv, body + last, pad=False)
    if valid:
        assert aes_cbc_decrypt(key, iv, sealed, pad=True) == body + last[:-pad]
    else:
        with pytest.raises(IntegrityError) as caught:
            aes_cbc_decrypt(key, iv, sealed, pad=True)
        assert str(caught.value) == _DECRYPT_FAILED


@pytest.mark.parametrize("last_byte", [0x00, 0x11, 0xFF])
def test_cbc_pad_out_of_range_pad_byte_is_integrity_error(last_byte: int) -> None:
    """A pad byte of 0 or above 16 is rejected as IntegrityError."""
    sealed = aes_cbc_encrypt(_KEY, _IV, bytes(15) + bytes([last_byte]), pad=False)
    with pytest.raises(IntegrityError):
        aes_cbc_decrypt(_KEY, _IV, sealed, pad=True)


@pytest.mark.parametrize("length", [1, 15, 17, 31])
def test_ecb_partial_block_is_data_len_range(length: int) -> None:
    """ECB input that is not whole blocks raises DataLenRange both ways."""
    with pytest.raises(DataLenRange):
        aes_ecb_encrypt(_KEY, bytes(length))
    with pytest.raises(DataLenRange):
        aes_ecb_decrypt(_KEY, bytes(length))


@pytest.mark.parametrize("length", [1, 15, 17, 33])
def test_cbc_partial_block_is_data_len_range(length: int) -> None:
    """Unpadded CBC input, and any CBC ciphertext, that is not whole blocks raises DataLenRange."""
    with pytest.raises(DataLenRange):
        aes_cbc_encrypt(_KEY, _IV, bytes(length), pad=False)
    with pytest.raises(DataLenRange):
        aes_cbc_decrypt(_KEY, _IV, bytes(length), pad=False)
    with pytest.raises(DataLenRange):
        aes_cbc_decrypt(_KEY, _IV, bytes(length), pad=True)


def test_empty_inputs() -> None:
    """Empty ECB/CBC input gives empty output, CBC_PAD encrypts it to one block and refuses it."""
    assert aes_ecb_encrypt(_KEY, b"") == b""
    assert aes_ecb_decrypt(_KEY, b"") == b""
    assert aes_cbc_encrypt(_KEY, _IV, b"", pad=False) == b""
    assert aes_cbc_decrypt(_KEY, _IV, b"", pad=False) == b""
    assert len(aes_cbc_encrypt(_KEY, _IV, b"", pad=True)) == 16
    assert aes_ctr(_KEY, _IV, b"") == b""
    with pytest.raises(DataLenRange):
        aes_cbc_decrypt(_KEY, _IV, b"", pad=True)


@pytest.mark.parametrize("size", [0, 8, 15, 17, 64])
def test_bad_key_size_is_arguments_bad(size: int) -> None:
    """Keys other than 16, 24 or 32 bytes raise ArgumentsBad in every mode."""
    key = bytes(size)
    with pytest.raises(ArgumentsBad):
        aes_ecb_encrypt(key, bytes(16))
    with pytest.raises(ArgumentsBad):
        aes_cbc_encrypt(key, _IV, bytes(16), pad=False)
    with pytest.raises(ArgumentsBad):
        aes_ctr(key, _IV, b"x")
    with pytest.raises(ArgumentsBad):
        aes_cmac_sign(key, b"x")
    with pytest.raises(ArgumentsBad):
        GCMEncryptStream(key, bytes(12))
    with pytest.raises(ArgumentsBad):
        GCMDecryptStream(key, bytes(12))


@pytest.mark.parametrize("size", [0, 8, 15, 17, 32])
def test_bad_iv_or_counter_block_size_is_arguments_bad(size: int) -> None:
    """CBC IVs and CTR counter blocks must be exactly 16 bytes."""
    with pytest.raises(ArgumentsBad):
        aes_cbc_encrypt(_KEY, bytes(size), bytes(16), pad=True)
    with pytest.raises(ArgumentsBad):
        aes_cbc_decrypt(_KEY, bytes(size), bytes(16), pad=False)
    with pytest.raises(ArgumentsBad):
        aes_ctr(_KEY, bytes(size), b"x")


@pytest.mark.parametrize("mode", ["CBC", "CBC_PAD", "CTR"])
def test_missing_iv_is_arguments_bad(mode: Mode) -> None:
    """CBC and CTR streams need an IV or counter block."""
    with pytest.raises(ArgumentsBad):
        aes_stream(mode, _KEY, encrypt=True)


def test_ecb_with_iv_and_unknown_mode_are_arguments_bad() -> None:
    """ECB takes no IV, and a mode name outside AESStreamMode raises ArgumentsBad."""
    with pytest.raises(ArgumentsBad):
        aes_stream("ECB", _KEY, encrypt=True, iv=_IV)
    with pytest.raises(ArgumentsBad):
        aes_stream("OFB", _KEY, encrypt=True, iv=_IV)  # type: ignore[arg-type]


# --- CTR counter width --------------------------------------------------------------------------


def _ctr_oracle(key: bytes, counter_block: bytes, data: bytes, counter_bits: int) -> bytes:
    """SP 800-38A §6.5 and §B.1 written out: keystream = AES(T_i), low m bits of T_i counting."""
    mask = (1 << counter_bits) - 1
    initial = int.from_bytes(counter_block, "big")
    keystream = b"".join(
        aes_ecb_encrypt_block(key, ((initial & ~mask) | ((initial + i) & mask)).to_bytes(16, "big"))
        for i in range(-(-len(data) // 16))
    )
    return bytes(a ^ b for a, b in zip(data, keystream, strict=False))


@settings(max_examples=50)
@given(
    key=_keys,
    counter_block=_blocks16,
    counter_bits=st.integers(1, 128),
    data=st.binary(max_size=80),
)
def test_ctr_increments_only_the_low_counter_bits(
    key: bytes, counter_block: bytes, counter_bits: int, data: bytes
) -> None:
    """Within its limit, CTR equals the SP 800-38A construction and refuses data beyond it."""
    start = int.from_bytes(counter_block, "big") & ((1 << counter_bits) - 1)
    available = (1 << counter_bits) - start
    if -(-len(data) // 16) > available:
        with pytest.raises(DataLenRange):
            aes_ctr(key, counter_block, data, counter_bits=counter_bits)
    else:
        result = aes_ctr(key, counter_block, data, counter_bits=counter_bits)
        assert result == _ctr_oracle(key, counter_block, data, counter_bits)
        assert aes_ctr(key, counter_block, result, counter_bits=counter_bits) == data


def test_ctr_limit_is_exact() -> None:
    """With an 8-bit counter starting at 0xFE, 32 bytes fit and 33 bytes raise DataLenRange."""
    counter_block = bytes(15) + b"\xfe"
    assert len(aes_ctr(_KEY, counter_block, bytes(32), counter_bits=8)) == 32
    with pytest.raises(DataLenRange):
        aes_ctr(_KEY, counter_block, bytes(33), counter_bits=8)


def test_ctr_128_bit_counter_refuses_to_wrap() -> None:
    """A full-width counter at its maximum allows one block and no more."""
    counter_block = b"\xff" * 16
    assert len(aes_ctr(_KEY, counter_block, bytes(16))) == 16
    with pytest.raises(DataLenRange):
        aes_ctr(_KEY, counter_block, bytes(17))


def test_ctr_stream_enforces_the_limit_across_updates() -> None:
    """A CTR stream refuses the update that would wrap, consuming nothing, and stays usable."""
    counter_block = bytes(15) + b"\xfe"
    stream = aes_stream("CTR", _KEY, encrypt=True, iv=counter_block, counter_bits=8)
    first = stream.update(bytes(20))
    with pytest.raises(DataLenRange):
        stream.update(bytes(13))
    second = stream.update(bytes(12))
    assert first + second + stream.finalize() == aes_ctr(
        _KEY, counter_block, bytes(32), counter_bits=8
    )


@pytest.mark.parametrize("bits", [0, -1, 129])
def test_ctr_bad_counter_width_is_arguments_bad(bits: int) -> None:
    """Counter widths outside 1..128 raise ArgumentsBad."""
    with pytest.raises(ArgumentsBad):
        aes_ctr(_KEY, _IV, b"x", counter_bits=bits)


# --- streams ------------------------------------------------------------------------------------


@settings(max_examples=100)
@given(
    mode=st.sampled_from(["ECB", "CBC", "CBC_PAD", "CTR"]),
    key=_keys,
    iv=_blocks16,
    whole=_whole_blocks,
    extra=st.binary(max_size=15),
    cuts=st.lists(st.integers(min_value=0), max_size=6),
)
def test_stream_over_any_split_equals_one_shot(
    mode: Mode, key: bytes, iv: bytes, whole: bytes, extra: bytes, cuts: list[int]
) -> None:
    """Encrypting and decrypting in pieces, split anywhere, gives the one-shot output."""
    data = whole
    if mode in ("CBC_PAD", "CTR"):
        data += extra
    stream_iv = None if mode == "ECB" else iv
    if mode == "ECB":
        sealed, opened = aes_ecb_encrypt(key, data), data
    elif mode == "CTR":
        sealed, opened = aes_ctr(key, iv, data), data
    else:
        sealed = aes_cbc_encrypt(key, iv, data, pad=mode == "CBC_PAD")
        opened = aes_cbc_decrypt(key, iv, sealed, pad=mode == "CBC_PAD")
    assert opened == data
    encrypting = aes_stream(mode, key, encrypt=True, iv=stream_iv)
    assert _run(encrypting, _split(data, cuts)) == sealed
    decrypting = aes_stream(mode, key, encrypt=False, iv=stream_iv)
    assert _run(decrypting, _split(sealed, cuts)) == data


@settings(max_examples=30)
@given(
    mode=st.sampled_from(["ECB", "CBC"]), data=st.binary(max_size=80), cuts=st.lists(st.integers(0))
)
def test_stream_leftover_partial_block_is_data_len_range(
    mode: Mode, data: bytes, cuts: list[int]
) -> None:
    """ECB and CBC streams raise DataLenRange at finalize when a partial block is left over."""
    iv = None if mode == "ECB" else _IV
    for encrypt in (True, False):
        stream = aes_stream(mode, _KEY, encrypt=encrypt, iv=iv)
        pieces = _split(data, cuts)
        if len(data) % 16:
            for piece in pieces:
                stream.update(piece)
            with pytest.raises(DataLenRange):
                stream.finalize()
        else:
            assert len(_run(stream, pieces)) == len(data)


def test_cbc_pad_decrypt_stream_holds_back_the_last_block() -> None:
    """CBC_PAD decryption releases nothing of the final block until finalize checks the padding."""
    data = bytes(range(40))
    sealed = aes_cbc_encrypt(_KEY, _IV, data, pad=True)
    assert len(sealed) == 48
    stream = aes_stream("CBC_PAD", _KEY, encrypt=False, iv=_IV)
    assert stream.update(sealed[:16]) == b""
    assert stream.update(sealed[16:32]) == data[:16]
    assert stream.update(sealed[32:]) == data[16:32]
    assert stream.finalize() == data[32:]


def test_cbc_pad_decrypt_stream_checks_padding_at_finalize() -> None:
    """A CBC_PAD stream with bad padding raises IntegrityError at finalize, not before."""
    sealed = aes_cbc_encrypt(_KEY, _IV, bytes(32), pad=False)
    stream = aes_stream("CBC_PAD", _KEY, encrypt=False, iv=_IV)
    assert stream.update(sealed) == bytes(16)
    with pytest.raises(IntegrityError):
        stream.finalize()


def test_cbc_pad_decrypt_stream_refuses_empty_and_partial_input() -> None:
    """A CBC_PAD decryption stream fed nothing, or a partial block, raises DataLenRange."""
    empty = aes_stream("CBC_PAD", _KEY, encrypt=False, iv=_IV)
    with pytest.raises(DataLenRange):
        empty.finalize()
    partial = aes_stream("CBC_PAD", _KEY, encrypt=False, iv=_IV)
    partial.update(bytes(20))
    with pytest.raises(DataLenRange):
        partial.finalize()


@pytest.mark.parametrize("mode", ["ECB", "CBC", "CBC_PAD", "CTR"])
def test_stream_is_spent_after_finalize(mode: Mode) -> None:
    """update or finalize after finalize raises ArgumentsBad, and the repr shows no key."""
    stream = aes_stream(mode, _KEY, encrypt=True, iv=None if mode == "ECB" else _IV)
    assert _KEY.hex() not in repr(stream)
    assert repr(stream) == f"AESStream({mode}, key=<redacted>, open)"
    stream.finalize()
    assert repr(stream) == f"AESStream({mode}, key=<redacted>, finalized)"
    with pytest.raises(ArgumentsBad):
        stream.update(b"")
    with pytest.raises(ArgumentsBad):
        stream.finalize()


def test_stream_is_spent_after_a_failed_finalize() -> None:
    """A stream whose finalize raised cannot be finalized again."""
    stream = aes_stream("ECB", _KEY, encrypt=True)
    stream.update(b"x")
    with pytest.raises(DataLenRange):
        stream.finalize()
    with pytest.raises(ArgumentsBad):
        stream.finalize()


# --- GCM streams ----------------------------------------------------------------------------------

_gcm_ivs = st.binary(min_size=12, max_size=12)


@settings(max_examples=50)
@given(
    key=_keys,
    iv=_gcm_ivs,
    data=st.binary(max_size=100),
    aad=st.binary(max_size=40),
    cuts=st.lists(st.integers(0), max_size=6),
)
def test_gcm_streams_over_any_split_equal_one_shot(
    key: bytes, iv: bytes, data: bytes, aad: bytes, cuts: list[int]
) -> None:
    """GCM encryption in pieces equals pyca AESGCM; decryption in pieces gives the plaintext."""
    sealed = pyca_aead.AESGCM(key).encrypt(iv, data, aad)
    encrypting = GCMEncryptStream(key, iv, aad)
    output = b"".join(encrypting.update(piece) for piece in _split(data, cuts))
    assert output + encrypting.finalize() == sealed
    decrypting = GCMDecryptStream(key, iv, aad)
    for piece in _split(sealed, cuts):
        assert decrypting.update(piece) == b""
    assert decrypting.finalize() == data


@settings(max_examples=100)
@given(
    key=_keys,
    iv=_gcm_ivs,
    data=st.binary(max_size=64),
    aad=st.binary(max_size=16),
    bit=st.integers(min_value=0),
    cuts=st.lists(st.integers(0), max_size=4),
)
def test_gcm_decrypt_stream_any_flipped_bit_is_integrity_error(
    key: bytes, iv: bytes, data: bytes, aad: bytes, bit: int, cuts: list[int]
) -> None:
    """Flipping any one bit of ciphertext || tag makes finalize raise IntegrityError."""
    sealed = _flip(pyca_aead.AESGCM(key).encrypt(iv, data, aad), bit)
    stream = GCMDecryptStream(key, iv, aad)
    for piece in _split(sealed, cuts):
        assert stream.update(piece) == b""
    with pytest.raises(IntegrityError) as caught:
        stream.finalize()
    assert str(caught.value) == _GCM_FAILED


@pytest.mark.parametrize("length", [0, 1, 15])
def test_gcm_decrypt_stream_short_input_is_integrity_error(length: int) -> None:
    """Fewer than 16 bytes in all (no room for a tag) raises IntegrityError at finalize."""
    stream = GCMDecryptStream(_KEY, bytes(12))
    stream.update(bytes(length))
    with pytest.raises(IntegrityError):
        stream.finalize()


def test_gcm_decrypt_stream_wrong_aad_is_integrity_error() -> None:
    """Decrypting with other AAD than was authenticated raises IntegrityError."""
    sealed = pyca_aead.AESGCM(_KEY).encrypt(bytes(12), b"plaintext", b"aad")
    stream = GCMDecryptStream(_KEY, bytes(12), b"other")
    stream.update(sealed)
    with pytest.raises(IntegrityError):
        stream.finalize()


def test_gcm_streams_are_spent_after_finalize_or_failure() -> None:
    """GCM streams refuse use after finalize, and after a failed finalize; reprs show no key."""
    encrypting = GCMEncryptStream(_KEY, bytes(12))
    assert repr(encrypting) == "GCMEncryptStream(key=<redacted>, open)"
    encrypting.finalize()
    assert repr(encrypting) == "GCMEncryptStream(key=<redacted>, finalized)"
    with pytest.raises(ArgumentsBad):
        encrypting.update(b"")
    with pytest.raises(ArgumentsBad):
        encrypting.finalize()
    decrypting = GCMDecryptStream(_KEY, bytes(12))
    assert repr(decrypting) == "GCMDecryptStream(key=<redacted>, open)"
    with pytest.raises(IntegrityError):
        decrypting.finalize()
    assert repr(decrypting) == "GCMDecryptStream(key=<redacted>, finalized)"
    with pytest.raises(ArgumentsBad):
        decrypting.update(b"")
    with pytest.raises(ArgumentsBad):
        decrypting.finalize()


def test_gcm_decrypt_stream_is_spent_after_success() -> None:
    """A GCM decryption stream that returned its plaintext refuses further use."""
    sealed = pyca_aead.AESGCM(_KEY).encrypt(bytes(12), b"data", None)
    stream = GCMDecryptStream(_KEY, bytes(12))
    stream.update(sealed)
    assert stream.finalize() == b"data"
    with pytest.raises(ArgumentsBad):
        stream.finalize()


@pytest.mark.parametrize("size", [0, 8, 11, 13, 16])
def test_gcm_bad_iv_size_is_arguments_bad(size: int) -> None:
    """GCM streams take 96-bit IVs only."""
    with pytest.raises(ArgumentsBad):
        GCMEncryptStream(_KEY, bytes(size))
    with pytest.raises(ArgumentsBad):
        GCMDecryptStream(_KEY, bytes(size))


# --- CMAC -----------------------------------------------------------------------------------------


@settings(max_examples=50)
@given(key=_keys, data=st.binary(max_size=100), cuts=st.lists(st.integers(0), max_size=5))
def test_cmac_matches_pyca_and_streams(key: bytes, data: bytes, cuts: list[int]) -> None:
    """aes_cmac_sign equals pyca's CMAC, a CMACStream over any split agrees, and both verify."""
    reference = cmac.CMAC(algorithms.AES(key))
    reference.update(data)
    tag = reference.finalize()
    assert aes_cmac_sign(key, data) == tag
    stream = CMACStream(key)
    for piece in _split(data, cuts):
        stream.update(piece)
    assert stream.finalize() == tag
    aes_cmac_verify(key, data, tag)
    verifying = CMACStream(key)
    for piece in _split(data, cuts):
        verifying.update(piece)
    verifying.verify(tag)


@settings(max_examples=50)
@given(key=_keys, data=st.binary(max_size=64), bit=st.integers(0, 127))
def test_cmac_verify_rejects_any_bit_flip(key: bytes, data: bytes, bit: int) -> None:
    """A CMAC tag differing in any one bit raises SignatureInvalid, one-shot and streamed."""
    tag = _flip(aes_cmac_sign(key, data), bit)
    with pytest.raises(SignatureInvalid):
        aes_cmac_verify(key, data, tag)
    stream = CMACStream(key)
    stream.update(data)
    with pytest.raises(SignatureInvalid):
        stream.verify(tag)


@pytest.mark.parametrize("length", [0, 8, 15, 17])
def test_cmac_verify_rejects_wrong_length_tags(length: int) -> None:
    """Truncated, empty or extended CMAC tags raise SignatureInvalid (full-length tags only)."""
    tag = (aes_cmac_sign(_KEY, b"data") + b"\x00")[:length]
    with pytest.raises(SignatureInvalid):
        aes_cmac_verify(_KEY, b"data", tag)


def test_cmac_stream_is_spent_and_redacted() -> None:
    """A CMACStream refuses use after finalize or verify, and its repr shows no key."""
    stream = CMACStream(_KEY)
    assert repr(stream) == "CMACStream(key=<redacted>, open)"
    tag = stream.finalize()
    assert repr(stream) == "CMACStream(key=<redacted>, finalized)"
    for call in (lambda: stream.update(b""), stream.finalize, lambda: stream.verify(tag)):
        with pytest.raises(ArgumentsBad):
            call()
    verified = CMACStream(_KEY)
    verified.verify(tag)
    with pytest.raises(ArgumentsBad):
        verified.finalize()


class _ExhaustedGCMContext:
    """Stands in for a pyca GCM context past SP 800-38D's plaintext limit (2^39 - 256 bits)."""

    def authenticate_additional_data(self, data: bytes) -> None:
        """Accept the AAD."""

    def update(self, data: bytes) -> bytes:
        """Refuse, as pyca does once the byte limit is exceeded."""
        raise ValueError("Exceeded maximum encrypted byte limit")


class _ExhaustedCipher:
    """A Cipher whose contexts are all exhausted (64 GiB cannot be fed in a test)."""

    def __init__(self, *args: object) -> None:
        pass

    def encryptor(self) -> _ExhaustedGCMContext:
        """An exhausted encryption context."""
        return _ExhaustedGCMContext()

    def decryptor(self) -> _ExhaustedGCMContext:
        """An exhausted decryption context."""
        return _ExhaustedGCMContext()


def test_gcm_length_limit_is_translated(monkeypatch: pytest.MonkeyPatch) -> None:
    """pyca's GCM length-limit error is DataLenRange encrypting, IntegrityError decrypting."""
    monkeypatch.setattr(modes_module, "Cipher", _ExhaustedCipher)
    with pytest.raises(DataLenRange):
        GCMEncryptStream(_KEY, bytes(12), b"aad").update(bytes(32))
    decrypting = GCMDecryptStream(_KEY, bytes(12), b"aad")
    with pytest.raises(IntegrityError):
        decrypting.update(bytes(32))
    with pytest.raises(ArgumentsBad):
        decrypting.finalize()

"""Encryption mechanisms: AES modes, AES-GCM and RSA, against pyca/cryptography both ways."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.constants import Mechanism
from strongroom.engine import CTRParams, GCMParams, OAEPParams
from strongroom.errors import DataLenRange, IntegrityError, MechanismParamInvalid

from .mech_keys import Keys, make_keys

M = Mechanism


@pytest.fixture(scope="module")
def keys() -> Iterator[Keys]:
    """One HSM with known keys for the whole module."""
    yield from make_keys()


def _pyca(mode: Any, key: bytes, data: bytes, *, encrypt: bool) -> bytes:
    cipher = Cipher(algorithms.AES(key), mode)
    ctx = cipher.encryptor() if encrypt else cipher.decryptor()
    return ctx.update(data) + ctx.finalize()


def _pad(data: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    return padder.update(data) + padder.finalize()


# (mechanism, engine params, pyca mode, whole blocks only, padded)
IV = bytes(range(16))
COUNTER = bytes(8) + (1).to_bytes(8, "big")
CASES: list[tuple[Mechanism, object, Callable[[], modes.Mode], bool, bool]] = [
    (M.AES_ECB, None, modes.ECB, True, False),
    (M.AES_CBC, IV, lambda: modes.CBC(IV), True, False),
    (M.AES_CBC_PAD, IV, lambda: modes.CBC(IV), False, True),
    (M.AES_CTR, CTRParams(COUNTER), lambda: modes.CTR(COUNTER), False, False),
]


@pytest.mark.parametrize(("mechanism", "params", "mode", "blocks", "padded"), CASES)
@pytest.mark.parametrize("size", [16, 24, 32])
def test_aes_modes_interoperate(
    keys: Keys,
    mechanism: Mechanism,
    params: object,
    mode: Callable[[], modes.Mode],
    blocks: bool,
    padded: bool,
    size: int,
) -> None:
    """Each AES mode's output equals pyca's, and pyca's ciphertext decrypts in the engine."""
    key = keys.aes[size]
    data = os.urandom(64 if blocks else 77)
    ours = keys.alice.encrypt(key.handle, mechanism, data, params)
    expected = _pyca(mode(), key.value, _pad(data) if padded else data, encrypt=True)
    assert ours == expected
    assert keys.alice.decrypt(key.handle, mechanism, expected, params) == data


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=300), cuts=st.lists(st.integers(0, 300), max_size=6))
@pytest.mark.parametrize(("mechanism", "params", "mode", "blocks", "padded"), CASES)
def test_multi_part_equals_single_part(
    keys: Keys,
    mechanism: Mechanism,
    params: object,
    mode: Callable[[], modes.Mode],
    blocks: bool,
    padded: bool,
    data: bytes,
    cuts: list[int],
) -> None:
    """Any split of the input through init/update/final gives the single-part result."""
    if blocks:
        data = data[: len(data) // 16 * 16]
    key = keys.aes[32].handle
    s = keys.alice
    single = s.encrypt(key, mechanism, data, params)
    pieces = [
        data[a:b] for a, b in zip([0, *sorted(cuts)], [*sorted(cuts), len(data)], strict=True)
    ]
    s.encrypt_init(key, mechanism, params)
    streamed = b"".join(s.encrypt_update(p) for p in pieces) + s.encrypt_final()
    assert streamed == single
    s.decrypt_init(key, mechanism, params)
    cut = len(single) // 3
    plain = s.decrypt_update(single[:cut]) + s.decrypt_update(single[cut:]) + s.decrypt_final()
    assert plain == data


@pytest.mark.parametrize("mechanism", [M.AES_ECB, M.AES_CBC])
def test_unpadded_modes_need_whole_blocks(keys: Keys, mechanism: Mechanism) -> None:
    """ECB and CBC refuse input that is not a whole number of blocks, single or multi-part."""
    params = None if mechanism is M.AES_ECB else IV
    key = keys.aes[16].handle
    with pytest.raises(DataLenRange):
        keys.alice.encrypt(key, mechanism, bytes(17), params)
    with pytest.raises(DataLenRange):
        keys.alice.decrypt(key, mechanism, bytes(31), params)
    keys.alice.encrypt_init(key, mechanism, params)
    keys.alice.encrypt_update(bytes(20))
    with pytest.raises(DataLenRange):
        keys.alice.encrypt_final()


def test_cbc_pad_bad_padding_is_uniform(keys: Keys) -> None:
    """A CBC-PAD ciphertext with broken padding fails as ENCRYPTED_DATA_INVALID."""
    key = keys.aes[32]
    garbage = _pyca(modes.CBC(IV), key.value, bytes(15) + b"\x11", encrypt=True)
    with pytest.raises(IntegrityError) as info:
        keys.alice.decrypt(key.handle, M.AES_CBC_PAD, garbage, IV)
    assert info.value.code == "ENCRYPTED_DATA_INVALID"


@pytest.mark.parametrize("bad", [None, b"short", bytes(17), "not bytes"])
def test_cbc_needs_a_16_byte_iv(keys: Keys, bad: object) -> None:
    """CBC's parameter is exactly a 16-byte IV."""
    with pytest.raises(MechanismParamInvalid):
        keys.alice.encrypt(keys.aes[16].handle, M.AES_CBC, bytes(16), bad)


def test_ctr_refuses_to_wrap_the_counter(keys: Keys) -> None:
    """With an 8-bit counter at 0xfe, three blocks would wrap it: DATA_LEN_RANGE."""
    block = bytes(15) + b"\xfe"
    params = CTRParams(block, counter_bits=8)
    key = keys.aes[16]
    ours = keys.alice.encrypt(key.handle, M.AES_CTR, bytes(32), params)
    assert ours == _pyca(modes.CTR(block), key.value, bytes(32), encrypt=True)
    with pytest.raises(DataLenRange):
        keys.alice.encrypt(key.handle, M.AES_CTR, bytes(33), params)


@pytest.mark.parametrize("size", [16, 24, 32])
@pytest.mark.parametrize("generated_iv", [False, True])
def test_gcm_multi_part_both_ways(keys: Keys, size: int, generated_iv: bool) -> None:
    """Multi-part GCM matches pyca's one-shot GCM; a generated IV leads the output."""
    key = keys.aes[size]
    iv, aad, data = os.urandom(12), b"aad", os.urandom(1000)
    params = GCMParams(None if generated_iv else iv, aad)
    s = keys.alice
    s.encrypt_init(key.handle, M.AES_GCM, params)
    out = s.encrypt_update(data[:333]) + s.encrypt_update(data[333:]) + s.encrypt_final()
    if generated_iv:
        iv, out = out[:12], out[12:]
    assert AESGCM(key.value).decrypt(iv, out, aad) == data
    theirs = AESGCM(key.value).encrypt(iv, data, aad)
    feed = (iv + theirs) if generated_iv else theirs
    s.decrypt_init(key.handle, M.AES_GCM, params)
    released = [s.decrypt_update(feed[i : i + 100]) for i in range(0, len(feed), 100)]
    assert released == [b""] * len(released), "GCM released plaintext before the tag check"
    assert s.decrypt_final() == data


@settings(max_examples=60, deadline=None)
@given(data=st.binary(min_size=1, max_size=200), bit=st.integers(min_value=0))
def test_gcm_multi_part_detects_any_flipped_bit(keys: Keys, data: bytes, bit: int) -> None:
    """Flipping any bit of a GCM ciphertext or tag fails at decrypt_final, uniformly."""
    key = keys.aes[32].handle
    params = GCMParams(bytes(12))
    sealed = bytearray(keys.alice.encrypt(key, M.AES_GCM, data, params))
    bit %= len(sealed) * 8
    sealed[bit // 8] ^= 1 << (bit % 8)
    keys.alice.decrypt_init(key, M.AES_GCM, params)
    assert keys.alice.decrypt_update(bytes(sealed)) == b""
    with pytest.raises(IntegrityError) as info:
        keys.alice.decrypt_final()
    assert info.value.message == IntegrityError.UNIFORM_MESSAGE


def test_single_part_accepts_64_mib_and_refuses_more(keys: Keys) -> None:
    """Single-part calls take 64 MiB; beyond that they say to use multi-part."""
    key = keys.aes[32].handle
    big = bytes(64 * 1024 * 1024)
    sealed = keys.alice.encrypt(key, M.AES_GCM, big, GCMParams(bytes(12)))
    assert len(sealed) == len(big) + 16
    assert keys.alice.decrypt(key, M.AES_GCM, sealed, GCMParams(bytes(12))) == big
    with pytest.raises(DataLenRange):
        keys.alice.encrypt(key, M.AES_GCM, big + bytes(2048), GCMParams(bytes(12)))


def test_multi_part_streams_past_the_single_part_cap(keys: Keys) -> None:
    """Multi-part CTR streams 80 MiB in 4 MiB pieces and round-trips."""
    key = keys.aes[16].handle
    params = CTRParams(bytes(16))
    piece = os.urandom(4 * 1024 * 1024)
    s = keys.alice
    s.encrypt_init(key, M.AES_CTR, params)
    sealed = [s.encrypt_update(piece) for _ in range(20)]
    sealed.append(s.encrypt_final())
    s.decrypt_init(key, M.AES_CTR, params)
    for chunk in sealed[:-1]:
        assert s.decrypt_update(chunk) == piece
    assert s.decrypt_final() == b""


OAEP_HASHES = ["SHA1", "SHA224", "SHA256", "SHA384", "SHA512"]
_PYCA_HASH: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "SHA1": hashes.SHA1,
    "SHA224": hashes.SHA224,
    "SHA256": hashes.SHA256,
    "SHA384": hashes.SHA384,
    "SHA512": hashes.SHA512,
}


@pytest.mark.parametrize("hash_name", OAEP_HASHES)
@pytest.mark.parametrize("mgf", ["SHA1", "SHA256"])
def test_rsa_oaep_both_ways(keys: Keys, hash_name: str, mgf: str) -> None:
    """RSA-OAEP with any SHA-1/SHA-2 hash and MGF1 hash interoperates with pyca."""
    private = keys.rsa.private
    assert isinstance(private, rsa.RSAPrivateKey)
    params = OAEPParams(hash_name, mgf, b"label")  # type: ignore[arg-type]
    pyca = asym_padding.OAEP(
        asym_padding.MGF1(_PYCA_HASH[mgf]()), _PYCA_HASH[hash_name](), b"label"
    )
    ours = keys.alice.encrypt(keys.rsa.public_handle, M.RSA_PKCS_OAEP, b"secret", params)
    assert private.decrypt(ours, pyca) == b"secret"
    theirs = private.public_key().encrypt(b"from pyca", pyca)
    assert keys.alice.decrypt(keys.rsa.private_handle, M.RSA_PKCS_OAEP, theirs, params) == (
        b"from pyca"
    )
    with pytest.raises(IntegrityError):
        keys.alice.decrypt(
            keys.rsa.private_handle,
            M.RSA_PKCS_OAEP,
            theirs,
            OAEPParams(hash_name, mgf, b"other"),  # type: ignore[arg-type]
        )


def test_rsa_pkcs1_encryption_both_ways(keys: Keys) -> None:
    """RSA PKCS#1 v1.5 encryption interoperates with pyca; too-long input is DATA_LEN_RANGE."""
    private = keys.rsa.private
    assert isinstance(private, rsa.RSAPrivateKey)
    ours = keys.alice.encrypt(keys.rsa.public_handle, M.RSA_PKCS, b"secret")
    assert private.decrypt(ours, asym_padding.PKCS1v15()) == b"secret"
    theirs = private.public_key().encrypt(b"from pyca", asym_padding.PKCS1v15())
    assert keys.alice.decrypt(keys.rsa.private_handle, M.RSA_PKCS, theirs) == b"from pyca"
    with pytest.raises(DataLenRange):
        keys.alice.encrypt(keys.rsa.public_handle, M.RSA_PKCS, bytes(2048 // 8 - 10))


def test_rsa_mechanisms_are_single_part(keys: Keys) -> None:
    """RSA encryption has no multi-part form: init says MECHANISM_INVALID."""
    from strongroom.errors import MechanismInvalid

    with pytest.raises(MechanismInvalid):
        keys.alice.encrypt_init(keys.rsa.public_handle, M.RSA_PKCS_OAEP)

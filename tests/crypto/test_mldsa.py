"""Behaviour of ML-DSA: seeds, encodings, contexts, pyca interop, and the RFC 9881 example keys."""

from __future__ import annotations

import hashlib
from typing import get_args

import pytest
from cryptography.exceptions import InvalidSignature
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.crypto._der import octet_string
from strongroom.crypto.asymmetric import (
    curve_of,
    generate_ed25519_private_key,
    is_rsa,
    load_private_key_der,
    load_public_key_der,
    pairwise_consistency_check,
    private_key_to_der,
    public_key_of,
    public_key_to_der,
)
from strongroom.crypto.mldsa import (
    MLDSAParameterSet,
    MLDSAPrivateKey,
    generate_mldsa_private_key,
    mldsa_parameter_set_of,
    mldsa_private_key_from_seed,
    mldsa_private_seed,
    mldsa_public_bytes,
    mldsa_public_key_from_bytes,
    mldsa_sign,
    mldsa_verify,
)
from strongroom.errors import ArgumentsBad, SignatureInvalid

PARAMETER_SETS: tuple[MLDSAParameterSet, ...] = get_args(MLDSAParameterSet)
# FIPS 204 §4, Table 2: public key and signature sizes in bytes.
_SIZES: dict[MLDSAParameterSet, tuple[int, int]] = {
    "ML-DSA-44": (1312, 2420),
    "ML-DSA-65": (1952, 3309),
    "ML-DSA-87": (2592, 4627),
}
# RFC 9881 (ML-DSA in X.509) example keys, all generated from the seed 00 01 02 ... 1f
# (lamps-wg/dilithium-certificates, examples/ML-DSA-{44,65,87}.pub and -seed.priv): the
# SHA-256 of each SubjectPublicKeyInfo DER, and the seed-form PKCS#8 DER.
_EXAMPLE_SEED = bytes(range(32))
_EXAMPLE_SPKI_SHA256: dict[MLDSAParameterSet, str] = {
    "ML-DSA-44": "837832708c5236d951581f1fddf2b79991b3424a0486d16da1ddad0fd69701be",
    "ML-DSA-65": "b8b62131bfbe84433efb2273d7f5b87f7a22854a2cfd366fc2aead86d837c52d",
    "ML-DSA-87": "07e57c4f14dbad1267f621ec3777b4e2e6c4fbc4c22fbb87510ff8e0b3c6a642",
}
# id-ml-dsa-44/65/87 = 2.16.840.1.101.3.4.3.17/18/19 (RFC 9881 §2): the OID's last byte.
_OID_LAST_BYTE: dict[MLDSAParameterSet, int] = {"ML-DSA-44": 17, "ML-DSA-65": 18, "ML-DSA-87": 19}


def _example_pkcs8(parameter_set: MLDSAParameterSet) -> bytes:
    """RFC 9881 seed-form PKCS#8: version 0, id-ml-dsa-*, OCTET STRING { [0] seed }."""
    oid = bytes.fromhex("0609608648016503040300")[:-1] + bytes([_OID_LAST_BYTE[parameter_set]])
    return bytes.fromhex("3034020100300b") + oid + bytes.fromhex("04228020") + _EXAMPLE_SEED


@pytest.fixture(scope="module", params=PARAMETER_SETS)
def key(request: pytest.FixtureRequest) -> MLDSAPrivateKey:
    """One ML-DSA key per parameter set."""
    parameter_set: MLDSAParameterSet = request.param
    return generate_mldsa_private_key(parameter_set)


def _flip(data: bytes, bit: int) -> bytes:
    bit %= 8 * len(data)
    flipped = bytearray(data)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


# --- known answers -----------------------------------------------------------------------------


@pytest.mark.parametrize("parameter_set", PARAMETER_SETS)
def test_rfc9881_example_keys(parameter_set: MLDSAParameterSet) -> None:
    """The example seed gives the RFC 9881 public key and round-trips its seed-form PKCS#8."""
    private = mldsa_private_key_from_seed(parameter_set, _EXAMPLE_SEED)
    spki = public_key_to_der(private.public_key())
    assert hashlib.sha256(spki).hexdigest() == _EXAMPLE_SPKI_SHA256[parameter_set]
    assert private_key_to_der(private) == _example_pkcs8(parameter_set)
    loaded = load_private_key_der(_example_pkcs8(parameter_set), trusted=False)
    assert isinstance(loaded, type(private))
    assert mldsa_private_seed(loaded) == _EXAMPLE_SEED


# --- parameter sets, seeds and public keys -------------------------------------------------------


def test_generation_and_parameter_set(key: MLDSAPrivateKey) -> None:
    """A generated key and its public key report its parameter set; sizes are FIPS 204's."""
    parameter_set = mldsa_parameter_set_of(key)
    assert mldsa_parameter_set_of(key.public_key()) == parameter_set
    public_size, signature_size = _SIZES[parameter_set]
    assert len(mldsa_public_bytes(key.public_key())) == public_size
    assert len(mldsa_sign(key, b"m")) == signature_size


def test_seed_round_trip(key: MLDSAPrivateKey) -> None:
    """The 32-byte seed rebuilds the same key pair."""
    seed = mldsa_private_seed(key)
    assert len(seed) == 32
    rebuilt = mldsa_private_key_from_seed(mldsa_parameter_set_of(key), seed)
    assert mldsa_public_bytes(rebuilt.public_key()) == mldsa_public_bytes(key.public_key())
    assert mldsa_private_seed(rebuilt) == seed


def test_public_bytes_round_trip(key: MLDSAPrivateKey) -> None:
    """The raw public key loads back to an equal key under its own parameter set."""
    parameter_set = mldsa_parameter_set_of(key)
    raw = mldsa_public_bytes(key.public_key())
    assert mldsa_public_key_from_bytes(parameter_set, raw) == key.public_key()


def test_public_bytes_of_another_size_are_arguments_bad(key: MLDSAPrivateKey) -> None:
    """Raw public keys of any other parameter set's length, or truncated, raise ArgumentsBad."""
    raw = mldsa_public_bytes(key.public_key())
    for parameter_set in PARAMETER_SETS:
        if parameter_set != mldsa_parameter_set_of(key):
            with pytest.raises(ArgumentsBad):
                mldsa_public_key_from_bytes(parameter_set, raw)
    with pytest.raises(ArgumentsBad):
        mldsa_public_key_from_bytes(mldsa_parameter_set_of(key), raw[:-1])


@pytest.mark.parametrize("size", [0, 16, 31, 33, 64])
def test_seed_of_wrong_length_is_arguments_bad(size: int) -> None:
    """Seeds must be exactly 32 bytes."""
    with pytest.raises(ArgumentsBad):
        mldsa_private_key_from_seed("ML-DSA-44", bytes(size))


def test_unknown_parameter_set_is_arguments_bad() -> None:
    """A parameter set outside MLDSAParameterSet raises ArgumentsBad everywhere."""
    with pytest.raises(ArgumentsBad):
        generate_mldsa_private_key("ML-DSA-99")  # type: ignore[arg-type]
    with pytest.raises(ArgumentsBad):
        mldsa_private_key_from_seed("ML-DSA-99", bytes(32))  # type: ignore[arg-type]
    with pytest.raises(ArgumentsBad):
        mldsa_public_key_from_bytes("ML-DSA-99", bytes(1312))  # type: ignore[arg-type]


def test_parameter_set_of_a_non_mldsa_key_is_arguments_bad() -> None:
    """Asking an Ed25519 key for its ML-DSA parameter set raises ArgumentsBad."""
    with pytest.raises(ArgumentsBad):
        mldsa_parameter_set_of(generate_ed25519_private_key())  # type: ignore[arg-type]


# --- signatures -----------------------------------------------------------------------------------


@settings(max_examples=10)
@given(data=st.binary(max_size=200), context=st.binary(max_size=255))
def test_sign_verify_round_trip_with_any_context(
    key: MLDSAPrivateKey, data: bytes, context: bytes
) -> None:
    """A signature verifies under its context and fails under any other or none."""
    signature = mldsa_sign(key, data, context)
    mldsa_verify(key.public_key(), signature, data, context)
    with pytest.raises(SignatureInvalid):
        mldsa_verify(key.public_key(), signature, data, context + b"x")
    if context:
        with pytest.raises(SignatureInvalid):
            mldsa_verify(key.public_key(), signature, data)


def test_signatures_interoperate_with_pyca(key: MLDSAPrivateKey) -> None:
    """Our signatures verify with pyca and pyca's verify with ours, with a context string."""
    ours = mldsa_sign(key, b"message", b"context")
    key.public_key().verify(ours, b"message", b"context")
    theirs = key.sign(b"message", b"context")
    mldsa_verify(key.public_key(), theirs, b"message", b"context")
    with pytest.raises(InvalidSignature):
        key.public_key().verify(ours, b"message", b"other")


def test_signing_is_hedged(key: MLDSAPrivateKey) -> None:
    """Two signatures of the same message differ (fresh randomness), and both verify."""
    first, second = mldsa_sign(key, b"message"), mldsa_sign(key, b"message")
    assert first != second
    for signature in (first, second):
        mldsa_verify(key.public_key(), signature, b"message")


@settings(max_examples=10)
@given(bit=st.integers(min_value=0))
def test_verify_rejects_any_flipped_bit(key: MLDSAPrivateKey, bit: int) -> None:
    """A signature with any one bit flipped raises SignatureInvalid."""
    signature = mldsa_sign(key, b"message")
    with pytest.raises(SignatureInvalid):
        mldsa_verify(key.public_key(), _flip(signature, bit), b"message")


def test_verify_rejects_other_data_and_malformed_signatures(key: MLDSAPrivateKey) -> None:
    """Other data, empty, truncated or extended signatures raise SignatureInvalid."""
    signature = mldsa_sign(key, b"message")
    pub = key.public_key()
    for bad_signature, data in [
        (signature, b"messagf"),
        (b"", b"message"),
        (signature[:-1], b"message"),
        (signature + b"\x00", b"message"),
    ]:
        with pytest.raises(SignatureInvalid):
            mldsa_verify(pub, bad_signature, data)


def test_signature_does_not_verify_under_another_key() -> None:
    """A signature verifies only under its own key, even within one parameter set."""
    first, second = generate_mldsa_private_key("ML-DSA-44"), generate_mldsa_private_key("ML-DSA-44")
    with pytest.raises(SignatureInvalid):
        mldsa_verify(second.public_key(), mldsa_sign(first, b"message"), b"message")


def test_context_over_255_bytes_is_arguments_bad(key: MLDSAPrivateKey) -> None:
    """FIPS 204 caps the context string at 255 bytes; 256 raises ArgumentsBad both ways."""
    signature = mldsa_sign(key, b"m", bytes(255))
    with pytest.raises(ArgumentsBad):
        mldsa_sign(key, b"m", bytes(256))
    with pytest.raises(ArgumentsBad):
        mldsa_verify(key.public_key(), signature, b"m", bytes(256))


# --- the asymmetric module's encodings and pairwise test -----------------------------------------


def test_pkcs8_and_spki_round_trip(key: MLDSAPrivateKey) -> None:
    """ML-DSA keys survive private_key_to_der/load_private_key_der and the SPKI pair."""
    loaded = load_private_key_der(private_key_to_der(key), trusted=True)
    assert isinstance(loaded, type(key))
    assert public_key_of(loaded) == key.public_key()
    public = load_public_key_der(public_key_to_der(key.public_key()))
    assert public == key.public_key()
    assert not is_rsa(loaded)


@pytest.mark.parametrize("form", ["expanded", "both"])
def test_pkcs8_without_the_seed_choice_is_arguments_bad(form: str) -> None:
    """RFC 9881's expandedKey and both encodings are refused (pyca 50 loads seeds only)."""
    expanded = octet_string(bytes(2560))  # ML-DSA-44 sk is 2560 bytes (FIPS 204 Table 2)
    if form == "expanded":
        private_key = expanded
    else:
        content = octet_string(_EXAMPLE_SEED) + expanded
        private_key = b"\x30\x82" + len(content).to_bytes(2, "big") + content
    algorithm = bytes.fromhex("300b0609608648016503040311")
    body = bytes.fromhex("020100") + algorithm + octet_string(private_key)
    der = b"\x30\x82" + len(body).to_bytes(2, "big") + body
    with pytest.raises(ArgumentsBad):
        load_private_key_der(der, trusted=False)


def test_pairwise_consistency_check_accepts_mldsa_keys(key: MLDSAPrivateKey) -> None:
    """The FIPS 140-3 pairwise test passes for a good ML-DSA key."""
    pairwise_consistency_check(key)


def test_mldsa_keys_have_no_curve(key: MLDSAPrivateKey) -> None:
    """curve_of refuses ML-DSA keys, private or public, with ArgumentsBad."""
    with pytest.raises(ArgumentsBad):
        curve_of(key)
    with pytest.raises(ArgumentsBad):
        curve_of(key.public_key())

"""Interop: what the engine signs or encrypts, pyca/cryptography verifies or decrypts, and back."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strongroom.constants import Attribute, KeyType, Mechanism, ObjectClass
from strongroom.crypto.asymmetric import CurveName, ec_params_for_curve, ec_point
from strongroom.engine import GCMParams, PSSParams
from strongroom.errors import IntegrityError, SignatureInvalid

from .engine_helpers import Cluster

A = Attribute
P256 = ec_params_for_curve("secp256r1")


def _int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def import_aes(cluster: Cluster, value: bytes) -> int:
    """Import a known AES key as alice."""
    return cluster.alice.create_object(
        {A.CLASS: ObjectClass.SECRET_KEY, A.KEY_TYPE: KeyType.AES, A.VALUE: value}
    )


def test_gcm_engine_to_pyca_and_back(cluster: Cluster) -> None:
    """GCM ciphertexts cross between the engine and pyca in both directions."""
    value = os.urandom(32)
    key = import_aes(cluster, value)
    iv, aad = os.urandom(12), b"header"
    ours = cluster.alice.encrypt(key, Mechanism.AES_GCM, b"engine->pyca", GCMParams(iv, aad))
    assert AESGCM(value).decrypt(iv, ours, aad) == b"engine->pyca"
    theirs = AESGCM(value).encrypt(iv, b"pyca->engine", aad)
    assert (
        cluster.alice.decrypt(key, Mechanism.AES_GCM, theirs, GCMParams(iv, aad)) == b"pyca->engine"
    )
    generated = cluster.alice.encrypt(key, Mechanism.AES_GCM, b"hsm iv", GCMParams(aad=aad))
    assert AESGCM(value).decrypt(generated[:12], generated[12:], aad) == b"hsm iv"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=512), aad=st.binary(max_size=64), flip=st.integers(min_value=0))
def test_gcm_round_trip_and_tamper(cluster: Cluster, data: bytes, aad: bytes, flip: int) -> None:
    """Any plaintext round-trips; flipping any one bit of IV, ciphertext or tag is detected."""
    key = cluster.alice.generate_key(Mechanism.AES_KEY_GEN, {A.VALUE_LEN: 32})
    sealed = cluster.alice.encrypt(key, Mechanism.AES_GCM, data, GCMParams(aad=aad))
    assert cluster.alice.decrypt(key, Mechanism.AES_GCM, sealed, GCMParams(aad=aad)) == data
    bit = flip % (len(sealed) * 8)
    tampered = bytearray(sealed)
    tampered[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(IntegrityError):
        cluster.alice.decrypt(key, Mechanism.AES_GCM, bytes(tampered), GCMParams(aad=aad))
    with pytest.raises(IntegrityError):
        cluster.alice.decrypt(key, Mechanism.AES_GCM, sealed, GCMParams(aad=aad + b"x"))


@pytest.mark.parametrize(
    ("curve", "mechanism", "hash_cls"),
    [
        ("secp256r1", Mechanism.ECDSA_SHA256, hashes.SHA256),
        ("secp384r1", Mechanism.ECDSA_SHA384, hashes.SHA384),
        ("secp521r1", Mechanism.ECDSA_SHA512, hashes.SHA512),
    ],
)
def test_ecdsa_both_ways(
    cluster: Cluster, curve: CurveName, mechanism: Mechanism, hash_cls: type[hashes.HashAlgorithm]
) -> None:
    """Engine ECDSA (raw r||s) verifies in pyca; pyca signatures verify in the engine."""
    pub, priv = cluster.alice.generate_key_pair(
        Mechanism.EC_KEY_PAIR_GEN,
        {A.EC_PARAMS: ec_params_for_curve(curve)},
        {},
    )
    spki = serialization.load_der_public_key(cluster.alice.export_public_key(pub))
    assert isinstance(spki, ec.EllipticCurvePublicKey)
    raw = cluster.alice.sign(priv, mechanism, b"message")
    half = len(raw) // 2
    der = encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))
    spki.verify(der, b"message", ec.ECDSA(hash_cls()))

    theirs = ec.generate_private_key(spki.curve)
    imported = cluster.alice.create_object(
        {
            A.CLASS: ObjectClass.PUBLIC_KEY,
            A.KEY_TYPE: KeyType.EC,
            A.EC_PARAMS: ec_params_for_curve(curve),
            A.EC_POINT: ec_point(theirs.public_key()),
        }
    )
    r, s = decode_dss_signature(theirs.sign(b"from pyca", ec.ECDSA(hash_cls())))
    sig = r.to_bytes(half, "big") + s.to_bytes(half, "big")
    cluster.alice.verify(imported, mechanism, b"from pyca", sig)
    with pytest.raises(SignatureInvalid):
        cluster.alice.verify(imported, mechanism, b"from pyca!", sig)


def test_rsa_pss_both_ways(cluster: Cluster) -> None:
    """Engine RSA-PSS signatures verify in pyca, and pyca's verify in the engine."""
    pub, priv = cluster.alice.generate_key_pair(
        Mechanism.RSA_PKCS_KEY_PAIR_GEN, {A.MODULUS_BITS: 2048}, {}
    )
    spki = serialization.load_der_public_key(cluster.alice.export_public_key(pub))
    assert isinstance(spki, rsa.RSAPublicKey)
    sig = cluster.alice.sign(priv, Mechanism.SHA256_RSA_PKCS_PSS, b"message")
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    spki.verify(sig, b"message", pss, hashes.SHA256())

    theirs = rsa.generate_private_key(65537, 3072)
    numbers = theirs.public_key().public_numbers()
    imported = cluster.alice.create_object(
        {
            A.CLASS: ObjectClass.PUBLIC_KEY,
            A.KEY_TYPE: KeyType.RSA,
            A.MODULUS: _int_bytes(numbers.n),
            A.PUBLIC_EXPONENT: _int_bytes(numbers.e),
        }
    )
    pyca_sig = theirs.sign(b"from pyca", pss, hashes.SHA256())
    cluster.alice.verify(imported, Mechanism.SHA256_RSA_PKCS_PSS, b"from pyca", pyca_sig)
    cluster.alice.verify(
        imported, Mechanism.SHA256_RSA_PKCS_PSS, b"from pyca", pyca_sig, PSSParams("SHA256", 32)
    )
    with pytest.raises(SignatureInvalid):
        cluster.alice.verify(imported, Mechanism.SHA256_RSA_PKCS_PSS, b"tampered", pyca_sig)


def test_rsa_private_key_import_from_components(cluster: Cluster) -> None:
    """An RSA private key imported as PKCS#11 components signs what pyca verifies."""
    theirs = rsa.generate_private_key(65537, 2048)
    n = theirs.private_numbers()
    priv = cluster.alice.create_object(
        {
            A.CLASS: ObjectClass.PRIVATE_KEY,
            A.KEY_TYPE: KeyType.RSA,
            A.MODULUS: _int_bytes(n.public_numbers.n),
            A.PUBLIC_EXPONENT: _int_bytes(n.public_numbers.e),
            A.PRIVATE_EXPONENT: _int_bytes(n.d),
            A.PRIME_1: _int_bytes(n.p),
            A.PRIME_2: _int_bytes(n.q),
            A.EXPONENT_1: _int_bytes(n.dmp1),
            A.EXPONENT_2: _int_bytes(n.dmq1),
            A.COEFFICIENT: _int_bytes(n.iqmp),
        }
    )
    sig = cluster.alice.sign(priv, Mechanism.SHA256_RSA_PKCS, b"imported")
    theirs.public_key().verify(sig, b"imported", padding.PKCS1v15(), hashes.SHA256())


def test_ec_private_key_import(cluster: Cluster) -> None:
    """An EC private key imported by value signs what pyca verifies."""
    theirs = ec.generate_private_key(ec.SECP256R1())
    priv = cluster.alice.create_object(
        {
            A.CLASS: ObjectClass.PRIVATE_KEY,
            A.KEY_TYPE: KeyType.EC,
            A.EC_PARAMS: P256,
            A.VALUE: theirs.private_numbers().private_value.to_bytes(32, "big"),
        }
    )
    raw = cluster.alice.sign(priv, Mechanism.ECDSA_SHA256, b"imported")
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    theirs.public_key().verify(der, b"imported", ec.ECDSA(hashes.SHA256()))


def test_ed25519_both_ways(cluster: Cluster) -> None:
    """Ed25519 signatures cross in both directions."""
    pub, priv = cluster.alice.generate_key_pair(
        Mechanism.EC_EDWARDS_KEY_PAIR_GEN, {A.EC_PARAMS: ec_params_for_curve("ed25519")}, {}
    )
    spki = serialization.load_der_public_key(cluster.alice.export_public_key(pub))
    assert isinstance(spki, ed25519.Ed25519PublicKey)
    spki.verify(cluster.alice.sign(priv, Mechanism.EDDSA, b"m"), b"m")
    theirs = ed25519.Ed25519PrivateKey.generate()
    imported = cluster.alice.create_object(
        {
            A.CLASS: ObjectClass.PUBLIC_KEY,
            A.KEY_TYPE: KeyType.EC_EDWARDS,
            A.EC_PARAMS: ec_params_for_curve("ed25519"),
            A.EC_POINT: ec_point(theirs.public_key()),
        }
    )
    cluster.alice.verify(imported, Mechanism.EDDSA, b"m", theirs.sign(b"m"))


def test_hmac_matches_pyca(cluster: Cluster) -> None:
    """HMAC-SHA-256 over an imported generic secret equals pyca's."""
    from cryptography.hazmat.primitives import hmac

    value = os.urandom(48)
    key = cluster.alice.create_object(
        {A.CLASS: ObjectClass.SECRET_KEY, A.KEY_TYPE: KeyType.GENERIC_SECRET, A.VALUE: value}
    )
    mac = hmac.HMAC(value, hashes.SHA256())
    mac.update(b"data")
    expected = mac.finalize()
    assert cluster.alice.sign(key, Mechanism.SHA256_HMAC, b"data") == expected
    cluster.alice.verify(key, Mechanism.SHA256_HMAC, b"data", expected)
    with pytest.raises(SignatureInvalid):
        cluster.alice.verify(
            key, Mechanism.SHA256_HMAC, b"data", expected[:-1] + bytes([expected[-1] ^ 1])
        )

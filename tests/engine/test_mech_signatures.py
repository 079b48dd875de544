"""Signature and MAC mechanisms against pyca/cryptography both ways, single- and multi-part."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from cryptography.hazmat.primitives import cmac, hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils
from cryptography.hazmat.primitives.ciphers import algorithms
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.constants import Attribute, Mechanism
from strongroom.crypto.asymmetric import ec_params_for_curve
from strongroom.engine import EdDSAParams, PSSParams
from strongroom.errors import (
    DataLenRange,
    MechanismInvalid,
    MechanismParamInvalid,
    SignatureInvalid,
)

from .mech_keys import Keys, make_keys

M = Mechanism
H: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "SHA1": hashes.SHA1,
    "SHA224": hashes.SHA224,
    "SHA256": hashes.SHA256,
    "SHA384": hashes.SHA384,
    "SHA512": hashes.SHA512,
}


@pytest.fixture(scope="module")
def keys() -> Iterator[Keys]:
    """One HSM with known keys for the whole module."""
    yield from make_keys()


def _digest(name: str, data: bytes) -> bytes:
    h = hashes.Hash(H[name]())
    h.update(data)
    return h.finalize()


HMACS = {
    M.SHA_1_HMAC: "SHA1",
    M.SHA224_HMAC: "SHA224",
    M.SHA256_HMAC: "SHA256",
    M.SHA384_HMAC: "SHA384",
    M.SHA512_HMAC: "SHA512",
}


@pytest.mark.parametrize(("mechanism", "hash_name"), HMACS.items())
def test_hmac_matches_pyca(keys: Keys, mechanism: Mechanism, hash_name: str) -> None:
    """Every HMAC's tag equals pyca's and verifies; a changed tag does not."""
    data = os.urandom(100)
    mac = hmac.HMAC(keys.generic.value, H[hash_name]())
    mac.update(data)
    expected = mac.finalize()
    assert keys.alice.sign(keys.generic.handle, mechanism, data) == expected
    keys.alice.verify(keys.generic.handle, mechanism, data, expected)
    with pytest.raises(SignatureInvalid):
        keys.alice.verify(
            keys.generic.handle, mechanism, data, expected[:-1] + bytes([expected[-1] ^ 1])
        )


def test_cmac_matches_pyca(keys: Keys) -> None:
    """AES-CMAC's tag equals pyca's for every AES key size, and verifies."""
    for key in keys.aes.values():
        mac = cmac.CMAC(algorithms.AES(key.value))
        mac.update(b"cmac me")
        expected = mac.finalize()
        assert keys.alice.sign(key.handle, M.AES_CMAC, b"cmac me") == expected
        keys.alice.verify(key.handle, M.AES_CMAC, b"cmac me", expected)
        with pytest.raises(SignatureInvalid):
            keys.alice.verify(key.handle, M.AES_CMAC, b"cmac me!", expected)


ECDSA = {
    M.ECDSA_SHA1: "SHA1",
    M.ECDSA_SHA224: "SHA224",
    M.ECDSA_SHA256: "SHA256",
    M.ECDSA_SHA384: "SHA384",
    M.ECDSA_SHA512: "SHA512",
}
CURVES = ["secp224r1", "secp256r1", "secp384r1", "secp521r1", "secp256k1"]


def _raw(der: bytes, size: int) -> bytes:
    r, s = utils.decode_dss_signature(der)
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def _der(raw: bytes) -> bytes:
    half = len(raw) // 2
    return utils.encode_dss_signature(
        int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
    )


@pytest.mark.parametrize("curve", CURVES)
@pytest.mark.parametrize(("mechanism", "hash_name"), ECDSA.items())
def test_ecdsa_both_ways(keys: Keys, curve: str, mechanism: Mechanism, hash_name: str) -> None:
    """Hashed ECDSA on every curve: engine signatures verify in pyca and pyca's in the engine."""
    pair = keys.ec[curve]
    private = pair.private
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    size = (private.curve.key_size + 7) // 8
    ours = keys.alice.sign(pair.private_handle, mechanism, b"msg")
    private.public_key().verify(_der(ours), b"msg", ec.ECDSA(H[hash_name]()))
    theirs = _raw(private.sign(b"pyca", ec.ECDSA(H[hash_name]())), size)
    keys.alice.verify(pair.public_handle, mechanism, b"pyca", theirs)
    with pytest.raises(SignatureInvalid):
        keys.alice.verify(pair.public_handle, mechanism, b"pyca?", theirs)


@pytest.mark.parametrize("hash_name", ["SHA1", "SHA224", "SHA256", "SHA384", "SHA512"])
def test_raw_ecdsa_signs_a_digest(keys: Keys, hash_name: str) -> None:
    """CKM_ECDSA signs the caller's digest; pyca verifies it as Prehashed."""
    pair = keys.ec["secp384r1"]
    private = pair.private
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    digest = _digest(hash_name, b"prehashed")
    ours = keys.alice.sign(pair.private_handle, M.ECDSA, digest)
    algorithm = ec.ECDSA(utils.Prehashed(H[hash_name]()))
    private.public_key().verify(_der(ours), digest, algorithm)
    keys.alice.verify(pair.public_handle, M.ECDSA, digest, ours)


PKCS1 = {
    M.SHA1_RSA_PKCS: "SHA1",
    M.SHA224_RSA_PKCS: "SHA224",
    M.SHA256_RSA_PKCS: "SHA256",
    M.SHA384_RSA_PKCS: "SHA384",
    M.SHA512_RSA_PKCS: "SHA512",
}
PSS = {
    M.SHA1_RSA_PKCS_PSS: "SHA1",
    M.SHA224_RSA_PKCS_PSS: "SHA224",
    M.SHA256_RSA_PKCS_PSS: "SHA256",
    M.SHA384_RSA_PKCS_PSS: "SHA384",
    M.SHA512_RSA_PKCS_PSS: "SHA512",
}


@pytest.mark.parametrize(("mechanism", "hash_name"), PKCS1.items())
def test_rsa_pkcs1_both_ways(keys: Keys, mechanism: Mechanism, hash_name: str) -> None:
    """Hashed PKCS#1 v1.5 signatures equal pyca's (they are deterministic) and verify."""
    private = keys.rsa.private
    assert isinstance(private, rsa.RSAPrivateKey)
    ours = keys.alice.sign(keys.rsa.private_handle, mechanism, b"msg")
    assert ours == private.sign(b"msg", padding.PKCS1v15(), H[hash_name]())
    keys.alice.verify(keys.rsa.public_handle, mechanism, b"msg", ours)
    with pytest.raises(SignatureInvalid):
        keys.alice.verify(keys.rsa.public_handle, mechanism, b"msg2", ours)


@pytest.mark.parametrize(("mechanism", "hash_name"), PSS.items())
@pytest.mark.parametrize("salt", [None, 0, 20])
def test_rsa_pss_both_ways(
    keys: Keys, mechanism: Mechanism, hash_name: str, salt: int | None
) -> None:
    """Hashed PSS with any salt length verifies in pyca, and pyca's in the engine."""
    private = keys.rsa.private
    assert isinstance(private, rsa.RSAPrivateKey)
    params = PSSParams(hash_name, salt)  # type: ignore[arg-type]
    salt_length = H[hash_name]().digest_size if salt is None else salt
    pss = padding.PSS(padding.MGF1(H[hash_name]()), salt_length)
    ours = keys.alice.sign(keys.rsa.private_handle, mechanism, b"msg", params)
    private.public_key().verify(ours, b"msg", pss, H[hash_name]())
    theirs = private.sign(b"pyca", pss, H[hash_name]())
    keys.alice.verify(keys.rsa.public_handle, mechanism, b"pyca", theirs, params)


def test_pss_params_must_name_the_mechanism_hash(keys: Keys) -> None:
    """SHA256-RSA-PKCS-PSS with parameters naming SHA-384 is MECHANISM_PARAM_INVALID."""
    with pytest.raises(MechanismParamInvalid):
        keys.alice.sign(keys.rsa.private_handle, M.SHA256_RSA_PKCS_PSS, b"m", PSSParams("SHA384"))


def test_raw_pss_signs_a_digest(keys: Keys) -> None:
    """CKM_RSA_PKCS_PSS signs the caller's digest under the hash its parameters name."""
    private = keys.rsa.private
    assert isinstance(private, rsa.RSAPrivateKey)
    digest = _digest("SHA384", b"m")
    sig = keys.alice.sign(keys.rsa.private_handle, M.RSA_PKCS_PSS, digest, PSSParams("SHA384"))
    pss = padding.PSS(padding.MGF1(hashes.SHA384()), 48)
    private.public_key().verify(sig, digest, pss, utils.Prehashed(hashes.SHA384()))


def test_raw_rsa_pkcs_signs_a_digest_info(keys: Keys) -> None:
    """CKM_RSA_PKCS signs caller-built DigestInfo: equal to pyca's hashed PKCS#1 signature."""
    private = keys.rsa.private
    assert isinstance(private, rsa.RSAPrivateKey)
    prefix = bytes.fromhex("3031300d060960864801650304020105000420")  # RFC 8017 §9.2 SHA-256
    digest_info = prefix + _digest("SHA256", b"msg")
    ours = keys.alice.sign(keys.rsa.private_handle, M.RSA_PKCS, digest_info)
    assert ours == private.sign(b"msg", padding.PKCS1v15(), hashes.SHA256())
    keys.alice.verify(keys.rsa.public_handle, M.RSA_PKCS, digest_info, ours)
    with pytest.raises(DataLenRange):
        keys.alice.sign(keys.rsa.private_handle, M.RSA_PKCS, bytes(2048 // 8 - 10))


def test_eddsa_both_ways(keys: Keys) -> None:
    """Pure Ed25519 signatures equal pyca's (deterministic) and pyca's verify in the engine."""
    private = keys.ed25519.private
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    ours = keys.alice.sign(keys.ed25519.private_handle, M.EDDSA, b"msg")
    assert ours == private.sign(b"msg")
    keys.alice.verify(keys.ed25519.public_handle, M.EDDSA, b"msg", ours, EdDSAParams())
    with pytest.raises(SignatureInvalid):
        keys.alice.verify(keys.ed25519.public_handle, M.EDDSA, b"msg!", ours)


def test_ed25519ph_is_refused_clearly(keys: Keys) -> None:
    """Asking for Ed25519ph or Ed25519ctx fails with MECHANISM_PARAM_INVALID naming why."""
    with pytest.raises(MechanismParamInvalid, match="Ed25519ph"):
        EdDSAParams(prehash=True)
    with pytest.raises(MechanismParamInvalid, match="Ed25519ph"):
        EdDSAParams(context=b"ctx")
    with pytest.raises(MechanismParamInvalid):
        keys.alice.sign(keys.ed25519.private_handle, M.EDDSA, b"m", PSSParams())


STREAMING = [
    (M.SHA256_HMAC, "generic", None),
    (M.SHA512_HMAC, "generic", None),
    (M.AES_CMAC, "aes", None),
    (M.ECDSA_SHA256, "ec", None),
    (M.ECDSA_SHA384, "ec", None),
    (M.SHA256_RSA_PKCS, "rsa", None),
    (M.SHA1_RSA_PKCS, "rsa", None),
    (M.SHA384_RSA_PKCS_PSS, "rsa", PSSParams("SHA384")),
]


def _handles(keys: Keys, kind: str) -> tuple[int, int]:
    if kind == "generic":
        return keys.generic.handle, keys.generic.handle
    if kind == "aes":
        return keys.aes[32].handle, keys.aes[32].handle
    if kind == "ec":
        pair = keys.ec["secp256r1"]
        return pair.private_handle, pair.public_handle
    return keys.rsa.private_handle, keys.rsa.public_handle


@settings(max_examples=15, deadline=None)
@given(data=st.binary(max_size=400), cut=st.integers(0, 400))
@pytest.mark.parametrize(("mechanism", "kind", "params"), STREAMING)
def test_multi_part_signatures_equal_single_part(
    keys: Keys, mechanism: Mechanism, kind: str, params: object, data: bytes, cut: int
) -> None:
    """A multi-part signature verifies single-part and vice versa; MACs are identical."""
    signer, verifier = _handles(keys, kind)
    s = keys.alice
    s.sign_init(signer, mechanism, params)
    s.sign_update(data[:cut])
    s.sign_update(data[cut:])
    streamed = s.sign_final()
    s.verify(verifier, mechanism, data, streamed, params)
    single = s.sign(signer, mechanism, data, params)
    s.verify_init(verifier, mechanism, params)
    s.verify_update(data[:cut])
    s.verify_update(data[cut:])
    s.verify_final(single)
    if kind in ("generic", "aes") or mechanism is M.SHA256_RSA_PKCS:
        assert streamed == single
    s.verify_init(verifier, mechanism, params)
    s.verify_update(data + b"x")
    with pytest.raises(SignatureInvalid):
        s.verify_final(single)


@pytest.mark.parametrize("mechanism", [M.ECDSA, M.RSA_PKCS_PSS, M.RSA_PKCS, M.EDDSA])
def test_raw_signature_mechanisms_are_single_part(keys: Keys, mechanism: Mechanism) -> None:
    """Mechanisms over caller-supplied digests, and EdDSA, have no multi-part form."""
    handle = {
        M.ECDSA: keys.ec["secp256r1"].private_handle,
        M.EDDSA: keys.ed25519.private_handle,
    }.get(mechanism, keys.rsa.private_handle)
    with pytest.raises(MechanismInvalid):
        keys.alice.sign_init(handle, mechanism)


@pytest.mark.parametrize("curve", CURVES)
def test_ec_key_generation_on_every_curve(keys: Keys, curve: str) -> None:
    """EC_KEY_PAIR_GEN makes keys on each curve whose ECDSA signatures pyca verifies."""
    s = keys.alice
    pub, priv = s.generate_key_pair(
        M.EC_KEY_PAIR_GEN,
        {Attribute.EC_PARAMS: ec_params_for_curve(curve)},  # type: ignore[arg-type]
        {},
    )
    public = serialization.load_der_public_key(s.export_public_key(pub))
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert public.curve.name == curve
    public.verify(_der(s.sign(priv, M.ECDSA_SHA256, b"m")), b"m", ec.ECDSA(hashes.SHA256()))


@pytest.mark.parametrize("mechanism", [M.RSA_PKCS_KEY_PAIR_GEN, M.RSA_X9_31_KEY_PAIR_GEN])
def test_rsa_key_generation_mechanisms(keys: Keys, mechanism: Mechanism) -> None:
    """Both RSA key-pair mechanisms make 2048-bit keys that record how they were made."""
    s = keys.alice
    pub, priv = s.generate_key_pair(mechanism, {Attribute.MODULUS_BITS: 2048}, {})
    assert s.get_attributes(priv, [Attribute.KEY_GEN_MECHANISM]) == {
        Attribute.KEY_GEN_MECHANISM: mechanism
    }
    public = serialization.load_der_public_key(s.export_public_key(pub))
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.key_size == 2048
    sig = s.sign(priv, M.SHA256_RSA_PKCS, b"m")
    public.verify(sig, b"m", padding.PKCS1v15(), hashes.SHA256())

"""Refusals across mechanisms: unknown or misused mechanisms, wrong key types, usage flags
off, and FIPS mode's approved set — each with its stable error code."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from strongroom.constants import Attribute, KeyType, Mechanism, ObjectClass
from strongroom.crypto.asymmetric import ec_params_for_curve
from strongroom.engine import GCMParams, OAEPParams
from strongroom.engine.mechanisms.registry import Function, default_registry
from strongroom.errors import (
    KeyFunctionNotPermitted,
    KeyTypeInconsistent,
    MechanismInvalid,
    MechanismNotApproved,
    StrongroomError,
)
from strongroom.testing import MemoryStore

from .engine_helpers import Cluster, build
from .mech_keys import Keys, make_keys

A = Attribute
M = Mechanism


@pytest.fixture(scope="module")
def keys() -> Iterator[Keys]:
    """One HSM with known keys for the whole module."""
    yield from make_keys()


@pytest.mark.parametrize("mechanism", [0x7FFF_FFFF, -1, "AES_GCM", None, 3.0, M.RSA_X_509])
def test_unknown_mechanisms_are_mechanism_invalid(keys: Keys, mechanism: object) -> None:
    """Numbers nobody registered, and non-numbers, are MECHANISM_INVALID (default-deny)."""
    with pytest.raises(MechanismInvalid):
        keys.alice.encrypt(keys.aes[16].handle, mechanism, b"x")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "why"),
    [
        (lambda k: k.alice.encrypt(k.aes[16].handle, M.SHA256, b"x"), "digest as encrypt"),
        (lambda k: k.alice.sign(k.aes[16].handle, M.AES_GCM, b"x"), "GCM as sign"),
        (lambda k: k.alice.digest(M.AES_CMAC, b"x"), "CMAC as digest"),
        (lambda k: k.alice.wrap_key(M.AES_CBC, k.aes[16].handle, k.aes[24].handle), "CBC wrap"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_mechanisms_do_only_their_functions(
    keys: Keys, call: Callable[[Keys], object], why: str
) -> None:
    """A registered mechanism used for a function it does not do is MECHANISM_INVALID."""
    with pytest.raises(MechanismInvalid):
        call(keys)


@pytest.mark.parametrize(
    ("call", "why"),
    [
        (lambda k: k.alice.encrypt(k.generic.handle, M.AES_GCM, b"x", GCMParams()), "GCM/generic"),
        (lambda k: k.alice.sign(k.rsa.private_handle, M.ECDSA_SHA256, b"x"), "ECDSA/RSA"),
        (
            lambda k: k.alice.sign(k.ec["secp256r1"].private_handle, M.SHA256_RSA_PKCS, b"x"),
            "RSA/EC",
        ),
        (lambda k: k.alice.sign(k.ec["secp256r1"].private_handle, M.SHA256_HMAC, b"x"), "HMAC/EC"),
        (lambda k: k.alice.sign(k.generic.handle, M.AES_CMAC, b"x"), "CMAC/generic"),
        (lambda k: k.alice.sign(k.ed25519.private_handle, M.ECDSA_SHA256, b"x"), "ECDSA/Ed"),
        (lambda k: k.alice.encrypt(k.aes[16].handle, M.RSA_PKCS_OAEP, b"x"), "OAEP/AES"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_wrong_key_type_is_key_type_inconsistent(
    keys: Keys, call: Callable[[Keys], object], why: str
) -> None:
    """A mechanism given a key of a type it does not take is KEY_TYPE_INCONSISTENT."""
    with pytest.raises(KeyTypeInconsistent):
        call(keys)


USAGE_CASES: list[tuple[Attribute, Callable[[Cluster, int], object]]] = [
    (A.ENCRYPT, lambda c, h: c.alice.encrypt(h, M.AES_ECB, bytes(16))),
    (A.DECRYPT, lambda c, h: c.alice.decrypt(h, M.AES_CBC_PAD, bytes(16), bytes(16))),
    (A.SIGN, lambda c, h: c.alice.sign(h, M.AES_CMAC, b"x")),
    (A.VERIFY, lambda c, h: c.alice.verify(h, M.AES_CMAC, b"x", bytes(16))),
    (A.ENCRYPT, lambda c, h: c.alice.encrypt_init(h, M.AES_CTR, None)),
    (A.SIGN, lambda c, h: c.alice.sign_init(h, M.AES_CMAC)),
    (
        A.DERIVE,
        lambda c, h: c.alice.derive_key(
            M.HKDF_DERIVE, h, {A.KEY_TYPE: KeyType.GENERIC_SECRET, A.VALUE_LEN: 16}
        ),
    ),
]


@pytest.mark.parametrize(("usage", "call"), USAGE_CASES, ids=lambda v: getattr(v, "name", ""))
def test_usage_attribute_false_is_key_function_not_permitted(
    cluster: Cluster, usage: Attribute, call: Callable[[Cluster, int], object]
) -> None:
    """With the usage attribute off, the operation is KEY_FUNCTION_NOT_PERMITTED."""
    key = cluster.alice.generate_key(M.AES_KEY_GEN, {A.VALUE_LEN: 16, usage: False})
    with pytest.raises(KeyFunctionNotPermitted):
        call(cluster, key)


def test_rsa_public_key_cannot_decrypt(keys: Keys) -> None:
    """Decrypting with a public key (no DECRYPT attribute) is KEY_FUNCTION_NOT_PERMITTED."""
    with pytest.raises(KeyFunctionNotPermitted):
        keys.alice.decrypt(keys.rsa.public_handle, M.RSA_PKCS_OAEP, bytes(256), OAEPParams())


# --- FIPS mode -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fips() -> Iterator[Cluster]:
    """An HSM in FIPS mode."""
    cluster = build(MemoryStore(), fips_mode=True)
    yield cluster
    cluster.hsm.close()


REGISTRY = default_registry()
FUNCTIONS = [f for f in Function if f]
LOOKUPS = [
    (entry.mechanism, function)
    for entry in REGISTRY
    for function in FUNCTIONS
    if entry.functions & function
]


@pytest.mark.parametrize(("mechanism", "function"), LOOKUPS, ids=str)
def test_fips_gate_follows_the_registry_flags(mechanism: Mechanism, function: Function) -> None:
    """In FIPS mode a mechanism runs a function exactly when its entry approves it."""
    entry = REGISTRY.lookup(mechanism, function, fips=False)
    if entry.approved_for(function):
        assert REGISTRY.lookup(mechanism, function, fips=True) is entry
    else:
        with pytest.raises(MechanismNotApproved):
            REGISTRY.lookup(mechanism, function, fips=True)


EXPECTED_NOT_APPROVED = {
    (M.EDDSA, Function.SIGN),
    (M.EC_EDWARDS_KEY_PAIR_GEN, Function.GENERATE_KEY_PAIR),
    (M.ECDSA_SHA1, Function.SIGN),
    (M.SHA1_RSA_PKCS, Function.SIGN),
    (M.SHA1_RSA_PKCS_PSS, Function.SIGN),
    (M.RSA_PKCS, Function.ENCRYPT),
    (M.RSA_PKCS, Function.WRAP),
}


@pytest.mark.parametrize(("mechanism", "function"), sorted(EXPECTED_NOT_APPROVED), ids=str)
def test_known_non_approved_uses(mechanism: Mechanism, function: Function) -> None:
    """SHA-1 signing, Ed25519 and PKCS#1 v1.5 encryption are refused in FIPS mode."""
    assert not REGISTRY.lookup(mechanism, function, fips=False).approved_for(function)


def test_fips_hsm_refuses_and_allows_by_function(fips: Cluster) -> None:
    """A FIPS HSM verifies SHA-1 ECDSA but will not sign with it; PKCS#1 v1.5 signs only."""
    s = fips.alice
    _, priv = s.generate_key_pair(
        M.EC_KEY_PAIR_GEN, {A.EC_PARAMS: ec_params_for_curve("secp256r1")}, {}
    )
    with pytest.raises(MechanismNotApproved):
        s.sign(priv, M.ECDSA_SHA1, b"m")
    with pytest.raises(MechanismNotApproved):
        s.sign_init(priv, M.ECDSA_SHA1)
    non_fips = build(MemoryStore())
    try:
        # a SHA-1 signature made elsewhere still verifies in FIPS mode (legacy use)
        other_pub, other_priv = non_fips.alice.generate_key_pair(
            M.EC_KEY_PAIR_GEN, {A.EC_PARAMS: ec_params_for_curve("secp256r1")}, {}
        )
        point = non_fips.alice.get_attributes(other_pub, [A.EC_POINT])[A.EC_POINT]
        sig = non_fips.alice.sign(other_priv, M.ECDSA_SHA1, b"legacy")
    finally:
        non_fips.hsm.close()
    imported = s.create_object(
        {
            A.CLASS: ObjectClass.PUBLIC_KEY,
            A.KEY_TYPE: KeyType.EC,
            A.EC_PARAMS: ec_params_for_curve("secp256r1"),
            A.EC_POINT: point,
        }
    )
    s.verify(imported, M.ECDSA_SHA1, b"legacy", sig)
    rsa_pub, rsa_priv = s.generate_key_pair(M.RSA_PKCS_KEY_PAIR_GEN, {A.MODULUS_BITS: 2048}, {})
    with pytest.raises(MechanismNotApproved):
        s.encrypt(rsa_pub, M.RSA_PKCS, b"m")
    digest_info = bytes.fromhex("3031300d060960864801650304020105000420") + bytes(32)
    s.verify(rsa_pub, M.RSA_PKCS, digest_info, s.sign(rsa_priv, M.RSA_PKCS, digest_info))
    assert s.decrypt(rsa_priv, M.RSA_PKCS_OAEP, s.encrypt(rsa_pub, M.RSA_PKCS_OAEP, b"ok")) == b"ok"


def test_every_refusal_carries_a_stable_code(keys: Keys) -> None:
    """Refusals are StrongroomErrors whose code is one of the documented constants."""
    with pytest.raises(StrongroomError) as info:
        keys.alice.encrypt(keys.generic.handle, M.AES_GCM, b"x")
    assert info.value.code == "KEY_TYPE_INCONSISTENT"

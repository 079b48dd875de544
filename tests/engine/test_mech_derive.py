"""Key derivation: ECDH1_DERIVE, the SP 800-108 counter KDF and HKDF against pyca, and the rules.

Derived keys never leave the HSM in the clear, so each derived value is checked by using it:
an AES key encrypts with AES-GCM (caller IV) and pyca decrypts with the key pyca derived; a
generic secret MACs with HMAC-SHA256 and pyca computes the same MAC.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator, Mapping
from typing import NamedTuple

import pytest
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand
from cryptography.hazmat.primitives.kdf.kbkdf import KBKDFCMAC, KBKDFHMAC, CounterLocation, Mode
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.constants import Attribute, KeyType, Mechanism, ObjectClass
from strongroom.crypto.asymmetric import ec_params_for_curve, ec_point
from strongroom.engine import ECDH1DeriveParams, GCMParams, HKDFParams, Session, SP800108Params
from strongroom.errors import (
    ArgumentsBad,
    KeyFunctionNotPermitted,
    KeySizeRange,
    KeyTypeInconsistent,
    MechanismNotApproved,
    MechanismParamInvalid,
    NotKeyOwner,
    ObjectHandleInvalid,
    StrongroomError,
    TemplateIncomplete,
    TemplateInconsistent,
)
from strongroom.model.params import ECDHKDF, KBKDFPRF
from strongroom.testing import MemoryStore

from .engine_helpers import Cluster, build
from .mech_keys import CURVES, Keys, import_secret, make_keys

A = Attribute
M = Mechanism
IV = bytes(range(12))
SHARED_INFO = b"strongroom ecdh shared info"
HASHES: dict[str, hashes.HashAlgorithm] = {
    "SHA1": hashes.SHA1(),
    "SHA224": hashes.SHA224(),
    "SHA256": hashes.SHA256(),
    "SHA384": hashes.SHA384(),
    "SHA512": hashes.SHA512(),
}
ECDH_KDFS: list[ECDHKDF] = [
    "NULL",
    "SHA1",
    "SHA224",
    "SHA256",
    "SHA384",
    "SHA512",
    "HKDF-SHA256",
    "HKDF-SHA384",
    "HKDF-SHA512",
]


@pytest.fixture(scope="module")
def keys() -> Iterator[Keys]:
    """One HSM with alice's known keys for the whole module."""
    yield from make_keys()


def template(key_type: KeyType, length: int, **extra: object) -> dict[Attribute, object]:
    """A derive template: a secret key of ``key_type`` and ``length`` bytes."""
    t: dict[Attribute, object] = {
        A.CLASS: ObjectClass.SECRET_KEY,
        A.KEY_TYPE: key_type,
        A.VALUE_LEN: length,
    }
    return t | {Attribute[k.upper()]: v for k, v in extra.items()}


def assert_holds(s: Session, handle: int, key_type: KeyType, value: bytes) -> None:
    """The derived key ``handle`` is ``value``: it encrypts (AES) or MACs (generic) like pyca."""
    assert s.get_attributes(handle, [A.VALUE_LEN])[A.VALUE_LEN] == len(value)
    if key_type is KeyType.AES:
        sealed = s.encrypt(handle, M.AES_GCM, b"derived", GCMParams(IV, b"aad"))
        assert AESGCM(value).decrypt(IV, sealed, b"aad") == b"derived"
    else:
        mac = hmac.HMAC(value, hashes.SHA256())
        mac.update(b"derived")
        assert s.sign(handle, M.SHA256_HMAC, b"derived") == mac.finalize()


# --- ECDH1_DERIVE ---------------------------------------------------------------------------


def pyca_ecdh(
    peer: ec.EllipticCurvePrivateKey,
    ours: ec.EllipticCurvePublicKey,
    kdf: ECDHKDF,
    length: int,
    shared_info: bytes,
) -> bytes:
    """The key pyca derives on the peer's side of the exchange."""
    z = peer.exchange(ec.ECDH(), ours)
    if kdf == "NULL":
        return z[:length]
    if kdf.startswith("HKDF-"):
        algorithm = HASHES[kdf.removeprefix("HKDF-")]
        return HKDF(algorithm, length, salt=None, info=shared_info).derive(z)
    return X963KDF(HASHES[kdf], length, sharedinfo=shared_info).derive(z)


def sec1(public: ec.EllipticCurvePublicKey, *, compressed: bool = False) -> bytes:
    """A public point as bare SEC 1 bytes."""
    fmt = (
        serialization.PublicFormat.CompressedPoint
        if compressed
        else serialization.PublicFormat.UncompressedPoint
    )
    return public.public_bytes(serialization.Encoding.X962, fmt)


@pytest.mark.parametrize("key_type", [KeyType.AES, KeyType.GENERIC_SECRET], ids=["aes", "generic"])
@pytest.mark.parametrize("encoding", ["raw", "der"])
@pytest.mark.parametrize("kdf", ECDH_KDFS)
@pytest.mark.parametrize("curve", list(CURVES))
def test_ecdh_matches_pyca(
    keys: Keys, curve: str, kdf: ECDHKDF, encoding: str, key_type: KeyType
) -> None:
    """ECDH with every KDF, on every curve, with either point encoding, derives pyca's key."""
    s = keys.alice
    pair = keys.ec[curve]
    assert isinstance(pair.private, ec.EllipticCurvePrivateKey)
    peer = ec.generate_private_key(CURVES[curve])
    point = sec1(peer.public_key()) if encoding == "raw" else ec_point(peer.public_key())
    shared_info = b"" if kdf == "NULL" else SHARED_INFO
    # NULL hands out the shared secret's leading bytes: P-224's has only 28 of them.
    length = (16 if key_type is KeyType.AES else 20) if kdf == "NULL" else 32
    if key_type is KeyType.GENERIC_SECRET and kdf != "NULL":
        length = 100  # several X9.63 / HKDF blocks for every hash
    handle = s.derive_key(
        M.ECDH1_DERIVE,
        pair.private_handle,
        template(key_type, length),
        ECDH1DeriveParams(point, kdf, shared_info),
    )
    expected = pyca_ecdh(peer, pair.private.public_key(), kdf, length, shared_info)
    assert_holds(s, handle, key_type, expected)


def test_ecdh_accepts_a_compressed_point(keys: Keys) -> None:
    """The peer's point may also be given compressed (SEC 1 §2.3.3)."""
    pair = keys.ec["secp384r1"]
    assert isinstance(pair.private, ec.EllipticCurvePrivateKey)
    peer = ec.generate_private_key(ec.SECP384R1())
    handle = keys.alice.derive_key(
        M.ECDH1_DERIVE,
        pair.private_handle,
        template(KeyType.AES, 32),
        ECDH1DeriveParams(sec1(peer.public_key(), compressed=True), "SHA384"),
    )
    expected = pyca_ecdh(peer, pair.private.public_key(), "SHA384", 32, b"")
    assert_holds(keys.alice, handle, KeyType.AES, expected)


def test_ecdh_null_kdf_cannot_outgrow_the_shared_secret(keys: Keys) -> None:
    """With the NULL KDF a key longer than the shared secret (28 bytes on P-224) is refused."""
    peer = ec.generate_private_key(ec.SECP224R1())
    with pytest.raises(KeySizeRange):
        keys.alice.derive_key(
            M.ECDH1_DERIVE,
            keys.ec["secp224r1"].private_handle,
            template(KeyType.AES, 32),
            ECDH1DeriveParams(sec1(peer.public_key()), "NULL"),
        )


def _off_curve(point: bytes) -> bytes:
    return point[:-1] + bytes([point[-1] ^ 1])


@pytest.mark.parametrize(
    "point",
    [
        sec1(ec.generate_private_key(ec.SECP384R1()).public_key()),
        ec_point(ec.generate_private_key(ec.SECP256K1()).public_key()),
        _off_curve(sec1(ec.generate_private_key(ec.SECP256R1()).public_key())),
        b"\x04" + bytes(64),
        b"garbage",
        b"",
        b"\x04\x41" + bytes(65),
        b"\x00",
    ],
    ids=[
        "p384-point",
        "secp256k1-point",
        "off-curve",
        "zero-point",
        "garbage",
        "empty",
        "bad-der",
        "infinity",
    ],
)
def test_ecdh_refuses_a_bad_peer_point(keys: Keys, point: bytes) -> None:
    """A peer point on another curve, off the curve, or not a point at all is ARGUMENTS_BAD."""
    with pytest.raises(ArgumentsBad):
        keys.alice.derive_key(
            M.ECDH1_DERIVE,
            keys.ec["secp256r1"].private_handle,
            template(KeyType.AES, 32),
            ECDH1DeriveParams(point, "SHA256"),
        )


# --- SP 800-108 counter KDF ----------------------------------------------------------------

KBKDF_PRFS: list[KBKDFPRF] = [
    "HMAC-SHA1",
    "HMAC-SHA224",
    "HMAC-SHA256",
    "HMAC-SHA384",
    "HMAC-SHA512",
    "CMAC-AES",
]


def pyca_kbkdf(prf: KBKDFPRF, key: bytes, label: bytes, context: bytes, length: int) -> bytes:
    """pyca's counter-mode KBKDF: 32-bit counter before label || 0x00 || context || [L]_32."""
    if prf == "CMAC-AES":
        return KBKDFCMAC(
            algorithms.AES,
            Mode.CounterMode,
            length,
            rlen=4,
            llen=4,
            location=CounterLocation.BeforeFixed,
            label=label,
            context=context,
            fixed=None,
        ).derive(key)
    return KBKDFHMAC(
        HASHES[prf.removeprefix("HMAC-")],
        Mode.CounterMode,
        length,
        rlen=4,
        llen=4,
        location=CounterLocation.BeforeFixed,
        label=label,
        context=context,
        fixed=None,
    ).derive(key)


def _kbkdf_bases(prf: KBKDFPRF) -> list[str]:
    return ["aes16", "aes24", "aes32"] if prf == "CMAC-AES" else ["generic", "aes32"]


def base_secret(keys: Keys, name: str) -> tuple[int, bytes]:
    """A known secret base key: handle and value."""
    if name == "generic":
        return keys.generic.handle, keys.generic.value
    pair = keys.aes[int(name.removeprefix("aes"))]
    return pair.handle, pair.value


KBKDF_CASES = [
    (prf, base, key_type, length)
    for prf in KBKDF_PRFS
    for base in _kbkdf_bases(prf)
    for key_type, length in ((KeyType.AES, 32), (KeyType.AES, 16), (KeyType.GENERIC_SECRET, 100))
]


@pytest.mark.parametrize(("prf", "base", "key_type", "length"), KBKDF_CASES)
def test_sp800_108_matches_pyca(
    keys: Keys, prf: KBKDFPRF, base: str, key_type: KeyType, length: int
) -> None:
    """SP800_108_COUNTER_KDF with every PRF derives what pyca's KBKDFHMAC/KBKDFCMAC derives."""
    handle, value = base_secret(keys, base)
    label, context = b"strongroom label", b"context \x00 with a zero"
    derived = keys.alice.derive_key(
        M.SP800_108_COUNTER_KDF,
        handle,
        template(key_type, length),
        SP800108Params(prf, label, context),
    )
    assert_holds(keys.alice, derived, key_type, pyca_kbkdf(prf, value, label, context, length))


@settings(max_examples=30, deadline=None)
@given(
    label=st.binary(max_size=64),
    context=st.binary(max_size=64),
    length=st.integers(min_value=1, max_value=200),
    prf=st.sampled_from(KBKDF_PRFS),
)
def test_sp800_108_any_label_context_and_length(
    keys: Keys, label: bytes, context: bytes, length: int, prf: KBKDFPRF
) -> None:
    """Any label, context and length derive pyca's bytes (generic secrets of 1 to 200 bytes)."""
    handle, value = base_secret(keys, "aes32")
    derived = keys.alice.derive_key(
        M.SP800_108_COUNTER_KDF,
        handle,
        template(KeyType.GENERIC_SECRET, length),
        SP800108Params(prf, label, context),
    )
    expected = pyca_kbkdf(prf, value, label, context, length)
    assert_holds(keys.alice, derived, KeyType.GENERIC_SECRET, expected)


def test_sp800_108_label_and_context_are_separated(keys: Keys) -> None:
    """Moving a byte between label and context changes the key (the 0x00 separator counts)."""
    s = keys.alice
    base = keys.generic.handle
    t = template(KeyType.GENERIC_SECRET, 32)
    one = s.derive_key(M.SP800_108_COUNTER_KDF, base, t, SP800108Params("HMAC-SHA256", b"ab", b"c"))
    two = s.derive_key(M.SP800_108_COUNTER_KDF, base, t, SP800108Params("HMAC-SHA256", b"a", b"bc"))
    assert s.sign(one, M.SHA256_HMAC, b"x") != s.sign(two, M.SHA256_HMAC, b"x")


# --- HKDF_DERIVE -----------------------------------------------------------------------------

HKDF_MODES = [
    "extract+expand",
    "extract+expand-no-salt",
    "expand-only",
    "extract-only",
    "extract-only-no-salt",
]


def pyca_hkdf(hash_name: str, mode: str, ikm: bytes, length: int) -> bytes:
    """pyca's HKDF, HKDFExpand, or the bare extract step HMAC(salt or zeros, ikm)."""
    algorithm = HASHES[hash_name]
    if mode == "extract+expand":
        return HKDF(algorithm, length, salt=b"salt", info=b"info").derive(ikm)
    if mode == "extract+expand-no-salt":
        return HKDF(algorithm, length, salt=None, info=b"info").derive(ikm)
    if mode == "expand-only":
        return HKDFExpand(algorithm, length, info=b"info").derive(ikm)
    salt = b"salt" if mode == "extract-only" else bytes(algorithm.digest_size)
    mac = hmac.HMAC(salt, algorithm)
    mac.update(ikm)
    return mac.finalize()


def hkdf_params(hash_name: str, mode: str) -> HKDFParams:
    """The engine parameters for one of ``HKDF_MODES``."""
    if mode == "extract+expand":
        return HKDFParams(hash_name, b"salt", b"info")  # type: ignore[arg-type]
    if mode == "extract+expand-no-salt":
        return HKDFParams(hash_name, None, b"info")  # type: ignore[arg-type]
    if mode == "expand-only":
        return HKDFParams(hash_name, None, b"info", extract=False)  # type: ignore[arg-type]
    if mode == "extract-only":
        return HKDFParams(hash_name, b"salt", expand=False)  # type: ignore[arg-type]
    return HKDFParams(hash_name, None, expand=False)  # type: ignore[arg-type]


@pytest.mark.parametrize("base", ["generic", "aes32"])
@pytest.mark.parametrize("mode", HKDF_MODES)
@pytest.mark.parametrize("hash_name", list(HASHES))
def test_hkdf_matches_pyca(keys: Keys, hash_name: str, mode: str, base: str) -> None:
    """HKDF_DERIVE (extract+expand, expand-only, extract-only) derives pyca's bytes."""
    handle, value = base_secret(keys, base)
    length = HASHES[hash_name].digest_size if mode.startswith("extract-only") else 42
    derived = keys.alice.derive_key(
        M.HKDF_DERIVE,
        handle,
        template(KeyType.GENERIC_SECRET, length),
        hkdf_params(hash_name, mode),
    )
    expected = pyca_hkdf(hash_name, mode, value, length)
    assert_holds(keys.alice, derived, KeyType.GENERIC_SECRET, expected)


def test_hkdf_derives_aes_keys(keys: Keys) -> None:
    """HKDF derives AES keys too; extract-only with SHA-256 gives exactly an AES-256 key."""
    handle, value = base_secret(keys, "generic")
    s = keys.alice
    for mode, length in (("extract+expand", 24), ("expand-only", 16), ("extract-only", 32)):
        derived = s.derive_key(
            M.HKDF_DERIVE, handle, template(KeyType.AES, length), hkdf_params("SHA256", mode)
        )
        assert_holds(s, derived, KeyType.AES, pyca_hkdf("SHA256", mode, value, length))


def test_hkdf_extract_only_has_the_hash_length(keys: Keys) -> None:
    """Extract-only yields one hash output: any other VALUE_LEN is KEY_SIZE_RANGE."""
    for length in (20, 33):
        with pytest.raises(KeySizeRange):
            keys.alice.derive_key(
                M.HKDF_DERIVE,
                keys.generic.handle,
                template(KeyType.GENERIC_SECRET, length),
                hkdf_params("SHA256", "extract-only"),
            )


# --- the derived key's attributes -------------------------------------------------------------


@pytest.mark.parametrize(
    ("base_sensitive", "base_extractable", "sensitive", "extractable"),
    list(itertools.product([True, False], repeat=4)),
)
def test_sensitivity_history_is_inherited(
    keys: Keys, base_sensitive: bool, base_extractable: bool, sensitive: bool, extractable: bool
) -> None:
    """ALWAYS_SENSITIVE / NEVER_EXTRACTABLE hold only if they held on the base and hold now."""
    s = keys.alice
    base = s.generate_key(
        M.GENERIC_SECRET_KEY_GEN,
        {
            A.VALUE_LEN: 32,
            A.DERIVE: True,
            A.SENSITIVE: base_sensitive,
            A.EXTRACTABLE: base_extractable,
        },
    )
    base_history = s.get_attributes(base, [A.ALWAYS_SENSITIVE, A.NEVER_EXTRACTABLE])
    assert base_history == {
        A.ALWAYS_SENSITIVE: base_sensitive,
        A.NEVER_EXTRACTABLE: not base_extractable,
    }
    derived = s.derive_key(
        M.HKDF_DERIVE,
        base,
        template(KeyType.AES, 32, sensitive=sensitive, extractable=extractable),
        HKDFParams("SHA256", b"salt", b"info"),
    )
    got = s.get_attributes(
        derived, [A.LOCAL, A.SENSITIVE, A.EXTRACTABLE, A.ALWAYS_SENSITIVE, A.NEVER_EXTRACTABLE]
    )
    assert got == {
        A.LOCAL: False,
        A.SENSITIVE: sensitive,
        A.EXTRACTABLE: extractable,
        A.ALWAYS_SENSITIVE: base_sensitive and sensitive,
        A.NEVER_EXTRACTABLE: (not base_extractable) and not extractable,
    }


def test_keys_derived_from_an_imported_base_have_no_history(keys: Keys) -> None:
    """An imported base was never always-sensitive, so nothing derived from it is either."""
    s = keys.alice
    peer = ec.generate_private_key(ec.SECP256R1())
    derived = s.derive_key(
        M.ECDH1_DERIVE,
        keys.ec["secp256r1"].private_handle,
        template(KeyType.AES, 32, sensitive=True, extractable=False),
        ECDH1DeriveParams(sec1(peer.public_key()), "SHA256"),
    )
    got = s.get_attributes(derived, [A.LOCAL, A.ALWAYS_SENSITIVE, A.NEVER_EXTRACTABLE])
    assert got == {A.LOCAL: False, A.ALWAYS_SENSITIVE: False, A.NEVER_EXTRACTABLE: False}


def test_derived_key_is_owned_by_the_caller(keys: Keys) -> None:
    """Alice owns what she derives: she manages it, and as a token key bob cannot see it."""
    s = keys.alice
    derived = s.derive_key(
        M.SP800_108_COUNTER_KDF,
        keys.generic.handle,
        template(KeyType.GENERIC_SECRET, 32, token=True, label="derived"),
        SP800108Params("HMAC-SHA256", b"owner", b""),
    )
    s.set_attributes(derived, {A.LABEL: "renamed"})
    assert s.get_attributes(derived, [A.LABEL, A.TOKEN]) == {A.LABEL: "renamed", A.TOKEN: True}
    with pytest.raises(ObjectHandleInvalid):
        keys.cluster.bob.get_attributes(derived, [A.LABEL])
    s.destroy_object(derived)


# --- the rules ----------------------------------------------------------------------------------


def _p256_peer() -> bytes:
    return sec1(ec.generate_private_key(ec.SECP256R1()).public_key())


def _no_derive_ec(keys: Keys) -> int:
    pair = keys.ec["secp256r1"]
    assert isinstance(pair.private, ec.EllipticCurvePrivateKey)
    return keys.alice.create_object(
        {
            A.CLASS: ObjectClass.PRIVATE_KEY,
            A.KEY_TYPE: KeyType.EC,
            A.EC_PARAMS: ec_params_for_curve("secp256r1"),
            A.VALUE: pair.private.private_numbers().private_value.to_bytes(32, "big"),
            A.DERIVE: False,
        }
    )


Base = Callable[[Keys], int]


def _ec(keys: Keys) -> int:
    return keys.ec["secp256r1"].private_handle


def _ec_public(keys: Keys) -> int:
    return keys.ec["secp256r1"].public_handle


def _generic(keys: Keys) -> int:
    return keys.generic.handle


def _aes(keys: Keys) -> int:
    return keys.aes[32].handle


def _no_derive_aes(keys: Keys) -> int:
    return import_secret(keys.alice, KeyType.AES, os.urandom(32), derive=False)


class Rule(NamedTuple):
    """One refused derive request and the error it must raise."""

    name: str
    mechanism: Mechanism
    base: Base
    template: Mapping[Attribute, object]
    params: object
    error: type[StrongroomError]


_KBKDF = SP800108Params("HMAC-SHA256", b"l", b"c")
_HKDF = HKDFParams("SHA256", b"salt", b"info")
_ECDH = "a fresh P-256 peer"
_AES32 = template(KeyType.AES, 32)
_AES20 = template(KeyType.AES, 20)
_GENERIC0 = template(KeyType.GENERIC_SECRET, 0)
_GENERIC801 = template(KeyType.GENERIC_SECRET, 801)
_NO_LEN = {A.CLASS: ObjectClass.SECRET_KEY, A.KEY_TYPE: KeyType.AES}
_NO_TYPE = {A.CLASS: ObjectClass.SECRET_KEY, A.VALUE_LEN: 32}
_EC_TYPE = template(KeyType.EC, 32)
ECDH, KBKDF, HKDF_M = M.ECDH1_DERIVE, M.SP800_108_COUNTER_KDF, M.HKDF_DERIVE

RULES = [
    Rule("ecdh-no-derive", ECDH, _no_derive_ec, _AES32, _ECDH, KeyFunctionNotPermitted),
    Rule("kbkdf-no-derive", KBKDF, _no_derive_aes, _AES32, _KBKDF, KeyFunctionNotPermitted),
    Rule("hkdf-no-derive", HKDF_M, _no_derive_aes, _AES32, _HKDF, KeyFunctionNotPermitted),
    Rule("ecdh-no-value-len", ECDH, _ec, _NO_LEN, _ECDH, TemplateIncomplete),
    Rule("kbkdf-no-value-len", KBKDF, _generic, _NO_LEN, _KBKDF, TemplateIncomplete),
    Rule("hkdf-no-value-len", HKDF_M, _generic, _NO_LEN, _HKDF, TemplateIncomplete),
    Rule("ecdh-no-key-type", ECDH, _ec, _NO_TYPE, _ECDH, TemplateIncomplete),
    Rule("kbkdf-no-key-type", KBKDF, _generic, _NO_TYPE, _KBKDF, TemplateIncomplete),
    Rule("hkdf-no-key-type", HKDF_M, _generic, _NO_TYPE, _HKDF, TemplateIncomplete),
    Rule("ecdh-ec-key-type", ECDH, _ec, _EC_TYPE, _ECDH, TemplateInconsistent),
    Rule("hkdf-ec-key-type", HKDF_M, _generic, _EC_TYPE, _HKDF, TemplateInconsistent),
    Rule("ecdh-aes-20", ECDH, _ec, _AES20, _ECDH, KeySizeRange),
    Rule("kbkdf-aes-20", KBKDF, _generic, _AES20, _KBKDF, KeySizeRange),
    Rule("hkdf-aes-20", HKDF_M, _generic, _AES20, _HKDF, KeySizeRange),
    Rule("kbkdf-generic-0", KBKDF, _generic, _GENERIC0, _KBKDF, KeySizeRange),
    Rule("hkdf-generic-801", HKDF_M, _generic, _GENERIC801, _HKDF, KeySizeRange),
    Rule(
        "cmac-on-generic", KBKDF, _generic, _AES32, SP800108Params("CMAC-AES"), KeyTypeInconsistent
    ),
    Rule("ecdh-on-aes", ECDH, _aes, _AES32, _ECDH, KeyTypeInconsistent),
    Rule("hkdf-on-ec", HKDF_M, _ec, _AES32, _HKDF, KeyTypeInconsistent),
    Rule("ecdh-on-public-key", ECDH, _ec_public, _AES32, _ECDH, KeyTypeInconsistent),
    Rule("ecdh-no-params", ECDH, _ec, _AES32, None, MechanismParamInvalid),
    Rule("kbkdf-hkdf-params", KBKDF, _generic, _AES32, _HKDF, MechanismParamInvalid),
]


@pytest.mark.parametrize("rule", RULES, ids=[rule.name for rule in RULES])
def test_derive_rules(keys: Keys, rule: Rule) -> None:
    """Each derive request that breaks a rule fails with that rule's error."""
    params = rule.params
    if params == _ECDH:
        params = ECDH1DeriveParams(_p256_peer(), "SHA256")
    with pytest.raises(rule.error):
        keys.alice.derive_key(rule.mechanism, rule.base(keys), rule.template, params)


# --- another user, and FIPS mode ----------------------------------------------------------------


def test_bob_derives_from_a_key_alice_shared(keys: Keys) -> None:
    """Bob derives from alice's shared EC key; the new key is his, right, and hidden from alice."""
    alice, bob = keys.alice, keys.cluster.bob
    mine = ec.generate_private_key(ec.SECP256R1())
    shared = alice.create_object(
        {
            A.CLASS: ObjectClass.PRIVATE_KEY,
            A.KEY_TYPE: KeyType.EC,
            A.EC_PARAMS: ec_params_for_curve("secp256r1"),
            A.VALUE: mine.private_numbers().private_value.to_bytes(32, "big"),
            A.DERIVE: True,
            A.TOKEN: True,
        }
    )
    peer = ec.generate_private_key(ec.SECP256R1())
    params = ECDH1DeriveParams(sec1(peer.public_key()), "SHA256", b"bob")
    with pytest.raises(ObjectHandleInvalid):
        bob.derive_key(M.ECDH1_DERIVE, shared, template(KeyType.AES, 32), params)
    alice.share_key(shared, "bob")
    derived = bob.derive_key(M.ECDH1_DERIVE, shared, template(KeyType.AES, 32, token=True), params)
    assert_holds(
        bob, derived, KeyType.AES, pyca_ecdh(peer, mine.public_key(), "SHA256", 32, b"bob")
    )
    bob.set_attributes(derived, {A.LABEL: "bob's"})
    with pytest.raises(NotKeyOwner):
        bob.set_attributes(shared, {A.LABEL: "bob's"})
    with pytest.raises(ObjectHandleInvalid):
        alice.get_attributes(derived, [A.LABEL])
    bob.destroy_object(derived)
    alice.destroy_object(shared)


@pytest.fixture(scope="module")
def fips() -> Iterator[Cluster]:
    """An HSM in FIPS mode (no clear-key import: its keys are generated)."""
    cluster = build(MemoryStore(), fips_mode=True)
    yield cluster
    cluster.hsm.close()


def _generated_pair(s: Session) -> tuple[int, bytes]:
    """A P-256 pair made in the HSM: the private handle and the public point (SEC 1)."""
    public, private = s.generate_key_pair(
        M.EC_KEY_PAIR_GEN, {A.EC_PARAMS: ec_params_for_curve("secp256r1")}, {A.DERIVE: True}
    )
    spki = serialization.load_der_public_key(s.export_public_key(public))
    assert isinstance(spki, ec.EllipticCurvePublicKey)
    return private, sec1(spki)


@pytest.mark.parametrize("kdf", ["SHA1", "SHA256", "SHA512", "HKDF-SHA256"])
def test_fips_refuses_the_null_kdf_but_allows_x963_and_hkdf(fips: Cluster, kdf: ECDHKDF) -> None:
    """FIPS mode refuses ECDH without a KDF; with X9.63 or HKDF both sides derive one key."""
    s = fips.alice
    a_private, a_point = _generated_pair(s)
    b_private, b_point = _generated_pair(s)
    with pytest.raises(MechanismNotApproved):
        s.derive_key(
            M.ECDH1_DERIVE,
            a_private,
            template(KeyType.GENERIC_SECRET, 16),
            ECDH1DeriveParams(b_point, "NULL"),
        )
    t = template(KeyType.GENERIC_SECRET, 32)
    one = s.derive_key(M.ECDH1_DERIVE, a_private, t, ECDH1DeriveParams(b_point, kdf, b"fips"))
    two = s.derive_key(M.ECDH1_DERIVE, b_private, t, ECDH1DeriveParams(a_point, kdf, b"fips"))
    other = s.derive_key(M.ECDH1_DERIVE, b_private, t, ECDH1DeriveParams(a_point, kdf, b"other"))
    assert s.sign(one, M.SHA256_HMAC, b"m") == s.sign(two, M.SHA256_HMAC, b"m")
    assert s.sign(one, M.SHA256_HMAC, b"m") != s.sign(other, M.SHA256_HMAC, b"m")


def test_fips_keeps_the_generic_secret_minimum_for_derived_keys(fips: Cluster) -> None:
    """In FIPS mode a derived generic secret must be at least 14 bytes, as a generated one."""
    s = fips.alice
    base = s.generate_key(M.GENERIC_SECRET_KEY_GEN, {A.VALUE_LEN: 32, A.DERIVE: True})
    with pytest.raises(KeySizeRange):
        s.derive_key(M.HKDF_DERIVE, base, template(KeyType.GENERIC_SECRET, 13), _HKDF)
    s.derive_key(M.HKDF_DERIVE, base, template(KeyType.GENERIC_SECRET, 14), _HKDF)

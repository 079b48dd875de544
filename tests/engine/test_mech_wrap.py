"""Key wrap mechanisms: round trips, pyca interop both ways, and the wrap and unwrap rules.

Every wrap mechanism (AES-KW, AES-KWP, AES-GCM with a caller or generated IV, RSA-OAEP,
RSA PKCS#1 v1.5, RSA-AES) wraps AES keys and generic secrets, and those that take long
payloads wrap EC and RSA private keys as PKCS#8; what comes back is the same key.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

import pytest
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import (
    aes_key_unwrap,
    aes_key_unwrap_with_padding,
    aes_key_wrap,
    aes_key_wrap_with_padding,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.constants import Attribute, KeyType, Mechanism, ObjectClass
from strongroom.engine import GCMParams, OAEPParams, RSAAESKeyWrapParams, Session
from strongroom.errors import (
    DataLenRange,
    IntegrityError,
    KeyFunctionNotPermitted,
    KeyNotWrappable,
    KeySizeRange,
    KeyUnextractable,
    MechanismNotApproved,
    MechanismParamInvalid,
    NotKeyOwner,
    TemplateInconsistent,
)
from strongroom.testing import MemoryStore

from .engine_helpers import Cluster, build
from .mech_keys import Keys, import_secret, int_bytes, make_keys

A = Attribute
M = Mechanism
IV = bytes(range(12))
AAD = b"wrapped by strongroom"
LABEL = b"oaep label"
OAEP = OAEPParams("SHA256", "SHA256", LABEL)


@pytest.fixture(scope="module")
def keys() -> Iterator[Keys]:
    """One HSM with alice's known keys for the whole module."""
    yield from make_keys()


@dataclass(frozen=True)
class WrapCase:
    """One wrap mechanism with the parameters the tests use."""

    name: str
    mechanism: Mechanism
    params: object
    rsa: bool
    """The wrapping key is RSA: its public half wraps and its private half unwraps."""
    takes_pkcs8: bool
    """Payloads as long as a PKCS#8 private key fit (KWP, GCM, RSA-AES)."""

    def wrapper(self, keys: Keys) -> int:
        """The handle that wraps."""
        return keys.rsa.public_handle if self.rsa else keys.aes[32].handle

    def unwrapper(self, keys: Keys) -> int:
        """The handle that unwraps."""
        return keys.rsa.private_handle if self.rsa else keys.aes[32].handle


WRAPS = [
    WrapCase("AES_KEY_WRAP", M.AES_KEY_WRAP, None, rsa=False, takes_pkcs8=False),
    WrapCase("AES_KEY_WRAP_KWP", M.AES_KEY_WRAP_KWP, None, rsa=False, takes_pkcs8=True),
    WrapCase("AES_GCM-caller-iv", M.AES_GCM, GCMParams(IV, AAD), rsa=False, takes_pkcs8=True),
    WrapCase("AES_GCM-generated-iv", M.AES_GCM, GCMParams(aad=AAD), rsa=False, takes_pkcs8=True),
    WrapCase("RSA_PKCS_OAEP", M.RSA_PKCS_OAEP, OAEP, rsa=True, takes_pkcs8=False),
    WrapCase("RSA_PKCS", M.RSA_PKCS, None, rsa=True, takes_pkcs8=False),
    WrapCase(
        "RSA_AES_KEY_WRAP",
        M.RSA_AES_KEY_WRAP,
        RSAAESKeyWrapParams(256, OAEP),
        rsa=True,
        takes_pkcs8=True,
    ),
]
KW, KWP, GCM_IV, GCM_GENERATED, RSA_OAEP, RSA_PKCS, RSA_AES = WRAPS
PKCS8_WRAPS = [case for case in WRAPS if case.takes_pkcs8]
# RSA PKCS#1 v1.5 decryption uses implicit rejection (OpenSSL 3.2+): a tampered ciphertext
# may decrypt to a pseudorandom key instead of failing, so it is tested apart.
DETECTING_WRAPS = [case for case in WRAPS if case.mechanism is not M.RSA_PKCS]
SECRETS = ["aes16", "aes24", "aes32", "generic"]


def _ids(cases: list[WrapCase]) -> list[str]:
    return [case.name for case in cases]


def _private_copy(keys: Keys, **extra: object) -> int:
    """A second private-key object for alice's known RSA key (so its attributes can differ)."""
    private = keys.rsa.private
    assert isinstance(private, rsa.RSAPrivateKey)
    n = private.private_numbers()
    template = {
        A.CLASS: ObjectClass.PRIVATE_KEY,
        A.KEY_TYPE: KeyType.RSA,
        A.MODULUS: int_bytes(n.public_numbers.n),
        A.PUBLIC_EXPONENT: int_bytes(n.public_numbers.e),
        A.PRIVATE_EXPONENT: int_bytes(n.d),
        A.PRIME_1: int_bytes(n.p),
        A.PRIME_2: int_bytes(n.q),
        A.EXPONENT_1: int_bytes(n.dmp1),
        A.EXPONENT_2: int_bytes(n.dmq1),
        A.COEFFICIENT: int_bytes(n.iqmp),
    }
    template |= {Attribute[k.upper()]: v for k, v in extra.items()}
    return keys.alice.create_object(template)


def secret(keys: Keys, name: str) -> tuple[int, bytes, KeyType]:
    """A known secret key: handle, value and key type."""
    if name == "generic":
        return keys.generic.handle, keys.generic.value, KeyType.GENERIC_SECRET
    pair = keys.aes[int(name.removeprefix("aes"))]
    return pair.handle, pair.value, KeyType.AES


def secret_template(key_type: KeyType) -> dict[Attribute, object]:
    """The least template that unwraps a secret key."""
    return {A.CLASS: ObjectClass.SECRET_KEY, A.KEY_TYPE: key_type}


def expected_check_value(key_type: KeyType, value: bytes) -> bytes:
    """CKA_CHECK_VALUE computed with pyca: AES-ECB(0^16)[:3], or SHA-1(value)[:3]."""
    if key_type is KeyType.AES:
        encryptor = Cipher(algorithms.AES(value), modes.ECB()).encryptor()
        return (encryptor.update(bytes(16)) + encryptor.finalize())[:3]
    return hashlib.sha1(value).digest()[:3]


def assert_holds(s: Session, handle: int, key_type: KeyType, value: bytes) -> None:
    """The secret key ``handle`` holds ``value``: check value, and it works as pyca's key does."""
    assert s.get_attributes(handle, [A.CHECK_VALUE])[A.CHECK_VALUE] == expected_check_value(
        key_type, value
    )
    if key_type is KeyType.AES:
        sealed = s.encrypt(handle, M.AES_GCM, b"probe", GCMParams(IV))
        assert AESGCM(value).decrypt(IV, sealed, None) == b"probe"
    else:
        mac = hmac.HMAC(value, hashes.SHA256())
        mac.update(b"probe")
        assert s.sign(handle, M.SHA256_HMAC, b"probe") == mac.finalize()


def assert_signs_for(s: Session, handle: int, private: object) -> None:
    """The private key ``handle`` signs what pyca verifies with ``private``'s public key."""
    if isinstance(private, rsa.RSAPrivateKey):
        sig = s.sign(handle, M.SHA256_RSA_PKCS, b"unwrapped")
        private.public_key().verify(sig, b"unwrapped", padding.PKCS1v15(), hashes.SHA256())
        return
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    raw = s.sign(handle, M.ECDSA_SHA256, b"unwrapped")
    half = len(raw) // 2
    der = encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))
    private.public_key().verify(der, b"unwrapped", ec.ECDSA(hashes.SHA256()))


def expect_integrity_error(call: Callable[[], object]) -> IntegrityError:
    """``call`` fails with ENCRYPTED_DATA_INVALID and the one uniform message."""
    with pytest.raises(IntegrityError) as info:
        call()
    assert info.value.code == "ENCRYPTED_DATA_INVALID"
    assert info.value.message == IntegrityError.UNIFORM_MESSAGE
    return info.value


# --- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SECRETS)
@pytest.mark.parametrize("case", WRAPS, ids=_ids(WRAPS))
def test_secret_round_trip(keys: Keys, case: WrapCase, name: str) -> None:
    """Every wrap mechanism wraps AES keys and generic secrets, and they unwrap to the same key."""
    s = keys.alice
    handle, value, key_type = secret(keys, name)
    wrapped = s.wrap_key(case.mechanism, case.wrapper(keys), handle, case.params)
    assert value not in wrapped
    unwrapped = s.unwrap_key(
        case.mechanism, case.unwrapper(keys), wrapped, secret_template(key_type), case.params
    )
    assert unwrapped != handle
    assert s.get_attributes(unwrapped, [A.CHECK_VALUE]) == s.get_attributes(handle, [A.CHECK_VALUE])
    assert_holds(s, unwrapped, key_type, value)
    attrs = s.get_attributes(unwrapped, [A.LOCAL, A.ALWAYS_SENSITIVE, A.NEVER_EXTRACTABLE])
    assert attrs == {A.LOCAL: False, A.ALWAYS_SENSITIVE: False, A.NEVER_EXTRACTABLE: False}


@pytest.mark.parametrize("kind", ["ec", "rsa"])
@pytest.mark.parametrize("case", PKCS8_WRAPS, ids=_ids(PKCS8_WRAPS))
def test_private_key_round_trip(keys: Keys, case: WrapCase, kind: str) -> None:
    """KWP, GCM and RSA-AES wrap EC and RSA private keys; the unwrapped key signs correctly."""
    s = keys.alice
    pair = keys.rsa if kind == "rsa" else keys.ec["secp256r1"]
    key_type = KeyType.RSA if kind == "rsa" else KeyType.EC
    wrapped = s.wrap_key(case.mechanism, case.wrapper(keys), pair.private_handle, case.params)
    unwrapped = s.unwrap_key(
        case.mechanism,
        case.unwrapper(keys),
        wrapped,
        {A.CLASS: ObjectClass.PRIVATE_KEY, A.KEY_TYPE: key_type},
        case.params,
    )
    assert_signs_for(s, unwrapped, pair.private)
    assert s.export_public_key(unwrapped) == s.export_public_key(pair.public_handle)
    assert s.get_attributes(unwrapped, [A.LOCAL]) == {A.LOCAL: False}


@pytest.mark.parametrize("case", [RSA_OAEP, RSA_PKCS], ids=_ids([RSA_OAEP, RSA_PKCS]))
def test_rsa_encryption_wraps_refuse_what_does_not_fit(keys: Keys, case: WrapCase) -> None:
    """An RSA-2048 private key's PKCS#8 is too long to wrap with RSA-OAEP or RSA PKCS#1 v1.5."""
    with pytest.raises(DataLenRange):
        keys.alice.wrap_key(
            case.mechanism, case.wrapper(keys), keys.rsa.private_handle, case.params
        )


def test_kw_needs_whole_semiblocks_and_kwp_does_not(keys: Keys) -> None:
    """AES-KW refuses a 20-byte secret as KEY_NOT_WRAPPABLE; AES-KWP wraps and unwraps it."""
    s = keys.alice
    value = os.urandom(20)
    key = import_secret(s, KeyType.GENERIC_SECRET, value)
    kek = keys.aes[16].handle
    with pytest.raises(KeyNotWrappable):
        s.wrap_key(M.AES_KEY_WRAP, kek, key)
    wrapped = s.wrap_key(M.AES_KEY_WRAP_KWP, kek, key)
    back = s.unwrap_key(M.AES_KEY_WRAP_KWP, kek, wrapped, secret_template(KeyType.GENERIC_SECRET))
    assert_holds(s, back, KeyType.GENERIC_SECRET, value)


# --- interop with pyca -----------------------------------------------------------------------


def _oaep() -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=LABEL)


def pyca_unwrap(keys: Keys, case: WrapCase, wrapped: bytes) -> bytes:
    """What pyca recovers from the engine's wrapped bytes."""
    kek, private = keys.aes[32].value, keys.rsa.private
    assert isinstance(private, rsa.RSAPrivateKey)
    match case.name:
        case "AES_KEY_WRAP":
            return aes_key_unwrap(kek, wrapped)
        case "AES_KEY_WRAP_KWP":
            return aes_key_unwrap_with_padding(kek, wrapped)
        case "AES_GCM-caller-iv":
            return AESGCM(kek).decrypt(IV, wrapped, AAD)
        case "AES_GCM-generated-iv":
            return AESGCM(kek).decrypt(wrapped[:12], wrapped[12:], AAD)
        case "RSA_PKCS_OAEP":
            return private.decrypt(wrapped, _oaep())
        case "RSA_PKCS":
            return private.decrypt(wrapped, padding.PKCS1v15())
        case "RSA_AES_KEY_WRAP":
            size = private.key_size // 8
            ephemeral = private.decrypt(wrapped[:size], _oaep())
            assert len(ephemeral) == 32
            return aes_key_unwrap_with_padding(ephemeral, wrapped[size:])
    raise AssertionError(case.name)


def pyca_wrap(keys: Keys, case: WrapCase, payload: bytes) -> bytes:
    """``payload`` wrapped by pyca the way the engine's mechanism expects it."""
    kek, private = keys.aes[32].value, keys.rsa.private
    assert isinstance(private, rsa.RSAPrivateKey)
    public = private.public_key()
    match case.name:
        case "AES_KEY_WRAP":
            return aes_key_wrap(kek, payload)
        case "AES_KEY_WRAP_KWP":
            return aes_key_wrap_with_padding(kek, payload)
        case "AES_GCM-caller-iv":
            return AESGCM(kek).encrypt(IV, payload, AAD)
        case "AES_GCM-generated-iv":
            iv = os.urandom(12)
            return iv + AESGCM(kek).encrypt(iv, payload, AAD)
        case "RSA_PKCS_OAEP":
            return public.encrypt(payload, _oaep())
        case "RSA_PKCS":
            return public.encrypt(payload, padding.PKCS1v15())
        case "RSA_AES_KEY_WRAP":
            ephemeral = os.urandom(32)
            head = public.encrypt(ephemeral, _oaep())
            return head + aes_key_wrap_with_padding(ephemeral, payload)
    raise AssertionError(case.name)


@pytest.mark.parametrize("name", SECRETS)
@pytest.mark.parametrize("case", WRAPS, ids=_ids(WRAPS))
def test_engine_wraps_pyca_unwraps(keys: Keys, case: WrapCase, name: str) -> None:
    """pyca recovers the exact key value from what the engine wrapped."""
    handle, value, _ = secret(keys, name)
    wrapped = keys.alice.wrap_key(case.mechanism, case.wrapper(keys), handle, case.params)
    assert pyca_unwrap(keys, case, wrapped) == value


@pytest.mark.parametrize("name", SECRETS)
@pytest.mark.parametrize("case", WRAPS, ids=_ids(WRAPS))
def test_pyca_wraps_engine_unwraps(keys: Keys, case: WrapCase, name: str) -> None:
    """The engine unwraps what pyca wrapped into the same key."""
    s = keys.alice
    _, value, key_type = secret(keys, name)
    value = os.urandom(len(value))
    wrapped = pyca_wrap(keys, case, value)
    handle = s.unwrap_key(
        case.mechanism, case.unwrapper(keys), wrapped, secret_template(key_type), case.params
    )
    assert_holds(s, handle, key_type, value)


@pytest.mark.parametrize("case", PKCS8_WRAPS, ids=_ids(PKCS8_WRAPS))
def test_pyca_wrapped_private_key_unwraps_and_signs(keys: Keys, case: WrapCase) -> None:
    """A private key pyca wrapped as PKCS#8 unwraps in the engine and signs for its public key."""
    theirs = ec.generate_private_key(ec.SECP384R1())
    pkcs8 = theirs.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    s = keys.alice
    handle = s.unwrap_key(
        case.mechanism,
        case.unwrapper(keys),
        pyca_wrap(keys, case, pkcs8),
        {A.CLASS: ObjectClass.PRIVATE_KEY, A.KEY_TYPE: KeyType.EC},
        case.params,
    )
    assert_signs_for(s, handle, theirs)
    with pytest.raises(TemplateInconsistent):
        s.unwrap_key(
            case.mechanism,
            case.unwrapper(keys),
            pyca_wrap(keys, case, pkcs8),
            {A.CLASS: ObjectClass.PRIVATE_KEY, A.KEY_TYPE: KeyType.RSA},
            case.params,
        )


HASHES: dict[str, hashes.HashAlgorithm] = {
    "SHA1": hashes.SHA1(),
    "SHA224": hashes.SHA224(),
    "SHA256": hashes.SHA256(),
    "SHA384": hashes.SHA384(),
    "SHA512": hashes.SHA512(),
}

_OAEP_VARIANTS = [
    OAEPParams("SHA1"),
    OAEPParams("SHA256", "SHA1", b"label"),
    OAEPParams("SHA384", "SHA256"),
    OAEPParams("SHA512", "SHA512", b"\x00" * 7),
]


def _pyca_oaep(params: OAEPParams) -> padding.OAEP:
    return padding.OAEP(
        mgf=padding.MGF1(HASHES[params.mgf]),
        algorithm=HASHES[params.hash_name],
        label=params.label or None,
    )


@pytest.mark.parametrize("oaep", _OAEP_VARIANTS, ids=lambda p: f"{p.hash_name}-{p.mgf}")
@pytest.mark.parametrize("aes_bits", [128, 192, 256])
def test_rsa_aes_parameters_interoperate(keys: Keys, aes_bits: int, oaep: OAEPParams) -> None:
    """RSA-AES with each ephemeral AES size and OAEP hash/MGF/label crosses to pyca both ways."""
    s = keys.alice
    private = keys.rsa.private
    assert isinstance(private, rsa.RSAPrivateKey)
    params = RSAAESKeyWrapParams(aes_bits, oaep)
    wrapped = s.wrap_key(M.RSA_AES_KEY_WRAP, keys.rsa.public_handle, keys.generic.handle, params)
    ephemeral = private.decrypt(wrapped[:256], _pyca_oaep(oaep))
    assert len(ephemeral) == aes_bits // 8
    assert aes_key_unwrap_with_padding(ephemeral, wrapped[256:]) == keys.generic.value
    value = os.urandom(48)
    ephemeral = os.urandom(aes_bits // 8)
    theirs = private.public_key().encrypt(ephemeral, _pyca_oaep(oaep))
    theirs += aes_key_wrap_with_padding(ephemeral, value)
    handle = s.unwrap_key(
        M.RSA_AES_KEY_WRAP,
        keys.rsa.private_handle,
        theirs,
        secret_template(KeyType.GENERIC_SECRET),
        params,
    )
    assert_holds(s, handle, KeyType.GENERIC_SECRET, value)


@pytest.mark.parametrize("oaep", _OAEP_VARIANTS, ids=lambda p: f"{p.hash_name}-{p.mgf}")
def test_rsa_oaep_parameters_interoperate(keys: Keys, oaep: OAEPParams) -> None:
    """RSA-OAEP wrap with each hash, MGF1 hash and label crosses to pyca both ways."""
    s = keys.alice
    private = keys.rsa.private
    assert isinstance(private, rsa.RSAPrivateKey)
    wrapped = s.wrap_key(M.RSA_PKCS_OAEP, keys.rsa.public_handle, keys.aes[24].handle, oaep)
    assert private.decrypt(wrapped, _pyca_oaep(oaep)) == keys.aes[24].value
    value = os.urandom(16)
    theirs = private.public_key().encrypt(value, _pyca_oaep(oaep))
    handle = s.unwrap_key(
        M.RSA_PKCS_OAEP, keys.rsa.private_handle, theirs, secret_template(KeyType.AES), oaep
    )
    assert_holds(s, handle, KeyType.AES, value)


@pytest.mark.parametrize(
    ("case", "deterministic"),
    [
        (KW, True),
        (KWP, True),
        (GCM_IV, True),
        (GCM_GENERATED, False),
        (RSA_OAEP, False),
        (RSA_PKCS, False),
        (RSA_AES, False),
    ],
    ids=_ids(WRAPS),
)
def test_which_wraps_are_deterministic(keys: Keys, case: WrapCase, deterministic: bool) -> None:
    """KW, KWP and GCM with a caller IV repeat themselves; generated IVs and RSA padding do not."""
    s = keys.alice
    first, second = (
        s.wrap_key(case.mechanism, case.wrapper(keys), keys.aes[16].handle, case.params)
        for _ in range(2)
    )
    assert (first == second) is deterministic
    if case is GCM_GENERATED:
        assert first[:12] != second[:12]


# --- the rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", WRAPS, ids=_ids(WRAPS))
def test_non_extractable_key_is_not_wrapped(keys: Keys, case: WrapCase) -> None:
    """A key whose EXTRACTABLE is false never leaves, under any mechanism."""
    s = keys.alice
    key = import_secret(s, KeyType.AES, os.urandom(32), extractable=False)
    with pytest.raises(KeyUnextractable):
        s.wrap_key(case.mechanism, case.wrapper(keys), key, case.params)


def _rsa_public_copy(keys: Keys, **extra: object) -> int:
    """A second public-key object for alice's known RSA key (so its attributes can change)."""
    private = keys.rsa.private
    assert isinstance(private, rsa.RSAPrivateKey)
    numbers = private.public_key().public_numbers()
    template = {
        A.CLASS: ObjectClass.PUBLIC_KEY,
        A.KEY_TYPE: KeyType.RSA,
        A.MODULUS: int_bytes(numbers.n),
        A.PUBLIC_EXPONENT: int_bytes(numbers.e),
    }
    template |= {Attribute[k.upper()]: v for k, v in extra.items()}
    return keys.alice.create_object(template)


def fresh_wrapper(keys: Keys, case: WrapCase, **extra: object) -> tuple[int, int]:
    """A new wrapping key (and the handle that unwraps for it) with extra attributes."""
    if case.rsa:
        return _rsa_public_copy(keys, **extra), keys.rsa.private_handle
    kek = import_secret(keys.alice, KeyType.AES, os.urandom(32), **extra)
    return kek, kek


@pytest.mark.parametrize("case", [KWP, RSA_OAEP, RSA_AES], ids=_ids([KWP, RSA_OAEP, RSA_AES]))
def test_wrap_with_trusted_needs_a_trusted_wrapping_key(keys: Keys, case: WrapCase) -> None:
    """A WRAP_WITH_TRUSTED key is refused under an untrusted key; an admin's trust unlocks it."""
    s = keys.alice
    value = os.urandom(32)
    key = import_secret(s, KeyType.AES, value, wrap_with_trusted=True)
    wrapper, unwrapper = fresh_wrapper(keys, case, token=True)  # a token key: admins see it
    with pytest.raises(KeyNotWrappable):
        s.wrap_key(case.mechanism, wrapper, key, case.params)
    keys.cluster.admin.set_trusted(wrapper, True)
    assert s.get_attributes(wrapper, [A.TRUSTED]) == {A.TRUSTED: True}
    wrapped = s.wrap_key(case.mechanism, wrapper, key, case.params)
    back = s.unwrap_key(
        case.mechanism, unwrapper, wrapped, secret_template(KeyType.AES), case.params
    )
    assert_holds(s, back, KeyType.AES, value)
    keys.cluster.admin.set_trusted(wrapper, False)
    with pytest.raises(KeyNotWrappable):
        s.wrap_key(case.mechanism, wrapper, key, case.params)


@pytest.mark.parametrize("case", [KW, RSA_OAEP], ids=_ids([KW, RSA_OAEP]))
def test_wrap_template_must_match(keys: Keys, case: WrapCase) -> None:
    """A wrapping key's WRAP_TEMPLATE admits matching keys and refuses every other key."""
    s = keys.alice
    wrapper, _ = fresh_wrapper(
        keys, case, wrap_template={A.KEY_TYPE: KeyType.AES, A.LABEL: "exportable"}
    )
    matching = import_secret(s, KeyType.AES, os.urandom(16), label="exportable")
    wrong_label = import_secret(s, KeyType.AES, os.urandom(16), label="other")
    wrong_type = import_secret(s, KeyType.GENERIC_SECRET, os.urandom(32), label="exportable")
    assert s.wrap_key(case.mechanism, wrapper, matching, case.params)
    for refused in (wrong_label, wrong_type):
        with pytest.raises(KeyNotWrappable):
            s.wrap_key(case.mechanism, wrapper, refused, case.params)


@pytest.mark.parametrize("case", [GCM_IV, RSA_AES], ids=_ids([GCM_IV, RSA_AES]))
def test_unwrap_template_is_applied_and_conflicts_refused(keys: Keys, case: WrapCase) -> None:
    """An UNWRAP_TEMPLATE sets attributes on what its key unwraps; contradicting it fails."""
    s = keys.alice
    rule = {A.ENCRYPT: False, A.EXTRACTABLE: False, A.LABEL: "from-unwrap-template"}
    if case.rsa:
        unwrapper = _private_copy(keys, unwrap_template=rule)
        wrapper = keys.rsa.public_handle
    else:
        wrapper = unwrapper = import_secret(s, KeyType.AES, os.urandom(32), unwrap_template=rule)
    value = os.urandom(32)
    key = import_secret(s, KeyType.AES, value)
    wrapped = s.wrap_key(case.mechanism, wrapper, key, case.params)
    template = {**secret_template(KeyType.AES), A.DECRYPT: True}
    back = s.unwrap_key(case.mechanism, unwrapper, wrapped, template, case.params)
    got = s.get_attributes(back, [A.ENCRYPT, A.DECRYPT, A.EXTRACTABLE, A.LABEL])
    assert got == {
        A.ENCRYPT: False,
        A.DECRYPT: True,
        A.EXTRACTABLE: False,
        A.LABEL: "from-unwrap-template",
    }
    with pytest.raises(KeyUnextractable):
        s.wrap_key(case.mechanism, wrapper, back, case.params)
    for conflict in ({A.ENCRYPT: True}, {A.LABEL: "mine"}, {A.EXTRACTABLE: True}):
        with pytest.raises(TemplateInconsistent):
            s.unwrap_key(
                case.mechanism,
                unwrapper,
                wrapped,
                {**secret_template(KeyType.AES), **conflict},
                case.params,
            )


@pytest.mark.parametrize("case", WRAPS, ids=_ids(WRAPS))
def test_wrap_and_unwrap_need_the_usage_flags(keys: Keys, case: WrapCase) -> None:
    """A wrapping key without WRAP cannot wrap, and one without UNWRAP cannot unwrap."""
    s = keys.alice
    wrapper, _ = fresh_wrapper(keys, case, wrap=False)
    with pytest.raises(KeyFunctionNotPermitted):
        s.wrap_key(case.mechanism, wrapper, keys.aes[16].handle, case.params)
    wrapped = s.wrap_key(case.mechanism, case.wrapper(keys), keys.aes[16].handle, case.params)
    if case.rsa:
        no_unwrap = _private_copy(keys, unwrap=False)
    else:
        no_unwrap = import_secret(s, KeyType.AES, keys.aes[32].value, unwrap=False)
    with pytest.raises(KeyFunctionNotPermitted):
        s.unwrap_key(case.mechanism, no_unwrap, wrapped, secret_template(KeyType.AES), case.params)


@pytest.mark.parametrize(
    "case", [KW, GCM_GENERATED, RSA_AES], ids=_ids([KW, GCM_GENERATED, RSA_AES])
)
def test_unwrap_value_len_must_match_the_key(keys: Keys, case: WrapCase) -> None:
    """A VALUE_LEN in the unwrap template must be the unwrapped key's length, not be overridden."""
    s = keys.alice
    wrapped = s.wrap_key(case.mechanism, case.wrapper(keys), keys.aes[24].handle, case.params)
    exact = {**secret_template(KeyType.AES), A.VALUE_LEN: 24}
    back = s.unwrap_key(case.mechanism, case.unwrapper(keys), wrapped, exact, case.params)
    assert s.get_attributes(back, [A.VALUE_LEN]) == {A.VALUE_LEN: 24}
    for length in (16, 32):
        with pytest.raises(TemplateInconsistent):
            s.unwrap_key(
                case.mechanism,
                case.unwrapper(keys),
                wrapped,
                {**exact, A.VALUE_LEN: length},
                case.params,
            )


def test_only_the_owner_wraps_a_key(keys: Keys) -> None:
    """Bob may wrap his own key under a key alice shared, but not a key of hers shared with him."""
    s = keys.alice
    kek = import_secret(s, KeyType.AES, os.urandom(32), token=True)
    theirs = import_secret(s, KeyType.AES, os.urandom(32), token=True)
    s.share_key(kek, "bob")
    s.share_key(theirs, "bob")
    bob = keys.cluster.bob
    own = bob.generate_key(M.AES_KEY_GEN, {A.VALUE_LEN: 16})
    assert len(bob.wrap_key(M.AES_KEY_WRAP, kek, own)) == 24
    with pytest.raises(NotKeyOwner):
        bob.wrap_key(M.AES_KEY_WRAP, kek, theirs)


@pytest.mark.parametrize(
    ("case", "params"),
    [
        (KW, GCMParams(IV)),
        (KWP, b"\x00" * 16),
        (GCM_IV, OAEP),
        (RSA_OAEP, GCMParams(IV)),
        (RSA_PKCS, OAEP),
        (RSA_AES, OAEP),
    ],
    ids=["kw", "kwp", "gcm", "oaep", "pkcs", "rsa-aes"],
)
def test_wrong_parameters_are_refused(keys: Keys, case: WrapCase, params: object) -> None:
    """A wrap mechanism given another mechanism's parameters is MECHANISM_PARAM_INVALID."""
    with pytest.raises(MechanismParamInvalid):
        keys.alice.wrap_key(case.mechanism, case.wrapper(keys), keys.aes[16].handle, params)


# --- integrity ------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", DETECTING_WRAPS, ids=_ids(DETECTING_WRAPS))
@settings(max_examples=25, deadline=None)
@given(name=st.sampled_from(SECRETS), flip=st.integers(min_value=0))
def test_any_flipped_bit_is_detected(keys: Keys, case: WrapCase, name: str, flip: int) -> None:
    """Flipping any one bit of wrapped bytes makes unwrap fail with the uniform integrity error."""
    s = keys.alice
    handle, _, key_type = secret(keys, name)
    wrapped = s.wrap_key(case.mechanism, case.wrapper(keys), handle, case.params)
    bit = flip % (len(wrapped) * 8)
    tampered = bytearray(wrapped)
    tampered[bit // 8] ^= 1 << (bit % 8)
    expect_integrity_error(
        lambda: s.unwrap_key(
            case.mechanism,
            case.unwrapper(keys),
            bytes(tampered),
            secret_template(key_type),
            case.params,
        )
    )


def test_integrity_failures_look_the_same_across_mechanisms(keys: Keys) -> None:
    """Truncated, extended and flipped wrapped keys fail alike under every detecting mechanism."""
    s = keys.alice
    seen: set[tuple[str, str]] = set()
    for case in DETECTING_WRAPS:
        wrapped = s.wrap_key(case.mechanism, case.wrapper(keys), keys.aes[32].handle, case.params)
        for bad in (wrapped[:-1], wrapped + b"\x00", wrapped[:8], b"", bytes(len(wrapped))):
            error = expect_integrity_error(
                partial(
                    s.unwrap_key,
                    case.mechanism,
                    case.unwrapper(keys),
                    bad,
                    secret_template(KeyType.AES),
                    case.params,
                )
            )
            seen.add((error.code, str(error)))
    assert len(seen) == 1


def test_unwrap_with_other_parameters_fails_uniformly(keys: Keys) -> None:
    """Unwrapping with another IV, AAD or OAEP label is an integrity failure, not a clue."""
    s = keys.alice
    kek, key = keys.aes[32].handle, keys.aes[16].handle
    template = secret_template(KeyType.AES)
    sealed = s.wrap_key(M.AES_GCM, kek, key, GCMParams(IV, AAD))
    for params in (GCMParams(bytes(12), AAD), GCMParams(IV, b"other")):
        expect_integrity_error(partial(s.unwrap_key, M.AES_GCM, kek, sealed, template, params))
    for mechanism, good, bad in (
        (M.RSA_PKCS_OAEP, OAEP, OAEPParams("SHA256", "SHA256", b"other")),
        (M.RSA_AES_KEY_WRAP, RSAAESKeyWrapParams(256, OAEP), RSAAESKeyWrapParams(128, OAEP)),
    ):
        wrapped = s.wrap_key(mechanism, keys.rsa.public_handle, key, good)
        expect_integrity_error(
            partial(s.unwrap_key, mechanism, keys.rsa.private_handle, wrapped, template, bad)
        )


@settings(max_examples=15, deadline=None)
@given(flip=st.integers(min_value=0))
def test_rsa_pkcs_tampering_never_yields_the_key(keys: Keys, flip: int) -> None:
    """A tampered RSA PKCS#1 v1.5 wrap (implicit rejection) never unwraps to the original key."""
    s = keys.alice
    handle, value, _ = secret(keys, "generic")
    wrapped = s.wrap_key(M.RSA_PKCS, keys.rsa.public_handle, handle)
    bit = flip % (len(wrapped) * 8)
    tampered = bytearray(wrapped)
    tampered[bit // 8] ^= 1 << (bit % 8)
    template = secret_template(KeyType.GENERIC_SECRET)
    try:
        back = s.unwrap_key(M.RSA_PKCS, keys.rsa.private_handle, bytes(tampered), template)
    except (IntegrityError, KeySizeRange):
        return
    got = s.get_attributes(back, [A.CHECK_VALUE])[A.CHECK_VALUE]
    assert got != expected_check_value(KeyType.GENERIC_SECRET, value)


# --- FIPS mode ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fips() -> Iterator[Cluster]:
    """An HSM in FIPS mode (no clear-key import: its keys are generated)."""
    cluster = build(MemoryStore(), fips_mode=True)
    yield cluster
    cluster.hsm.close()


def test_fips_refuses_rsa_pkcs_wrap_but_allows_oaep(fips: Cluster) -> None:
    """FIPS mode refuses RSA PKCS#1 v1.5 wrap and unwrap; RSA-OAEP and RSA-AES round-trip."""
    s = fips.alice
    public, private = s.generate_key_pair(M.RSA_PKCS_KEY_PAIR_GEN, {A.MODULUS_BITS: 2048}, {})
    key = s.generate_key(M.AES_KEY_GEN, {A.VALUE_LEN: 32})
    with pytest.raises(MechanismNotApproved):
        s.wrap_key(M.RSA_PKCS, public, key)
    oaep = s.wrap_key(M.RSA_PKCS_OAEP, public, key, OAEP)
    with pytest.raises(MechanismNotApproved):
        s.unwrap_key(M.RSA_PKCS, private, oaep, secret_template(KeyType.AES))
    expected = s.get_attributes(key, [A.CHECK_VALUE])
    for mechanism, params in (
        (M.RSA_PKCS_OAEP, OAEP),
        (M.RSA_AES_KEY_WRAP, RSAAESKeyWrapParams(256, OAEP)),
    ):
        wrapped = s.wrap_key(mechanism, public, key, params)
        back = s.unwrap_key(mechanism, private, wrapped, secret_template(KeyType.AES), params)
        assert s.get_attributes(back, [A.CHECK_VALUE]) == expected
        sealed = s.encrypt(key, M.AES_GCM, b"fips", GCMParams(IV))
        assert s.decrypt(back, M.AES_GCM, sealed, GCMParams(IV)) == b"fips"


@pytest.mark.parametrize(
    ("curve", "approved"),
    [("secp256r1", True), ("secp384r1", True), ("secp256k1", False), ("ed25519", False)],
)
def test_fips_unwraps_private_keys_on_approved_curves_only(
    fips: Cluster, curve: str, approved: bool
) -> None:
    """FIPS mode unwraps P-256/P-384 private keys but refuses secp256k1 and Ed25519 ones."""
    s = fips.alice
    public, private = s.generate_key_pair(M.RSA_PKCS_KEY_PAIR_GEN, {A.MODULUS_BITS: 2048}, {})
    spki = serialization.load_der_public_key(s.export_public_key(public))
    assert isinstance(spki, rsa.RSAPublicKey)
    theirs: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
    if curve == "ed25519":
        theirs, key_type = ed25519.Ed25519PrivateKey.generate(), KeyType.EC_EDWARDS
    else:
        named = {"secp256r1": ec.SECP256R1(), "secp384r1": ec.SECP384R1()}
        theirs = ec.generate_private_key(named.get(curve, ec.SECP256K1()))
        key_type = KeyType.EC
    pkcs8 = theirs.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    ephemeral = os.urandom(32)
    wrapped = spki.encrypt(ephemeral, _oaep()) + aes_key_wrap_with_padding(ephemeral, pkcs8)
    template = {A.CLASS: ObjectClass.PRIVATE_KEY, A.KEY_TYPE: key_type}
    params = RSAAESKeyWrapParams(256, OAEP)
    if not approved:
        with pytest.raises(MechanismNotApproved):
            s.unwrap_key(M.RSA_AES_KEY_WRAP, private, wrapped, template, params)
        return
    handle = s.unwrap_key(M.RSA_AES_KEY_WRAP, private, wrapped, template, params)
    assert isinstance(theirs, ec.EllipticCurvePrivateKey)
    assert_signs_for(s, handle, theirs)

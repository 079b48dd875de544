"""Objects: generation, import, find, attributes, ownership, sharing, wrap/unwrap, destroy."""

from __future__ import annotations

import pytest

from strongroom.constants import Attribute, KeyType, Mechanism, ObjectClass
from strongroom.crypto.asymmetric import CurveName, ec_params_for_curve
from strongroom.engine import GCMParams, Session
from strongroom.errors import (
    ActionProhibited,
    AttributeReadOnly,
    AttributeSensitive,
    AttributeTypeInvalid,
    HSMSealed,
    IntegrityError,
    KeyFunctionNotPermitted,
    KeyNotWrappable,
    KeySizeRange,
    KeyTypeInconsistent,
    KeyUnextractable,
    MechanismInvalid,
    NotKeyOwner,
    ObjectHandleInvalid,
    PermissionDenied,
    PolicyDenied,
    TemplateIncomplete,
    TemplateInconsistent,
    UserNotFound,
)
from strongroom.testing import MemoryStore

from .engine_helpers import ALICE_PASSWORD, Cluster, build

P256 = ec_params_for_curve("secp256r1")
A = Attribute
KWP = Mechanism.AES_KEY_WRAP_KWP


def aes(s: object, **extra: object) -> int:
    """A token AES-256 key with extra attributes."""
    template = {
        A.VALUE_LEN: 32,
        A.TOKEN: True,
        **{Attribute[k.upper()]: v for k, v in extra.items()},
    }
    assert isinstance(s, Session)
    return s.generate_key(Mechanism.AES_KEY_GEN, template)


def test_generated_key_attributes(cluster: Cluster) -> None:
    """A generated key records where it came from and its sensitivity history."""
    key = aes(cluster.alice, label="k", id=b"\x01")
    got = cluster.alice.get_attributes(
        key,
        [
            A.CLASS,
            A.KEY_TYPE,
            A.LOCAL,
            A.KEY_GEN_MECHANISM,
            A.ALWAYS_SENSITIVE,
            A.NEVER_EXTRACTABLE,
            A.SENSITIVE,
            A.EXTRACTABLE,
            A.VALUE_LEN,
            A.LABEL,
            A.ID,
            A.TOKEN,
            A.PRIVATE,
            A.ENCRYPT,
            A.DERIVE,
            A.TRUSTED,
        ],
    )
    assert got == {
        A.CLASS: ObjectClass.SECRET_KEY,
        A.KEY_TYPE: KeyType.AES,
        A.LOCAL: True,
        A.KEY_GEN_MECHANISM: Mechanism.AES_KEY_GEN,
        A.ALWAYS_SENSITIVE: True,
        A.NEVER_EXTRACTABLE: False,
        A.SENSITIVE: True,
        A.EXTRACTABLE: True,
        A.VALUE_LEN: 32,
        A.LABEL: "k",
        A.ID: b"\x01",
        A.TOKEN: True,
        A.PRIVATE: True,
        A.ENCRYPT: True,
        A.DERIVE: False,
        A.TRUSTED: False,
    }
    assert len(cluster.alice.get_attributes(key, [A.CHECK_VALUE])[A.CHECK_VALUE]) == 3  # type: ignore[arg-type]


@pytest.mark.parametrize("attr", [A.VALUE])
def test_key_material_is_never_returned(cluster: Cluster, attr: Attribute) -> None:
    """Sensitive attributes raise ATTRIBUTE_SENSITIVE, even for extractable, non-sensitive keys."""
    key = aes(cluster.alice, sensitive=False, extractable=True)
    with pytest.raises(AttributeSensitive):
        cluster.alice.get_attributes(key, [attr])


def test_private_key_components_are_never_returned(cluster: Cluster) -> None:
    """RSA private components and EC private values stay inside."""
    _, priv = cluster.alice.generate_key_pair(
        Mechanism.RSA_PKCS_KEY_PAIR_GEN, {A.MODULUS_BITS: 2048}, {}
    )
    for attr in (A.PRIVATE_EXPONENT, A.PRIME_1, A.PRIME_2, A.COEFFICIENT):
        with pytest.raises(AttributeSensitive):
            cluster.alice.get_attributes(priv, [attr])
    assert len(cluster.alice.get_attributes(priv, [A.MODULUS])[A.MODULUS]) == 256  # type: ignore[arg-type]
    with pytest.raises(AttributeTypeInvalid):
        cluster.alice.get_attributes(priv, [A.VALUE_LEN])


@pytest.mark.parametrize(
    ("template", "error"),
    [
        ({A.VALUE_LEN: 17}, KeySizeRange),
        ({A.VALUE_LEN: 0}, KeySizeRange),
        ({}, TemplateIncomplete),
        ({A.VALUE_LEN: 32, A.VALUE: b"x" * 32}, AttributeReadOnly),
        ({A.VALUE_LEN: 32, A.LOCAL: True}, AttributeReadOnly),
        ({A.VALUE_LEN: 32, A.CLASS: ObjectClass.PUBLIC_KEY}, TemplateInconsistent),
        ({A.VALUE_LEN: 32, A.KEY_TYPE: KeyType.RSA}, TemplateInconsistent),
        ({A.VALUE_LEN: 32, A.MODULUS_BITS: 2048}, AttributeTypeInvalid),
    ],
)
def test_bad_generate_templates(
    cluster: Cluster, template: dict[Attribute, object], error: type[Exception]
) -> None:
    """Each kind of bad template gets its own error, and nothing is created."""
    before = cluster.alice.find_objects()
    with pytest.raises(error):
        cluster.alice.generate_key(Mechanism.AES_KEY_GEN, template)
    assert cluster.alice.find_objects() == before


@pytest.mark.parametrize("bits", [1024, 2000, 4352, 8192])
def test_rsa_sizes_outside_policy(cluster: Cluster, bits: int) -> None:
    """RSA is 2048–4096 bits in steps of 256."""
    with pytest.raises(KeySizeRange):
        cluster.alice.generate_key_pair(Mechanism.RSA_PKCS_KEY_PAIR_GEN, {A.MODULUS_BITS: bits}, {})


@pytest.mark.parametrize("exponent", [b"\x03", b"\x01\x00\x00", b"\x01\x00\x02"])
def test_rsa_exponent_policy(cluster: Cluster, exponent: bytes) -> None:
    """The public exponent is odd and at least 65537."""
    with pytest.raises(Exception, match="PUBLIC_EXPONENT"):
        cluster.alice.generate_key_pair(
            Mechanism.RSA_PKCS_KEY_PAIR_GEN, {A.MODULUS_BITS: 2048, A.PUBLIC_EXPONENT: exponent}, {}
        )


@pytest.mark.parametrize("curve", ["secp256r1", "secp384r1", "secp521r1", "secp256k1"])
def test_ec_curves(cluster: Cluster, curve: CurveName) -> None:
    """Every supported curve generates a key pair that signs and verifies."""
    pub, priv = cluster.alice.generate_key_pair(
        Mechanism.EC_KEY_PAIR_GEN,
        {A.EC_PARAMS: ec_params_for_curve(curve)},
        {},
    )
    sig = cluster.alice.sign(priv, Mechanism.ECDSA_SHA256, b"msg")
    cluster.alice.verify(pub, Mechanism.ECDSA_SHA256, b"msg", sig)


def test_ed25519(cluster: Cluster) -> None:
    """Ed25519 key pairs sign and verify with EdDSA."""
    pub, priv = cluster.alice.generate_key_pair(
        Mechanism.EC_EDWARDS_KEY_PAIR_GEN, {A.EC_PARAMS: ec_params_for_curve("ed25519")}, {}
    )
    sig = cluster.alice.sign(priv, Mechanism.EDDSA, b"msg")
    assert len(sig) == 64
    cluster.alice.verify(pub, Mechanism.EDDSA, b"msg", sig)


def test_find_by_label_id_and_class(cluster: Cluster) -> None:
    """Find narrows by label, ID and class, and only shows what the caller may see."""
    k1 = aes(cluster.alice, label="payments", id=b"\x01")
    k2 = aes(cluster.alice, label="payments", id=b"\x02")
    bobs = aes(cluster.bob, label="payments")
    pub, _ = cluster.alice.generate_key_pair(
        Mechanism.EC_KEY_PAIR_GEN, {A.EC_PARAMS: P256, A.TOKEN: True, A.LABEL: "signing"}, {}
    )
    assert cluster.alice.find_objects({A.LABEL: "payments"}) == [k1, k2]
    assert cluster.alice.find_objects({A.LABEL: "payments", A.ID: b"\x02"}) == [k2]
    assert cluster.alice.find_objects({A.CLASS: ObjectClass.PUBLIC_KEY}) == [pub]
    assert cluster.bob.find_objects({A.LABEL: "payments"}) == [bobs]
    assert cluster.bob.find_objects({A.LABEL: "signing"}) == [pub]  # public keys are visible
    assert sorted(cluster.admin.find_objects({A.LABEL: "payments"})) == sorted([k1, k2, bobs])


def test_other_users_keys_are_invisible(cluster: Cluster) -> None:
    """A crypto user cannot see, use or manage another's unshared key."""
    key = aes(cluster.alice)
    for action in (
        lambda: cluster.bob.get_attributes(key, [A.LABEL]),
        lambda: cluster.bob.encrypt(key, Mechanism.AES_GCM, b"x"),
        lambda: cluster.bob.destroy_object(key),
    ):
        with pytest.raises(ObjectHandleInvalid):
            action()


def test_sharing_allows_use_not_management(cluster: Cluster) -> None:
    """Shared users use a key; only the owner destroys, wraps, shares or changes it."""
    key = aes(cluster.alice)
    wrapper = aes(cluster.bob)
    cluster.alice.share_key(key, "bob")
    ct = cluster.bob.encrypt(key, Mechanism.AES_GCM, b"shared")
    assert cluster.alice.decrypt(key, Mechanism.AES_GCM, ct) == b"shared"
    for action in (
        lambda: cluster.bob.destroy_object(key),
        lambda: cluster.bob.set_attributes(key, {A.LABEL: "mine"}),
        lambda: cluster.bob.share_key(key, "alice"),
        lambda: cluster.bob.wrap_key(KWP, wrapper, key),
    ):
        with pytest.raises(NotKeyOwner):
            action()
    cluster.alice.unshare_key(key, "bob")
    with pytest.raises(ObjectHandleInvalid):
        cluster.bob.encrypt(key, Mechanism.AES_GCM, b"x")


def test_share_with_bad_targets(cluster: Cluster) -> None:
    """Shares go to existing crypto users other than the owner."""
    key = aes(cluster.alice)
    with pytest.raises(UserNotFound):
        cluster.alice.share_key(key, "nobody")
    with pytest.raises(UserNotFound):
        cluster.alice.share_key(key, "admin")
    with pytest.raises(ValueError, match="owner"):
        cluster.alice.share_key(key, "alice")


def test_set_attributes(cluster: Cluster) -> None:
    """Owners relabel keys and move one-way attributes only one way."""
    key = aes(cluster.alice)
    cluster.alice.set_attributes(key, {A.LABEL: "renamed", A.EXTRACTABLE: False})
    assert cluster.alice.find_objects({A.LABEL: "renamed"}) == [key]
    with pytest.raises(AttributeReadOnly):
        cluster.alice.set_attributes(key, {A.EXTRACTABLE: True})
    with pytest.raises(AttributeReadOnly):
        cluster.alice.set_attributes(key, {A.SENSITIVE: False})
    with pytest.raises(AttributeReadOnly):
        cluster.alice.set_attributes(key, {A.TRUSTED: True})
    with pytest.raises(AttributeReadOnly):
        cluster.alice.set_attributes(key, {A.VALUE_LEN: 16})
    hmac_key = cluster.alice.generate_key(Mechanism.GENERIC_SECRET_KEY_GEN, {A.VALUE_LEN: 32})
    with pytest.raises(TemplateInconsistent):
        cluster.alice.set_attributes(hmac_key, {A.WRAP: True})


def test_usage_attribute_is_enforced(cluster: Cluster) -> None:
    """A key whose ENCRYPT is false cannot encrypt."""
    key = aes(cluster.alice, encrypt=False)
    with pytest.raises(KeyFunctionNotPermitted):
        cluster.alice.encrypt(key, Mechanism.AES_GCM, b"x")
    cluster.alice.set_attributes(key, {A.DECRYPT: False})
    with pytest.raises(KeyFunctionNotPermitted):
        cluster.alice.decrypt(key, Mechanism.AES_GCM, bytes(40))


def test_wrong_mechanism_for_key(cluster: Cluster) -> None:
    """A mechanism for another key type, or an unknown one, is refused."""
    key = aes(cluster.alice)
    with pytest.raises(KeyTypeInconsistent):
        cluster.alice.sign(key, Mechanism.ECDSA_SHA256, b"x")
    with pytest.raises(MechanismInvalid):
        cluster.alice.encrypt(key, 0x7FFF_FFFF, b"x")
    with pytest.raises(MechanismInvalid):
        cluster.alice.encrypt(key, Mechanism.AES_KEY_GEN, b"x")


def test_trusted_is_set_by_admins(cluster: Cluster) -> None:
    """Admins set TRUSTED; the owner may clear it."""
    key = aes(cluster.alice)
    cluster.admin.set_trusted(key, True)
    assert cluster.alice.get_attributes(key, [A.TRUSTED]) == {A.TRUSTED: True}
    with pytest.raises(PermissionDenied):
        cluster.admin.set_attributes(key, {A.LABEL: "admin-renamed"})


def test_wrap_and_unwrap_round_trip(cluster: Cluster) -> None:
    """A wrapped key unwraps into a working key that is no longer LOCAL."""
    wrapping = aes(cluster.alice)
    key = aes(cluster.alice)
    ct = cluster.alice.encrypt(key, Mechanism.AES_GCM, b"before wrap")
    for mechanism in (Mechanism.AES_KEY_WRAP, KWP):
        blob = cluster.alice.wrap_key(mechanism, wrapping, key)
        copy = cluster.alice.unwrap_key(
            mechanism, wrapping, blob, {A.CLASS: ObjectClass.SECRET_KEY, A.KEY_TYPE: KeyType.AES}
        )
        assert cluster.alice.decrypt(copy, Mechanism.AES_GCM, ct) == b"before wrap"
        got = cluster.alice.get_attributes(copy, [A.LOCAL, A.ALWAYS_SENSITIVE, A.NEVER_EXTRACTABLE])
        assert got == {A.LOCAL: False, A.ALWAYS_SENSITIVE: False, A.NEVER_EXTRACTABLE: False}


def test_wrap_private_keys(cluster: Cluster) -> None:
    """EC and RSA private keys wrap as PKCS#8 and unwrap into signing keys."""
    wrapping = aes(cluster.alice)
    pub, priv = cluster.alice.generate_key_pair(Mechanism.EC_KEY_PAIR_GEN, {A.EC_PARAMS: P256}, {})
    blob = cluster.alice.wrap_key(KWP, wrapping, priv)
    copy = cluster.alice.unwrap_key(
        KWP, wrapping, blob, {A.CLASS: ObjectClass.PRIVATE_KEY, A.KEY_TYPE: KeyType.EC}
    )
    cluster.alice.verify(
        pub, Mechanism.ECDSA_SHA256, b"m", cluster.alice.sign(copy, Mechanism.ECDSA_SHA256, b"m")
    )
    with pytest.raises(TemplateInconsistent):
        cluster.alice.unwrap_key(
            KWP, wrapping, blob, {A.CLASS: ObjectClass.PRIVATE_KEY, A.KEY_TYPE: KeyType.RSA}
        )


def test_unwrap_integrity_failures_are_uniform(cluster: Cluster) -> None:
    """Every tampered or wrong-size blob fails with the same ENCRYPTED_DATA_INVALID."""
    wrapping = aes(cluster.alice)
    blob = cluster.alice.wrap_key(KWP, wrapping, aes(cluster.alice))
    template = {A.CLASS: ObjectClass.SECRET_KEY, A.KEY_TYPE: KeyType.AES}
    codes = set()
    for bad in (blob[:-1], blob + b"\x00", bytes([blob[0] ^ 1]) + blob[1:], b"", bytes(8)):
        with pytest.raises(IntegrityError) as info:
            cluster.alice.unwrap_key(KWP, wrapping, bad, template)
        codes.add((info.value.code, info.value.message))
    assert len(codes) == 1


def test_unextractable_keys_do_not_wrap(cluster: Cluster) -> None:
    """EXTRACTABLE=false keys never leave."""
    wrapping = aes(cluster.alice)
    key = aes(cluster.alice, extractable=False)
    with pytest.raises(KeyUnextractable):
        cluster.alice.wrap_key(KWP, wrapping, key)
    assert cluster.alice.get_attributes(key, [A.NEVER_EXTRACTABLE]) == {A.NEVER_EXTRACTABLE: True}


def test_wrap_with_trusted(cluster: Cluster) -> None:
    """A WRAP_WITH_TRUSTED key wraps only under a key an admin marked TRUSTED."""
    wrapping = aes(cluster.alice)
    key = aes(cluster.alice, wrap_with_trusted=True)
    with pytest.raises(KeyNotWrappable):
        cluster.alice.wrap_key(KWP, wrapping, key)
    cluster.admin.set_trusted(wrapping, True)
    assert cluster.alice.wrap_key(KWP, wrapping, key)
    with pytest.raises(AttributeReadOnly):
        cluster.alice.set_attributes(key, {A.WRAP_WITH_TRUSTED: False})


def test_wrap_template_and_unwrap_template(cluster: Cluster) -> None:
    """WRAP_TEMPLATE filters what may be wrapped; UNWRAP_TEMPLATE is merged into unwraps."""
    wrapping = aes(
        cluster.alice,
        wrap_template={A.LABEL: "exportable"},
        unwrap_template={A.LABEL: "imported", A.EXTRACTABLE: False},
    )
    with pytest.raises(KeyNotWrappable):
        cluster.alice.wrap_key(KWP, wrapping, aes(cluster.alice, label="other"))
    blob = cluster.alice.wrap_key(KWP, wrapping, aes(cluster.alice, label="exportable"))
    template = {A.CLASS: ObjectClass.SECRET_KEY, A.KEY_TYPE: KeyType.AES}
    copy = cluster.alice.unwrap_key(KWP, wrapping, blob, template)
    assert cluster.alice.get_attributes(copy, [A.LABEL, A.EXTRACTABLE]) == {
        A.LABEL: "imported",
        A.EXTRACTABLE: False,
    }
    with pytest.raises(TemplateInconsistent):
        cluster.alice.unwrap_key(KWP, wrapping, blob, {**template, A.LABEL: "conflict"})


def test_wrapping_key_needs_wrap(cluster: Cluster) -> None:
    """The wrapping key's WRAP (and unwrapping key's UNWRAP) attribute must be true."""
    wrapping = aes(cluster.alice, wrap=False, unwrap=False)
    with pytest.raises(KeyFunctionNotPermitted):
        cluster.alice.wrap_key(KWP, wrapping, aes(cluster.alice))
    with pytest.raises(KeyFunctionNotPermitted):
        cluster.alice.unwrap_key(
            KWP, wrapping, bytes(40), {A.CLASS: ObjectClass.SECRET_KEY, A.KEY_TYPE: KeyType.AES}
        )


def test_clear_import_and_policy(cluster: Cluster) -> None:
    """Clear import works by default (non-FIPS) and an admin can turn it off."""
    value = bytes(range(32))
    key = cluster.alice.create_object(
        {A.CLASS: ObjectClass.SECRET_KEY, A.KEY_TYPE: KeyType.AES, A.VALUE: value, A.TOKEN: True}
    )
    assert cluster.alice.get_attributes(key, [A.LOCAL, A.VALUE_LEN]) == {
        A.LOCAL: False,
        A.VALUE_LEN: 32,
    }
    with pytest.raises(KeySizeRange):
        cluster.alice.create_object(
            {A.CLASS: ObjectClass.SECRET_KEY, A.KEY_TYPE: KeyType.AES, A.VALUE: b"short"}
        )
    cluster.admin.set_policy("clear_key_import", False)
    with pytest.raises(PolicyDenied):
        cluster.alice.create_object(
            {A.CLASS: ObjectClass.SECRET_KEY, A.KEY_TYPE: KeyType.AES, A.VALUE: value}
        )
    data = cluster.alice.create_object(
        {A.CLASS: ObjectClass.DATA, A.VALUE: b"still fine", A.LABEL: "d"}
    )
    assert cluster.alice.get_attributes(data, [A.VALUE]) == {A.VALUE: b"still fine"}


def test_private_data_objects_round_trip(cluster: Cluster) -> None:
    """CKA_PRIVATE data objects keep their value (sealed) and only their owner sees them."""
    data = cluster.alice.create_object(
        {A.CLASS: ObjectClass.DATA, A.VALUE: b"secret note", A.PRIVATE: True, A.TOKEN: True}
    )
    assert cluster.alice.get_attributes(data, [A.VALUE]) == {A.VALUE: b"secret note"}
    with pytest.raises(ObjectHandleInvalid):
        cluster.bob.get_attributes(data, [A.VALUE])


def test_session_objects_die_with_their_session(cluster: Cluster) -> None:
    """Session objects are private to their session and destroyed when it closes."""
    s = cluster.session("alice", ALICE_PASSWORD)
    key = s.generate_key(Mechanism.AES_KEY_GEN, {A.VALUE_LEN: 16})
    with pytest.raises(ObjectHandleInvalid):
        cluster.alice.encrypt(key, Mechanism.AES_GCM, b"x")
    s.close()
    with pytest.raises(ObjectHandleInvalid):
        cluster.hsm.open_session().info() and cluster.alice.get_attributes(key, [A.LABEL])


def test_destroy(cluster: Cluster) -> None:
    """Owners destroy objects unless DESTROYABLE is false."""
    key = aes(cluster.alice)
    cluster.alice.destroy_object(key)
    with pytest.raises(ObjectHandleInvalid):
        cluster.alice.get_attributes(key, [A.LABEL])
    stuck = aes(cluster.alice, destroyable=False)
    with pytest.raises(ActionProhibited):
        cluster.alice.destroy_object(stuck)


@pytest.mark.parametrize("handle", [0, -1, 2**63, "1", None, 1.5, True])
def test_bad_handles(cluster: Cluster, handle: object) -> None:
    """Handles of the wrong type or unknown numbers are OBJECT_HANDLE_INVALID."""
    with pytest.raises(ObjectHandleInvalid):
        cluster.alice.get_attributes(handle, [A.LABEL])  # type: ignore[arg-type]


def test_token_keys_need_an_unsealed_hsm() -> None:
    """Before any admin has logged in since start-up, token keys cannot be stored or used."""
    store = MemoryStore()
    cluster = build(store)
    key = aes(cluster.alice)
    cluster.alice.encrypt(key, Mechanism.AES_GCM, b"x", GCMParams())
    cluster.hsm._core.catalog.storage_key = None  # as after a restart
    cluster.hsm._core.catalog.clear_cache()
    with pytest.raises(HSMSealed):
        aes(cluster.alice)
    with pytest.raises(HSMSealed):
        cluster.alice.encrypt(key, Mechanism.AES_GCM, b"x")

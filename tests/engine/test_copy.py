"""C_CopyObject: same material, new attributes, and only what PKCS#11 lets a copy change."""

from __future__ import annotations

import pytest

from strongroom.constants import Attribute, Mechanism, ObjectClass
from strongroom.engine import GCMParams
from strongroom.errors import ActionProhibited, AttributeReadOnly, ObjectHandleInvalid

from .engine_helpers import Cluster

AES = {Attribute.VALUE_LEN: 32, Attribute.LABEL: "orig", Attribute.TOKEN: False}
IV = GCMParams(bytes(12))


def test_a_copy_has_the_same_key_and_its_own_attributes(cluster: Cluster) -> None:
    alice = cluster.alice
    key = alice.generate_key(Mechanism.AES_KEY_GEN, AES)
    copy = alice.copy_object(key, {Attribute.LABEL: "copy", Attribute.TOKEN: True})
    assert copy != key
    got = alice.get_attributes(copy, [Attribute.LABEL, Attribute.TOKEN, Attribute.CHECK_VALUE])
    original = alice.get_attributes(key, [Attribute.LABEL, Attribute.CHECK_VALUE])
    assert got[Attribute.LABEL] == "copy"
    assert got[Attribute.TOKEN] is True
    assert got[Attribute.CHECK_VALUE] == original[Attribute.CHECK_VALUE]
    assert original[Attribute.LABEL] == "orig"
    sealed = alice.encrypt(key, Mechanism.AES_GCM, b"same key", IV)
    assert alice.decrypt(copy, Mechanism.AES_GCM, sealed, IV) == b"same key"
    assert copy in alice.find_objects({Attribute.LABEL: "copy"})


def test_data_objects_copy_too(cluster: Cluster) -> None:
    alice = cluster.alice
    data = alice.create_object({Attribute.CLASS: ObjectClass.DATA, Attribute.VALUE: b"v"})
    copy = alice.copy_object(data, {})
    assert alice.get_attributes(copy, [Attribute.VALUE])[Attribute.VALUE] == b"v"


def test_copies_are_refused_where_pkcs11_refuses_them(cluster: Cluster) -> None:
    alice = cluster.alice
    fixed = alice.generate_key(Mechanism.AES_KEY_GEN, {**AES, Attribute.COPYABLE: False})
    with pytest.raises(ActionProhibited):
        alice.copy_object(fixed, {})
    key = alice.generate_key(Mechanism.AES_KEY_GEN, {**AES, Attribute.SENSITIVE: True})
    with pytest.raises(AttributeReadOnly):
        alice.copy_object(key, {Attribute.SENSITIVE: False})  # one way only
    with pytest.raises(AttributeReadOnly):
        alice.copy_object(key, {Attribute.VALUE_LEN: 16})
    token_key = alice.generate_key(Mechanism.AES_KEY_GEN, {**AES, Attribute.TOKEN: True})
    with pytest.raises(ObjectHandleInvalid):
        cluster.bob.copy_object(token_key, {})  # not his

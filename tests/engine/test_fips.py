"""FIPS mode: fixed at creation; non-approved mechanisms, curves and clear import refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from strongroom.constants import Attribute, KeyType, Mechanism, ObjectClass
from strongroom.crypto.asymmetric import ec_params_for_curve
from strongroom.engine import HSM, PSSParams
from strongroom.errors import ArgumentsBad, MechanismNotApproved, PolicyDenied
from strongroom.store.sqlite import SQLiteStore
from strongroom.testing import MemoryStore, fast_config

from .engine_helpers import build

A = Attribute


def test_mode_is_fixed_at_creation(sqlite_path: Path) -> None:
    """An HSM created in FIPS mode stays in it, and asking for the other mode fails."""
    build(SQLiteStore(sqlite_path), fips_mode=True).hsm.close()
    hsm = HSM.open(SQLiteStore(sqlite_path), fast_config())
    assert hsm.info()["fips_mode"] is True
    hsm.close()
    with pytest.raises(ArgumentsBad):
        HSM.open(SQLiteStore(sqlite_path), fast_config(fips_mode=False))


def test_fips_refuses_non_approved() -> None:
    """FIPS mode refuses Ed25519, secp256k1, SHA-1 signatures and clear key import."""
    cluster = build(MemoryStore(), fips_mode=True)
    s = cluster.alice
    with pytest.raises(MechanismNotApproved):
        s.generate_key_pair(
            Mechanism.EC_EDWARDS_KEY_PAIR_GEN, {A.EC_PARAMS: ec_params_for_curve("ed25519")}, {}
        )
    with pytest.raises(MechanismNotApproved):
        s.generate_key_pair(
            Mechanism.EC_KEY_PAIR_GEN, {A.EC_PARAMS: ec_params_for_curve("secp256k1")}, {}
        )
    pub, priv = s.generate_key_pair(
        Mechanism.EC_KEY_PAIR_GEN, {A.EC_PARAMS: ec_params_for_curve("secp256r1")}, {}
    )
    with pytest.raises(MechanismNotApproved):
        s.sign(priv, Mechanism.ECDSA_SHA1, b"m")
    s.verify(pub, Mechanism.ECDSA_SHA256, b"m", s.sign(priv, Mechanism.ECDSA_SHA256, b"m"))
    _, rsa_priv = s.generate_key_pair(Mechanism.RSA_PKCS_KEY_PAIR_GEN, {A.MODULUS_BITS: 2048}, {})
    with pytest.raises(MechanismNotApproved):
        s.sign(rsa_priv, Mechanism.SHA1_RSA_PKCS_PSS, b"m", PSSParams("SHA1"))
    with pytest.raises(PolicyDenied):
        s.create_object(
            {A.CLASS: ObjectClass.SECRET_KEY, A.KEY_TYPE: KeyType.AES, A.VALUE: bytes(32)}
        )
    with pytest.raises(ArgumentsBad):
        cluster.admin.set_policy("clear_key_import", True)


def test_fips_generic_secret_minimum() -> None:
    """FIPS mode needs HMAC keys of at least 112 bits."""
    cluster = build(MemoryStore(), fips_mode=True)
    from strongroom.errors import KeySizeRange

    with pytest.raises(KeySizeRange):
        cluster.alice.generate_key(Mechanism.GENERIC_SECRET_KEY_GEN, {A.VALUE_LEN: 8})
    cluster.alice.generate_key(Mechanism.GENERIC_SECRET_KEY_GEN, {A.VALUE_LEN: 14})

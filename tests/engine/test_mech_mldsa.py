"""ML-DSA (FIPS 204) through the engine: generation, signatures both ways, import, wrap."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import mldsa

from strongroom.constants import Attribute, KeyType, Mechanism, ObjectClass, ParameterSet
from strongroom.engine import MLDSAParams
from strongroom.errors import (
    KeySizeRange,
    MechanismInvalid,
    MechanismParamInvalid,
    SignatureInvalid,
    TemplateIncomplete,
)
from strongroom.testing import MemoryStore

from .engine_helpers import Cluster, build

A = Attribute
M = Mechanism
SETS = {
    ParameterSet.ML_DSA_44: mldsa.MLDSA44PrivateKey,
    ParameterSet.ML_DSA_65: mldsa.MLDSA65PrivateKey,
    ParameterSet.ML_DSA_87: mldsa.MLDSA87PrivateKey,
}


@pytest.mark.parametrize("parameter_set", list(SETS))
def test_generate_sign_and_verify_in_pyca(cluster: Cluster, parameter_set: ParameterSet) -> None:
    """Each parameter set generates; signatures (with a context) verify in pyca and back."""
    s = cluster.alice
    pub, priv = s.generate_key_pair(M.ML_DSA_KEY_PAIR_GEN, {A.PARAMETER_SET: parameter_set}, {})
    attrs = s.get_attributes(priv, [A.KEY_TYPE, A.PARAMETER_SET, A.LOCAL])
    assert attrs == {A.KEY_TYPE: KeyType.ML_DSA, A.PARAMETER_SET: parameter_set, A.LOCAL: True}
    spki = serialization.load_der_public_key(s.export_public_key(pub))
    assert isinstance(
        spki, mldsa.MLDSA44PublicKey | mldsa.MLDSA65PublicKey | mldsa.MLDSA87PublicKey
    )
    sig = s.sign(priv, M.ML_DSA, b"post-quantum", MLDSAParams(b"ctx"))
    spki.verify(sig, b"post-quantum", b"ctx")
    s.verify(pub, M.ML_DSA, b"post-quantum", sig, MLDSAParams(b"ctx"))
    with pytest.raises(SignatureInvalid):
        s.verify(pub, M.ML_DSA, b"post-quantum", sig)  # a different (empty) context
    raw = s.get_attributes(pub, [A.VALUE])[A.VALUE]
    assert raw == spki.public_bytes_raw()


def test_pyca_signatures_verify_in_the_engine(cluster: Cluster) -> None:
    """An imported ML-DSA public key (raw VALUE) verifies pyca's signatures."""
    theirs = mldsa.MLDSA65PrivateKey.generate()
    pub = cluster.alice.create_object(
        {
            A.CLASS: ObjectClass.PUBLIC_KEY,
            A.KEY_TYPE: KeyType.ML_DSA,
            A.PARAMETER_SET: ParameterSet.ML_DSA_65,
            A.VALUE: theirs.public_key().public_bytes_raw(),
        }
    )
    cluster.alice.verify(pub, M.ML_DSA, b"from pyca", theirs.sign(b"from pyca"))
    with pytest.raises(SignatureInvalid):
        cluster.alice.verify(pub, M.ML_DSA, b"from pyca?", theirs.sign(b"from pyca"))


def test_private_key_imports_by_seed(cluster: Cluster) -> None:
    """An ML-DSA private key imported as its 32-byte seed signs what pyca verifies."""
    theirs = mldsa.MLDSA44PrivateKey.generate()
    priv = cluster.alice.create_object(
        {
            A.CLASS: ObjectClass.PRIVATE_KEY,
            A.KEY_TYPE: KeyType.ML_DSA,
            A.PARAMETER_SET: ParameterSet.ML_DSA_44,
            A.VALUE: theirs.private_bytes_raw(),
        }
    )
    sig = cluster.alice.sign(priv, M.ML_DSA, b"seeded")
    theirs.public_key().verify(sig, b"seeded")


def test_private_key_wraps_and_unwraps(cluster: Cluster) -> None:
    """An extractable ML-DSA key leaves under AES-KWP as PKCS#8 and comes back working."""
    s = cluster.alice
    kek = s.generate_key(M.AES_KEY_GEN, {A.VALUE_LEN: 32})
    pub, priv = s.generate_key_pair(
        M.ML_DSA_KEY_PAIR_GEN, {A.PARAMETER_SET: ParameterSet.ML_DSA_87}, {A.EXTRACTABLE: True}
    )
    wrapped = s.wrap_key(M.AES_KEY_WRAP_KWP, kek, priv)
    back = s.unwrap_key(
        M.AES_KEY_WRAP_KWP,
        kek,
        wrapped,
        {A.CLASS: ObjectClass.PRIVATE_KEY, A.KEY_TYPE: KeyType.ML_DSA},
    )
    assert s.get_attributes(back, [A.PARAMETER_SET]) == {A.PARAMETER_SET: ParameterSet.ML_DSA_87}
    s.verify(pub, M.ML_DSA, b"m", s.sign(back, M.ML_DSA, b"m"))


def test_generation_needs_a_known_parameter_set(cluster: Cluster) -> None:
    """No PARAMETER_SET is TEMPLATE_INCOMPLETE; an unknown one is KEY_SIZE_RANGE."""
    with pytest.raises(TemplateIncomplete):
        cluster.alice.generate_key_pair(M.ML_DSA_KEY_PAIR_GEN, {}, {})
    with pytest.raises(KeySizeRange):
        cluster.alice.generate_key_pair(M.ML_DSA_KEY_PAIR_GEN, {A.PARAMETER_SET: 9}, {})


def test_context_is_limited_and_signing_is_single_part(cluster: Cluster) -> None:
    """Contexts over 255 bytes are refused; ML-DSA has no multi-part form."""
    with pytest.raises(MechanismParamInvalid):
        MLDSAParams(bytes(256))
    _, priv = cluster.alice.generate_key_pair(
        M.ML_DSA_KEY_PAIR_GEN, {A.PARAMETER_SET: ParameterSet.ML_DSA_44}, {}
    )
    with pytest.raises(MechanismInvalid):
        cluster.alice.sign_init(priv, M.ML_DSA)


def test_ml_dsa_runs_in_fips_mode() -> None:
    """ML-DSA is FIPS 204 approved: a FIPS HSM generates and signs with it."""
    cluster = build(MemoryStore(), fips_mode=True)
    try:
        s = cluster.alice
        pub, priv = s.generate_key_pair(
            M.ML_DSA_KEY_PAIR_GEN, {A.PARAMETER_SET: ParameterSet.ML_DSA_65}, {}
        )
        s.verify(pub, M.ML_DSA, b"fips", s.sign(priv, M.ML_DSA, b"fips"))
    finally:
        cluster.hsm.close()

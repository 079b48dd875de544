"""ML-DSA signatures (NIST FIPS 204): key generation, seeds, public-key bytes, sign and verify.

This module owns Strongroom's use of the three ML-DSA parameter sets (`MLDSAParameterSet`,
FIPS 204 §4 Table 1) on pyca/cryptography key objects: key generation, the 32-byte seed ξ
that a private key is stored as (§6.1, Algorithm 6), the raw public-key encoding (§7.2,
Algorithm 22 pkEncode), and pure ML-DSA signing and verification with an optional context
string of at most 255 bytes (§5.2-§5.3, Algorithms 2 and 3). Signing is the default hedged
variant (fresh randomness per signature); pre-hash HashML-DSA is not offered. Verification
raises `SignatureInvalid`, never returns a bool. pyca 50 holds every ML-DSA private key in
seed form: ``private_bytes_raw`` returns the seed and PKCS#8 is the RFC 9881 ``seed [0]``
choice only (the ``expandedKey`` and ``both`` encodings do not load). It must not know about
handles, attributes or users.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal, TypeAlias

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import mldsa

from strongroom.errors import ArgumentsBad, SignatureInvalid

if TYPE_CHECKING:
    from typing_extensions import TypeIs

__all__ = [
    "MLDSAParameterSet",
    "MLDSAPrivateKey",
    "MLDSAPublicKey",
    "generate_mldsa_private_key",
    "is_mldsa",
    "mldsa_parameter_set_of",
    "mldsa_private_key_from_seed",
    "mldsa_private_seed",
    "mldsa_public_bytes",
    "mldsa_public_key_from_bytes",
    "mldsa_sign",
    "mldsa_verify",
]

MLDSAParameterSet = Literal["ML-DSA-44", "ML-DSA-65", "ML-DSA-87"]
MLDSAPrivateKey: TypeAlias = (
    mldsa.MLDSA44PrivateKey | mldsa.MLDSA65PrivateKey | mldsa.MLDSA87PrivateKey
)
MLDSAPublicKey: TypeAlias = mldsa.MLDSA44PublicKey | mldsa.MLDSA65PublicKey | mldsa.MLDSA87PublicKey

_PrivateKeyClass: TypeAlias = (
    type[mldsa.MLDSA44PrivateKey] | type[mldsa.MLDSA65PrivateKey] | type[mldsa.MLDSA87PrivateKey]
)
_PublicKeyClass: TypeAlias = (
    type[mldsa.MLDSA44PublicKey] | type[mldsa.MLDSA65PublicKey] | type[mldsa.MLDSA87PublicKey]
)

# FIPS 204 §4, Table 1: the three parameter sets.
_PRIVATE_CLASSES: Final[dict[MLDSAParameterSet, _PrivateKeyClass]] = {
    "ML-DSA-44": mldsa.MLDSA44PrivateKey,
    "ML-DSA-65": mldsa.MLDSA65PrivateKey,
    "ML-DSA-87": mldsa.MLDSA87PrivateKey,
}
_PUBLIC_CLASSES: Final[dict[MLDSAParameterSet, _PublicKeyClass]] = {
    "ML-DSA-44": mldsa.MLDSA44PublicKey,
    "ML-DSA-65": mldsa.MLDSA65PublicKey,
    "ML-DSA-87": mldsa.MLDSA87PublicKey,
}
# FIPS 204 §5.1, Algorithm 1 step 1: the seed ξ is 32 random bytes.
_SEED_SIZE: Final = 32
# FIPS 204 §5.2, Algorithm 2 step 1: the context string is at most 255 bytes.
_MAX_CONTEXT: Final = 255


_ALL_KEY_CLASSES = (
    mldsa.MLDSA44PrivateKey,
    mldsa.MLDSA65PrivateKey,
    mldsa.MLDSA87PrivateKey,
    mldsa.MLDSA44PublicKey,
    mldsa.MLDSA65PublicKey,
    mldsa.MLDSA87PublicKey,
)


def _private_class(parameter_set: MLDSAParameterSet) -> _PrivateKeyClass:
    try:
        return _PRIVATE_CLASSES[parameter_set]
    except (KeyError, TypeError):
        raise ArgumentsBad(f"unknown ML-DSA parameter set {parameter_set!r}") from None


def _check_context(context: bytes) -> None:
    if len(context) > _MAX_CONTEXT:
        raise ArgumentsBad(f"ML-DSA context must be at most 255 bytes, not {len(context)}")


def generate_mldsa_private_key(parameter_set: MLDSAParameterSet) -> MLDSAPrivateKey:
    """A fresh ML-DSA key from a fresh seed (FIPS 204 §5.1, Algorithm 1 ML-DSA.KeyGen)."""
    return _private_class(parameter_set).generate()


def is_mldsa(key: object) -> TypeIs[MLDSAPrivateKey | MLDSAPublicKey]:
    """Whether ``key`` is an ML-DSA private or public key."""
    return isinstance(key, _ALL_KEY_CLASSES)


def mldsa_parameter_set_of(key_or_pub: MLDSAPrivateKey | MLDSAPublicKey) -> MLDSAParameterSet:
    """The parameter set of an ML-DSA private or public key."""
    if isinstance(key_or_pub, mldsa.MLDSA44PrivateKey | mldsa.MLDSA44PublicKey):
        return "ML-DSA-44"
    if isinstance(key_or_pub, mldsa.MLDSA65PrivateKey | mldsa.MLDSA65PublicKey):
        return "ML-DSA-65"
    if isinstance(key_or_pub, mldsa.MLDSA87PrivateKey | mldsa.MLDSA87PublicKey):
        return "ML-DSA-87"
    raise ArgumentsBad("not an ML-DSA key")


def mldsa_private_seed(key: MLDSAPrivateKey) -> bytes:
    """The 32-byte seed ξ the key was generated from (FIPS 204 §6.1, Algorithm 6).

    pyca 50 keeps every ML-DSA private key in seed form and its ``private_bytes_raw`` returns
    exactly ξ; it never exposes the expanded secret key sk (§7.2, Algorithm 24 skEncode).
    Since it cannot load a key without its seed (see `load_private_key_der`), every key it
    holds has one.
    """
    return key.private_bytes_raw()


def mldsa_private_key_from_seed(parameter_set: MLDSAParameterSet, seed: bytes) -> MLDSAPrivateKey:
    """The key ML-DSA.KeyGen_internal derives from the 32-byte seed ξ (FIPS 204 Algorithm 6)."""
    cls = _private_class(parameter_set)
    if len(seed) != _SEED_SIZE:
        raise ArgumentsBad(f"ML-DSA seed must be 32 bytes, not {len(seed)}")
    return cls.from_seed_bytes(seed)


def mldsa_public_bytes(pub: MLDSAPublicKey) -> bytes:
    """The raw public key pk (FIPS 204 §7.2, Algorithm 22 pkEncode): 1312, 1952 or 2592 bytes."""
    return pub.public_bytes_raw()


def mldsa_public_key_from_bytes(parameter_set: MLDSAParameterSet, data: bytes) -> MLDSAPublicKey:
    """A public key from its raw encoding (FIPS 204 Algorithm 23 pkDecode).

    An unknown parameter set, or bytes of the wrong length for it, is `ArgumentsBad`.
    """
    try:
        cls = _PUBLIC_CLASSES[parameter_set]
    except (KeyError, TypeError):
        raise ArgumentsBad(f"unknown ML-DSA parameter set {parameter_set!r}") from None
    try:
        return cls.from_public_bytes(data)
    except (ValueError, UnsupportedAlgorithm):
        raise ArgumentsBad(f"invalid {parameter_set} public key") from None


def mldsa_sign(key: MLDSAPrivateKey, data: bytes, context: bytes = b"") -> bytes:
    """Pure ML-DSA signature of ``data`` under context string ``context`` (FIPS 204 Algorithm 2).

    Hedged signing: two signatures of the same message differ.
    """
    _check_context(context)
    return key.sign(data, context)


def mldsa_verify(pub: MLDSAPublicKey, signature: bytes, data: bytes, context: bytes = b"") -> None:
    """Check a pure ML-DSA signature (FIPS 204 Algorithm 3); raise `SignatureInvalid` if wrong.

    The context string must be the one used to sign; a context over 255 bytes is `ArgumentsBad`.
    """
    _check_context(context)
    try:
        pub.verify(signature, data, context)
    except (InvalidSignature, ValueError):
        raise SignatureInvalid("signature did not verify") from None

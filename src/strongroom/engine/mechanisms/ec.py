"""Elliptic curves: EC and Ed25519 key-pair generation, ECDSA and EdDSA signatures.

This module owns the EC family's handlers and registers them. ECDSA signatures are raw
r||s (PKCS#11 CKM_ECDSA format); CKM_ECDSA signs a caller-supplied digest (or any input,
as ANSI X9.62 reads it) and is single-part, the hashed variants also run multi-part (hash
the stream, sign the digest).
EdDSA is pure Ed25519, single-part as PKCS#11 defines it; Ed25519ph is refused with a
clear error because pyca/cryptography does not offer it.
"""

from __future__ import annotations

from typing import Any

from strongroom.constants import Attribute, KeyType, Mechanism
from strongroom.crypto import asymmetric
from strongroom.crypto.hashing import HashName
from strongroom.engine.mechanisms.registry import (
    FIPS_POLICY,
    Function,
    GeneratedKeyPair,
    MechanismEntry,
    MechanismRegistry,
    SignStream,
)
from strongroom.engine.mechanisms.streams import HashThenSign
from strongroom.engine.objects import HSMObject
from strongroom.errors import (
    ArgumentsBad,
    KeySizeRange,
    MechanismNotApproved,
    TemplateIncomplete,
)
from strongroom.model.params import EdDSAParams, require_none, require_params
from strongroom.model.templates import Template

__all__ = ["register"]

_EC = frozenset({KeyType.EC})
_ED = frozenset({KeyType.EC_EDWARDS})
_CURVE_BITS = {"secp224r1": 224, "secp256r1": 256, "secp256k1": 256, "secp384r1": 384}
_CURVE_BITS["secp521r1"] = 521


def _curve(template: Template) -> str:
    params = template.get(Attribute.EC_PARAMS)
    if not isinstance(params, bytes):
        raise TemplateIncomplete("EC_PARAMS is required to generate an EC key pair")
    try:
        return asymmetric.curve_for_ec_params(params)
    except ArgumentsBad:
        raise KeySizeRange("unsupported curve in EC_PARAMS") from None


def _pair(key: asymmetric.PrivateKey) -> GeneratedKeyPair:
    public = key.public_key()
    params = asymmetric.ec_params_for_curve(asymmetric.curve_of(key))
    point = asymmetric.ec_point(public)  # type: ignore[arg-type]
    return GeneratedKeyPair(
        private_der=asymmetric.private_key_to_der(key),
        private_key=key,
        public_attributes={Attribute.EC_PARAMS: params, Attribute.EC_POINT: point},
        private_attributes={Attribute.EC_PARAMS: params},
    )


def _generate_ec(public: Template, private: Template, fips: bool) -> GeneratedKeyPair:
    curve = _curve(public)
    if curve == "ed25519":
        raise KeySizeRange("use EC_EDWARDS_KEY_PAIR_GEN for Ed25519")
    if fips and curve not in FIPS_POLICY["ec_curves"]:  # type: ignore[operator]
        raise MechanismNotApproved(f"curve {curve} is not approved in FIPS mode")
    return _pair(asymmetric.generate_ec_private_key(curve))  # type: ignore[arg-type]


def _generate_ed(public: Template, private: Template, fips: bool) -> GeneratedKeyPair:
    if _curve(public) != "ed25519":
        raise KeySizeRange("EC_EDWARDS_KEY_PAIR_GEN supports Ed25519 only")
    return _pair(asymmetric.generate_ed25519_private_key())


_DEFAULT_EDDSA = EdDSAParams()


def _ecdsa(hash_name: HashName | None) -> tuple[Any, Any, Any]:
    def sign(key: HSMObject, params: Any, data: bytes) -> bytes:
        require_none(params)
        private = key.private_key()
        if hash_name is None:
            return asymmetric.ecdsa_sign_digest(private, data)  # type: ignore[arg-type]
        return asymmetric.ecdsa_sign(private, data, hash_name)  # type: ignore[arg-type]

    def verify(key: HSMObject, params: Any, data: bytes, signature: bytes) -> None:
        require_none(params)
        public = key.public_key()
        if hash_name is None:
            asymmetric.ecdsa_verify_digest(public, signature, data)  # type: ignore[arg-type]
        else:
            asymmetric.ecdsa_verify(public, signature, data, hash_name)  # type: ignore[arg-type]

    def stream(key: HSMObject, params: Any) -> SignStream:
        require_none(params)
        assert hash_name is not None
        return HashThenSign(
            hash_name,
            lambda digest: asymmetric.ecdsa_sign_digest(key.private_key(), digest),  # type: ignore[arg-type]
            lambda digest, sig: asymmetric.ecdsa_verify_digest(key.public_key(), sig, digest),  # type: ignore[arg-type]
        )

    return sign, verify, (stream if hash_name is not None else None)


def _eddsa_sign(key: HSMObject, params: Any, data: bytes) -> bytes:
    require_params(params, EdDSAParams, _DEFAULT_EDDSA)
    return asymmetric.ed25519_sign(key.private_key(), data)  # type: ignore[arg-type]


def _eddsa_verify(key: HSMObject, params: Any, data: bytes, signature: bytes) -> None:
    require_params(params, EdDSAParams, _DEFAULT_EDDSA)
    asymmetric.ed25519_verify(key.public_key(), signature, data)  # type: ignore[arg-type]


_ECDSA: dict[Mechanism, tuple[HashName | None, bool]] = {
    Mechanism.ECDSA: (None, True),
    Mechanism.ECDSA_SHA1: ("SHA1", False),
    Mechanism.ECDSA_SHA224: ("SHA224", True),
    Mechanism.ECDSA_SHA256: ("SHA256", True),
    Mechanism.ECDSA_SHA384: ("SHA384", True),
    Mechanism.ECDSA_SHA512: ("SHA512", True),
}
"""ECDSA mechanisms: hash (None: caller hashed) and whether signing is FIPS-approved."""


def register(registry: MechanismRegistry) -> None:
    """Register the EC family."""
    registry.add(
        MechanismEntry(
            Mechanism.EC_KEY_PAIR_GEN,
            Function.GENERATE_KEY_PAIR,
            _EC,
            224,
            521,
            True,
            generate_pair=_generate_ec,
            notes="secp224r1, P-256, P-384, P-521, secp256k1 (FIPS mode: no secp256k1)",
        )
    )
    registry.add(
        MechanismEntry(
            Mechanism.EC_EDWARDS_KEY_PAIR_GEN,
            Function.GENERATE_KEY_PAIR,
            _ED,
            255,
            255,
            False,
            generate_pair=_generate_ed,
            notes="Ed25519 is non-FIPS only, as on CloudHSM",
        )
    )
    for mechanism, (hash_name, approved) in _ECDSA.items():
        sign, verify, stream = _ecdsa(hash_name)
        registry.add(
            MechanismEntry(
                mechanism,
                Function.SIGN | Function.VERIFY,
                _EC,
                224,
                521,
                True,
                sign=sign,
                verify=verify,
                sign_stream=stream,
                fips_functions=None if approved else Function.VERIFY,
                notes=(
                    "input: a digest, or any bytes as ANSI X9.62 takes them (leftmost order bits)"
                    if hash_name is None
                    else ""
                    if approved
                    else "FIPS mode: verify only (SP 800-131A)"
                ),
            )
        )
    registry.add(
        MechanismEntry(
            Mechanism.EDDSA,
            Function.SIGN | Function.VERIFY,
            _ED,
            255,
            255,
            False,
            params_type=EdDSAParams,
            sign=_eddsa_sign,
            verify=_eddsa_verify,
            notes="pure Ed25519; non-FIPS only, as on CloudHSM",
        )
    )

"""ML-DSA (FIPS 204): key-pair generation and pure ML-DSA signatures, PKCS#11 v3.2.

This module owns the ML-DSA family's handlers and registers them — offered because the
installed pyca/cryptography (50) provides ML-DSA-44, -65 and -87. The parameter set comes
from the public template's CKA_PARAMETER_SET (CKP_ML_DSA_44/65/87); private keys are kept
as their 32-byte seed. Signing is hedged (fresh randomness each time) and single-part, with
an optional context string (``MLDSAParams``); pre-hash HashML-DSA is not offered.
"""

from __future__ import annotations

from typing import Any

from strongroom.constants import Attribute, KeyType, Mechanism
from strongroom.crypto import asymmetric
from strongroom.crypto.mldsa import (
    generate_mldsa_private_key,
    is_mldsa,
    mldsa_public_bytes,
    mldsa_sign,
    mldsa_verify,
)
from strongroom.engine.mechanisms.registry import (
    Function,
    GeneratedKeyPair,
    MechanismEntry,
    MechanismRegistry,
)
from strongroom.engine.objects import (
    HSMObject,
    mldsa_parameter_set_name,
    mldsa_parameter_set_number,
)
from strongroom.errors import ArgumentsBad, KeySizeRange, TemplateIncomplete
from strongroom.model.params import MLDSAParams, require_params
from strongroom.model.templates import Template

__all__ = ["register"]

_MLDSA = frozenset({KeyType.ML_DSA})
_DEFAULT = MLDSAParams()


def _generate(public: Template, private: Template, fips: bool) -> GeneratedKeyPair:
    if Attribute.PARAMETER_SET not in public:
        raise TemplateIncomplete("PARAMETER_SET is required to generate an ML-DSA key pair")
    try:
        name = mldsa_parameter_set_name(public[Attribute.PARAMETER_SET])
    except ArgumentsBad:
        raise KeySizeRange("PARAMETER_SET must be CKP_ML_DSA_44, _65 or _87") from None
    key = generate_mldsa_private_key(name)
    number = mldsa_parameter_set_number(name)
    return GeneratedKeyPair(
        private_der=asymmetric.private_key_to_der(key),
        private_key=key,
        public_attributes={
            Attribute.PARAMETER_SET: number,
            Attribute.VALUE: mldsa_public_bytes(key.public_key()),
        },
        private_attributes={Attribute.PARAMETER_SET: number},
    )


def _sign(key: HSMObject, params: Any, data: bytes) -> bytes:
    p = require_params(params, MLDSAParams, _DEFAULT)
    private = key.private_key()
    assert is_mldsa(private)
    return mldsa_sign(private, data, p.context)


def _verify(key: HSMObject, params: Any, data: bytes, signature: bytes) -> None:
    p = require_params(params, MLDSAParams, _DEFAULT)
    public = key.public_key()
    assert is_mldsa(public)
    mldsa_verify(public, signature, data, p.context)


def register(registry: MechanismRegistry) -> None:
    """Register ML-DSA key generation and signatures."""
    registry.add(
        MechanismEntry(
            Mechanism.ML_DSA_KEY_PAIR_GEN,
            Function.GENERATE_KEY_PAIR,
            _MLDSA,
            44,
            87,
            True,
            generate_pair=_generate,
            notes="PARAMETER_SET CKP_ML_DSA_44/65/87 in the public template",
        )
    )
    registry.add(
        MechanismEntry(
            Mechanism.ML_DSA,
            Function.SIGN | Function.VERIFY,
            _MLDSA,
            44,
            87,
            True,
            params_type=MLDSAParams,
            sign=_sign,
            verify=_verify,
            notes="pure ML-DSA, hedged; optional context of up to 255 bytes",
        )
    )

"""Generic secrets: key generation and HMAC with SHA-1 and SHA-2 (single- and multi-part).

This module owns the generic-secret family's handlers and registers them. HMAC tags are
full length (CKM_SHA*_HMAC, not the _GENERAL variants) and verified in constant time.
"""

from __future__ import annotations

from typing import Any

from strongroom.constants import Attribute, KeyType, Mechanism
from strongroom.crypto.hashing import HashName, HMACStream, hmac_sign, hmac_verify
from strongroom.crypto.random import RandomSource
from strongroom.engine.mechanisms.registry import (
    FIPS_POLICY,
    Function,
    GeneratedKey,
    MechanismEntry,
    MechanismRegistry,
    SignStream,
)
from strongroom.engine.mechanisms.streams import MACSignStream
from strongroom.engine.objects import HSMObject
from strongroom.errors import KeySizeRange
from strongroom.model.params import require_none
from strongroom.model.templates import Template

__all__ = ["register"]

MAX_GENERIC_SECRET = 800
_HMAC_KEYS = frozenset({KeyType.GENERIC_SECRET, KeyType.AES})


def _generate(rng: RandomSource, template: Template, fips: bool) -> GeneratedKey:
    length = template.get(Attribute.VALUE_LEN)
    minimum = int(FIPS_POLICY["generic_secret_min_bytes"]) if fips else 1  # type: ignore[call-overload]
    if not isinstance(length, int) or not minimum <= length <= MAX_GENERIC_SECRET:
        raise KeySizeRange(f"generic secrets are {minimum}-{MAX_GENERIC_SECRET} bytes")
    return GeneratedKey(rng.random_bytes(length), {})


def _hmac(hash_name: HashName) -> tuple[Any, Any, Any]:
    def sign(key: HSMObject, params: Any, data: bytes) -> bytes:
        require_none(params)
        return hmac_sign(hash_name, key.secret_value(), data)

    def verify(key: HSMObject, params: Any, data: bytes, signature: bytes) -> None:
        require_none(params)
        hmac_verify(hash_name, key.secret_value(), data, signature)

    def stream(key: HSMObject, params: Any) -> SignStream:
        require_none(params)
        return MACSignStream(HMACStream(hash_name, key.secret_value()))

    return sign, verify, stream


HMACS: dict[Mechanism, HashName] = {
    Mechanism.SHA_1_HMAC: "SHA1",
    Mechanism.SHA224_HMAC: "SHA224",
    Mechanism.SHA256_HMAC: "SHA256",
    Mechanism.SHA384_HMAC: "SHA384",
    Mechanism.SHA512_HMAC: "SHA512",
}


def register(registry: MechanismRegistry) -> None:
    """Register generic-secret generation and the HMACs."""
    registry.add(
        MechanismEntry(
            Mechanism.GENERIC_SECRET_KEY_GEN,
            Function.GENERATE,
            frozenset({KeyType.GENERIC_SECRET}),
            1,
            MAX_GENERIC_SECRET,
            True,
            generate=_generate,
            notes="FIPS mode: at least 14 bytes",
        )
    )
    for mechanism, hash_name in HMACS.items():
        sign, verify, stream = _hmac(hash_name)
        registry.add(
            MechanismEntry(
                mechanism,
                Function.SIGN | Function.VERIFY,
                _HMAC_KEYS,
                1,
                MAX_GENERIC_SECRET,
                True,
                sign=sign,
                verify=verify,
                sign_stream=stream,
                notes="full-length tag",
            )
        )

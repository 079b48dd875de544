"""Generic secrets: key generation and HMAC-SHA-256 sign/verify.

This module owns the generic-secret family's handlers and registers them.
"""

from __future__ import annotations

from typing import Any

from strongroom.constants import Attribute, KeyType, Mechanism
from strongroom.crypto.hashing import hmac_sign, hmac_verify
from strongroom.crypto.random import RandomSource
from strongroom.engine.mechanisms.registry import (
    FIPS_POLICY,
    Function,
    GeneratedKey,
    MechanismEntry,
    MechanismRegistry,
)
from strongroom.engine.objects import HSMObject
from strongroom.errors import KeySizeRange, MechanismParamInvalid
from strongroom.model.templates import Template

__all__ = ["register"]

MAX_GENERIC_SECRET = 800


def _generate(rng: RandomSource, template: Template, fips: bool) -> GeneratedKey:
    length = template.get(Attribute.VALUE_LEN)
    minimum = int(FIPS_POLICY["generic_secret_min_bytes"]) if fips else 1  # type: ignore[call-overload]
    if not isinstance(length, int) or not minimum <= length <= MAX_GENERIC_SECRET:
        raise KeySizeRange(f"generic secrets are {minimum}-{MAX_GENERIC_SECRET} bytes")
    return GeneratedKey(rng.random_bytes(length), {})


def _no_params(params: Any) -> None:
    if params is not None:
        raise MechanismParamInvalid("this mechanism takes no parameters")


def _hmac_sign(key: HSMObject, params: Any, data: bytes) -> bytes:
    _no_params(params)
    return hmac_sign("SHA256", key.secret_value(), data)


def _hmac_verify(key: HSMObject, params: Any, data: bytes, signature: bytes) -> None:
    _no_params(params)
    hmac_verify("SHA256", key.secret_value(), data, signature)


def register(registry: MechanismRegistry) -> None:
    """Register the generic-secret family."""
    registry.add(
        MechanismEntry(
            Mechanism.GENERIC_SECRET_KEY_GEN,
            Function.GENERATE,
            frozenset({KeyType.GENERIC_SECRET}),
            1,
            MAX_GENERIC_SECRET,
            True,
            generate=_generate,
        )
    )
    registry.add(
        MechanismEntry(
            Mechanism.SHA256_HMAC,
            Function.SIGN | Function.VERIFY,
            frozenset({KeyType.GENERIC_SECRET, KeyType.AES}),
            1,
            MAX_GENERIC_SECRET,
            True,
            sign=_hmac_sign,
            verify=_hmac_verify,
        )
    )

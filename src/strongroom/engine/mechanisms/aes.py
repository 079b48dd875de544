"""AES: key generation, AES-GCM encrypt/decrypt, AES key wrap (KW and KWP).

This module owns the AES family's handlers and registers them. Handlers get an unsealed
object and bytes; they never see users or the store. Every decrypt and unwrap failure is
the one uniform IntegrityError from the crypto layer.
"""

from __future__ import annotations

from typing import Any

from strongroom.constants import Attribute, KeyType, Mechanism
from strongroom.crypto.aead import AESGCM
from strongroom.crypto.keywrap import (
    aes_key_unwrap,
    aes_key_unwrap_with_padding,
    aes_key_wrap,
    aes_key_wrap_with_padding,
)
from strongroom.crypto.random import RandomSource
from strongroom.engine.mechanisms.params import GCMParams, require_params
from strongroom.engine.mechanisms.registry import (
    Function,
    GeneratedKey,
    MechanismEntry,
    MechanismRegistry,
)
from strongroom.engine.objects import HSMObject
from strongroom.errors import DataLenRange, KeySizeRange
from strongroom.model.templates import Template

__all__ = ["register"]

_AES = frozenset({KeyType.AES})
_DEFAULT_GCM = GCMParams()
MAX_SINGLE_PART = 64 * 1024 * 1024 + 64
"""Largest single-part input (64 MiB and room for an IV and tag)."""


def _generate(rng: RandomSource, template: Template, fips: bool) -> GeneratedKey:
    length = template.get(Attribute.VALUE_LEN)
    if length not in (16, 24, 32):
        raise KeySizeRange("AES keys are 16, 24 or 32 bytes (VALUE_LEN)")
    return GeneratedKey(rng.random_bytes(int(length)), {})


def _cipher(key: HSMObject) -> AESGCM:
    return key.cached("aesgcm", lambda: AESGCM(key.secret_value()))


def _gcm_encrypt(key: HSMObject, params: Any, data: bytes, rng: RandomSource) -> bytes:
    p = require_params(params, GCMParams, _DEFAULT_GCM)
    if len(data) > MAX_SINGLE_PART:
        raise DataLenRange("single-part input is limited to 64 MiB")
    if p.iv is None:
        iv = rng.random_bytes(12)
        return iv + _cipher(key).encrypt(iv, data, p.aad)
    return _cipher(key).encrypt(p.iv, data, p.aad)


def _gcm_decrypt(key: HSMObject, params: Any, data: bytes, rng: RandomSource) -> bytes:
    p = require_params(params, GCMParams, _DEFAULT_GCM)
    if len(data) > MAX_SINGLE_PART:
        raise DataLenRange("single-part input is limited to 64 MiB")
    if p.iv is None:
        return _cipher(key).decrypt(data[:12], data[12:], p.aad)
    return _cipher(key).decrypt(p.iv, data, p.aad)


def _kw_wrap(key: HSMObject, payload: bytes) -> bytes:
    return aes_key_wrap(key.secret_value(), payload)


def _kw_unwrap(key: HSMObject, wrapped: bytes) -> bytes:
    return aes_key_unwrap(key.secret_value(), wrapped)


def _kwp_wrap(key: HSMObject, payload: bytes) -> bytes:
    return aes_key_wrap_with_padding(key.secret_value(), payload)


def _kwp_unwrap(key: HSMObject, wrapped: bytes) -> bytes:
    return aes_key_unwrap_with_padding(key.secret_value(), wrapped)


def register(registry: MechanismRegistry) -> None:
    """Register the AES family."""
    registry.add(
        MechanismEntry(
            Mechanism.AES_KEY_GEN, Function.GENERATE, _AES, 16, 32, True, generate=_generate
        )
    )
    registry.add(
        MechanismEntry(
            Mechanism.AES_GCM,
            Function.ENCRYPT | Function.DECRYPT,
            _AES,
            16,
            32,
            True,
            params_type=GCMParams,
            encrypt=_gcm_encrypt,
            decrypt=_gcm_decrypt,
        )
    )
    registry.add(
        MechanismEntry(
            Mechanism.AES_KEY_WRAP,
            Function.WRAP | Function.UNWRAP,
            _AES,
            16,
            32,
            True,
            wrap=_kw_wrap,
            unwrap=_kw_unwrap,
        )
    )
    registry.add(
        MechanismEntry(
            Mechanism.AES_KEY_WRAP_KWP,
            Function.WRAP | Function.UNWRAP,
            _AES,
            16,
            32,
            True,
            wrap=_kwp_wrap,
            unwrap=_kwp_unwrap,
        )
    )

"""AES: key generation, AES-GCM (single- and multi-part, and as a key wrap), AES-KW, AES-KWP.

This module owns the AES family's authenticated mechanisms and registers them; the
unauthenticated modes (ECB, CBC, CTR) and CMAC live in ``aes_modes``. Handlers get an
unsealed object and bytes; they never see users or the store. Every decrypt and unwrap
failure is the one uniform IntegrityError from the crypto layer.

GCM with a caller IV follows PKCS#11 (ciphertext || tag). With ``GCMParams(iv=None)`` the
HSM draws the IV and returns ``iv || ciphertext || tag`` — CloudHSM's CKM_CLOUDHSM_AES_GCM
convention — and decryption (or unwrap) expects that layout back.
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
from strongroom.crypto.modes import GCMDecryptStream, GCMEncryptStream
from strongroom.crypto.random import RandomSource
from strongroom.engine.mechanisms.registry import (
    CipherStream,
    Function,
    GeneratedKey,
    MechanismEntry,
    MechanismRegistry,
)
from strongroom.engine.objects import HSMObject
from strongroom.errors import IntegrityError, KeyNotWrappable, KeySizeRange
from strongroom.model.params import GCMParams, require_none, require_params
from strongroom.model.templates import Template

__all__ = ["register"]

_AES = frozenset({KeyType.AES})
_DEFAULT_GCM = GCMParams()
_IV = 12
_TAG = 16


def _generate(rng: RandomSource, template: Template, fips: bool) -> GeneratedKey:
    length = template.get(Attribute.VALUE_LEN)
    if length not in (16, 24, 32):
        raise KeySizeRange("AES keys are 16, 24 or 32 bytes (VALUE_LEN)")
    return GeneratedKey(rng.random_bytes(int(length)), {})


def _cipher(key: HSMObject) -> AESGCM:
    return key.cached("aesgcm", lambda: AESGCM(key.secret_value()))


def _gcm_encrypt(key: HSMObject, params: Any, data: bytes, rng: RandomSource) -> bytes:
    p = require_params(params, GCMParams, _DEFAULT_GCM)
    if p.iv is None:
        iv = rng.random_bytes(_IV)
        return iv + _cipher(key).encrypt(iv, data, p.aad)
    return _cipher(key).encrypt(p.iv, data, p.aad)


def _gcm_decrypt(key: HSMObject, params: Any, data: bytes, rng: RandomSource) -> bytes:
    p = require_params(params, GCMParams, _DEFAULT_GCM)
    if p.iv is None:
        if len(data) < _IV + _TAG:
            raise IntegrityError("decryption failed")
        return _cipher(key).decrypt(data[:_IV], data[_IV:], p.aad)
    return _cipher(key).decrypt(p.iv, data, p.aad)


class _GCMEncrypt:
    """Multi-part GCM encryption; a generated IV leads the first output."""

    __slots__ = ("_prefix", "_stream")

    def __init__(self, key: bytes, iv: bytes, aad: bytes, prefix: bytes) -> None:
        self._stream = GCMEncryptStream(key, iv, aad)
        self._prefix = prefix

    def _lead(self, out: bytes) -> bytes:
        if self._prefix:
            out, self._prefix = self._prefix + out, b""
        return out

    def update(self, data: bytes) -> bytes:
        return self._lead(self._stream.update(data))

    def finalize(self) -> bytes:
        return self._lead(self._stream.finalize())


class _GCMDecryptGeneratedIV:
    """Multi-part GCM decryption of ``iv || ciphertext || tag``: the IV comes first."""

    __slots__ = ("_aad", "_head", "_key", "_stream")

    def __init__(self, key: bytes, aad: bytes) -> None:
        self._key, self._aad = key, aad
        self._head = b""
        self._stream: GCMDecryptStream | None = None

    def update(self, data: bytes) -> bytes:
        if self._stream is None:
            self._head += data
            if len(self._head) < _IV:
                return b""
            self._stream = GCMDecryptStream(self._key, self._head[:_IV], self._aad)
            data, self._head = self._head[_IV:], b""
        return self._stream.update(data)

    def finalize(self) -> bytes:
        if self._stream is None:
            raise IntegrityError("decryption failed")
        return self._stream.finalize()


def _gcm_encrypt_stream(key: HSMObject, params: Any, rng: RandomSource) -> CipherStream:
    p = require_params(params, GCMParams, _DEFAULT_GCM)
    if p.iv is None:
        iv = rng.random_bytes(_IV)
        return _GCMEncrypt(key.secret_value(), iv, p.aad, iv)
    return _GCMEncrypt(key.secret_value(), p.iv, p.aad, b"")


def _gcm_decrypt_stream(key: HSMObject, params: Any, rng: RandomSource) -> CipherStream:
    p = require_params(params, GCMParams, _DEFAULT_GCM)
    if p.iv is None:
        return _GCMDecryptGeneratedIV(key.secret_value(), p.aad)
    return GCMDecryptStream(key.secret_value(), p.iv, p.aad)


def _gcm_wrap(key: HSMObject, params: Any, payload: bytes, rng: RandomSource) -> bytes:
    return _gcm_encrypt(key, params, payload, rng)


def _gcm_unwrap(key: HSMObject, params: Any, wrapped: bytes) -> bytes:
    p = require_params(params, GCMParams, _DEFAULT_GCM)
    if p.iv is None:
        if len(wrapped) < _IV + _TAG:
            raise IntegrityError("unwrap failed")
        return _cipher(key).decrypt(wrapped[:_IV], wrapped[_IV:], p.aad)
    return _cipher(key).decrypt(p.iv, wrapped, p.aad)


def _kw_wrap(key: HSMObject, params: Any, payload: bytes, rng: RandomSource) -> bytes:
    require_none(params)
    if len(payload) < 16 or len(payload) % 8:
        raise KeyNotWrappable("AES-KW wraps multiples of 8 bytes (at least 16); use AES-KWP")
    return aes_key_wrap(key.secret_value(), payload)


def _kw_unwrap(key: HSMObject, params: Any, wrapped: bytes) -> bytes:
    require_none(params)
    return aes_key_unwrap(key.secret_value(), wrapped)


def _kwp_wrap(key: HSMObject, params: Any, payload: bytes, rng: RandomSource) -> bytes:
    require_none(params)
    return aes_key_wrap_with_padding(key.secret_value(), payload)


def _kwp_unwrap(key: HSMObject, params: Any, wrapped: bytes) -> bytes:
    require_none(params)
    return aes_key_unwrap_with_padding(key.secret_value(), wrapped)


def register(registry: MechanismRegistry) -> None:
    """Register the AES family's key generation, GCM and key wraps."""
    registry.add(
        MechanismEntry(
            Mechanism.AES_KEY_GEN, Function.GENERATE, _AES, 16, 32, True, generate=_generate
        )
    )
    registry.add(
        MechanismEntry(
            Mechanism.AES_GCM,
            Function.ENCRYPT | Function.DECRYPT | Function.WRAP | Function.UNWRAP,
            _AES,
            16,
            32,
            True,
            params_type=GCMParams,
            encrypt=_gcm_encrypt,
            decrypt=_gcm_decrypt,
            encrypt_stream=_gcm_encrypt_stream,
            decrypt_stream=_gcm_decrypt_stream,
            wrap=_gcm_wrap,
            unwrap=_gcm_unwrap,
            notes="IV from the caller, or generated and returned in front of the output",
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
            notes="RFC 3394; the wrapped key must be a multiple of 8 bytes",
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
            notes="RFC 5649",
        )
    )

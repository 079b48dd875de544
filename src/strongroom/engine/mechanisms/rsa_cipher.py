"""RSA encryption and key transport: RSA-OAEP, RSA PKCS#1 v1.5, and RSA-AES key wrap.

This module owns the RSA mechanisms that encrypt or wrap, and CKM_RSA_PKCS, which also
signs (over a caller-built DigestInfo, single-part). They are single-part, as PKCS#11
defines them. PKCS#1 v1.5 *encryption* is not approved in FIPS mode (SP 800-131A r2
retired it for key transport) while its signatures are. Every decrypt or unwrap failure
is the one uniform ENCRYPTED_DATA_INVALID.

Raw RSA (CKM_RSA_X_509) is not registered: pyca/cryptography offers no unpadded RSA
operation, and Strongroom does not hand-roll one.
"""

from __future__ import annotations

from typing import Any

from strongroom.constants import KeyType, Mechanism
from strongroom.crypto import asymmetric
from strongroom.crypto.keywrap import aes_key_unwrap_with_padding, aes_key_wrap_with_padding
from strongroom.crypto.random import RandomSource
from strongroom.crypto.rsa_cipher import (
    rsa_oaep_decrypt,
    rsa_oaep_encrypt,
    rsa_pkcs1v15_decrypt,
    rsa_pkcs1v15_encrypt,
    rsa_pkcs1v15_sign_raw,
    rsa_pkcs1v15_verify_raw,
)
from strongroom.engine.mechanisms.registry import Function, MechanismEntry, MechanismRegistry
from strongroom.engine.mechanisms.rsa import MAX_BITS, MIN_BITS
from strongroom.engine.objects import HSMObject
from strongroom.errors import IntegrityError
from strongroom.model.params import (
    OAEPParams,
    RSAAESKeyWrapParams,
    require_none,
    require_params,
)

__all__ = ["register"]

_RSA = frozenset({KeyType.RSA})
_DEFAULT_OAEP = OAEPParams()
_DEFAULT_RSA_AES = RSAAESKeyWrapParams()
_ALL = Function.ENCRYPT | Function.DECRYPT | Function.WRAP | Function.UNWRAP


def _public(key: HSMObject) -> Any:
    return key.public_key()  # an RSA key: the registry checked the key type


def _private(key: HSMObject) -> Any:
    return key.private_key()


def _oaep_encrypt(key: HSMObject, params: Any, data: bytes, rng: RandomSource) -> bytes:
    p = require_params(params, OAEPParams, _DEFAULT_OAEP)
    return rsa_oaep_encrypt(_public(key), data, p.hash_name, p.mgf, p.label)


def _oaep_decrypt(key: HSMObject, params: Any, data: bytes, rng: RandomSource) -> bytes:
    p = require_params(params, OAEPParams, _DEFAULT_OAEP)
    return rsa_oaep_decrypt(_private(key), data, p.hash_name, p.mgf, p.label)


def _oaep_wrap(key: HSMObject, params: Any, payload: bytes, rng: RandomSource) -> bytes:
    return _oaep_encrypt(key, params, payload, rng)


def _oaep_unwrap(key: HSMObject, params: Any, wrapped: bytes) -> bytes:
    p = require_params(params, OAEPParams, _DEFAULT_OAEP)
    return rsa_oaep_decrypt(_private(key), wrapped, p.hash_name, p.mgf, p.label)


def _pkcs_encrypt(key: HSMObject, params: Any, data: bytes, rng: RandomSource) -> bytes:
    require_none(params)
    return rsa_pkcs1v15_encrypt(_public(key), data)


def _pkcs_decrypt(key: HSMObject, params: Any, data: bytes, rng: RandomSource) -> bytes:
    require_none(params)
    return rsa_pkcs1v15_decrypt(_private(key), data)


def _pkcs_wrap(key: HSMObject, params: Any, payload: bytes, rng: RandomSource) -> bytes:
    return _pkcs_encrypt(key, params, payload, rng)


def _pkcs_unwrap(key: HSMObject, params: Any, wrapped: bytes) -> bytes:
    require_none(params)
    return rsa_pkcs1v15_decrypt(_private(key), wrapped)


def _pkcs_sign(key: HSMObject, params: Any, data: bytes) -> bytes:
    require_none(params)
    return rsa_pkcs1v15_sign_raw(_private(key), data)


def _pkcs_verify(key: HSMObject, params: Any, data: bytes, signature: bytes) -> None:
    require_none(params)
    rsa_pkcs1v15_verify_raw(_public(key), signature, data)


def _rsa_aes_wrap(key: HSMObject, params: Any, payload: bytes, rng: RandomSource) -> bytes:
    # PKCS#11 v2.40 §2.1.21: OAEP(ephemeral AES key) || KWP(ephemeral key, key to wrap).
    p = require_params(params, RSAAESKeyWrapParams, _DEFAULT_RSA_AES)
    ephemeral = rng.random_bytes(p.aes_key_bits // 8)
    o = p.oaep
    head = rsa_oaep_encrypt(_public(key), ephemeral, o.hash_name, o.mgf, o.label)
    return head + aes_key_wrap_with_padding(ephemeral, payload)


def _rsa_aes_unwrap(key: HSMObject, params: Any, wrapped: bytes) -> bytes:
    p = require_params(params, RSAAESKeyWrapParams, _DEFAULT_RSA_AES)
    private = _private(key)
    size = (asymmetric.rsa_modulus_bits(private) + 7) // 8
    if len(wrapped) <= size:
        raise IntegrityError("unwrap failed")
    o = p.oaep
    ephemeral = rsa_oaep_decrypt(private, wrapped[:size], o.hash_name, o.mgf, o.label)
    if len(ephemeral) != p.aes_key_bits // 8:
        raise IntegrityError("unwrap failed")
    return aes_key_unwrap_with_padding(ephemeral, wrapped[size:])


def register(registry: MechanismRegistry) -> None:
    """Register RSA-OAEP, RSA PKCS#1 v1.5 and RSA-AES key wrap."""
    registry.add(
        MechanismEntry(
            Mechanism.RSA_PKCS_OAEP,
            _ALL,
            _RSA,
            MIN_BITS,
            MAX_BITS,
            True,
            params_type=OAEPParams,
            encrypt=_oaep_encrypt,
            decrypt=_oaep_decrypt,
            wrap=_oaep_wrap,
            unwrap=_oaep_unwrap,
            notes="SHA-1/SHA-2 with MGF1; default SHA-256, empty label",
        )
    )
    registry.add(
        MechanismEntry(
            Mechanism.RSA_PKCS,
            _ALL | Function.SIGN | Function.VERIFY,
            _RSA,
            MIN_BITS,
            MAX_BITS,
            True,
            encrypt=_pkcs_encrypt,
            decrypt=_pkcs_decrypt,
            wrap=_pkcs_wrap,
            unwrap=_pkcs_unwrap,
            sign=_pkcs_sign,
            verify=_pkcs_verify,
            fips_functions=Function.SIGN | Function.VERIFY,
            notes="signs caller-built DigestInfo; encryption and wrap non-FIPS only",
        )
    )
    registry.add(
        MechanismEntry(
            Mechanism.RSA_AES_KEY_WRAP,
            Function.WRAP | Function.UNWRAP,
            _RSA,
            MIN_BITS,
            MAX_BITS,
            True,
            params_type=RSAAESKeyWrapParams,
            wrap=_rsa_aes_wrap,
            unwrap=_rsa_aes_unwrap,
            notes="OAEP-wrapped ephemeral AES key followed by AES-KWP",
        )
    )

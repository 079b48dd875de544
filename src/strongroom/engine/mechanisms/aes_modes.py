"""AES block modes without authentication (ECB, CBC, CBC-PAD, CTR) and AES-CMAC.

This module owns these mechanisms' handlers and registers them. CBC and CBC-PAD take the
16-byte IV as their parameter (as PKCS#11 does); CTR takes ``CTRParams``. Unpadded modes
need whole blocks (DATA_LEN_RANGE otherwise); a bad CBC-PAD padding on decrypt is the
uniform ENCRYPTED_DATA_INVALID, so it cannot serve as a padding oracle's tell. All of
them run single- and multi-part; the multi-part output equals the single-part output.
"""

from __future__ import annotations

from typing import Any, Literal

from strongroom.constants import KeyType, Mechanism
from strongroom.crypto.modes import (
    CMACStream,
    aes_cbc_decrypt,
    aes_cbc_encrypt,
    aes_cmac_sign,
    aes_cmac_verify,
    aes_ctr,
    aes_ecb_decrypt,
    aes_ecb_encrypt,
    aes_stream,
)
from strongroom.crypto.random import RandomSource
from strongroom.engine.mechanisms.registry import (
    CipherStream,
    Function,
    MechanismEntry,
    MechanismRegistry,
    SignStream,
)
from strongroom.engine.mechanisms.streams import MACSignStream
from strongroom.engine.objects import HSMObject
from strongroom.model.params import (
    CTRParams,
    require_bytes,
    require_none,
    require_params,
)

__all__ = ["register"]

_AES = frozenset({KeyType.AES})
_CIPHER = Function.ENCRYPT | Function.DECRYPT


def _ecb_encrypt(key: HSMObject, params: Any, data: bytes, rng: RandomSource) -> bytes:
    require_none(params)
    return aes_ecb_encrypt(key.secret_value(), data)


def _ecb_decrypt(key: HSMObject, params: Any, data: bytes, rng: RandomSource) -> bytes:
    require_none(params)
    return aes_ecb_decrypt(key.secret_value(), data)


def _cbc(pad: bool) -> tuple[Any, Any]:
    def encrypt(key: HSMObject, params: Any, data: bytes, rng: RandomSource) -> bytes:
        iv = require_bytes(params, 16, "IV")
        return aes_cbc_encrypt(key.secret_value(), iv, data, pad=pad)

    def decrypt(key: HSMObject, params: Any, data: bytes, rng: RandomSource) -> bytes:
        iv = require_bytes(params, 16, "IV")
        return aes_cbc_decrypt(key.secret_value(), iv, data, pad=pad)

    return encrypt, decrypt


def _ctr(key: HSMObject, params: Any, data: bytes, rng: RandomSource) -> bytes:
    p = require_params(params, CTRParams)
    return aes_ctr(key.secret_value(), p.counter_block, data, counter_bits=p.counter_bits)


_Mode = Literal["ECB", "CBC", "CBC_PAD", "CTR"]


def _streams(mode: _Mode) -> tuple[Any, Any]:
    def start(key: HSMObject, params: Any, encrypt: bool) -> CipherStream:
        if mode == "ECB":
            require_none(params)
            return aes_stream("ECB", key.secret_value(), encrypt=encrypt)
        if mode == "CTR":
            p = require_params(params, CTRParams)
            return aes_stream(
                "CTR",
                key.secret_value(),
                encrypt=encrypt,
                iv=p.counter_block,
                counter_bits=p.counter_bits,
            )
        iv = require_bytes(params, 16, "IV")
        return aes_stream(mode, key.secret_value(), encrypt=encrypt, iv=iv)

    def encrypt_stream(key: HSMObject, params: Any, rng: RandomSource) -> CipherStream:
        return start(key, params, True)

    def decrypt_stream(key: HSMObject, params: Any, rng: RandomSource) -> CipherStream:
        return start(key, params, False)

    return encrypt_stream, decrypt_stream


def _cmac_sign(key: HSMObject, params: Any, data: bytes) -> bytes:
    require_none(params)
    return aes_cmac_sign(key.secret_value(), data)


def _cmac_verify(key: HSMObject, params: Any, data: bytes, signature: bytes) -> None:
    require_none(params)
    aes_cmac_verify(key.secret_value(), data, signature)


def _cmac_stream(key: HSMObject, params: Any) -> SignStream:
    require_none(params)
    return MACSignStream(CMACStream(key.secret_value()))


def register(registry: MechanismRegistry) -> None:
    """Register AES-ECB, AES-CBC, AES-CBC-PAD, AES-CTR and AES-CMAC."""
    ecb_stream, ecb_unstream = _streams("ECB")
    registry.add(
        MechanismEntry(
            Mechanism.AES_ECB,
            _CIPHER,
            _AES,
            16,
            32,
            True,
            encrypt=_ecb_encrypt,
            decrypt=_ecb_decrypt,
            encrypt_stream=ecb_stream,
            decrypt_stream=ecb_unstream,
            notes="whole blocks only",
        )
    )
    for mechanism, mode, pad in (
        (Mechanism.AES_CBC, "CBC", False),
        (Mechanism.AES_CBC_PAD, "CBC_PAD", True),
    ):
        encrypt, decrypt = _cbc(pad)
        stream, unstream = _streams(mode)  # type: ignore[arg-type]
        registry.add(
            MechanismEntry(
                mechanism,
                _CIPHER,
                _AES,
                16,
                32,
                True,
                params_type=bytes,
                encrypt=encrypt,
                decrypt=decrypt,
                encrypt_stream=stream,
                decrypt_stream=unstream,
                notes="16-byte IV; PKCS#7 padding" if pad else "16-byte IV; whole blocks only",
            )
        )
    ctr_stream, ctr_unstream = _streams("CTR")
    registry.add(
        MechanismEntry(
            Mechanism.AES_CTR,
            _CIPHER,
            _AES,
            16,
            32,
            True,
            params_type=CTRParams,
            encrypt=_ctr,
            decrypt=_ctr,
            encrypt_stream=ctr_stream,
            decrypt_stream=ctr_unstream,
            notes="refuses input that would wrap the counter",
        )
    )
    registry.add(
        MechanismEntry(
            Mechanism.AES_CMAC,
            Function.SIGN | Function.VERIFY,
            _AES,
            16,
            32,
            True,
            sign=_cmac_sign,
            verify=_cmac_verify,
            sign_stream=_cmac_stream,
            notes="full 16-byte MAC",
        )
    )

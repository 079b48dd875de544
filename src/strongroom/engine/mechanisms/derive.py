"""Key derivation: ECDH (with the null, X9.63 and HKDF KDFs), SP 800-108 counter KDF, HKDF.

This module owns the derive mechanisms' handlers and registers them. A handler gets the
unsealed base key, validated parameters and the length the new key must have (the engine
works that out from the template) and returns the new key's value; the engine makes the
object. In FIPS mode ECDH's NULL KDF is refused: a raw shared secret is not a key under
SP 800-56C.
"""

from __future__ import annotations

from typing import Any

from strongroom.constants import KeyType, Mechanism
from strongroom.crypto.ecdh import ecdh_shared_secret
from strongroom.crypto.hashing import DIGEST_SIZES, HashName
from strongroom.crypto.kdf import hkdf, hkdf_expand, hkdf_extract, kbkdf_counter, x963_kdf
from strongroom.engine.mechanisms.registry import Function, MechanismEntry, MechanismRegistry
from strongroom.engine.objects import HSMObject
from strongroom.errors import KeySizeRange, KeyTypeInconsistent, MechanismNotApproved
from strongroom.model.params import (
    ECDH1DeriveParams,
    HKDFParams,
    SP800108Params,
    require_params,
)

__all__ = ["register"]

_SECRETS = frozenset({KeyType.GENERIC_SECRET, KeyType.AES})
_DEFAULT_KBKDF = SP800108Params()
_DEFAULT_HKDF = HKDFParams()


def _ecdh(base: HSMObject, params: Any, length: int, fips: bool) -> bytes:
    p = require_params(params, ECDH1DeriveParams)
    shared = ecdh_shared_secret(base.private_key(), p.public_data)  # type: ignore[arg-type]
    if p.kdf == "NULL":
        if fips:
            raise MechanismNotApproved("ECDH without a KDF is not approved in FIPS mode")
        if length > len(shared):
            raise KeySizeRange(f"the shared secret has only {len(shared)} bytes")
        return shared[:length]
    if p.kdf.startswith("HKDF-"):
        hash_name: HashName = p.kdf.removeprefix("HKDF-")  # type: ignore[assignment]
        return hkdf(hash_name, shared, salt=None, info=p.shared_data, length=length)
    return x963_kdf(p.kdf, shared, length=length, shared_info=p.shared_data)  # type: ignore[arg-type]


def _kbkdf(base: HSMObject, params: Any, length: int, fips: bool) -> bytes:
    p = require_params(params, SP800108Params, _DEFAULT_KBKDF)
    if p.prf == "CMAC-AES" and base.key_type is not KeyType.AES:
        raise KeyTypeInconsistent("the CMAC-AES PRF needs an AES base key")
    return kbkdf_counter(
        base.secret_value(), prf=p.prf, label=p.label, context=p.context, length=length
    )


def _hkdf(base: HSMObject, params: Any, length: int, fips: bool) -> bytes:
    p = require_params(params, HKDFParams, _DEFAULT_HKDF)
    secret = base.secret_value()
    if p.extract and p.expand:
        return hkdf(p.hash_name, secret, salt=p.salt, info=p.info, length=length)
    if p.expand:
        return hkdf_expand(p.hash_name, secret, info=p.info, length=length)
    if length != DIGEST_SIZES[p.hash_name]:
        raise KeySizeRange(f"HKDF extract yields {DIGEST_SIZES[p.hash_name]} bytes")
    return hkdf_extract(p.hash_name, secret, salt=p.salt)


def register(registry: MechanismRegistry) -> None:
    """Register ECDH, the SP 800-108 counter KDF and HKDF."""
    registry.add(
        MechanismEntry(
            Mechanism.ECDH1_DERIVE,
            Function.DERIVE,
            frozenset({KeyType.EC}),
            224,
            521,
            True,
            params_type=ECDH1DeriveParams,
            derive=_ecdh,
            notes="KDF: NULL (non-FIPS), X9.63 SHA-1/SHA-2, HKDF SHA-256/384/512",
        )
    )
    registry.add(
        MechanismEntry(
            Mechanism.SP800_108_COUNTER_KDF,
            Function.DERIVE,
            _SECRETS,
            1,
            800,
            True,
            params_type=SP800108Params,
            derive=_kbkdf,
            notes="PRF HMAC-SHA-1/SHA-2 or CMAC-AES; 32-bit counter before the fixed input",
        )
    )
    registry.add(
        MechanismEntry(
            Mechanism.HKDF_DERIVE,
            Function.DERIVE,
            _SECRETS,
            1,
            800,
            True,
            params_type=HKDFParams,
            derive=_hkdf,
            notes="extract and/or expand; SHA-1/SHA-2",
        )
    )

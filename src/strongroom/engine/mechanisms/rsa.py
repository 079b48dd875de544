"""RSA: key-pair generation, RSA-PSS and hashed PKCS#1 v1.5 signatures.

This module owns the RSA family's signature handlers and registers them; encryption,
key wrap and CKM_RSA_PKCS (which does both) live in ``rsa_cipher``. Key sizes are
2048–4096 bits in steps of 256 with an odd public exponent ≥ 65537, as on CloudHSM. The
hashed mechanisms run multi-part (hash the stream, sign the digest); the raw ones, which
take a caller's digest, are single-part as PKCS#11 defines them.

CKM_RSA_X9_31_KEY_PAIR_GEN is offered for compatibility and produces the same FIPS 186-5
keys as CKM_RSA_PKCS_KEY_PAIR_GEN: pyca/cryptography has no X9.31 prime generation, and
FIPS 186-5 retired it, so its keys differ only in KEY_GEN_MECHANISM.
"""

from __future__ import annotations

from typing import Any

from strongroom.constants import Attribute, KeyType, Mechanism
from strongroom.crypto import asymmetric
from strongroom.crypto.hashing import DIGEST_SIZES, HashName
from strongroom.engine.mechanisms.registry import (
    Function,
    GeneratedKeyPair,
    MechanismEntry,
    MechanismRegistry,
    SignStream,
)
from strongroom.engine.mechanisms.streams import HashThenSign
from strongroom.engine.objects import HSMObject
from strongroom.errors import (
    AttributeValueInvalid,
    KeySizeRange,
    MechanismParamInvalid,
    TemplateIncomplete,
)
from strongroom.model.params import PSSParams, require_none, require_params
from strongroom.model.templates import Template

__all__ = ["register"]

_RSA = frozenset({KeyType.RSA})
MIN_BITS = 2048
MAX_BITS = 4096


def _generate(public: Template, private: Template, fips: bool) -> GeneratedKeyPair:
    bits = public.get(Attribute.MODULUS_BITS)
    if not isinstance(bits, int):
        raise TemplateIncomplete("MODULUS_BITS is required to generate an RSA key pair")
    if not MIN_BITS <= bits <= MAX_BITS or bits % 256:
        raise KeySizeRange("RSA keys are 2048-4096 bits in steps of 256")
    exponent_bytes = public.get(Attribute.PUBLIC_EXPONENT, b"\x01\x00\x01")
    exponent = int.from_bytes(exponent_bytes, "big")  # type: ignore[arg-type]
    if exponent < 65537 or exponent % 2 == 0 or exponent.bit_length() > 256:
        raise AttributeValueInvalid("PUBLIC_EXPONENT must be odd and at least 65537")
    key = asymmetric.generate_rsa_private_key(bits, exponent)
    modulus, e = asymmetric.rsa_public_components(key.public_key())
    return GeneratedKeyPair(
        private_der=asymmetric.private_key_to_der(key),
        private_key=key,
        public_attributes={Attribute.MODULUS: modulus, Attribute.PUBLIC_EXPONENT: e},
        private_attributes={Attribute.MODULUS: modulus, Attribute.PUBLIC_EXPONENT: e},
    )


def _pss(hash_name: HashName | None) -> tuple[Any, Any, Any]:
    """PSS handlers; ``hash_name`` None is CKM_RSA_PKCS_PSS (caller hashed, params name it)."""

    default = PSSParams(hash_name or "SHA256")

    def settings(params: Any) -> tuple[HashName, int]:
        p = require_params(params, PSSParams, default)
        if hash_name is not None and p.hash_name != hash_name:
            raise MechanismParamInvalid("PSS parameters name a different hash")
        salt = DIGEST_SIZES[p.hash_name] if p.salt_length is None else p.salt_length
        return p.hash_name, salt

    def sign(key: HSMObject, params: Any, data: bytes) -> bytes:
        name, salt = settings(params)
        private = key.private_key()
        return asymmetric.rsa_pss_sign(private, data, name, salt, prehashed=hash_name is None)  # type: ignore[arg-type]

    def verify(key: HSMObject, params: Any, data: bytes, signature: bytes) -> None:
        name, salt = settings(params)
        prehashed = hash_name is None
        public = key.public_key()  # an RSA key: the registry checked the key type
        asymmetric.rsa_pss_verify(public, signature, data, name, salt, prehashed=prehashed)  # type: ignore[arg-type]

    def stream(key: HSMObject, params: Any) -> SignStream:
        name, salt = settings(params)

        def sign_digest(digest: bytes) -> bytes:
            private = key.private_key()
            return asymmetric.rsa_pss_sign(private, digest, name, salt, prehashed=True)  # type: ignore[arg-type]

        def verify_digest(digest: bytes, signature: bytes) -> None:
            public = key.public_key()
            asymmetric.rsa_pss_verify(public, signature, digest, name, salt, prehashed=True)  # type: ignore[arg-type]

        return HashThenSign(name, sign_digest, verify_digest)

    return sign, verify, (stream if hash_name is not None else None)


def _pkcs1(hash_name: HashName) -> tuple[Any, Any, Any]:
    def sign(key: HSMObject, params: Any, data: bytes) -> bytes:
        require_none(params)
        return asymmetric.rsa_pkcs1v15_sign(key.private_key(), data, hash_name)  # type: ignore[arg-type]

    def verify(key: HSMObject, params: Any, data: bytes, signature: bytes) -> None:
        require_none(params)
        asymmetric.rsa_pkcs1v15_verify(key.public_key(), signature, data, hash_name)  # type: ignore[arg-type]

    def stream(key: HSMObject, params: Any) -> SignStream:
        require_none(params)

        def sign_digest(digest: bytes) -> bytes:
            private = key.private_key()
            return asymmetric.rsa_pkcs1v15_sign(private, digest, hash_name, prehashed=True)  # type: ignore[arg-type]

        def verify_digest(digest: bytes, signature: bytes) -> None:
            public = key.public_key()
            asymmetric.rsa_pkcs1v15_verify(public, signature, digest, hash_name, prehashed=True)  # type: ignore[arg-type]

        return HashThenSign(hash_name, sign_digest, verify_digest)

    return sign, verify, stream


_PSS: dict[Mechanism, HashName | None] = {
    Mechanism.RSA_PKCS_PSS: None,
    Mechanism.SHA1_RSA_PKCS_PSS: "SHA1",
    Mechanism.SHA224_RSA_PKCS_PSS: "SHA224",
    Mechanism.SHA256_RSA_PKCS_PSS: "SHA256",
    Mechanism.SHA384_RSA_PKCS_PSS: "SHA384",
    Mechanism.SHA512_RSA_PKCS_PSS: "SHA512",
}
_PKCS1: dict[Mechanism, HashName] = {
    Mechanism.SHA1_RSA_PKCS: "SHA1",
    Mechanism.SHA224_RSA_PKCS: "SHA224",
    Mechanism.SHA256_RSA_PKCS: "SHA256",
    Mechanism.SHA384_RSA_PKCS: "SHA384",
    Mechanism.SHA512_RSA_PKCS: "SHA512",
}


def register(registry: MechanismRegistry) -> None:
    """Register RSA key generation and signatures."""
    for mechanism in (Mechanism.RSA_PKCS_KEY_PAIR_GEN, Mechanism.RSA_X9_31_KEY_PAIR_GEN):
        registry.add(
            MechanismEntry(
                mechanism,
                Function.GENERATE_KEY_PAIR,
                _RSA,
                MIN_BITS,
                MAX_BITS,
                True,
                generate_pair=_generate,
                notes="2048-4096 bits in steps of 256; odd e >= 65537",
            )
        )
    for mechanism, hash_name in _PSS.items():
        sign, verify, stream = _pss(hash_name)
        registry.add(
            MechanismEntry(
                mechanism,
                Function.SIGN | Function.VERIFY,
                _RSA,
                MIN_BITS,
                MAX_BITS,
                True,
                params_type=PSSParams,
                sign=sign,
                verify=verify,
                sign_stream=stream,
                fips_functions=Function.VERIFY if hash_name == "SHA1" else None,
                notes="FIPS mode: verify only (SP 800-131A)" if hash_name == "SHA1" else "",
            )
        )
    for mechanism, hash_name in _PKCS1.items():
        sign, verify, stream = _pkcs1(hash_name)
        registry.add(
            MechanismEntry(
                mechanism,
                Function.SIGN | Function.VERIFY,
                _RSA,
                MIN_BITS,
                MAX_BITS,
                True,
                sign=sign,
                verify=verify,
                sign_stream=stream,
                fips_functions=Function.VERIFY if hash_name == "SHA1" else None,
                notes="FIPS mode: verify only (SP 800-131A)" if hash_name == "SHA1" else "",
            )
        )

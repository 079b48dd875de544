"""Mechanism parameters: what callers pass alongside a mechanism number.

This module owns the parameter types (PKCS#11's CK_GCM_PARAMS, CK_RSA_PKCS_PSS_PARAMS,
CK_RSA_PKCS_OAEP_PARAMS, CK_ECDH1_DERIVE_PARAMS… in Python form) and their validation
into MECHANISM_PARAM_INVALID. Every type validates itself on construction, so a handler
that holds one knows it is well formed. They live in the model layer because both sides of
the wire use them: the engine's handlers, and clients that must not import the engine. No
crypto here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeVar, get_args

from strongroom.crypto.hashing import HashName
from strongroom.errors import MechanismParamInvalid

__all__ = [
    "CTRParams",
    "ECDH1DeriveParams",
    "EdDSAParams",
    "GCMParams",
    "HKDFParams",
    "MLDSAParams",
    "OAEPParams",
    "PSSParams",
    "RSAAESKeyWrapParams",
    "SP800108Params",
    "require_bytes",
    "require_none",
    "require_params",
]

_P = TypeVar("_P")
SHA2_HASHES: tuple[HashName, ...] = ("SHA1", "SHA224", "SHA256", "SHA384", "SHA512")
"""The hashes RSA padding, ECDSA and the KDFs take (SHA-1 and SHA-2)."""

ECDHKDF = Literal[
    "NULL",
    "SHA1",
    "SHA224",
    "SHA256",
    "SHA384",
    "SHA512",
    "HKDF-SHA256",
    "HKDF-SHA384",
    "HKDF-SHA512",
]
"""How ECDH turns the shared secret into key bytes: none, X9.63 with a hash, or HKDF."""

KBKDFPRF = Literal[
    "HMAC-SHA1", "HMAC-SHA224", "HMAC-SHA256", "HMAC-SHA384", "HMAC-SHA512", "CMAC-AES"
]
"""The pseudo-random functions the SP 800-108 counter KDF runs on."""

_MAX_PARAM_BYTES = 64 * 1024


def _bytes(value: object, what: str, *, maximum: int = _MAX_PARAM_BYTES) -> bytes:
    if not isinstance(value, bytes):
        raise MechanismParamInvalid(f"{what} must be bytes")
    if len(value) > maximum:
        raise MechanismParamInvalid(f"{what} is longer than {maximum} bytes")
    return value


def _hash(value: object, what: str) -> None:
    if value not in SHA2_HASHES:
        raise MechanismParamInvalid(f"{what} must be one of {', '.join(SHA2_HASHES)}")


@dataclass(frozen=True, slots=True)
class GCMParams:
    """AES-GCM: a 12-byte IV (or ``None`` to have the HSM generate one), AAD, tag bits.

    With a generated IV, encrypt returns ``iv || ciphertext || tag`` and decrypt expects
    that same layout with ``iv=None`` (CloudHSM's CKM_CLOUDHSM_AES_GCM convention).
    """

    iv: bytes | None = None
    aad: bytes = b""
    tag_bits: int = 128

    def __post_init__(self) -> None:
        if self.iv is not None and (not isinstance(self.iv, bytes) or len(self.iv) != 12):
            raise MechanismParamInvalid("GCM IV must be 12 bytes")
        _bytes(self.aad, "GCM AAD", maximum=1 << 30)
        if self.tag_bits != 128:
            raise MechanismParamInvalid("GCM tags are 128 bits")


@dataclass(frozen=True, slots=True)
class CTRParams:
    """AES-CTR (CK_AES_CTR_PARAMS): the initial counter block and the counter's width."""

    counter_block: bytes
    counter_bits: int = 128

    def __post_init__(self) -> None:
        if not isinstance(self.counter_block, bytes) or len(self.counter_block) != 16:
            raise MechanismParamInvalid("the CTR counter block must be 16 bytes")
        bits = self.counter_bits
        if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 128:
            raise MechanismParamInvalid("CTR counter bits must be 1-128")


@dataclass(frozen=True, slots=True)
class PSSParams:
    """RSA-PSS: the hash (MGF1 uses the same) and the salt length (default: hash length)."""

    hash_name: HashName = "SHA256"
    salt_length: int | None = None

    def __post_init__(self) -> None:
        _hash(self.hash_name, "the PSS hash")
        if self.salt_length is not None and (
            isinstance(self.salt_length, bool)
            or not isinstance(self.salt_length, int)
            or not 0 <= self.salt_length <= 512
        ):
            raise MechanismParamInvalid("PSS salt length out of range")


@dataclass(frozen=True, slots=True)
class OAEPParams:
    """RSA-OAEP (CK_RSA_PKCS_OAEP_PARAMS): hash, MGF1 hash (default: the same), label."""

    hash_name: HashName = "SHA256"
    mgf_hash_name: HashName | None = None
    label: bytes = b""

    def __post_init__(self) -> None:
        _hash(self.hash_name, "the OAEP hash")
        if self.mgf_hash_name is not None:
            _hash(self.mgf_hash_name, "the OAEP MGF1 hash")
        _bytes(self.label, "the OAEP label")

    @property
    def mgf(self) -> HashName:
        """The MGF1 hash in effect."""
        return self.mgf_hash_name or self.hash_name


@dataclass(frozen=True, slots=True)
class RSAAESKeyWrapParams:
    """RSA-AES key wrap (CK_RSA_AES_KEY_WRAP_PARAMS): ephemeral AES size and the OAEP."""

    aes_key_bits: int = 256
    oaep: OAEPParams = field(default_factory=OAEPParams)

    def __post_init__(self) -> None:
        if self.aes_key_bits not in (128, 192, 256):
            raise MechanismParamInvalid("the ephemeral AES key is 128, 192 or 256 bits")
        if not isinstance(self.oaep, OAEPParams):
            raise MechanismParamInvalid("oaep must be OAEPParams")


@dataclass(frozen=True, slots=True)
class EdDSAParams:
    """EdDSA (CK_EDDSA_PARAMS): pre-hash flag and context; only pure Ed25519 is offered."""

    prehash: bool = False
    context: bytes = b""

    def __post_init__(self) -> None:
        if self.prehash or self.context:
            raise MechanismParamInvalid(
                "Ed25519ph and Ed25519ctx are not offered: pyca/cryptography provides pure"
                " Ed25519 only"
            )


@dataclass(frozen=True, slots=True)
class MLDSAParams:
    """ML-DSA (CK_SIGN_ADDITIONAL_CONTEXT): an optional context string of ≤ 255 bytes."""

    context: bytes = b""

    def __post_init__(self) -> None:
        _bytes(self.context, "the ML-DSA context", maximum=255)


@dataclass(frozen=True, slots=True)
class ECDH1DeriveParams:
    """ECDH (CK_ECDH1_DERIVE_PARAMS): the peer's public point, the KDF and its shared data.

    ``public_data`` is the peer's SEC 1 point (or that point in a DER OCTET STRING). The
    KDF is ``NULL`` (the shared secret's leading bytes), an X9.63 KDF named by its hash,
    or HKDF with ``shared_data`` as the info string and no salt.
    """

    public_data: bytes
    kdf: ECDHKDF = "SHA256"
    shared_data: bytes = b""

    def __post_init__(self) -> None:
        _bytes(self.public_data, "the peer's public point", maximum=1024)
        if self.kdf not in get_args(ECDHKDF):
            raise MechanismParamInvalid(f"unknown ECDH KDF {self.kdf!r}")
        _bytes(self.shared_data, "the ECDH shared data")
        if self.kdf == "NULL" and self.shared_data:
            raise MechanismParamInvalid("the NULL KDF takes no shared data")


@dataclass(frozen=True, slots=True)
class SP800108Params:
    """SP 800-108 counter KDF: the PRF, label and context (fixed input: see kdf docs)."""

    prf: KBKDFPRF = "HMAC-SHA256"
    label: bytes = b""
    context: bytes = b""

    def __post_init__(self) -> None:
        if self.prf not in get_args(KBKDFPRF):
            raise MechanismParamInvalid(f"unknown SP 800-108 PRF {self.prf!r}")
        _bytes(self.label, "the KDF label")
        _bytes(self.context, "the KDF context")


@dataclass(frozen=True, slots=True)
class HKDFParams:
    """HKDF (CK_HKDF_PARAMS): hash, salt, info, and which of extract and expand to run."""

    hash_name: HashName = "SHA256"
    salt: bytes | None = None
    info: bytes = b""
    extract: bool = True
    expand: bool = True

    def __post_init__(self) -> None:
        _hash(self.hash_name, "the HKDF hash")
        if self.salt is not None:
            _bytes(self.salt, "the HKDF salt")
        _bytes(self.info, "the HKDF info")
        if not (self.extract or self.expand):
            raise MechanismParamInvalid("HKDF must extract, expand or both")
        if not self.expand and self.info:
            raise MechanismParamInvalid("info is only used when expanding")


def require_params(params: object, kind: type[_P], default: _P | None = None) -> _P:
    """``params`` if it is a ``kind`` (or ``default`` when ``None``), else PARAM_INVALID."""
    if params is None and default is not None:
        return default
    if not isinstance(params, kind):
        raise MechanismParamInvalid(f"this mechanism takes {kind.__name__}")
    return params


def require_bytes(params: object, length: int, what: str) -> bytes:
    """``params`` as exactly ``length`` bytes (an IV, say), else PARAM_INVALID."""
    if not isinstance(params, bytes) or len(params) != length:
        raise MechanismParamInvalid(f"this mechanism takes a {length}-byte {what}")
    return params


def require_none(params: object) -> None:
    """PARAM_INVALID unless the mechanism was given no parameters."""
    if params is not None:
        raise MechanismParamInvalid("this mechanism takes no parameters")

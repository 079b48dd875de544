"""Mechanism parameters: what callers pass alongside a mechanism number.

This module owns the parameter types (PKCS#11's CK_GCM_PARAMS, CK_RSA_PKCS_PSS_PARAMS…
in Python form) and their validation into MECHANISM_PARAM_INVALID. No crypto here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from strongroom.crypto.hashing import HashName
from strongroom.errors import MechanismParamInvalid

__all__ = ["GCMParams", "PSSParams", "require_params"]

_P = TypeVar("_P")
_HASHES = ("SHA1", "SHA224", "SHA256", "SHA384", "SHA512")


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
        if not isinstance(self.aad, bytes):
            raise MechanismParamInvalid("GCM AAD must be bytes")
        if self.tag_bits != 128:
            raise MechanismParamInvalid("GCM tags are 128 bits")


@dataclass(frozen=True, slots=True)
class PSSParams:
    """RSA-PSS: the hash (MGF1 uses the same) and the salt length (default: hash length)."""

    hash_name: HashName = "SHA256"
    salt_length: int | None = None

    def __post_init__(self) -> None:
        if self.hash_name not in _HASHES:
            raise MechanismParamInvalid("unknown PSS hash")
        if self.salt_length is not None and (
            isinstance(self.salt_length, bool)
            or not isinstance(self.salt_length, int)
            or not 0 <= self.salt_length <= 512
        ):
            raise MechanismParamInvalid("PSS salt length out of range")


def require_params(params: object, kind: type[_P], default: _P | None = None) -> _P:
    """``params`` if it is a ``kind`` (or ``default`` when ``None``), else PARAM_INVALID."""
    if params is None and default is not None:
        return default
    if not isinstance(params, kind):
        raise MechanismParamInvalid(f"this mechanism takes {kind.__name__}")
    return params

"""CK_MECHANISM on the p11-kit wire: the type and its parameters, per client generation.

This module owns decoding ``M`` arguments into a mechanism number and the model's parameter
object (``strongroom.model.params``), and the mechanism info the bridge reports. p11-kit
changed the encoding without tying it to the negotiated version, so the decoder keys on the
byte the client sent (docs/formats/p11-kit-rpc.md §Mechanisms):

* byte 0 or 1: the type, then either a known parameter structure or a raw byte array
  (NULL, 0xffffffff, for mechanisms without parameters);
* byte 2 (p11-kit ≥ 0.25.6): the type alone for mechanisms without parameters; otherwise a
  byte saying whether parameters follow, then as above. Type 0xffffffff (byte ≥ 1) is the
  NULL mechanism, which cancels an operation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from strongroom.constants import Mechanism
from strongroom.errors import MechanismParamInvalid
from strongroom.model.params import CTRParams, ECDH1DeriveParams, GCMParams, OAEPParams, PSSParams
from strongroom.pkcs11.ck import CKF, CKR, CKRError
from strongroom.pkcs11.rpc import ParseError, Reader

__all__ = ["CANCEL", "MechanismInfo", "WireMechanism", "mechanism_flags", "read_mechanism"]

CANCEL: Final = 0xFFFFFFFF
"""The NULL mechanism of p11-kit ≥ 0.25.3: C_*Init with it cancels the operation."""

_HASHES: Final = {0x220: "SHA1", 0x255: "SHA224", 0x250: "SHA256", 0x260: "SHA384", 0x270: "SHA512"}
_MGF1: Final = {1: "SHA1", 5: "SHA224", 2: "SHA256", 3: "SHA384", 4: "SHA512"}
_KDFS: Final = {1: "NULL", 2: "SHA1", 5: "SHA224", 6: "SHA256", 7: "SHA384", 8: "SHA512"}
_CKZ_DATA_SPECIFIED: Final = 1


@dataclass(frozen=True, slots=True)
class WireMechanism:
    """A decoded CK_MECHANISM: the number and the parameters the SDK takes (or None)."""

    mechanism: int
    params: object = None


def _hash(table: dict[int, str], value: int, what: str) -> Any:
    name = table.get(value)
    if name is None:
        raise MechanismParamInvalid(f"unsupported {what} 0x{value:x}")
    return name


def _pss(reader: Reader) -> object:
    hash_alg, mgf, salt = reader.ulong(), reader.ulong(), reader.ulong()
    hash_name = _hash(_HASHES, hash_alg, "PSS hash")
    if _hash(_MGF1, mgf, "PSS MGF") != hash_name:
        raise MechanismParamInvalid("the PSS MGF1 hash must be the message hash")
    return PSSParams(hash_name=hash_name, salt_length=salt)


def _oaep(reader: Reader) -> object:
    hash_alg, mgf, source = reader.ulong(), reader.ulong(), reader.ulong()
    label = reader.raw() or b""
    if source not in (0, _CKZ_DATA_SPECIFIED) or (source == 0 and label):
        raise MechanismParamInvalid("OAEP source must be CKZ_DATA_SPECIFIED")
    return OAEPParams(
        hash_name=_hash(_HASHES, hash_alg, "OAEP hash"),
        mgf_hash_name=_hash(_MGF1, mgf, "OAEP MGF"),
        label=label,
    )


def _iv(reader: Reader) -> object:
    iv = reader.raw()
    if iv is None or len(iv) != 16:
        raise MechanismParamInvalid("the IV must be 16 bytes")
    return iv


def _ctr(reader: Reader) -> object:
    bits = reader.ulong()
    block = reader.raw() or b""
    return CTRParams(counter_block=block, counter_bits=bits)


def _gcm(reader: Reader) -> object:
    iv = reader.raw() or b""
    reader.ulong()  # ulIvBits: the IV's length says it all
    aad = reader.raw() or b""
    tag_bits = reader.ulong()
    return GCMParams(iv=iv, aad=aad, tag_bits=tag_bits)


def _ecdh(reader: Reader) -> object:
    kdf = reader.ulong()
    shared = reader.raw() or b""
    public = reader.raw() or b""
    return ECDH1DeriveParams(
        public_data=public, kdf=_hash(_KDFS, kdf, "ECDH KDF"), shared_data=shared
    )


_Decoder = Callable[[Reader], object]
_PSS_FAMILY = (
    Mechanism.RSA_PKCS_PSS,
    Mechanism.SHA1_RSA_PKCS_PSS,
    Mechanism.SHA224_RSA_PKCS_PSS,
    Mechanism.SHA256_RSA_PKCS_PSS,
    Mechanism.SHA384_RSA_PKCS_PSS,
    Mechanism.SHA512_RSA_PKCS_PSS,
)
_ECDSA_FAMILY = (
    Mechanism.ECDSA,
    Mechanism.ECDSA_SHA1,
    Mechanism.ECDSA_SHA224,
    Mechanism.ECDSA_SHA256,
    Mechanism.ECDSA_SHA384,
    Mechanism.ECDSA_SHA512,
)
_V0_DECODERS: Final[dict[int, _Decoder]] = {
    Mechanism.RSA_PKCS_PSS: _pss,
    Mechanism.RSA_PKCS_OAEP: _oaep,
}
_V1_DECODERS: Final[dict[int, _Decoder]] = {
    **dict.fromkeys(_PSS_FAMILY, _pss),
    Mechanism.RSA_PKCS_OAEP: _oaep,
    Mechanism.ECDH1_DERIVE: _ecdh,
    Mechanism.AES_CBC: _iv,
    Mechanism.AES_CBC_PAD: _iv,
    Mechanism.AES_CTR: _ctr,
    Mechanism.AES_GCM: _gcm,
}
NO_PARAMETERS_V2: Final = frozenset(
    {
        Mechanism.RSA_PKCS_KEY_PAIR_GEN,
        Mechanism.RSA_PKCS,
        Mechanism.RSA_X_509,
        Mechanism.SHA1_RSA_PKCS,
        Mechanism.RSA_X9_31_KEY_PAIR_GEN,
        Mechanism.SHA256_RSA_PKCS,
        Mechanism.SHA384_RSA_PKCS,
        Mechanism.SHA512_RSA_PKCS,
        Mechanism.SHA224_RSA_PKCS,
        Mechanism.SHA_1,
        Mechanism.SHA_1_HMAC,
        Mechanism.SHA224,
        Mechanism.SHA224_HMAC,
        Mechanism.SHA256,
        Mechanism.SHA256_HMAC,
        Mechanism.SHA384,
        Mechanism.SHA384_HMAC,
        Mechanism.SHA512,
        Mechanism.SHA512_HMAC,
        Mechanism.GENERIC_SECRET_KEY_GEN,
        Mechanism.EC_KEY_PAIR_GEN,
        *_ECDSA_FAMILY,
        Mechanism.AES_KEY_GEN,
        Mechanism.AES_ECB,
        Mechanism.AES_CMAC,
    }
)
"""Strongroom's mechanisms that p11-kit ≥ 0.25.6 sends as a bare type (its no-parameter list)."""


def read_mechanism(reader: Reader) -> WireMechanism:
    """Decode one ``M``; a mechanism Strongroom does not know is CKR_MECHANISM_INVALID.

    Parameters that decode but do not make sense are CKR_MECHANISM_PARAM_INVALID.
    """
    number = reader.u32()
    version = reader.client_version
    if number == CANCEL and version >= 1:
        return WireMechanism(CANCEL)
    decoders = _V0_DECODERS if version == 0 else _V1_DECODERS
    try:
        Mechanism(number)
    except ValueError:
        raise CKRError(CKR.MECHANISM_INVALID, f"unknown mechanism 0x{number:x}") from None
    if version >= 2:
        if number in NO_PARAMETERS_V2:
            return WireMechanism(number)
        if reader.byte() == 0:
            return WireMechanism(number)
    decoder = decoders.get(number)
    try:
        if decoder is not None:
            return WireMechanism(number, decoder(reader))
        raw = reader.raw()
    except MechanismParamInvalid as exc:
        raise CKRError(CKR.MECHANISM_PARAM_INVALID, str(exc)) from None
    except (TypeError, ValueError) as exc:
        raise ParseError(str(exc)) from None
    return WireMechanism(number, raw)


_FUNCTION_FLAGS: Final = {
    "encrypt": CKF.ENCRYPT,
    "decrypt": CKF.DECRYPT,
    "sign": CKF.SIGN,
    "verify": CKF.VERIFY,
    "digest": CKF.DIGEST,
    "generate": CKF.GENERATE,
    "generate_key_pair": CKF.GENERATE_KEY_PAIR,
    "wrap": CKF.WRAP,
    "unwrap": CKF.UNWRAP,
    "derive": CKF.DERIVE,
}
_EC_MECHANISMS: Final = frozenset(
    {Mechanism.EC_KEY_PAIR_GEN, *_ECDSA_FAMILY, Mechanism.ECDH1_DERIVE}
)


@dataclass(frozen=True, slots=True)
class MechanismInfo:
    """CK_MECHANISM_INFO for one mechanism."""

    mechanism: int
    min_key_size: int
    max_key_size: int
    flags: int


def mechanism_flags(entry: dict[str, Any]) -> MechanismInfo:
    """The CK_MECHANISM_INFO of one ``HSMClient.mechanisms()`` entry."""
    flags = 0
    for name in entry["functions"]:
        flags |= _FUNCTION_FLAGS.get(name, 0)
    number = int(entry["mechanism"])
    if number in _EC_MECHANISMS:
        flags |= CKF.EC_F_P | CKF.EC_NAMEDCURVE | CKF.EC_UNCOMPRESS
    return MechanismInfo(number, int(entry["min_key_size"]), int(entry["max_key_size"]), flags)

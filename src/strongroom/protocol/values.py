"""How typed values cross the wire: templates, mechanism parameters, attribute maps.

This module owns the mapping between the model's Python types and plain CBOR values, the
same on both ends. Templates are maps from attribute number to value (nested templates are
nested maps; enum values travel as their numbers). Mechanism parameters are maps with a
``"type"`` naming the parameter class and one entry per field; decoding rebuilds the class,
whose constructor validates it (MECHANISM_PARAM_INVALID).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any, Final

from strongroom.errors import CommandInvalid, MechanismParamInvalid
from strongroom.model.params import (
    CTRParams,
    ECDH1DeriveParams,
    EdDSAParams,
    GCMParams,
    HKDFParams,
    MLDSAParams,
    OAEPParams,
    PSSParams,
    RSAAESKeyWrapParams,
    SP800108Params,
)

__all__ = [
    "PARAM_TYPES",
    "decode_params",
    "decode_template",
    "encode_params",
    "encode_template",
]

PARAM_TYPES: Final[dict[str, type[Any]]] = {
    "GCM": GCMParams,
    "CTR": CTRParams,
    "PSS": PSSParams,
    "OAEP": OAEPParams,
    "RSA_AES_KEY_WRAP": RSAAESKeyWrapParams,
    "EDDSA": EdDSAParams,
    "MLDSA": MLDSAParams,
    "ECDH1_DERIVE": ECDH1DeriveParams,
    "SP800_108": SP800108Params,
    "HKDF": HKDFParams,
}
"""Wire name → parameter class (docs/formats/wire-v1.md §Parameters)."""
_NAMES: Final = {cls: name for name, cls in PARAM_TYPES.items()}


def encode_template(template: Mapping[Any, Any] | None) -> dict[int, Any]:
    """Attribute number → plain value; enum members become their numbers."""
    if template is None:
        return {}
    return {int(key): _plain(value) for key, value in template.items()}


def _plain(value: object) -> Any:
    if isinstance(value, Mapping):
        return encode_template(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    return value


def decode_template(value: object, what: str = "template") -> dict[int, Any]:
    """A template from the wire; shape only — the engine checks the attribute rules."""
    if not isinstance(value, dict):
        raise CommandInvalid(f"{what} must be a map of attribute number to value")
    for key, item in value.items():
        if type(key) is not int:
            raise CommandInvalid(f"{what} keys are attribute numbers")
        if isinstance(item, dict):
            decode_template(item, what)
        elif isinstance(item, list):
            raise CommandInvalid(f"{what} values are scalars or nested templates")
    return value


def encode_params(params: object) -> dict[str, Any] | bytes | None:
    """A parameter object as a plain map (``None`` stays ``None``; a bytes IV stays bytes)."""
    if params is None or type(params) is bytes:
        return params
    name = _NAMES.get(type(params))
    if name is None:
        raise MechanismParamInvalid(f"{type(params).__name__} is not a mechanism parameter type")
    out: dict[str, Any] = {"type": name}
    for item in dataclasses.fields(params):  # type: ignore[arg-type]
        value = getattr(params, item.name)
        out[item.name] = encode_params(value) if type(value) in _NAMES else value
    return out


def decode_params(value: object) -> object:
    """Rebuild (and so validate) a parameter object from its plain map (bytes pass as is)."""
    if value is None or type(value) is bytes:
        return value
    if not isinstance(value, dict):
        raise MechanismParamInvalid("mechanism parameters must be a map with a type")
    name = value.get("type")
    cls = PARAM_TYPES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise MechanismParamInvalid("unknown mechanism parameter type")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, item in value.items():
        if key == "type":
            continue
        if key not in fields:
            raise MechanismParamInvalid(f"{value['type']} parameters have no field {key!r}")
        kwargs[key] = decode_params(item) if isinstance(item, dict) else item
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise MechanismParamInvalid(f"{value['type']} parameters are incomplete") from exc

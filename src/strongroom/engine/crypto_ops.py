"""Crypto with keys: encrypt, decrypt, sign, verify, and random numbers.

This module owns the hot path. A call checks, in order: the HSM is operational, the
handle is visible to the caller, the mechanism exists for this function and key type in
this mode, and the key's usage attribute allows it; then it hands the unsealed key (parsed
forms cached per handle) to the mechanism's handler. Nothing here is audited — crypto
use is not a management event — and nothing here touches the store's write path.
"""

from __future__ import annotations

from strongroom.constants import Attribute
from strongroom.engine.core import Core, SessionState
from strongroom.engine.key_ops import usable
from strongroom.engine.mechanisms.registry import Function, MechanismEntry
from strongroom.engine.objects import HSMObject
from strongroom.errors import ArgumentsBad, KeyFunctionNotPermitted

__all__ = ["decrypt", "encrypt", "generate_random", "sign", "verify"]

MAX_RANDOM = 1024 * 1024


def _prepare(
    core: Core,
    session: SessionState,
    handle: object,
    mechanism: object,
    function: Function,
    usage: Attribute,
    data: object,
) -> tuple[MechanismEntry, HSMObject]:
    core.require_operational()
    if not isinstance(data, bytes):
        raise ArgumentsBad("data must be bytes")
    key = usable(core, session, handle)
    entry = core.registry.lookup(mechanism, function, fips=core.fips, key_type=key.key_type)
    if key.attributes.get(usage) is not True:
        raise KeyFunctionNotPermitted(f"the key's {usage.name} attribute is false")
    if not key.verified:
        core.catalog.unseal(key)
    return entry, key


def encrypt(
    core: Core,
    session: SessionState,
    handle: object,
    mechanism: object,
    data: object,
    params: object,
) -> bytes:
    """C_Encrypt (single part)."""
    entry, key = _prepare(
        core, session, handle, mechanism, Function.ENCRYPT, Attribute.ENCRYPT, data
    )
    assert entry.encrypt is not None
    return entry.encrypt(key, params, data, core.rng)  # type: ignore[arg-type]


def decrypt(
    core: Core,
    session: SessionState,
    handle: object,
    mechanism: object,
    data: object,
    params: object,
) -> bytes:
    """C_Decrypt (single part); every integrity failure is the same IntegrityError."""
    entry, key = _prepare(
        core, session, handle, mechanism, Function.DECRYPT, Attribute.DECRYPT, data
    )
    assert entry.decrypt is not None
    return entry.decrypt(key, params, data, core.rng)  # type: ignore[arg-type]


def sign(
    core: Core,
    session: SessionState,
    handle: object,
    mechanism: object,
    data: object,
    params: object,
) -> bytes:
    """C_Sign (single part)."""
    entry, key = _prepare(core, session, handle, mechanism, Function.SIGN, Attribute.SIGN, data)
    assert entry.sign is not None
    return entry.sign(key, params, data)  # type: ignore[arg-type]


def verify(
    core: Core,
    session: SessionState,
    handle: object,
    mechanism: object,
    data: object,
    signature: object,
    params: object,
) -> None:
    """C_Verify (single part): returns on success, raises SignatureInvalid otherwise."""
    entry, key = _prepare(core, session, handle, mechanism, Function.VERIFY, Attribute.VERIFY, data)
    if not isinstance(signature, bytes):
        raise ArgumentsBad("signature must be bytes")
    assert entry.verify is not None
    entry.verify(key, params, data, signature)  # type: ignore[arg-type]


def generate_random(core: Core, length: object) -> bytes:
    """C_GenerateRandom: up to 1 MiB from the HSM's random source."""
    core.require_operational()
    if isinstance(length, bool) or not isinstance(length, int) or not 0 <= length <= MAX_RANDOM:
        raise ArgumentsBad(f"random length must be 0-{MAX_RANDOM} bytes")
    return core.rng.random_bytes(length)

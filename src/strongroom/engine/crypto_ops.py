"""Crypto with keys: encrypt, decrypt, sign, verify, digest — single- and multi-part — and random.

This module owns the hot path and the multi-part state machine. A call checks, in order:
the HSM is operational, the handle is visible to the caller, the mechanism exists for this
function and key type in this mode, and the key's usage attribute allows it; then it hands
the unsealed key (parsed forms cached per handle) to the mechanism's handler.

Multi-part operations follow PKCS#11 §5.2: ``*_init`` starts one (at most one of each
kind per session: OPERATION_ACTIVE otherwise), ``*_update`` feeds it, ``*_final`` ends
it; an error in update or final ends it too, and so do logout and closing the session.
The key is checked once, at init. Nothing here is audited — crypto use is not a
management event — and nothing here touches the store's write path.
"""

from __future__ import annotations

from typing import Any

from strongroom.constants import Attribute
from strongroom.engine.core import Core, SessionState
from strongroom.engine.key_ops import usable
from strongroom.engine.mechanisms.registry import Function, MechanismEntry
from strongroom.engine.objects import HSMObject
from strongroom.errors import (
    ArgumentsBad,
    DataLenRange,
    KeyFunctionNotPermitted,
    MechanismInvalid,
    OperationActive,
    OperationNotInitialized,
)

__all__ = [
    "MAX_SINGLE_PART",
    "begin",
    "cancel",
    "decrypt",
    "digest",
    "encrypt",
    "finish",
    "generate_random",
    "sign",
    "update",
    "verify",
]

MAX_RANDOM = 1024 * 1024
MAX_SINGLE_PART = 64 * 1024 * 1024 + 1024
"""Largest single-part input: 64 MiB, with room for an IV and a tag. Multi-part has no cap."""

_USAGE: dict[Function, Attribute] = {
    Function.ENCRYPT: Attribute.ENCRYPT,
    Function.DECRYPT: Attribute.DECRYPT,
    Function.SIGN: Attribute.SIGN,
    Function.VERIFY: Attribute.VERIFY,
}

_NAMES = {f: str(f.name).lower() for f in Function}


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
    if type(data) is not bytes:
        raise ArgumentsBad("data must be bytes")
    if len(data) > MAX_SINGLE_PART:
        raise DataLenRange("single-part input is limited to 64 MiB; use multi-part")
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
    if type(signature) is not bytes:
        raise ArgumentsBad("signature must be bytes")
    assert entry.verify is not None
    entry.verify(key, params, data, signature)  # type: ignore[arg-type]


def digest(core: Core, mechanism: object, data: object, params: object) -> bytes:
    """C_Digest (single part)."""
    core.require_operational()
    if type(data) is not bytes:
        raise ArgumentsBad("data must be bytes")
    if len(data) > MAX_SINGLE_PART:
        raise DataLenRange("single-part input is limited to 64 MiB; use multi-part")
    entry = core.registry.lookup(mechanism, Function.DIGEST, fips=core.fips)
    assert entry.digest is not None
    return entry.digest(params, data)


# --- multi-part -------------------------------------------------------------------------


def begin(
    core: Core,
    session: SessionState,
    function: Function,
    handle: object,
    mechanism: object,
    params: object,
) -> None:
    """C_EncryptInit, C_DecryptInit, C_SignInit, C_VerifyInit, C_DigestInit."""
    if function in session.operations:
        raise OperationActive(f"a {_NAMES[function]} operation is already active")
    stream: Any
    if function is Function.DIGEST:
        core.require_operational()
        entry = core.registry.lookup(mechanism, function, fips=core.fips)
        assert entry.digest_stream is not None
        stream = entry.digest_stream(params)
    else:
        entry, key = _prepare(core, session, handle, mechanism, function, _USAGE[function], b"")
        if function is Function.ENCRYPT and entry.encrypt_stream is not None:
            stream = entry.encrypt_stream(key, params, core.rng)
        elif function is Function.DECRYPT and entry.decrypt_stream is not None:
            stream = entry.decrypt_stream(key, params, core.rng)
        elif function in (Function.SIGN, Function.VERIFY) and entry.sign_stream is not None:
            stream = entry.sign_stream(key, params)
        else:
            raise MechanismInvalid(f"{entry.mechanism.name} is single-part only")
    session.operations[function] = stream


def _active(session: SessionState, function: Function) -> Any:
    stream = session.operations.get(function)
    if stream is None:
        raise OperationNotInitialized(f"no {_NAMES[function]} operation is active")
    return stream


def update(core: Core, session: SessionState, function: Function, data: object) -> bytes:
    """C_*Update: feed ``data``; encrypt and decrypt return output as it is ready."""
    stream = _active(session, function)
    try:
        core.require_operational()
        if type(data) is not bytes:
            raise ArgumentsBad("data must be bytes")
        out = stream.update(data)
    except BaseException:
        session.operations.pop(function, None)  # PKCS#11 §5.2: an error ends the operation
        raise
    return out if type(out) is bytes else b""


def finish(
    core: Core, session: SessionState, function: Function, signature: object = None
) -> bytes:
    """C_*Final: the last output, the signature or digest; C_VerifyFinal checks ``signature``."""
    stream = _active(session, function)
    del session.operations[function]
    core.require_operational()
    if function is Function.SIGN:
        return stream.sign()  # type: ignore[no-any-return]
    if function is Function.VERIFY:
        if type(signature) is not bytes:
            raise ArgumentsBad("signature must be bytes")
        stream.verify(signature)
        return b""
    return stream.finalize()  # type: ignore[no-any-return]


def cancel(session: SessionState, function: Function) -> None:
    """End an operation without a result (PKCS#11 v3.0 C_*Init with a null mechanism)."""
    session.operations.pop(function, None)


def generate_random(core: Core, length: object) -> bytes:
    """C_GenerateRandom: up to 1 MiB from the HSM's random source."""
    core.require_operational()
    if isinstance(length, bool) or not isinstance(length, int) or not 0 <= length <= MAX_RANDOM:
        raise ArgumentsBad(f"random length must be 0-{MAX_RANDOM} bytes")
    return core.rng.random_bytes(length)

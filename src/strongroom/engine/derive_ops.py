"""Key derivation: a new secret key from a base key the caller may use (C_DeriveKey).

This module owns the derive rules: the base is a secret or private key whose DERIVE
attribute is set; the new key is a secret key (AES or generic secret) whose length comes
from the template's VALUE_LEN, owned by the caller, with its template checked against the
attribute table like a generated key's. Following PKCS#11 §4.9, the new key is not LOCAL,
and ALWAYS_SENSITIVE / NEVER_EXTRACTABLE hold only if they held for the base key too.
"""

from __future__ import annotations

from strongroom.constants import Attribute, KeyType, ObjectClass
from strongroom.engine.core import Core, SessionState
from strongroom.engine.key_ops import (
    check_secret_size,
    consistent,
    new_object,
    secret_attributes,
    set_origin,
    store_new,
    usable,
)
from strongroom.engine.mechanisms.registry import Function
from strongroom.errors import (
    KeyFunctionNotPermitted,
    KeySizeRange,
    KeyTypeInconsistent,
    TemplateIncomplete,
    TemplateInconsistent,
)
from strongroom.model.templates import (
    Operation,
    apply_defaults,
    check_template,
    normalize_template,
)

__all__ = ["derive_key"]

_DERIVABLE = (KeyType.AES, KeyType.GENERIC_SECRET)


def derive_key(
    core: Core,
    session: SessionState,
    mechanism: object,
    base_handle: object,
    template: object,
    params: object,
) -> int:
    """C_DeriveKey: a new secret key, owned by the caller, derived from a base key."""
    core.require_operational()
    base = usable(core, session, base_handle)
    if base.object_class not in (ObjectClass.SECRET_KEY, ObjectClass.PRIVATE_KEY):
        raise KeyTypeInconsistent("only secret and private keys are derivation bases")
    entry = core.registry.lookup(mechanism, Function.DERIVE, fips=core.fips, key_type=base.key_type)
    if not base.flag(Attribute.DERIVE):
        raise KeyFunctionNotPermitted("the base key's DERIVE attribute is false")
    t = normalize_template(template)  # type: ignore[arg-type]
    consistent(t, Attribute.CLASS, ObjectClass.SECRET_KEY)
    key_type = t.get(Attribute.KEY_TYPE)
    if key_type is None:
        raise TemplateIncomplete("KEY_TYPE (AES or generic secret) is required to derive")
    if key_type not in _DERIVABLE:
        raise TemplateInconsistent("only AES keys and generic secrets are derived")
    assert isinstance(key_type, KeyType)
    check_template(Operation.GENERATE, ObjectClass.SECRET_KEY, key_type, t)
    length = t.get(Attribute.VALUE_LEN)
    if isinstance(length, bool) or not isinstance(length, int):
        raise TemplateIncomplete("VALUE_LEN is required to derive a key")
    if length < 1:
        raise KeySizeRange("a derived key is at least 1 byte (VALUE_LEN)")
    if key_type is KeyType.AES and length not in (16, 24, 32):
        raise KeySizeRange("AES keys are 16, 24 or 32 bytes (VALUE_LEN)")
    core.catalog.unseal(base)
    assert entry.derive is not None
    value = entry.derive(base, params, length, core.fips)
    check_secret_size(core, key_type, value)
    attributes = apply_defaults(ObjectClass.SECRET_KEY, key_type, t)
    set_origin(attributes, local=False, mechanism=None)
    attributes[Attribute.ALWAYS_SENSITIVE] = base.flag(Attribute.ALWAYS_SENSITIVE) and bool(
        attributes.get(Attribute.SENSITIVE)
    )
    attributes[Attribute.NEVER_EXTRACTABLE] = base.flag(
        Attribute.NEVER_EXTRACTABLE
    ) and not attributes.get(Attribute.EXTRACTABLE)
    secret_attributes(key_type, value, attributes)
    obj = new_object(session, attributes, {"value": value})
    (handle,) = store_new(
        core,
        session,
        [obj],
        "key-derive",
        base_handle=base.handle,
        mechanism=entry.mechanism.name,
    )
    return handle

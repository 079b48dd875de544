"""Wrap and unwrap: the only ways secret and private keys leave or enter the HSM sealed.

This module owns the export rules: only extractable keys, only by their owner, only under
a wrapping key the caller may use whose WRAP is set; a WRAP_WITH_TRUSTED key only under a
TRUSTED key; and the wrapping key's WRAP_TEMPLATE must match. On the way in, the
unwrapping key's UNWRAP_TEMPLATE is merged into the caller's template (a conflict fails),
in FIPS mode a private key comes in only on an approved curve (as with clear import), and
every integrity failure is the one uniform IntegrityError.
"""

from __future__ import annotations

from strongroom.constants import Attribute, KeyType, ObjectClass
from strongroom.crypto import asymmetric
from strongroom.engine.core import Core, SessionState
from strongroom.engine.key_ops import (
    check_secret_size,
    consistent,
    fips_key_check,
    new_object,
    owned,
    pairwise,
    private_key_attributes,
    secret_attributes,
    set_origin,
    store_new,
    usable,
)
from strongroom.engine.mechanisms.registry import Function
from strongroom.errors import (
    ArgumentsBad,
    IntegrityError,
    KeyFunctionNotPermitted,
    KeyNotWrappable,
    KeyUnextractable,
    TemplateIncomplete,
    TemplateInconsistent,
)
from strongroom.model.templates import (
    Operation,
    apply_defaults,
    check_template,
    normalize_template,
    template_matches,
)

__all__ = ["unwrap_key", "wrap_key"]


def wrap_key(
    core: Core,
    session: SessionState,
    mechanism: object,
    wrapping_handle: object,
    key_handle: object,
    params: object = None,
) -> bytes:
    """C_WrapKey: the key's material encrypted under the wrapping key."""
    core.require_operational()
    wrapping = usable(core, session, wrapping_handle)
    key = owned(core, session, key_handle)
    entry = core.registry.lookup(
        mechanism, Function.WRAP, fips=core.fips, key_type=wrapping.key_type
    )
    if not wrapping.flag(Attribute.WRAP):
        raise KeyFunctionNotPermitted("the wrapping key's WRAP attribute is false")
    if key.object_class not in (ObjectClass.SECRET_KEY, ObjectClass.PRIVATE_KEY):
        raise KeyNotWrappable("only secret and private keys are wrapped")
    if not key.flag(Attribute.EXTRACTABLE):
        raise KeyUnextractable("the key is not EXTRACTABLE")
    if key.flag(Attribute.WRAP_WITH_TRUSTED) and not wrapping.flag(Attribute.TRUSTED):
        raise KeyNotWrappable("the key may only be wrapped by a TRUSTED key")
    wrap_template = wrapping.attributes.get(Attribute.WRAP_TEMPLATE) or {}
    if not template_matches(key.attributes, wrap_template):  # type: ignore[arg-type]
        raise KeyNotWrappable("the key does not match the wrapping key's WRAP_TEMPLATE")
    core.catalog.unseal(wrapping)
    core.catalog.unseal(key)
    assert key.secret is not None
    payload = key.secret.get("value") or key.secret["pkcs8"]
    assert entry.wrap is not None
    wrapped = entry.wrap(wrapping, params, payload, core.rng)
    core.audit_only(
        session.actor,
        "key-wrap",
        durable=False,  # an export changes no state; see RawStore.transaction
        handle=key.handle,
        wrapping_handle=wrapping.handle,
        mechanism=entry.mechanism.name,
    )
    return wrapped


def unwrap_key(
    core: Core,
    session: SessionState,
    mechanism: object,
    unwrapping_handle: object,
    wrapped: object,
    template: object,
    params: object = None,
) -> int:
    """C_UnwrapKey: a new key, owned by the caller, from wrapped material."""
    core.require_operational()
    if not isinstance(wrapped, bytes):
        raise ArgumentsBad("wrapped key must be bytes")
    unwrapping = usable(core, session, unwrapping_handle)
    entry = core.registry.lookup(
        mechanism, Function.UNWRAP, fips=core.fips, key_type=unwrapping.key_type
    )
    if not unwrapping.flag(Attribute.UNWRAP):
        raise KeyFunctionNotPermitted("the unwrapping key's UNWRAP attribute is false")
    t = normalize_template(template)  # type: ignore[arg-type]
    for attr, value in (unwrapping.attributes.get(Attribute.UNWRAP_TEMPLATE) or {}).items():  # type: ignore[union-attr]
        consistent(t, attr, value)
        t[attr] = value
    cls = t.get(Attribute.CLASS)
    key_type = t.get(Attribute.KEY_TYPE)
    if cls not in (ObjectClass.SECRET_KEY, ObjectClass.PRIVATE_KEY):
        raise TemplateIncomplete("CLASS (secret or private key) is required to unwrap")
    if not isinstance(key_type, KeyType):
        raise TemplateIncomplete("KEY_TYPE is required to unwrap")
    assert isinstance(cls, ObjectClass)
    check_template(Operation.UNWRAP, cls, key_type, t)
    core.catalog.unseal(unwrapping)
    assert entry.unwrap is not None
    payload = entry.unwrap(unwrapping, params, wrapped)
    parsed = None
    if cls is ObjectClass.SECRET_KEY:
        check_secret_size(core, key_type, payload)
        if t.get(Attribute.VALUE_LEN, len(payload)) != len(payload):
            raise TemplateInconsistent("the unwrapped key is not VALUE_LEN bytes long")
        secret = {"value": payload}
        attributes = apply_defaults(cls, key_type, t)
        secret_attributes(key_type, payload, attributes)
    else:
        try:
            parsed = asymmetric.load_private_key_der(payload, trusted=False)
        except ArgumentsBad:
            raise IntegrityError("unwrap failed") from None
        actual_type, derived = private_key_attributes(parsed)
        if actual_type is not key_type:
            raise TemplateInconsistent("the wrapped key is not of the KEY_TYPE given")
        # FIPS mode admits wrapped keys only on approved curves, as it does clear imports.
        fips_key_check(core, parsed)
        pairwise(core, session, parsed)
        secret = {"pkcs8": asymmetric.private_key_to_der(parsed)}
        attributes = apply_defaults(cls, key_type, t)
        attributes.update(derived)
    set_origin(attributes, local=False, mechanism=None)
    obj = new_object(session, attributes, secret)
    if parsed is not None:
        obj.cache["private"] = parsed
    (handle,) = store_new(
        core,
        session,
        [obj],
        "key-unwrap",
        unwrapping_handle=unwrapping.handle,
        mechanism=entry.mechanism.name,
    )
    return handle

"""Key and object commands: generate, import, find, attributes, share, destroy.

This module owns the object side of the engine's rules: what a caller can see (its own
objects, objects shared with it, public objects; admins see everything but use nothing),
that only the owner manages a key while shared users only use it, and how new objects get
their attributes (template → rule-table check → defaults → HSM-set attributes). Wrap and
unwrap live in ``engine.wrap_ops``; crypto with keys in ``engine.crypto_ops``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from strongroom.constants import Attribute, KeyType, Mechanism, ObjectClass, Role
from strongroom.crypto import asymmetric
from strongroom.crypto.mldsa import (
    is_mldsa,
    mldsa_parameter_set_of,
    mldsa_private_key_from_seed,
)
from strongroom.crypto.symmetric import aes_check_value, generic_check_value
from strongroom.engine.core import Core, SessionState, Writer
from strongroom.engine.mechanisms.registry import FIPS_POLICY, Function, MechanismEntry
from strongroom.engine.objects import (
    HSMObject,
    mldsa_parameter_set_name,
    mldsa_parameter_set_number,
)
from strongroom.engine.passwords import normalize_username
from strongroom.errors import (
    ActionProhibited,
    ArgumentsBad,
    AttributeSensitive,
    AttributeTypeInvalid,
    HSMSealed,
    KeySizeRange,
    KeyTypeInconsistent,
    MechanismNotApproved,
    NotKeyOwner,
    ObjectHandleInvalid,
    PolicyDenied,
    SelfTestFailed,
    TemplateError,
    TemplateIncomplete,
    TemplateInconsistent,
    UserNotFound,
)
from strongroom.model.attributes import AttrFlag, rules_for
from strongroom.model.templates import (
    AttributeValue,
    Operation,
    Template,
    apply_defaults,
    check_change,
    check_template,
    normalize_template,
)

__all__ = [
    "check_secret_size",
    "consistent",
    "copy_object",
    "create_object",
    "destroy_object",
    "find_objects",
    "fips_key_check",
    "generate_key",
    "generate_key_pair",
    "get_attributes",
    "new_object",
    "owned",
    "pairwise",
    "private_key_attributes",
    "public_key_der",
    "read_attributes",
    "secret_attributes",
    "set_attributes",
    "set_origin",
    "share_key",
    "store_new",
    "usable",
    "visible",
]

_SECRET_SIZES: dict[KeyType, tuple[int, int]] = {
    KeyType.AES: (16, 32),
    KeyType.GENERIC_SECRET: (1, 800),
}


# --- visibility and ownership ---------------------------------------------------------------


def visible(session: SessionState, obj: HSMObject) -> bool:
    """Whether the session's user may see ``obj`` at all."""
    if obj.session is not None and obj.session != session.family:
        return False
    if session.role is Role.ADMIN:
        return True
    uid = session.user_id
    return (
        obj.owner == uid
        or (uid is not None and uid in obj.shares)
        or not obj.flag(Attribute.PRIVATE)
    )


def usable(core: Core, session: SessionState, handle: object) -> HSMObject:
    """An object the session may use (owner, shared, or public), or OBJECT_HANDLE_INVALID."""
    obj = core.catalog.get(handle)
    if not visible(session, obj):
        raise ObjectHandleInvalid(f"no object {handle}")
    return obj


def owned(core: Core, session: SessionState, handle: object) -> HSMObject:
    """An object the session's user owns (only owners manage keys)."""
    obj = usable(core, session, handle)
    if obj.owner != session.user_id:
        raise NotKeyOwner("only the key's owner may manage it")
    return obj


# --- creating objects -------------------------------------------------------------------------


def _single_key_type(entry: MechanismEntry) -> KeyType:
    (key_type,) = entry.key_types
    return key_type


def consistent(template: Template, attribute: Attribute, expected: AttributeValue) -> None:
    if attribute in template and template[attribute] != expected:
        raise TemplateInconsistent(f"{attribute.name} contradicts the mechanism")


def _require_token_storage(core: Core, *objects: HSMObject) -> None:
    if core.sealed and any(o.session is None for o in objects):
        raise HSMSealed("the HSM is sealed; an admin must log in before token keys are stored")


def store_new(
    core: Core, session: SessionState, objects: list[HSMObject], event: str, **details: object
) -> list[int]:
    """Give new objects handles, persist token objects and audit the event atomically."""
    _require_token_storage(core, *objects)
    audit_details = {k: v for k, v in details.items() if isinstance(v, str | int | bool)}
    if all(o.session is not None for o in objects):
        # Session objects never reach the store and die with the process: no write, and
        # the audit record is queued (Core.queue_audit).
        with core.lock:
            for obj in objects:
                obj.handle = core.catalog.new_session_handle()
                core.catalog.add_session_object(obj)
            core.queue_audit(
                session.actor, event, {"handles": [o.handle for o in objects], **audit_details}
            )
        return [o.handle for o in objects]
    with core.write(session.actor) as w:
        for obj in objects:
            obj.handle = (
                w.tx.allocate_handle() if obj.session is None else core.catalog.new_session_handle()
            )
            w.on_commit(core.catalog.write(w.tx, obj))
        w.audit(event, handles=[o.handle for o in objects], **audit_details)
    return [o.handle for o in objects]


def new_object(
    session: SessionState, attributes: Template, secret: dict[str, bytes] | None
) -> HSMObject:
    assert session.user_id is not None
    return HSMObject(
        handle=0,
        attributes=attributes,
        owner=session.user_id,
        session=None if attributes.get(Attribute.TOKEN) else session.family,
        secret=secret,
        verified=True,
    )


def set_origin(attributes: Template, *, local: bool, mechanism: Mechanism | None) -> None:
    """HSM-set attributes: where the key came from and its sensitivity history."""
    attributes[Attribute.LOCAL] = local
    if mechanism is not None:
        attributes[Attribute.KEY_GEN_MECHANISM] = mechanism
    if Attribute.SENSITIVE in attributes:
        attributes[Attribute.ALWAYS_SENSITIVE] = local and attributes[Attribute.SENSITIVE] is True
        attributes[Attribute.NEVER_EXTRACTABLE] = (
            local and attributes[Attribute.EXTRACTABLE] is False
        )


def secret_attributes(key_type: KeyType, value: bytes, attributes: Template) -> None:
    attributes[Attribute.VALUE_LEN] = len(value)
    attributes[Attribute.CHECK_VALUE] = (
        aes_check_value(value) if key_type is KeyType.AES else generic_check_value(value)
    )


def generate_key(core: Core, session: SessionState, mechanism: object, template: object) -> int:
    """C_GenerateKey: a new secret key owned by the caller."""
    core.require_operational()
    entry = core.registry.lookup(mechanism, Function.GENERATE, fips=core.fips)
    key_type = _single_key_type(entry)
    t = normalize_template(template)  # type: ignore[arg-type]
    consistent(t, Attribute.CLASS, ObjectClass.SECRET_KEY)
    consistent(t, Attribute.KEY_TYPE, key_type)
    check_template(Operation.GENERATE, ObjectClass.SECRET_KEY, key_type, t)
    assert entry.generate is not None
    generated = entry.generate(core.rng, t, core.fips)
    attributes = apply_defaults(ObjectClass.SECRET_KEY, key_type, t)
    attributes.update(generated.attributes)
    set_origin(attributes, local=True, mechanism=entry.mechanism)
    secret_attributes(key_type, generated.value, attributes)
    obj = new_object(session, attributes, {"value": generated.value})
    (handle,) = store_new(core, session, [obj], "key-generate", mechanism=entry.mechanism.name)
    return handle


def pairwise(core: Core, session: SessionState, key: asymmetric.PrivateKey) -> None:
    try:
        asymmetric.pairwise_consistency_check(key)
    except SelfTestFailed:
        core.error_state = "pairwise consistency test failed"
        core.audit_only(session.actor, "self-test", family="pairwise", passed=False)
        raise


def generate_key_pair(
    core: Core,
    session: SessionState,
    mechanism: object,
    public_template: object,
    private_template: object,
) -> tuple[int, int]:
    """C_GenerateKeyPair: a public and a private key, both owned by the caller."""
    core.require_operational()
    entry = core.registry.lookup(mechanism, Function.GENERATE_KEY_PAIR, fips=core.fips)
    key_type = _single_key_type(entry)
    pub_t = normalize_template(public_template)  # type: ignore[arg-type]
    priv_t = normalize_template(private_template)  # type: ignore[arg-type]
    for t, cls in ((pub_t, ObjectClass.PUBLIC_KEY), (priv_t, ObjectClass.PRIVATE_KEY)):
        consistent(t, Attribute.CLASS, cls)
        consistent(t, Attribute.KEY_TYPE, key_type)
        check_template(Operation.GENERATE, cls, key_type, t)
    assert entry.generate_pair is not None
    pair = entry.generate_pair(pub_t, priv_t, core.fips)
    pairwise(core, session, pair.private_key)
    pub_attrs = apply_defaults(ObjectClass.PUBLIC_KEY, key_type, pub_t)
    pub_attrs.update(pair.public_attributes)
    set_origin(pub_attrs, local=True, mechanism=entry.mechanism)
    priv_attrs = apply_defaults(ObjectClass.PRIVATE_KEY, key_type, priv_t)
    priv_attrs.update(pair.private_attributes)
    set_origin(priv_attrs, local=True, mechanism=entry.mechanism)
    public = new_object(session, pub_attrs, None)
    private = new_object(session, priv_attrs, {"pkcs8": pair.private_der})
    private.cache["private"] = pair.private_key
    pub_handle, priv_handle = store_new(
        core, session, [public, private], "key-generate-pair", mechanism=entry.mechanism.name
    )
    return pub_handle, priv_handle


def fips_key_check(core: Core, key: asymmetric.PrivateKey | asymmetric.PublicKey) -> None:
    """In FIPS mode, refuse keys on curves the policy does not approve."""
    if not core.fips or is_mldsa(key):
        return
    curve = asymmetric.curve_of(key) if not asymmetric.is_rsa(key) else None
    if curve is not None and curve not in FIPS_POLICY["ec_curves"]:  # type: ignore[operator]
        raise MechanismNotApproved(f"curve {curve} is not approved in FIPS mode")


def _rsa_size_check(bits: int, exponent: int) -> None:
    if not 2048 <= bits <= 4096 or bits % 256:
        raise KeySizeRange("RSA keys are 2048-4096 bits in steps of 256")
    if exponent < 65537 or exponent % 2 == 0:
        raise KeySizeRange("RSA public exponents must be odd and at least 65537")


def private_key_attributes(key: asymmetric.PrivateKey) -> tuple[KeyType, Template]:
    """Key type and clear attributes (public components) of a parsed private key."""
    if asymmetric.is_rsa(key):
        modulus, exponent = asymmetric.rsa_public_components(key.public_key())
        _rsa_size_check(len(modulus) * 8, int.from_bytes(exponent, "big"))
        return KeyType.RSA, {Attribute.MODULUS: modulus, Attribute.PUBLIC_EXPONENT: exponent}
    if is_mldsa(key):
        number = mldsa_parameter_set_number(mldsa_parameter_set_of(key))
        return KeyType.ML_DSA, {Attribute.PARAMETER_SET: number}
    curve = asymmetric.curve_of(key)
    key_type = KeyType.EC_EDWARDS if curve == "ed25519" else KeyType.EC
    return key_type, {Attribute.EC_PARAMS: asymmetric.ec_params_for_curve(curve)}


def _import_private(t: Template, key_type: KeyType) -> tuple[asymmetric.PrivateKey, Template]:
    sensitive = [
        a
        for a, r in rules_for(ObjectClass.PRIVATE_KEY, key_type).items()
        if r.flags & AttrFlag.SENSITIVE
    ]
    parts = {a: t.pop(a) for a in sensitive if a in t}
    try:
        if key_type is KeyType.RSA:
            needed = (
                Attribute.PRIME_1,
                Attribute.PRIME_2,
                Attribute.EXPONENT_1,
                Attribute.EXPONENT_2,
                Attribute.COEFFICIENT,
            )
            if any(a not in parts for a in needed):
                raise TemplateIncomplete("RSA private keys are imported with all CRT components")
            key: asymmetric.PrivateKey = asymmetric.rsa_private_key_from_components(
                asymmetric.RSAComponents(
                    modulus=t[Attribute.MODULUS],  # type: ignore[arg-type]
                    public_exponent=t.get(Attribute.PUBLIC_EXPONENT, b""),  # type: ignore[arg-type]
                    private_exponent=parts[Attribute.PRIVATE_EXPONENT],  # type: ignore[arg-type]
                    prime_1=parts[Attribute.PRIME_1],  # type: ignore[arg-type]
                    prime_2=parts[Attribute.PRIME_2],  # type: ignore[arg-type]
                    exponent_1=parts[Attribute.EXPONENT_1],  # type: ignore[arg-type]
                    exponent_2=parts[Attribute.EXPONENT_2],  # type: ignore[arg-type]
                    coefficient=parts[Attribute.COEFFICIENT],  # type: ignore[arg-type]
                )
            )
        elif key_type is KeyType.ML_DSA:
            name = mldsa_parameter_set_name(t.get(Attribute.PARAMETER_SET))
            key = mldsa_private_key_from_seed(name, parts[Attribute.VALUE])  # type: ignore[arg-type]
        else:
            curve = asymmetric.curve_for_ec_params(t[Attribute.EC_PARAMS])  # type: ignore[arg-type]
            if (curve == "ed25519") != (key_type is KeyType.EC_EDWARDS):
                raise TemplateInconsistent("EC_PARAMS does not fit the key type")
            key = asymmetric.ec_private_key_from_value(curve, parts[Attribute.VALUE])  # type: ignore[arg-type]
    except ArgumentsBad as exc:
        raise TemplateInconsistent(f"the key components are invalid: {exc.message}") from None
    _, derived = private_key_attributes(key)
    for attr, value in derived.items():
        consistent(t, attr, value)
    t.update(derived)
    return key, t


def create_object(core: Core, session: SessionState, template: object) -> int:
    """C_CreateObject: import a key in the clear (where policy allows) or store data."""
    core.require_operational()
    t = normalize_template(template)  # type: ignore[arg-type]
    cls = t.get(Attribute.CLASS)
    if not isinstance(cls, ObjectClass):
        raise TemplateIncomplete("CLASS is required to create an object")
    key_type = t.get(Attribute.KEY_TYPE)
    key_type = key_type if isinstance(key_type, KeyType) else None
    check_template(Operation.CREATE, cls, key_type, t)
    secret: dict[str, bytes] | None = None
    parsed: asymmetric.PrivateKey | None = None
    if (
        cls in (ObjectClass.SECRET_KEY, ObjectClass.PRIVATE_KEY)
        and not core.policy()["clear_key_import"]
    ):
        raise PolicyDenied("importing keys in the clear is disabled; import them wrapped")
    if cls is ObjectClass.SECRET_KEY:
        assert key_type is not None
        value = t.pop(Attribute.VALUE)
        assert isinstance(value, bytes)
        check_secret_size(core, key_type, value)
        secret = {"value": value}
    elif cls is ObjectClass.PRIVATE_KEY:
        assert key_type is not None
        parsed, t = _import_private(t, key_type)
        fips_key_check(core, parsed)
        pairwise(core, session, parsed)
        secret = {"pkcs8": asymmetric.private_key_to_der(parsed)}
    elif cls is ObjectClass.PUBLIC_KEY:
        assert key_type is not None
        probe = HSMObject(0, dict(t), 0)
        try:
            public = probe.public_key()
        except ArgumentsBad as exc:
            raise TemplateInconsistent(f"the public key is invalid: {exc.message}") from None
        if asymmetric.is_rsa(public):
            modulus, exponent = asymmetric.rsa_public_components(public)
            _rsa_size_check(len(modulus) * 8, int.from_bytes(exponent, "big"))
        fips_key_check(core, public)
    attributes = apply_defaults(cls, key_type, t)
    if cls in (ObjectClass.DATA, ObjectClass.CERTIFICATE) and attributes.get(Attribute.PRIVATE):
        secret = {"value": attributes.pop(Attribute.VALUE)}  # type: ignore[dict-item]
    if cls in (ObjectClass.SECRET_KEY, ObjectClass.PRIVATE_KEY, ObjectClass.PUBLIC_KEY):
        set_origin(attributes, local=False, mechanism=None)
    if cls is ObjectClass.SECRET_KEY and secret is not None and key_type is not None:
        secret_attributes(key_type, secret["value"], attributes)
    obj = new_object(session, attributes, secret)
    if parsed is not None:
        obj.cache["private"] = parsed
    (handle,) = store_new(core, session, [obj], "object-create", object_class=cls.name)
    return handle


def check_secret_size(core: Core, key_type: KeyType, value: bytes) -> None:
    low, high = _SECRET_SIZES.get(key_type, (1, 0))
    if key_type is KeyType.AES and len(value) not in (16, 24, 32):
        raise KeySizeRange("AES keys are 16, 24 or 32 bytes")
    if core.fips and key_type is KeyType.GENERIC_SECRET:
        low = int(FIPS_POLICY["generic_secret_min_bytes"])  # type: ignore[call-overload]
    if not low <= len(value) <= high:
        raise KeySizeRange(f"{key_type.name} keys are {low}-{high} bytes")


# --- reading and changing -----------------------------------------------------------------------


def find_objects(core: Core, session: SessionState, template: object) -> list[int]:
    """C_FindObjects: handles of visible objects matching ``template``."""
    t = normalize_template(template)  # type: ignore[arg-type]
    return core.catalog.find(t, lambda obj: visible(session, obj))


def read_attributes(
    core: Core, session: SessionState, handle: object, attributes: Iterable[object]
) -> tuple[dict[Attribute, AttributeValue], dict[int, TemplateError]]:
    """C_GetAttributeValue, attribute by attribute: the readable values, and why each other
    one is unreadable (ATTRIBUTE_TYPE_INVALID or ATTRIBUTE_SENSITIVE), by attribute number.
    Key material is never returned."""
    obj = usable(core, session, handle)
    rules = rules_for(obj.object_class, obj.key_type)
    out: dict[Attribute, AttributeValue] = {}
    errors: dict[int, TemplateError] = {}
    for raw in attributes:
        try:
            attr = Attribute(raw)  # type: ignore[arg-type]
        except (ValueError, TypeError):
            errors[raw if type(raw) is int else -1] = AttributeTypeInvalid(
                f"unknown attribute {raw!r}"
            )
            continue
        rule = rules.get(attr)
        if rule is None:
            errors[attr] = AttributeTypeInvalid(f"{attr.name} does not apply to this object")
        elif rule.flags & AttrFlag.SENSITIVE:
            errors[attr] = AttributeSensitive(
                f"{attr.name} is key material and never leaves the HSM"
            )
        elif attr is Attribute.VALUE and attr not in obj.attributes:
            if session.role is not Role.CRYPTO_USER:
                errors[attr] = AttributeSensitive("private object values are for crypto users only")
            else:
                out[attr] = core.catalog.unseal(obj).secret_value()
        elif attr not in obj.attributes:
            errors[attr] = AttributeTypeInvalid(f"{attr.name} is not set on this object")
        else:
            out[attr] = obj.attributes[attr]
    return out, errors


def get_attributes(
    core: Core, session: SessionState, handle: object, attributes: Iterable[object]
) -> dict[Attribute, AttributeValue]:
    """C_GetAttributeValue: clear attributes; the first unreadable one raises."""
    values, errors = read_attributes(core, session, handle, attributes)
    if errors:
        raise next(iter(errors.values()))
    return values


def _rewrite(core: Core, session: SessionState, obj: HSMObject, w: Writer) -> None:
    core.catalog.unseal(obj)
    w.on_commit(core.catalog.write(w.tx, obj))


def set_attributes(core: Core, session: SessionState, handle: object, changes: object) -> None:
    """C_SetAttributeValue: owners change modifiable attributes; admins only TRUSTED."""
    with core.lock:  # read, check and write as one step: no lost updates
        core.require_operational()
        obj = (
            usable(core, session, handle)
            if session.role is Role.ADMIN
            else owned(core, session, handle)
        )
        c = normalize_template(changes)  # type: ignore[arg-type]
        role = session.role
        assert role is not None
        check_change(obj.object_class, obj.key_type, obj.attributes, c, role)
        core.catalog.unseal(obj)
        updated = replace(obj, attributes={**obj.attributes, **c})
        with core.write(session.actor) as w:
            _rewrite(core, session, updated, w)
            w.audit(
                "trusted-set" if role is Role.ADMIN else "key-set-attribute",
                handle=obj.handle,
                attributes=[int(a) for a in c],
            )


def copy_object(core: Core, session: SessionState, handle: object, changes: object) -> int:
    """C_CopyObject: a new object with the same material and attributes, ``changes`` applied.

    The source must be COPYABLE and the caller's own. ``changes`` may set TOKEN and PRIVATE,
    and whatever C_SetAttributeValue could change on the source (so one-way attributes only
    go their way: SENSITIVE to true, EXTRACTABLE to false). The copy is the caller's.
    """
    with core.lock:
        core.require_operational()
        obj = owned(core, session, handle)
        if obj.attributes.get(Attribute.COPYABLE) is False:
            raise ActionProhibited("the object is not COPYABLE")
        c = normalize_template(changes)  # type: ignore[arg-type]
        role = session.role
        assert role is not None
        storage = {a: v for a, v in c.items() if a in (Attribute.TOKEN, Attribute.PRIVATE)}
        rest = {a: v for a, v in c.items() if a not in storage}
        check_change(obj.object_class, obj.key_type, obj.attributes, rest, role)
        core.catalog.unseal(obj)
        secret = dict(obj.secret) if obj.secret is not None else None
        copy = new_object(session, {**obj.attributes, **c}, secret)
        return store_new(core, session, [copy], "object-copy", source=obj.handle)[0]


def destroy_object(core: Core, session: SessionState, handle: object) -> None:
    """C_DestroyObject: owners only, and only DESTROYABLE objects."""
    with core.lock:  # read, check and write as one step: no lost updates
        obj = owned(core, session, handle)
        if obj.attributes.get(Attribute.DESTROYABLE) is False:
            raise ActionProhibited("the object is not DESTROYABLE")
        if obj.session is not None:  # never in the store: forget it, queue the audit record
            core.catalog.forget(obj.handle)
            core.queue_audit(session.actor, "key-destroy", {"handle": obj.handle})
            return
        with core.write(session.actor) as w:
            w.on_commit(core.catalog.delete(w.tx, obj))
            w.audit("key-destroy", handle=obj.handle)


def share_key(
    core: Core, session: SessionState, handle: object, username: str, *, share: bool
) -> None:
    """Share (or unshare) a key with another crypto user; shared users may only use it."""
    with core.lock:  # read, check and write as one step: no lost updates
        obj = owned(core, session, handle)
        name = normalize_username(username)
        user = core.store.get_user_by_name(name)
        if user is None or Role(user.role) is not Role.CRYPTO_USER:
            raise UserNotFound(f"no crypto user {name}")
        if user.user_id == obj.owner:
            raise ArgumentsBad("a key cannot be shared with its owner")
        if obj.object_class not in (ObjectClass.SECRET_KEY, ObjectClass.PRIVATE_KEY):
            raise ArgumentsBad(
                "only secret and private keys are shared; public objects are visible"
            )
        shares = obj.shares | {user.user_id} if share else obj.shares - {user.user_id}
        if obj.session is None:
            core.catalog.unseal(obj)
        updated = replace(obj, shares=shares)
        with core.write(session.actor) as w:
            _rewrite(core, session, updated, w)
            w.audit("key-share" if share else "key-unshare", handle=obj.handle, username=name)


def public_key_der(core: Core, session: SessionState, handle: object) -> bytes:
    """The SubjectPublicKeyInfo DER of a public key (or a private key's public half)."""
    obj = usable(core, session, handle)
    if obj.object_class not in (ObjectClass.PUBLIC_KEY, ObjectClass.PRIVATE_KEY):
        raise KeyTypeInconsistent("only key pairs have a public key")
    core.catalog.unseal(obj)
    der = asymmetric.public_key_to_der(obj.public_key())
    core.audit_only(session.actor, "key-export-public", durable=False, handle=obj.handle)
    return der

"""Checking attribute templates against the rule table, for every operation.

This module owns the single place where a caller's template meets the flag table in
``model.attributes``: value types, which attributes apply to an object, what each
operation may or must set, one-way changes and who may set TRUSTED. It returns
normalised templates and raises ``TemplateError`` subclasses; it never touches stores,
keys or sessions.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any, TypeAlias

from strongroom.constants import Attribute, KeyType, Mechanism, ObjectClass, Role
from strongroom.errors import (
    AttributeReadOnly,
    AttributeTypeInvalid,
    AttributeValueInvalid,
    TemplateIncomplete,
    TemplateInconsistent,
)
from strongroom.model.attributes import (
    CAPABILITIES,
    KEY_CLASSES,
    USAGE_ATTRIBUTES,
    AttrFlag,
    ValueKind,
    rules_for,
    valid_key_types,
)

__all__ = [
    "AttributeValue",
    "Operation",
    "Template",
    "TemplateLike",
    "apply_defaults",
    "attribute_kind",
    "check_change",
    "check_template",
    "normalize_template",
    "template_matches",
]

AttributeValue: TypeAlias = "bool | int | bytes | str | dict[Attribute, AttributeValue]"
Template: TypeAlias = "dict[Attribute, AttributeValue]"
TemplateLike: TypeAlias = Mapping[Any, Any]
"""What callers pass as a template: attribute numbers (or ``Attribute``) to values."""

MAX_LABEL_BYTES = 256
MAX_BYTES_VALUE = 64 * 1024 * 1024


class Operation(Enum):
    """The operations that take a template (PKCS#11 footnotes 1–6 key on these)."""

    CREATE = "create"
    GENERATE = "generate"
    UNWRAP = "unwrap"


_REQUIRED = {
    Operation.CREATE: AttrFlag.REQUIRED_ON_CREATE,
    Operation.GENERATE: AttrFlag.REQUIRED_ON_GENERATE,
    Operation.UNWRAP: AttrFlag.REQUIRED_ON_UNWRAP,
}
_FORBIDDEN = {
    Operation.CREATE: AttrFlag.FORBIDDEN_ON_CREATE,
    Operation.GENERATE: AttrFlag.FORBIDDEN_ON_GENERATE,
    Operation.UNWRAP: AttrFlag.FORBIDDEN_ON_UNWRAP,
}


def _attribute(key: object) -> Attribute:
    if isinstance(key, bool) or not isinstance(key, int):
        raise AttributeTypeInvalid(f"attribute type must be an integer, not {type(key).__name__}")
    try:
        return Attribute(key)
    except ValueError:
        raise AttributeTypeInvalid(f"unknown attribute 0x{key:x}") from None


def _value(attr: Attribute, kind: ValueKind, value: object) -> AttributeValue:
    name = attr.name
    match kind:
        case ValueKind.BOOL:
            if not isinstance(value, bool):
                raise AttributeValueInvalid(f"{name} must be a bool")
            return value
        case ValueKind.ULONG:
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**64:
                raise AttributeValueInvalid(f"{name} must be an unsigned integer")
            return value
        case ValueKind.CLASS:
            try:
                return ObjectClass(value)  # type: ignore[arg-type]
            except (ValueError, TypeError):
                raise AttributeValueInvalid(f"{name}: unknown object class") from None
        case ValueKind.KEY_TYPE:
            try:
                return KeyType(value)  # type: ignore[arg-type]
            except (ValueError, TypeError):
                raise AttributeValueInvalid(f"{name}: unknown key type") from None
        case ValueKind.MECHANISM:
            try:
                return Mechanism(value)  # type: ignore[arg-type]
            except (ValueError, TypeError):
                raise AttributeValueInvalid(f"{name}: unknown mechanism") from None
        case ValueKind.STRING:
            if not isinstance(value, str):
                raise AttributeValueInvalid(f"{name} must be a string")
            if len(value.encode()) > MAX_LABEL_BYTES:
                raise AttributeValueInvalid(f"{name} is longer than {MAX_LABEL_BYTES} bytes")
            return value
        case ValueKind.BYTES | ValueKind.BIGINT:
            if not isinstance(value, bytes | bytearray | memoryview):
                raise AttributeValueInvalid(f"{name} must be bytes")
            if len(value) > MAX_BYTES_VALUE:
                raise AttributeValueInvalid(f"{name} is too long")
            return bytes(value)
        case ValueKind.TEMPLATE:
            if not isinstance(value, Mapping):
                raise AttributeValueInvalid(f"{name} must be a template")
            return _normalize_any(value, nested=True)
    raise AssertionError(kind)  # pragma: no cover


# Kinds of attributes regardless of object class, for nested templates and find templates.
_KIND_OF: dict[Attribute, ValueKind] = {}
for _cls in ObjectClass:
    for _kt in [None, *KeyType]:
        for _attr, _rule in rules_for(_cls, _kt).items():
            _KIND_OF.setdefault(_attr, _rule.kind)


def attribute_kind(attr: Attribute) -> ValueKind | None:
    """The value kind ``attr`` has on every object that has it (None: not supported)."""
    return _KIND_OF.get(attr)


def _normalize_any(template: Mapping[object, object], *, nested: bool = False) -> Template:
    out: Template = {}
    for key, value in template.items():
        attr = _attribute(key)
        kind = _KIND_OF.get(attr)
        if kind is None:
            raise AttributeTypeInvalid(f"{attr.name} is not supported")
        if nested and kind is ValueKind.TEMPLATE:
            raise AttributeValueInvalid(f"{attr.name} cannot be nested in a template")
        out[attr] = _value(attr, kind, value)
    return out


def normalize_template(template: Mapping[object, object] | None) -> Template:
    """Check value types and turn keys into ``Attribute``; classes and key types into enums."""
    if template is None:
        return {}
    if not isinstance(template, Mapping):
        raise AttributeValueInvalid("a template must be a mapping of attribute to value")
    return _normalize_any(template)


_SETS: dict[
    tuple[Operation, ObjectClass, KeyType | None],
    tuple[frozenset[Attribute], tuple[Attribute, ...], frozenset[Attribute]],
] = {}


def _sets_for(
    operation: Operation, object_class: ObjectClass, key_type: KeyType | None
) -> tuple[frozenset[Attribute], tuple[Attribute, ...], frozenset[Attribute]]:
    """The table read once per (operation, object kind): applicable, required, forbidden."""
    cache_key = (operation, object_class, key_type)
    sets = _SETS.get(cache_key)
    if sets is None:
        rules = rules_for(object_class, key_type)
        required = tuple(
            attr
            for attr, rule in rules.items()
            if rule.flags & _REQUIRED[operation]
            # CLASS is implied by the operation everywhere but C_CreateObject.
            and not (attr is Attribute.CLASS and operation is not Operation.CREATE)
        )
        forbidden = frozenset(a for a, r in rules.items() if r.flags & _FORBIDDEN[operation])
        sets = _SETS[cache_key] = (frozenset(rules), required, forbidden)
    return sets


def check_template(
    operation: Operation,
    object_class: ObjectClass,
    key_type: KeyType | None,
    template: Template,
) -> None:
    """Raise unless ``template`` is acceptable for creating this object by ``operation``.

    Checks that every attribute applies to the object, none is forbidden for the
    operation, every required one is present, and usage flags fit the key type.
    TRUSTED may never be set true here: admins set it later, and admins create nothing.
    """
    if object_class in KEY_CLASSES and (
        key_type is None or key_type not in valid_key_types(object_class)
    ):
        raise TemplateInconsistent(f"key type {key_type!r} is not valid for {object_class.name}")
    applicable, required, forbidden = _sets_for(operation, object_class, key_type)
    for attr, value in template.items():
        if attr not in applicable:
            raise AttributeTypeInvalid(f"{attr.name} does not apply to {object_class.name}")
        if attr in forbidden:
            raise AttributeReadOnly(f"{attr.name} cannot be given to {operation.value} an object")
        if attr is Attribute.TRUSTED and value is True:
            raise AttributeReadOnly("only an admin may set TRUSTED, and only on an existing key")
    for attr in required:
        if attr not in template:
            raise TemplateIncomplete(f"{attr.name} is required to {operation.value} this object")
    if object_class in KEY_CLASSES and key_type is not None:
        allowed = CAPABILITIES.get((object_class, key_type), frozenset())
        for attr in USAGE_ATTRIBUTES:
            if template.get(attr) is True and attr not in allowed:
                raise TemplateInconsistent(
                    f"{attr.name} cannot be true on a {key_type.name} {object_class.name}"
                )
    if (
        object_class in (ObjectClass.SECRET_KEY, ObjectClass.PRIVATE_KEY)
        and template.get(Attribute.PRIVATE) is False
    ):
        raise TemplateInconsistent("secret and private keys are always PRIVATE")


def apply_defaults(
    object_class: ObjectClass, key_type: KeyType | None, template: Template
) -> Template:
    """The template completed with Strongroom's defaults (footnote 9: token-specific).

    Usage flags default to on where the key type can do that function, DERIVE off;
    SENSITIVE on, EXTRACTABLE on (CloudHSM's defaults); TOKEN off (PKCS#11).
    """
    out: Template = {
        Attribute.CLASS: object_class,
        Attribute.TOKEN: False,
        Attribute.PRIVATE: object_class
        not in (ObjectClass.PUBLIC_KEY, ObjectClass.CERTIFICATE, ObjectClass.DATA),
        Attribute.LABEL: "",
        Attribute.MODIFIABLE: True,
        Attribute.COPYABLE: True,
        Attribute.DESTROYABLE: True,
    }
    if object_class is ObjectClass.DATA:
        out.update({Attribute.APPLICATION: "", Attribute.OBJECT_ID: b"", Attribute.VALUE: b""})
    if object_class is ObjectClass.CERTIFICATE:
        out.update(
            {
                Attribute.TRUSTED: False,
                Attribute.CERTIFICATE_CATEGORY: 0,
                Attribute.ID: b"",
                Attribute.ISSUER: b"",
                Attribute.SERIAL_NUMBER: b"",
            }
        )
    if object_class in KEY_CLASSES and key_type is not None:
        out[Attribute.KEY_TYPE] = key_type
        out[Attribute.ID] = b""
        out[Attribute.START_DATE] = b""
        out[Attribute.END_DATE] = b""
        allowed = CAPABILITIES.get((object_class, key_type), frozenset())
        rules = rules_for(object_class, key_type)
        for attr in USAGE_ATTRIBUTES:
            if attr in rules:
                out[attr] = attr in allowed and attr is not Attribute.DERIVE
        if object_class is not ObjectClass.PUBLIC_KEY:
            out[Attribute.SENSITIVE] = True
            out[Attribute.EXTRACTABLE] = True
            out[Attribute.WRAP_WITH_TRUSTED] = False
            out[Attribute.UNWRAP_TEMPLATE] = {}
        if object_class is not ObjectClass.PRIVATE_KEY:
            out[Attribute.TRUSTED] = False
            out[Attribute.WRAP_TEMPLATE] = {}
        if object_class is ObjectClass.PUBLIC_KEY:
            out[Attribute.SUBJECT] = b""
        if object_class is ObjectClass.PRIVATE_KEY:
            out[Attribute.SUBJECT] = b""
    out.update(template)
    return out


def check_change(
    object_class: ObjectClass,
    key_type: KeyType | None,
    current: Template,
    changes: Template,
    role: Role,
) -> None:
    """Raise unless ``role`` may apply ``changes`` to an object whose attributes are ``current``.

    Admins may change TRUSTED and nothing else; crypto users may change modifiable
    attributes of a MODIFIABLE object, honouring one-way attributes, and may clear
    TRUSTED but never set it.
    """
    rules = rules_for(object_class, key_type)
    for attr, value in changes.items():
        rule = rules.get(attr)
        if rule is None:
            raise AttributeTypeInvalid(f"{attr.name} does not apply to {object_class.name}")
        if role is Role.ADMIN:
            if attr is not Attribute.TRUSTED:
                raise AttributeReadOnly(f"an admin may change TRUSTED only, not {attr.name}")
            continue
        if not rule.flags & AttrFlag.MODIFIABLE:
            raise AttributeReadOnly(f"{attr.name} cannot be changed after creation")
        if current.get(Attribute.MODIFIABLE) is False:
            raise AttributeReadOnly("the object is not MODIFIABLE")
        if rule.flags & AttrFlag.ADMIN_ONLY_TRUE and value is True:
            raise AttributeReadOnly(f"only an admin may set {attr.name} to true")
        old = current.get(attr)
        if rule.flags & AttrFlag.ONE_WAY_TRUE and old is True and value is False:
            raise AttributeReadOnly(f"{attr.name} cannot go back to false")
        if rule.flags & AttrFlag.ONE_WAY_FALSE and old is False and value is True:
            raise AttributeReadOnly(f"{attr.name} cannot go back to true")
    if object_class in KEY_CLASSES and key_type is not None:
        allowed = CAPABILITIES.get((object_class, key_type), frozenset())
        for attr in USAGE_ATTRIBUTES:
            if changes.get(attr) is True and attr not in allowed:
                raise TemplateInconsistent(
                    f"{attr.name} cannot be true on a {key_type.name} {object_class.name}"
                )


def template_matches(attributes: Mapping[Attribute, AttributeValue], template: Template) -> bool:
    """True if every attribute in ``template`` is present with an equal value."""
    for attr, want in template.items():
        have = attributes.get(attr, _MISSING)
        if have is _MISSING or have != want:
            return False
    return True


_MISSING = object()

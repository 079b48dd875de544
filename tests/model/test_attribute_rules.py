"""The attribute flag table, turned into checks for every operation (PKCS#11 footnotes 1–12)."""

from __future__ import annotations

import pytest

from strongroom.constants import Attribute, KeyType, Mechanism, ObjectClass, Role
from strongroom.errors import (
    AttributeReadOnly,
    AttributeTypeInvalid,
    AttributeValueInvalid,
    TemplateIncomplete,
    TemplateInconsistent,
)
from strongroom.model.attributes import CAPABILITIES, AttrFlag, AttrRule, ValueKind, rules_for
from strongroom.model.templates import (
    AttributeValue,
    Operation,
    Template,
    apply_defaults,
    check_change,
    check_template,
    normalize_template,
)

KINDS: list[tuple[ObjectClass, KeyType | None]] = [
    (ObjectClass.DATA, None),
    (ObjectClass.CERTIFICATE, None),
    (ObjectClass.SECRET_KEY, KeyType.AES),
    (ObjectClass.SECRET_KEY, KeyType.GENERIC_SECRET),
    (ObjectClass.PUBLIC_KEY, KeyType.RSA),
    (ObjectClass.PRIVATE_KEY, KeyType.RSA),
    (ObjectClass.PUBLIC_KEY, KeyType.EC),
    (ObjectClass.PRIVATE_KEY, KeyType.EC),
    (ObjectClass.PUBLIC_KEY, KeyType.EC_EDWARDS),
    (ObjectClass.PRIVATE_KEY, KeyType.EC_EDWARDS),
]
_FLAG_FOR = {
    Operation.CREATE: (AttrFlag.REQUIRED_ON_CREATE, AttrFlag.FORBIDDEN_ON_CREATE),
    Operation.GENERATE: (AttrFlag.REQUIRED_ON_GENERATE, AttrFlag.FORBIDDEN_ON_GENERATE),
    Operation.UNWRAP: (AttrFlag.REQUIRED_ON_UNWRAP, AttrFlag.FORBIDDEN_ON_UNWRAP),
}


def sample(attr: Attribute, rule: AttrRule, cls: ObjectClass, kt: KeyType | None) -> AttributeValue:
    """A value of the right kind that no other rule objects to."""
    match rule.kind:
        case ValueKind.BOOL:
            return attr is Attribute.PRIVATE
        case ValueKind.ULONG:
            return 16
        case ValueKind.STRING:
            return "x"
        case ValueKind.CLASS:
            return cls
        case ValueKind.KEY_TYPE:
            assert kt is not None
            return kt
        case ValueKind.MECHANISM:
            return Mechanism.AES_KEY_GEN
        case ValueKind.TEMPLATE:
            return {}
        case _:
            return b"\x01"


def minimal(op: Operation, cls: ObjectClass, kt: KeyType | None) -> Template:
    """Every attribute ``op`` requires for this kind of object, with sample values."""
    required, _ = _FLAG_FOR[op]
    return {
        attr: sample(attr, rule, cls, kt)
        for attr, rule in rules_for(cls, kt).items()
        if rule.flags & required
    }


CASES = [
    (op, cls, kt, attr, rule)
    for op in Operation
    for cls, kt in KINDS
    for attr, rule in rules_for(cls, kt).items()
]


@pytest.mark.parametrize(
    ("op", "cls", "kt", "attr", "rule"),
    CASES,
    ids=[f"{o.value}-{c.name}-{k.name if k else '-'}-{a.name}" for o, c, k, a, _ in CASES],
)
def test_template_rule_per_operation(
    op: Operation, cls: ObjectClass, kt: KeyType | None, attr: Attribute, rule: AttrRule
) -> None:
    """Each attribute is refused, required or accepted for each operation as its flags say."""
    required, forbidden = _FLAG_FOR[op]
    template = minimal(op, cls, kt)
    if rule.flags & required:
        del template[attr]
        if attr is Attribute.CLASS and op is not Operation.CREATE:
            check_template(op, cls, kt, template)
        else:
            with pytest.raises(TemplateIncomplete):
                check_template(op, cls, kt, template)
        return
    template[attr] = sample(attr, rule, cls, kt)
    if rule.flags & forbidden:
        with pytest.raises(AttributeReadOnly):
            check_template(op, cls, kt, template)
    else:
        check_template(op, cls, kt, template)


CHANGE_CASES = [
    (cls, kt, attr, rule) for cls, kt in KINDS for attr, rule in rules_for(cls, kt).items()
]


@pytest.mark.parametrize(
    ("cls", "kt", "attr", "rule"),
    CHANGE_CASES,
    ids=[f"{c.name}-{k.name if k else '-'}-{a.name}" for c, k, a, _ in CHANGE_CASES],
)
def test_change_rule(cls: ObjectClass, kt: KeyType | None, attr: Attribute, rule: AttrRule) -> None:
    """Owners change exactly the modifiable attributes; admins change only TRUSTED."""
    current = apply_defaults(cls, kt, minimal(Operation.CREATE, cls, kt))
    value = sample(attr, rule, cls, kt)
    if rule.kind is ValueKind.BOOL and current.get(attr) is not None:
        value = current[attr]  # an unchanged value isolates the modifiable flag
    change = {attr: value}
    if rule.flags & AttrFlag.MODIFIABLE:
        check_change(cls, kt, current, change, Role.CRYPTO_USER)
    else:
        with pytest.raises(AttributeReadOnly):
            check_change(cls, kt, current, change, Role.CRYPTO_USER)
    if attr is Attribute.TRUSTED:
        check_change(cls, kt, current, {attr: True}, Role.ADMIN)
    else:
        with pytest.raises(AttributeReadOnly):
            check_change(cls, kt, current, change, Role.ADMIN)


ONE_WAY = [
    (cls, kt, attr, rule)
    for cls, kt, attr, rule in CHANGE_CASES
    if rule.flags & (AttrFlag.ONE_WAY_TRUE | AttrFlag.ONE_WAY_FALSE)
]


@pytest.mark.parametrize(
    ("cls", "kt", "attr", "rule"), ONE_WAY, ids=[f"{c.name}-{a.name}" for c, _, a, _ in ONE_WAY]
)
def test_one_way_attributes(
    cls: ObjectClass, kt: KeyType | None, attr: Attribute, rule: AttrRule
) -> None:
    """Footnotes 11 and 12: a one-way attribute moves one way and then is read-only."""
    settled = bool(rule.flags & AttrFlag.ONE_WAY_TRUE)
    current = apply_defaults(cls, kt, minimal(Operation.CREATE, cls, kt))
    current[attr] = not settled
    check_change(cls, kt, current, {attr: settled}, Role.CRYPTO_USER)
    current[attr] = settled
    with pytest.raises(AttributeReadOnly):
        check_change(cls, kt, current, {attr: not settled}, Role.CRYPTO_USER)


def test_trusted_is_admin_only() -> None:
    """Footnote 10: crypto users may clear TRUSTED but only admins set it."""
    cls, kt = ObjectClass.SECRET_KEY, KeyType.AES
    current = apply_defaults(cls, kt, {})
    with pytest.raises(AttributeReadOnly):
        check_change(cls, kt, current, {Attribute.TRUSTED: True}, Role.CRYPTO_USER)
    check_change(cls, kt, current, {Attribute.TRUSTED: False}, Role.CRYPTO_USER)
    check_change(cls, kt, current, {Attribute.TRUSTED: True}, Role.ADMIN)
    with pytest.raises(AttributeReadOnly):
        check_template(
            Operation.GENERATE, cls, kt, {Attribute.VALUE_LEN: 32, Attribute.TRUSTED: True}
        )


def test_unmodifiable_object_refuses_changes() -> None:
    """MODIFIABLE false freezes every attribute for the owner."""
    cls, kt = ObjectClass.SECRET_KEY, KeyType.AES
    current = apply_defaults(cls, kt, {Attribute.MODIFIABLE: False})
    with pytest.raises(AttributeReadOnly):
        check_change(cls, kt, current, {Attribute.LABEL: "new"}, Role.CRYPTO_USER)


@pytest.mark.parametrize(("cls", "kt"), [k for k in KINDS if k[1] is not None])
def test_usage_flags_must_fit_the_key_type(cls: ObjectClass, kt: KeyType) -> None:
    """A usage flag the key type cannot honour is inconsistent; defaults turn on the rest."""
    allowed = CAPABILITIES[(cls, kt)]
    defaults = apply_defaults(cls, kt, {})
    for attr in (Attribute.ENCRYPT, Attribute.SIGN, Attribute.WRAP, Attribute.DERIVE):
        if attr not in rules_for(cls, kt):
            continue
        template = {**minimal(Operation.CREATE, cls, kt), attr: True}
        if attr in allowed:
            check_template(Operation.CREATE, cls, kt, template)
            assert defaults[attr] is (attr is not Attribute.DERIVE)
        else:
            with pytest.raises(TemplateInconsistent):
                check_template(Operation.CREATE, cls, kt, template)
            assert defaults[attr] is False


def test_secret_and_private_keys_are_always_private() -> None:
    """PRIVATE=false is refused for secret and private keys."""
    with pytest.raises(TemplateInconsistent):
        check_template(
            Operation.GENERATE,
            ObjectClass.SECRET_KEY,
            KeyType.AES,
            {Attribute.VALUE_LEN: 32, Attribute.PRIVATE: False},
        )


@pytest.mark.parametrize(
    ("template", "error"),
    [
        ({"label": "x"}, AttributeTypeInvalid),
        ({0xDEAD: b""}, AttributeTypeInvalid),
        ({Attribute.TOKEN: 1}, AttributeValueInvalid),
        ({Attribute.LABEL: b"bytes"}, AttributeValueInvalid),
        ({Attribute.LABEL: "x" * 300}, AttributeValueInvalid),
        ({Attribute.VALUE_LEN: -1}, AttributeValueInvalid),
        ({Attribute.VALUE_LEN: True}, AttributeValueInvalid),
        ({Attribute.CLASS: 99}, AttributeValueInvalid),
        ({Attribute.KEY_TYPE: "AES"}, AttributeValueInvalid),
        ({Attribute.ID: "not-bytes"}, AttributeValueInvalid),
        ({Attribute.WRAP_TEMPLATE: [1, 2]}, AttributeValueInvalid),
        ({Attribute.WRAP_TEMPLATE: {Attribute.UNWRAP_TEMPLATE: {}}}, AttributeValueInvalid),
    ],
)
def test_normalize_rejects_wrong_types(
    template: dict[object, object], error: type[Exception]
) -> None:
    """Wrong attribute types and values are refused with a distinct error before anything runs."""
    with pytest.raises(error):
        normalize_template(template)


def test_normalize_restores_enums() -> None:
    """Plain integers become the enums the table names."""
    t = normalize_template({0: 4, 0x100: 0x1F, 0x161: 32})
    assert t == {
        Attribute.CLASS: ObjectClass.SECRET_KEY,
        Attribute.KEY_TYPE: KeyType.AES,
        Attribute.VALUE_LEN: 32,
    }
    assert isinstance(t[Attribute.CLASS], ObjectClass)

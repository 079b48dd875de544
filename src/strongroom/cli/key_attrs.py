"""Attributes on the command line: ``NAME=VALUE`` parsing, display, filters, key selection.

This module owns how the session commands spell attributes (CloudHSM CLI style: ``label``,
``key-type``, ``class``, ``sign``, ``key-length-bytes``…), how their values are written
(``true``/``false``, numbers, ``private-key``, ``aes``, bytes as ``0x…`` hex) and shown, and
how ``--filter attr.NAME=VALUE`` / ``--key-reference 0x…`` pick exactly one key. It reads
the attribute rule table (``model.attributes``) for each attribute's value kind and never
asks for a sensitive one.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from strongroom.cli.output import UsageError, key_value_table
from strongroom.cli.session import Session
from strongroom.client import Key
from strongroom.constants import Attribute, KeyType, Mechanism, ObjectClass
from strongroom.errors import ArgumentsBad, ObjectHandleInvalid, TemplateError
from strongroom.model.attributes import AttrFlag, ValueKind, rules_for

__all__ = [
    "CLASS_NAMES",
    "KEY_TYPE_NAMES",
    "Selector",
    "add_key_selector",
    "attribute_name",
    "describe_key",
    "find_keys",
    "format_value",
    "handle_text",
    "key_text",
    "parse_assignments",
    "parse_attribute",
    "parse_handle",
    "parse_selector",
    "parse_value",
    "select_key",
    "selector_from",
    "value_text",
]

CLASS_NAMES: Final = {
    ObjectClass.DATA: "data",
    ObjectClass.CERTIFICATE: "certificate",
    ObjectClass.PUBLIC_KEY: "public-key",
    ObjectClass.PRIVATE_KEY: "private-key",
    ObjectClass.SECRET_KEY: "secret-key",
}
KEY_TYPE_NAMES: Final = {
    KeyType.RSA: "rsa",
    KeyType.EC: "ec",
    KeyType.GENERIC_SECRET: "generic-secret",
    KeyType.AES: "aes",
    KeyType.EC_EDWARDS: "ec-edwards",
    KeyType.ML_DSA: "ml-dsa",
}
_KEY_TYPE_ALIASES: Final = {"ed25519": KeyType.EC_EDWARDS, "edwards": KeyType.EC_EDWARDS}
_DISPLAY_NAMES: Final = {
    Attribute.VALUE_LEN: "key-length-bytes",
    Attribute.MODULUS_BITS: "modulus-size-bits",
}
_BY_NAME: Final = {
    **{a.name.lower().replace("_", "-"): a for a in Attribute},
    **{name: a for a, name in _DISPLAY_NAMES.items()},
}
_BASIC: Final = (Attribute.CLASS, Attribute.KEY_TYPE, Attribute.LABEL, Attribute.TOKEN)


def _kinds() -> dict[Attribute, ValueKind]:
    kinds: dict[Attribute, ValueKind] = {}
    for object_class in ObjectClass:
        for key_type in [None, *KeyType]:
            for attr, rule in rules_for(object_class, key_type).items():
                kinds.setdefault(attr, rule.kind)
    return kinds


_KINDS: Final = _kinds()


def attribute_name(attr: Attribute) -> str:
    """The command line's name for ``attr`` (``key-type``, ``key-length-bytes``…)."""
    return _DISPLAY_NAMES.get(attr) or attr.name.lower().replace("_", "-")


def parse_attribute(name: str) -> Attribute:
    """An attribute from its command-line name (case and ``_``/``-`` do not matter)."""
    attr = _BY_NAME.get(name.strip().lower().replace("_", "-"))
    if attr is None or attr not in _KINDS:
        raise UsageError(f"unknown attribute {name!r} (try label, id, class, key-type, sign…)")
    return attr


def _enum_value(text: str, names: dict[Any, str], what: str) -> Any:
    wanted = text.strip().lower().replace("_", "-")
    for member, name in names.items():
        if wanted == name:
            return member
    raise UsageError(f"unknown {what} {text!r} (one of: {', '.join(names.values())})")


def parse_value(attr: Attribute, text: str) -> Any:
    """``text`` as a value of ``attr``; bytes are ``0x…`` hex (or the text's UTF-8)."""
    kind = _KINDS[attr]
    name = attribute_name(attr)
    lowered = text.strip().lower()
    if kind is ValueKind.BOOL:
        if lowered in ("true", "yes", "1", "on"):
            return True
        if lowered in ("false", "no", "0", "off"):
            return False
        raise UsageError(f"{name} takes true or false, not {text!r}")
    if kind is ValueKind.ULONG:
        try:
            number = int(lowered, 0)
        except ValueError:
            raise UsageError(f"{name} takes a number, not {text!r}") from None
        if number < 0:
            raise UsageError(f"{name} cannot be negative")
        return number
    if kind is ValueKind.CLASS:
        return _enum_value(text, CLASS_NAMES, "class")
    if kind is ValueKind.KEY_TYPE:
        if lowered in _KEY_TYPE_ALIASES:
            return _KEY_TYPE_ALIASES[lowered]
        return _enum_value(text, KEY_TYPE_NAMES, "key type")
    if kind is ValueKind.MECHANISM:
        return _enum_value(text, {m: m.name.lower().replace("_", "-") for m in Mechanism}, name)
    if kind is ValueKind.STRING:
        return text
    if kind is ValueKind.BIGINT and not lowered.startswith("0x"):
        try:
            number = int(lowered, 10)
        except ValueError:
            raise UsageError(f"{name} takes 0x-prefixed hex or a decimal number") from None
        return number.to_bytes(max(1, (number.bit_length() + 7) // 8), "big")
    if kind in (ValueKind.BYTES, ValueKind.BIGINT):
        if lowered.startswith("0x"):
            try:
                return bytes.fromhex(lowered[2:])
            except ValueError:
                raise UsageError(f"{name}: {text!r} is not valid hex") from None
        return text.encode()
    raise UsageError(f"{name} cannot be given on the command line")


def format_value(attr: Attribute, value: Any) -> Any:
    """A value as JSON shows it: enums by name, bytes as ``0x…`` hex, templates nested."""
    if attr is Attribute.CLASS:
        return CLASS_NAMES.get(ObjectClass(value), str(value))
    if attr is Attribute.KEY_TYPE:
        return KEY_TYPE_NAMES.get(KeyType(value), str(value))
    if attr is Attribute.KEY_GEN_MECHANISM and value is not None:
        try:
            return Mechanism(value).name.lower().replace("_", "-")
        except ValueError:
            return int(value)
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            inner = Attribute(int(key))
            out[attribute_name(inner)] = format_value(inner, item)
        return out
    return value


def parse_assignments(items: Sequence[str] | None) -> dict[Attribute, Any]:
    """``NAME=VALUE`` words (``--attributes``) as a template."""
    template: dict[Attribute, Any] = {}
    for item in items or ():
        name, sep, text = item.partition("=")
        if not sep:
            raise UsageError(f"{item!r} is not NAME=VALUE")
        attr = parse_attribute(name)
        template[attr] = parse_value(attr, text)
    return template


def handle_text(handle: int) -> str:
    """A key reference as CloudHSM prints it: ``0x`` and 16 hex digits."""
    return f"0x{handle:016x}"


def parse_handle(text: str) -> int:
    """A key reference: ``0x…`` hex or a decimal number."""
    try:
        handle = int(text.strip(), 0)
    except ValueError:
        raise UsageError(f"{text!r} is not a key reference (0x… or a number)") from None
    if handle < 0:
        raise UsageError("a key reference cannot be negative")
    return handle


# --- selecting keys ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Selector:
    """What ``--filter`` and ``--key-reference`` asked for."""

    template: dict[Attribute, Any]
    handle: int | None
    text: str

    @property
    def empty(self) -> bool:
        """Nothing was asked for."""
        return not self.template and self.handle is None


def add_key_selector(
    parser: argparse.ArgumentParser,
    prefix: str = "",
    what: str = "the key",
) -> None:
    """``--filter attr.NAME=VALUE…`` and ``--key-reference 0x…`` (``--PREFIX-filter``…)."""
    dash = f"{prefix}-" if prefix else ""
    base = f"{prefix}_" if prefix else ""
    group = parser.add_argument_group(f"selecting {what}")
    group.add_argument(
        f"--{dash}filter",
        dest=f"{base}filter",
        nargs="+",
        action="extend",
        default=[],
        metavar="attr.NAME=VALUE",
        help=f"attributes {what} has (several allowed; exactly one key may match)",
    )
    group.add_argument(
        f"--{dash}key-reference",
        dest=f"{base}key_reference",
        metavar="0x…",
        help=f"{what} by its key reference (handle)",
    )


def selector_from(args: argparse.Namespace, prefix: str = "") -> Selector:
    """The filters given for ``prefix`` as a ``Selector``."""
    base = f"{prefix}_" if prefix else ""
    return parse_selector(getattr(args, f"{base}filter"), getattr(args, f"{base}key_reference"))


def parse_selector(filters: Sequence[str] | None, reference: str | None = None) -> Selector:
    """``attr.NAME=VALUE`` and ``key-reference=0x…`` words (and a reference) as a ``Selector``."""
    template: dict[Attribute, Any] = {}
    handle = parse_handle(reference) if reference is not None else None
    for item in filters or ():
        name, sep, text = item.partition("=")
        if not sep:
            raise UsageError(f"filter {item!r} is not attr.NAME=VALUE or key-reference=0x…")
        name = name.strip()
        if name.lower() == "key-reference":
            handle = parse_handle(text)
            continue
        if not name.lower().startswith("attr."):
            raise UsageError(f"filter {item!r}: names start with attr. (attr.label=…)")
        attr = parse_attribute(name[5:])
        template[attr] = parse_value(attr, text)
    words = list(filters or ()) + ([f"key-reference={reference}"] if reference else [])
    return Selector(template, handle, " ".join(words))


def find_keys(session: Session, selector: Selector) -> list[Key]:
    """Every key matching ``selector`` (all visible keys if it is empty)."""
    client = session.logged_in()
    found = [session.key(k.handle) for k in client.find(selector.template)]
    if selector.handle is not None:
        found = [k for k in found if k.handle == selector.handle]
    return found


def select_key(session: Session, selector: Selector, what: str = "key") -> Key:
    """Exactly one key matching ``selector``, or an error saying how many matched."""
    if selector.empty:
        raise UsageError(f"select the {what} with --filter attr.NAME=VALUE or --key-reference")
    if selector.handle is not None and not selector.template:
        session.logged_in()
        return session.key(selector.handle)
    found = find_keys(session, selector)
    if len(found) == 1:
        return found[0]
    if not found:
        raise ObjectHandleInvalid(f"no {what} matches {selector.text}")
    shown = ", ".join(handle_text(k.handle) for k in found[:5])
    more = ", …" if len(found) > 5 else ""
    raise ObjectHandleInvalid(
        f"{len(found)} keys match {selector.text} ({shown}{more}); the {what} must match"
        " exactly one: add filters (attr.label=…, attr.class=…) or use --key-reference"
    )


# --- describing keys ------------------------------------------------------------------------------


def _fetch(key: Key, attributes: Sequence[Attribute]) -> dict[Attribute, Any]:
    """The attributes that can be read; one request, or one each if some cannot."""
    try:
        return key.get_attributes(list(attributes))
    except TemplateError:
        pass
    out: dict[Attribute, Any] = {}
    for attr in attributes:
        try:
            out.update(key.get_attributes([attr]))
        except TemplateError:
            continue
    return out


def describe_key(key: Key, *, verbose: bool = False) -> dict[str, Any]:
    """``{"key-reference": "0x…", "attributes": {...}}`` (every readable one if verbose)."""
    values = _fetch(key, _BASIC)
    if verbose and Attribute.CLASS in values:
        object_class = ObjectClass(values[Attribute.CLASS])
        key_type = values.get(Attribute.KEY_TYPE)
        rules = rules_for(object_class, KeyType(key_type) if key_type is not None else None)
        readable = [
            attr
            for attr, rule in rules.items()
            if not rule.flags & AttrFlag.SENSITIVE and attr not in values
        ]
        values.update(_fetch(key, readable))
    attributes = {
        attribute_name(attr): format_value(attr, value)
        for attr, value in sorted(values.items(), key=lambda item: attribute_name(item[0]))
    }
    params = values.get(Attribute.EC_PARAMS)
    if verbose and isinstance(params, bytes):
        from strongroom.crypto import curve_for_ec_params

        with contextlib.suppress(ArgumentsBad):
            attributes["curve"] = curve_for_ec_params(params)
    return {"key-reference": handle_text(key.handle), "attributes": attributes}


def key_text(description: dict[str, Any]) -> str:
    """One key as ``name  value`` lines."""
    pairs: list[tuple[str, object]] = [("key-reference", description["key-reference"])]
    pairs += [(name, value_text(value)) for name, value in description["attributes"].items()]
    return key_value_table(pairs)


def value_text(value: object) -> str:
    """An attribute value as a table cell."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return ", ".join(f"{k}={value_text(v)}" for k, v in value.items()) or "-"
    return "-" if value is None or value == "" else str(value)

"""PKCS#11 attributes on the p11-kit wire, and their meaning in Strongroom's model.

This module owns two translations. On the wire, p11-kit's client encodes each attribute by
a value class it looks up from the attribute type (its table, reproduced in
``VALUE_CLASS``): one byte for booleans, a u64 for CK_ULONGs, nested attributes for
templates, a u64 list for mechanism lists, and raw C memory for everything else (so a
CK_ULONG it does not know arrives as 8 little-endian bytes). In the model, labels are text,
classes and key types are enums, booleans are bools. ``decode_template`` goes from the wire
to a template the SDK sends; ``encode_value`` goes back for C_GetAttributeValue.
"""

from __future__ import annotations

import struct
from enum import Enum
from typing import Any, Final

from strongroom.constants import Attribute
from strongroom.model.attributes import ValueKind
from strongroom.model.templates import attribute_kind
from strongroom.pkcs11.ck import CKR, CKRError
from strongroom.pkcs11.rpc import MAX_NESTING, ParseError, Reader

__all__ = [
    "ATTRIBUTE_STRUCT_SIZE",
    "VALUE_CLASS",
    "Unset",
    "ValueClass",
    "decode_template",
    "encode_attribute",
    "is_array",
    "model_template",
    "read_attribute_buffer",
    "read_attributes",
    "value_bytes",
]

ATTRIBUTE_STRUCT_SIZE: Final = 24
"""sizeof(CK_ATTRIBUTE) on LP64: the unit of a nested template's length."""


class ValueClass(Enum):
    """How p11-kit's client encodes an attribute's value."""

    BYTE = "byte"
    ULONG = "ulong"
    ATTRIBUTE_ARRAY = "attribute-array"
    MECHANISM_ARRAY = "mechanism-array"
    DATE = "date"
    BYTE_ARRAY = "byte-array"


def _table() -> dict[int, ValueClass]:
    byte = [0x1, 0x2, 0x86, *range(0x103, 0x10D), 0x162, 0x163, 0x164, 0x165, 0x170, 0x171]
    byte += [0x200, 0x202, 0x210, 0x301, 0x302, 0x405]
    ulong = [0x0, 0x80, 0x87, 0x88, 0x100, 0x121, 0x133, 0x134, 0x160, 0x161, 0x166, 0x201]
    ulong += [0x300, 0x400, 0x401, 0x402, 0x403, 0x404, 0x406, 0x500]
    out = dict.fromkeys(byte, ValueClass.BYTE)
    out.update(dict.fromkeys(ulong, ValueClass.ULONG))
    out.update({0x40000211: ValueClass.ATTRIBUTE_ARRAY, 0x40000212: ValueClass.ATTRIBUTE_ARRAY})
    out.update({0x40000600: ValueClass.MECHANISM_ARRAY, 0x110: ValueClass.DATE})
    out[0x111] = ValueClass.DATE
    return out


VALUE_CLASS: Final[dict[int, ValueClass]] = _table()
"""Attribute type → value class, as p11-kit 0.24's client has it (any other: BYTE_ARRAY)."""

_U64 = struct.Struct(">Q")
_U32 = struct.Struct(">I")
_LE_ULONG = struct.Struct("<Q")


class Unset:
    """An attribute sent with no value (ulValueLen = -1)."""

    def __repr__(self) -> str:
        return "Unset()"


def is_array(kind: int) -> bool:
    """Whether attribute type ``kind`` holds a template (CKF_ARRAY_ATTRIBUTE)."""
    return VALUE_CLASS.get(kind) is ValueClass.ATTRIBUTE_ARRAY


def _read_value(reader: Reader, kind: int, depth: int) -> Any:
    value_class = VALUE_CLASS.get(kind, ValueClass.BYTE_ARRAY)
    if value_class is ValueClass.BYTE:
        return reader.byte()
    if value_class is ValueClass.ULONG:
        return reader.ulong()
    if value_class is ValueClass.ATTRIBUTE_ARRAY:
        if depth >= MAX_NESTING:
            raise ParseError("attribute templates nest too deeply")
        return read_attributes(reader, depth + 1)
    if value_class is ValueClass.MECHANISM_ARRAY:
        return [reader.ulong() for _ in range(reader.count())]
    return reader.raw()


def read_attributes(reader: Reader, depth: int = 0) -> list[tuple[int, Any]]:
    """``aA``: (type, raw wire value or ``Unset``) per attribute, in order."""
    out: list[tuple[int, Any]] = []
    for _ in range(reader.count()):
        kind = reader.u32()
        valid = reader.byte()
        if valid == 0:
            out.append((kind, Unset()))
            continue
        if valid != 1:
            raise ParseError("attribute validity must be 0 or 1")
        reader.u32()  # the C-level length; the value below carries its own
        out.append((kind, _read_value(reader, kind, depth)))
    return out


def read_attribute_buffer(reader: Reader, depth: int = 0) -> list[tuple[int, int]]:
    """``fA``: (type, capacity) per attribute; capacity 0 is a size query.

    From protocol 1 (p11-kit 0.25.4+) a template-valued attribute is followed by the nested
    (type, capacity) list of the template the caller passed; it is read and dropped.
    """
    out = []
    for _ in range(reader.count()):
        kind, capacity = reader.u32(), reader.u32()
        if is_array(kind) and reader.client_version >= 1:
            if depth >= MAX_NESTING:
                raise ParseError("attribute templates nest too deeply")
            read_attribute_buffer(reader, depth + 1)
        out.append((kind, capacity))
    return out


def _invalid(kind: int, why: str) -> CKRError:
    return CKRError(CKR.ATTRIBUTE_VALUE_INVALID, f"attribute 0x{kind:x}: {why}")


def _model_value(kind: int, value: Any) -> Any:
    """A wire value as the model types it (raw bytes for attributes the model lacks)."""
    if isinstance(value, Unset):
        raise _invalid(kind, "no value")
    if is_array(kind):
        return model_template(value)
    try:
        model_kind = attribute_kind(Attribute(kind))
    except ValueError:
        model_kind = None
    value_class = VALUE_CLASS.get(kind, ValueClass.BYTE_ARRAY)
    if model_kind is ValueKind.BOOL:
        if value_class is ValueClass.BYTE:
            return value != 0
        if isinstance(value, bytes) and len(value) == 1:
            return value != b"\x00"
        raise _invalid(kind, "expected a CK_BBOOL")
    if model_kind in (ValueKind.ULONG, ValueKind.CLASS, ValueKind.KEY_TYPE, ValueKind.MECHANISM):
        if value_class is ValueClass.ULONG:
            return value
        if isinstance(value, bytes) and len(value) == _LE_ULONG.size:
            return _LE_ULONG.unpack(value)[0]
        raise _invalid(kind, "expected a CK_ULONG")
    if model_kind is ValueKind.STRING:
        try:
            return (value or b"").decode()
        except UnicodeDecodeError:
            raise _invalid(kind, "text must be UTF-8") from None
    if value is None:
        return b""
    return value


def model_template(items: list[tuple[int, Any]]) -> dict[int, Any]:
    """Wire attributes (``read_attributes``) as a template typed for the model."""
    out: dict[int, Any] = {}
    for kind, value in items:
        out[kind] = _model_value(kind, value)
    return out


def decode_template(reader: Reader) -> dict[int, Any]:
    """``aA`` → a template the SDK can send (values typed as the model wants them)."""
    return model_template(read_attributes(reader))


def value_bytes(kind: int, value: Any) -> bytes:
    """A model value as the raw C bytes an application sees (for BYTE_ARRAY attributes)."""
    if isinstance(value, bool):
        return b"\x01" if value else b"\x00"
    if isinstance(value, int):
        return _LE_ULONG.pack(int(value))
    if isinstance(value, str):
        return value.encode()
    return bytes(value)


def encode_attribute(kind: int, value: Any, client_version: int) -> tuple[bytes, int]:
    """One attribute with its value (validity 1): the encoded bytes and the C-level length."""
    value_class = VALUE_CLASS.get(kind, ValueClass.BYTE_ARRAY)
    head = _U32.pack(kind) + b"\x01"
    if value_class is ValueClass.BYTE:
        return head + _U32.pack(1) + (b"\x01" if value else b"\x00"), 1
    if value_class is ValueClass.ULONG:
        return head + _U32.pack(8) + _U64.pack(int(value)), 8
    if value_class is ValueClass.MECHANISM_ARRAY:
        items = [int(v) for v in value]
        body = _U32.pack(len(items)) + b"".join(_U64.pack(v) for v in items)
        return head + _U32.pack(8 * len(items)) + body, 8 * len(items)
    if value_class is ValueClass.ATTRIBUTE_ARRAY:
        if client_version < 1:
            # p11-kit 0.24's client cannot read nested templates at all (it fails the call)
            raise CKRError(CKR.ATTRIBUTE_TYPE_INVALID, "nested templates need p11-kit ≥ 0.25")
        nested = dict(value)
        parts = [encode_attribute(int(k), v, client_version)[0] for k, v in nested.items()]
        length = ATTRIBUTE_STRUCT_SIZE * len(nested)
        return head + _U32.pack(length) + _U32.pack(len(nested)) + b"".join(parts), length
    data = value_bytes(kind, value)
    return head + _U32.pack(len(data)) + _U32.pack(len(data)) + data, len(data)

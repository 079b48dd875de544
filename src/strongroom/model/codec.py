"""Canonical CBOR encoding of attribute templates and small records.

This module owns how templates become bytes (for the store, the audit log and, later,
backups): canonical CBOR (RFC 8949 §4.2.1 core deterministic encoding), attribute
numbers as integer keys, nested templates as nested maps. Decoding restores the enum
types the rule table names. It never sees secrets it does not encode verbatim, and it
never logs.
"""

from __future__ import annotations

from typing import Any

import cbor2

from strongroom.errors import StoreCorrupt
from strongroom.model.templates import AttributeValue, Template, normalize_template

__all__ = ["decode_cbor", "decode_template", "encode_cbor", "encode_template"]


def _plain(value: AttributeValue) -> Any:
    if isinstance(value, dict):
        return {int(k): _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    return value


def encode_template(template: Template) -> bytes:
    """Canonical CBOR map of attribute number → value.

    For unsigned integer keys, RFC 8949 §4.2.1's order (shorter encoding first, then
    bytewise) is plain numeric order, so sorting the keys ourselves and encoding in
    insertion order gives the canonical bytes at a quarter of ``canonical=True``'s cost.
    """
    return cbor2.dumps(_plain(template))


def decode_template(data: bytes) -> Template:
    """Inverse of ``encode_template``; malformed input raises ``StoreCorrupt``."""
    raw = decode_cbor(data)
    if not isinstance(raw, dict):
        raise StoreCorrupt("attribute map is not a CBOR map")
    try:
        return normalize_template(raw)
    except Exception as exc:
        raise StoreCorrupt("attribute map does not decode") from exc


def encode_cbor(value: object) -> bytes:
    """Canonical CBOR of plain values (dict, list, int, bytes, str, bool, None)."""
    return cbor2.dumps(value, canonical=True)


def decode_cbor(data: bytes) -> Any:
    """Decode CBOR; anything malformed raises ``StoreCorrupt``."""
    try:
        return cbor2.loads(data)
    except Exception as exc:
        raise StoreCorrupt("malformed CBOR") from exc

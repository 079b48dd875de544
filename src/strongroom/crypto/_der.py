"""DER framing for the one ASN.1 shape the crypto layer writes by hand: the OCTET STRING.

This private module owns definite-length DER encoding (ITU-T X.690 §8.1.3, §10.1) and the
strict parsing of a single OCTET STRING (§8.7), which PKCS#11's ``CKA_EC_POINT`` wraps
around a public point. It is encoding, not cryptography, and must not grow into a general
ASN.1 parser: anything richer goes through pyca/cryptography's serialisation.
"""

from __future__ import annotations

__all__ = ["octet_string", "octet_string_content"]


def _length(length: int) -> bytes:
    # X.690 §8.1.3: short form below 128, otherwise long form in the fewest octets (§10.1).
    if length < 0x80:
        return bytes([length])
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(encoded)]) + encoded


def octet_string(content: bytes) -> bytes:
    """DER OCTET STRING holding ``content`` (X.690 §8.7: universal tag 4, primitive)."""
    return b"\x04" + _length(len(content)) + content


def octet_string_content(data: bytes) -> bytes | None:
    """The content of a strict-DER OCTET STRING filling all of ``data``, else None."""
    if len(data) < 2 or data[0] != 0x04:
        return None
    first = data[1]
    if first < 0x80:
        length, offset = first, 2
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or len(data) < 2 + count:
            return None
        encoded = data[2 : 2 + count]
        length, offset = int.from_bytes(encoded, "big"), 2 + count
        if encoded[0] == 0 or length < 0x80:  # X.690 §10.1: not the minimal form
            return None
    if offset + length != len(data):
        return None
    return data[offset:]

"""The KMS provider interface: data keys bound to a key id and an encryption context.

This module owns what every KMS provider promises the envelope (docs/formats/envelope-v1.md,
"KMS providers"): `KMSProvider` issues a fresh 256-bit `DataKey` under a named master key and
gives the plaintext back only for the same key id and the same encryption context, refusing
everything else with `KMSAccessDenied`; any other failure is `KMSError`. It also owns the
checks on key ids and contexts and the one canonical byte encoding of (key id, context) that
the local and OpenBao providers authenticate as AAD. It must not know about envelopes,
backups or object stores, and never holds a data key longer than a call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Protocol, runtime_checkable

from strongroom.errors import ArgumentsBad
from strongroom.model.codec import encode_cbor

__all__ = [
    "DATA_KEY_BYTES",
    "KMS_AAD_DOMAIN",
    "MAX_CONTEXT_ENTRIES",
    "MAX_CONTEXT_TEXT",
    "MAX_KEY_ID_LENGTH",
    "DataKey",
    "KMSProvider",
    "check_context",
    "check_key_id",
    "kms_aad",
]

DATA_KEY_BYTES: Final = 32
"""Data keys are AES-256."""
KMS_AAD_DOMAIN: Final = b"strongroom/kms/v1\x00"
"""Domain separator in front of the canonical (key id, context) encoding."""
MAX_KEY_ID_LENGTH: Final = 2048
"""Longest key id accepted (AWS key ARNs and aliases fit well within it)."""
MAX_CONTEXT_ENTRIES: Final = 64
"""Most entries an encryption context may have."""
MAX_CONTEXT_TEXT: Final = 1024
"""Longest context key or value, in characters."""


@dataclass(frozen=True, slots=True)
class DataKey:
    """A fresh data key: its plaintext (use, then drop) and the KMS's opaque wrapping of it."""

    plaintext: bytes
    wrapped: bytes

    def __post_init__(self) -> None:
        if len(self.plaintext) != DATA_KEY_BYTES:
            raise ArgumentsBad(f"a data key is {DATA_KEY_BYTES} bytes")
        if not self.wrapped:
            raise ArgumentsBad("a wrapped data key cannot be empty")

    def __repr__(self) -> str:
        return f"DataKey(plaintext=<redacted 256-bit>, wrapped=<{len(self.wrapped)} bytes>)"


@runtime_checkable
class KMSProvider(Protocol):
    """A KMS that issues data keys bound to ``(key_id, context)``.

    Both calls raise `KMSAccessDenied` when the KMS refuses (unknown key, wrong key, wrong
    context, damaged wrapped key, no permission — never told apart) and `KMSError` when it
    cannot answer. Foreign exceptions never escape: each provider translates them.
    """

    @property
    def name(self) -> str:
        """The provider's name as written in envelope headers: ``local``, ``openbao``, ``aws``."""
        ...

    def generate_data_key(self, key_id: str, context: Mapping[str, str]) -> DataKey:
        """Return a fresh random 32-byte data key and its wrapping under ``key_id``."""
        ...

    def decrypt_data_key(self, key_id: str, wrapped: bytes, context: Mapping[str, str]) -> bytes:
        """Return the 32-byte data key, only if ``key_id`` and ``context`` match the wrapping."""
        ...


def check_key_id(key_id: object) -> str:
    """Return ``key_id`` if it is a usable key id, else raise `ArgumentsBad`."""
    if not isinstance(key_id, str) or not key_id:
        raise ArgumentsBad("a KMS key id is a non-empty string")
    if len(key_id) > MAX_KEY_ID_LENGTH:
        raise ArgumentsBad(f"a KMS key id has at most {MAX_KEY_ID_LENGTH} characters")
    if not key_id.isprintable():
        raise ArgumentsBad("a KMS key id has no control characters")
    return key_id


def check_context(context: object) -> dict[str, str]:
    """Return a plain, key-sorted copy of an encryption context, or raise `ArgumentsBad`.

    A context maps non-empty strings to strings (AWS KMS's rule), at most
    `MAX_CONTEXT_ENTRIES` entries of at most `MAX_CONTEXT_TEXT` characters each.
    """
    if not isinstance(context, Mapping):
        raise ArgumentsBad("an encryption context is a mapping of strings to strings")
    if len(context) > MAX_CONTEXT_ENTRIES:
        raise ArgumentsBad(f"an encryption context has at most {MAX_CONTEXT_ENTRIES} entries")
    plain: dict[str, str] = {}
    for key in sorted(context, key=_sort_key):
        value = context[key]
        if not isinstance(key, str) or not key or not isinstance(value, str):
            raise ArgumentsBad("an encryption context maps non-empty strings to strings")
        if len(key) > MAX_CONTEXT_TEXT or len(value) > MAX_CONTEXT_TEXT:
            raise ArgumentsBad(
                f"context keys and values have at most {MAX_CONTEXT_TEXT} characters"
            )
        plain[key] = value
    return plain


def _sort_key(key: object) -> str:
    if not isinstance(key, str):
        raise ArgumentsBad("an encryption context maps non-empty strings to strings")
    return key


def kms_aad(key_id: str, context: Mapping[str, str]) -> bytes:
    """``"strongroom/kms/v1" 0x00 || canonical CBOR [key_id, {context}]`` (envelope-v1.md, A.1).

    Canonical CBOR (RFC 8949 §4.2.1) sorts the context's keys, so equal contexts give equal
    bytes whatever order the caller built them in.
    """
    return KMS_AAD_DOMAIN + encode_cbor([check_key_id(key_id), check_context(context)])

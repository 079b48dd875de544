"""Auto-unseal through a KMS, so a restarted node serves without an admin logging in.

This module owns the blob that keeps the storage key outside the HSM: a KMS data key
(wrapped by the KMS under an encryption context naming the HSM) and the storage key
AES-KW-wrapped under that data key. Whoever can use the KMS key can unseal the node — the
same trade-off as Vault's KMS auto-unseal; without a provider a restarted node stays sealed
until an admin logs in.
"""

from __future__ import annotations

from typing import Any, Final

from strongroom.backup.kms.api import KMSProvider
from strongroom.crypto import aes_key_unwrap, aes_key_wrap
from strongroom.errors import IntegrityError
from strongroom.model.codec import decode_cbor, encode_cbor

__all__ = ["KMSUnseal"]

_FORMAT: Final = "strongroom-auto-unseal-v1"


class KMSUnseal:
    """An ``UnsealProvider`` backed by a KMS master key."""

    def __init__(self, kms: KMSProvider, key_id: str, hsm_name: str) -> None:
        self.kms = kms
        self.key_id = key_id
        self.context = {"purpose": "auto-unseal", "hsm": hsm_name}
        self.name = f"kms:{kms.name}:{key_id}"

    def __repr__(self) -> str:
        return f"KMSUnseal(name={self.name!r})"

    def wrap(self, storage_key: bytes) -> bytes:
        """A blob only this KMS key (under this context) opens."""
        data_key = self.kms.generate_data_key(self.key_id, self.context)
        return encode_cbor(
            {
                "format": _FORMAT,
                "kms_wrapped": data_key.wrapped,
                "key": aes_key_wrap(data_key.plaintext, storage_key),
            }
        )

    def unwrap(self, blob: bytes) -> bytes:
        """The storage key inside ``blob``; any damage or wrong key raises."""
        raw: Any = decode_cbor(blob)
        if not isinstance(raw, dict) or raw.get("format") != _FORMAT:
            raise IntegrityError("not an auto-unseal blob")
        data_key = self.kms.decrypt_data_key(self.key_id, raw["kms_wrapped"], self.context)
        return aes_key_unwrap(data_key, raw["key"])

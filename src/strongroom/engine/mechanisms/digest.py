"""Message digests: SHA-1, SHA-2 and SHA-3, single- and multi-part.

This module owns the digest mechanisms (no key involved) and registers them.
"""

from __future__ import annotations

from typing import Any

from strongroom.constants import Mechanism
from strongroom.crypto.hashing import Digest, HashName, digest
from strongroom.engine.mechanisms.registry import (
    DigestStream,
    Function,
    MechanismEntry,
    MechanismRegistry,
)
from strongroom.model.params import require_none

__all__ = ["DIGESTS", "register"]

DIGESTS: dict[Mechanism, HashName] = {
    Mechanism.SHA_1: "SHA1",
    Mechanism.SHA224: "SHA224",
    Mechanism.SHA256: "SHA256",
    Mechanism.SHA384: "SHA384",
    Mechanism.SHA512: "SHA512",
    Mechanism.SHA3_224: "SHA3_224",
    Mechanism.SHA3_256: "SHA3_256",
    Mechanism.SHA3_384: "SHA3_384",
    Mechanism.SHA3_512: "SHA3_512",
}


def _digest(hash_name: HashName) -> tuple[Any, Any]:
    def one_shot(params: Any, data: bytes) -> bytes:
        require_none(params)
        return digest(hash_name, data)

    def stream(params: Any) -> DigestStream:
        require_none(params)
        return Digest(hash_name)

    return one_shot, stream


def register(registry: MechanismRegistry) -> None:
    """Register the digests."""
    for mechanism, hash_name in DIGESTS.items():
        one_shot, stream = _digest(hash_name)
        registry.add(
            MechanismEntry(
                mechanism,
                Function.DIGEST,
                frozenset(),
                0,
                0,
                True,
                digest=one_shot,
                digest_stream=stream,
            )
        )

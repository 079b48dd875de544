"""Fakes for testing code that uses Strongroom (and for Strongroom's own tests).

Everything here trades security for speed or determinism and says so: a fake clock, a
deterministic random source, an in-memory store, a fast password KDF and a static
auto-unseal provider. Never use any of it for keys you care about.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from strongroom.crypto.keywrap import aes_key_unwrap, aes_key_wrap
from strongroom.crypto.random import DeterministicRandom
from strongroom.engine.config import HSMConfig
from strongroom.engine.identity import ManufacturerIdentity, ServiceIdentity
from strongroom.store.memory import MemoryStore

__all__ = [
    "FAST_ITERATIONS",
    "DeterministicRandom",
    "FakeClock",
    "MemoryStore",
    "StaticKeyUnseal",
    "fake_manufacturer",
    "fake_service",
    "fast_config",
]

FAST_ITERATIONS = 1_000
"""Password-stretch iterations for tests: 600× cheaper than production, and insecure."""


@dataclass(slots=True)
class FakeClock:
    """A clock that moves only when told to."""

    now: int = 1_700_000_000_000_000_000

    def now_ns(self) -> int:
        """The current fake time."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += int(seconds * 1_000_000_000)


@dataclass(slots=True)
class StaticKeyUnseal:
    """Auto-unseal under a fixed 32-byte key held in memory (a stand-in for a KMS)."""

    kek: bytes = field(repr=False)
    name: str = "static-test-key"

    def wrap(self, storage_key: bytes) -> bytes:
        """AES-KW of the storage key under the fixed key."""
        return aes_key_wrap(self.kek, storage_key)

    def unwrap(self, blob: bytes) -> bytes:
        """Inverse of ``wrap``."""
        return aes_key_unwrap(self.kek, blob)


_IDENTITIES: dict[str, ManufacturerIdentity] = {}


def fake_manufacturer(manufacturer_id: str = "test-maker", seed: int = 1) -> ManufacturerIdentity:
    """A fixed manufacturer for tests: the MKBK comes from ``seed``; one CA per id (cached)."""
    cached = _IDENTITIES.get(manufacturer_id)
    if cached is None:
        cached = _IDENTITIES[manufacturer_id] = ManufacturerIdentity.create(manufacturer_id)
    return ManufacturerIdentity(manufacturer_id, bytes([seed]) * 32, cached.ca_key, cached.ca_cert)


def fake_service(service_id: str = "test-service", seed: int = 2) -> ServiceIdentity:
    """A fixed service for tests: the AKBK comes from ``seed``."""
    return ServiceIdentity(service_id, bytes([seed]) * 32)


def fast_config(**overrides: object) -> HSMConfig:
    """An ``HSMConfig`` with a cheap password KDF (tests only), plus any overrides."""
    settings: dict[str, object] = {"password_iterations": FAST_ITERATIONS, "allow_weak_kdf": True}
    settings.update(overrides)
    return HSMConfig(**settings)  # type: ignore[arg-type]

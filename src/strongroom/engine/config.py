"""HSM configuration and the clock seam.

This module owns the knobs an HSM is opened with. Most are fixed for the life of the
store (FIPS mode is recorded at creation and checked on every open); none is a secret.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from strongroom.crypto.random import RandomSource, SystemRandom
from strongroom.engine.approval import BackupApproval
from strongroom.engine.identity import ManufacturerIdentity
from strongroom.engine.passwords import MIN_ITERATIONS
from strongroom.errors import ArgumentsBad
from strongroom.store.sealing import UnsealProvider

__all__ = ["Clock", "HSMConfig", "SystemClock"]


class Clock(Protocol):
    """Wall-clock time in nanoseconds since the epoch (a seam for tests)."""

    def now_ns(self) -> int:
        """The current time."""


class SystemClock:
    """The real clock."""

    def now_ns(self) -> int:
        """``time.time_ns()``."""
        return time.time_ns()


@dataclass(frozen=True, slots=True)
class HSMConfig:
    """How to open an HSM.

    ``fips_mode`` applies when the store is new; an existing store keeps the mode it was
    created with, and asking for the other one is an error. ``password_iterations`` below
    600,000 needs ``allow_weak_kdf`` — meant only for tests (see ``strongroom.testing``).
    ``self_test_broken`` names self-test families to fail on purpose (test-only).
    """

    fips_mode: bool | None = None
    password_iterations: int = MIN_ITERATIONS
    allow_weak_kdf: bool = False
    lockout_threshold: int = 5
    max_users: int = 4096
    initial_password: str = "password"  # noqa: S105 - CloudHSM's documented PRECO default
    rng: RandomSource = field(default_factory=SystemRandom)
    clock: Clock = field(default_factory=SystemClock)
    unseal_provider: UnsealProvider | None = None
    self_test_broken: frozenset[str] = frozenset()
    object_cache_size: int = 65536
    manufacturer: ManufacturerIdentity | None = None
    """The identity of whoever made this HSM (needed to make or restore backups)."""
    backup_approval: BackupApproval | None = None
    """Asked before every backup and restore when set (see ``engine.approval``)."""
    audit_flush_seconds: float = 0.05
    """How long an audit record of a non-state event (an export, a session object, a
    logout) may wait in memory before it is written; see ``Core.queue_audit``."""

    def __post_init__(self) -> None:
        if self.password_iterations < MIN_ITERATIONS and not self.allow_weak_kdf:
            raise ArgumentsBad(f"password_iterations must be at least {MIN_ITERATIONS}")
        if self.password_iterations < 1:
            raise ArgumentsBad("password_iterations must be positive")
        if not 1 <= self.lockout_threshold <= 100:
            raise ArgumentsBad("lockout_threshold must be 1-100")
        if self.max_users < 2:
            raise ArgumentsBad("max_users must be at least 2")

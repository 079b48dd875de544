"""Random bytes: the operating system's generator behind a continuous health test, and a fake.

This module owns where Strongroom's randomness comes from (``RandomSource``): the
production `SystemRandom` draws from ``os.urandom`` (the kernel's DRBG, outside our
boundary) and runs the FIPS 140-2 §4.9.2 continuous random number generator test on every
16-byte block, latching `SelfTestFailed` if a block repeats. `DeterministicRandom` is a
seeded SHA-256 stream FOR TESTS ONLY. This module must not generate keys or IVs itself,
and must not be used to seed anything persistent.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Final, Protocol

from cryptography.hazmat.primitives import hashes

from strongroom.crypto.hashing import constant_time_equal
from strongroom.errors import ArgumentsBad, SelfTestFailed

__all__ = ["DeterministicRandom", "RandomSource", "SystemRandom"]

# FIPS 140-2 §4.9.2: the continuous test compares each n-bit block with the previous one;
# Strongroom uses n = 128.
_CRNG_BLOCK: Final = 16


class RandomSource(Protocol):
    """Anything that hands out random bytes."""

    def random_bytes(self, n: int) -> bytes:
        """Return ``n`` random bytes; ``n < 0`` is `ArgumentsBad`."""
        ...


def _check_count(n: int) -> None:
    if n < 0:
        raise ArgumentsBad(f"cannot produce {n} random bytes")


class SystemRandom:
    """``os.urandom`` with a continuous health test; thread-safe.

    The first block is drawn at construction and never returned; each later 16-byte block
    is compared with the one before (FIPS 140-2 §4.9.2). A repeat raises `SelfTestFailed`
    now and on every later call: once failed, the source stays failed. ``source`` exists
    so tests can feed a stuck generator; production code leaves it at ``os.urandom``.
    """

    __slots__ = ("_failed", "_lock", "_previous", "_source")

    def __init__(self, source: Callable[[int], bytes] = os.urandom) -> None:
        self._source = source
        self._lock = threading.Lock()
        self._failed = False
        self._previous = self._draw_block()

    def __repr__(self) -> str:
        state = "failed" if self._failed else "healthy"
        return f"SystemRandom({state})"

    def _draw_block(self) -> bytes:
        block = self._source(_CRNG_BLOCK)
        if len(block) != _CRNG_BLOCK:
            self._failed = True
            raise SelfTestFailed("random source returned a short block")
        return block

    def random_bytes(self, n: int) -> bytes:
        """Return ``n`` bytes, each 16-byte block health-tested before release."""
        _check_count(n)
        with self._lock:
            if self._failed:
                raise SelfTestFailed("random source failed its continuous test")
            blocks: list[bytes] = []
            for _ in range(-(-n // _CRNG_BLOCK)):
                block = self._draw_block()
                if constant_time_equal(block, self._previous):
                    self._failed = True
                    raise SelfTestFailed("random source repeated a block")
                self._previous = block
                blocks.append(block)
        return b"".join(blocks)[:n]


class DeterministicRandom:
    """FOR TESTS ONLY: a reproducible stream, NOT random, NEVER for real keys.

    Output is SHA-256(seed || [0]_64) || SHA-256(seed || [1]_64) || ..., counters
    big-endian, consumed as one continuous stream across calls: two calls of 3 and 5
    bytes return the same 8 bytes as one call of 8. Anyone who knows the seed knows
    every byte it will ever produce.
    """

    __slots__ = ("_buffer", "_counter", "_seed")

    def __init__(self, seed: bytes) -> None:
        self._seed = bytes(seed)
        self._counter = 0
        self._buffer = b""

    def __repr__(self) -> str:
        return "DeterministicRandom(seed=<redacted>)"

    def random_bytes(self, n: int) -> bytes:
        """Return the next ``n`` bytes of the stream."""
        _check_count(n)
        while len(self._buffer) < n:
            context = hashes.Hash(hashes.SHA256())
            context.update(self._seed + self._counter.to_bytes(8, "big"))
            self._buffer += context.finalize()
            self._counter += 1
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out

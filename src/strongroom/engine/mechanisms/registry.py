"""The mechanism registry: default-deny, one entry per mechanism, approved-mode flags.

This module owns how mechanisms are found and refused. Each family module registers its
mechanisms with ``register(registry)``; a mechanism nobody registered does not exist
(MECHANISM_INVALID), a registered one does only the functions it lists, and in FIPS mode
only entries flagged ``approved`` — with key sizes and curves from ``FIPS_POLICY`` — run.
It knows nothing of users or storage: handlers get loaded keys and bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import IntFlag
from typing import TYPE_CHECKING, Any

from strongroom.constants import KeyType, Mechanism
from strongroom.errors import KeyTypeInconsistent, MechanismInvalid, MechanismNotApproved

if TYPE_CHECKING:
    from strongroom.crypto.random import RandomSource
    from strongroom.engine.objects import HSMObject
    from strongroom.model.templates import Template

__all__ = [
    "FIPS_POLICY",
    "Function",
    "GeneratedKey",
    "GeneratedKeyPair",
    "MechanismEntry",
    "MechanismRegistry",
]


class Function(IntFlag):
    """What a mechanism can be used for (CK_MECHANISM_INFO flags, by meaning)."""

    NONE = 0
    ENCRYPT = 1 << 0
    DECRYPT = 1 << 1
    SIGN = 1 << 2
    VERIFY = 1 << 3
    DIGEST = 1 << 4
    GENERATE = 1 << 5
    GENERATE_KEY_PAIR = 1 << 6
    WRAP = 1 << 7
    UNWRAP = 1 << 8
    DERIVE = 1 << 9


FIPS_POLICY: dict[str, object] = {
    "rsa_min_bits": 2048,
    "ec_curves": frozenset({"secp224r1", "secp256r1", "secp384r1", "secp521r1"}),
    "generic_secret_min_bytes": 14,
    "aes_key_bytes": frozenset({16, 24, 32}),
}
"""Approved-mode limits beyond per-mechanism flags (SP 800-131A r2, FIPS 186-5)."""


@dataclass(frozen=True, slots=True)
class GeneratedKey:
    """A new secret key: its value and any attributes the mechanism fixes."""

    value: bytes
    attributes: Template

    def __repr__(self) -> str:
        return "GeneratedKey(<redacted>)"


@dataclass(frozen=True, slots=True)
class GeneratedKeyPair:
    """A new key pair: the private key's PKCS#8 DER and each half's attributes."""

    private_der: bytes
    private_key: Any
    public_attributes: Template
    private_attributes: Template

    def __repr__(self) -> str:
        return "GeneratedKeyPair(<redacted>)"


GenerateFn = Callable[["RandomSource", "Template", bool], GeneratedKey]
GeneratePairFn = Callable[["Template", "Template", bool], GeneratedKeyPair]
CipherFn = Callable[["HSMObject", Any, bytes, "RandomSource"], bytes]
SignFn = Callable[["HSMObject", Any, bytes], bytes]
VerifyFn = Callable[["HSMObject", Any, bytes, bytes], None]
WrapFn = Callable[["HSMObject", bytes], bytes]


@dataclass(frozen=True, slots=True)
class MechanismEntry:
    """One registered mechanism and its handlers (only those its functions name)."""

    mechanism: Mechanism
    functions: Function
    key_types: frozenset[KeyType]
    min_key_size: int
    max_key_size: int
    approved: bool
    params_type: type | None = None
    generate: GenerateFn | None = None
    generate_pair: GeneratePairFn | None = None
    encrypt: CipherFn | None = None
    decrypt: CipherFn | None = None
    sign: SignFn | None = None
    verify: VerifyFn | None = None
    wrap: WrapFn | None = None
    unwrap: WrapFn | None = None
    notes: str = field(default="")


class MechanismRegistry:
    """Mechanisms by number; lookups refuse what is not registered or not allowed."""

    def __init__(self) -> None:
        self._entries: dict[Mechanism, MechanismEntry] = {}
        self._fast: dict[tuple[int, int], MechanismEntry] = {}

    def add(self, entry: MechanismEntry) -> None:
        """Register one mechanism; registering a number twice is a programming error."""
        if entry.mechanism in self._entries:
            raise ValueError(f"{entry.mechanism.name} registered twice")
        self._entries[entry.mechanism] = entry
        for bit in Function:
            if bit and entry.functions & bit:
                self._fast[int(entry.mechanism), int(bit)] = entry

    def __iter__(self) -> Iterator[MechanismEntry]:
        return iter(sorted(self._entries.values(), key=lambda e: int(e.mechanism)))

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(
        self,
        mechanism: object,
        function: Function,
        *,
        fips: bool,
        key_type: KeyType | None = None,
    ) -> MechanismEntry:
        """The entry for ``mechanism`` if it does ``function`` for ``key_type`` in this mode."""
        entry: MechanismEntry | None = None
        if type(mechanism) in (int, Mechanism):
            entry = self._fast.get((mechanism, function))  # type: ignore[arg-type]
        if (
            entry is not None
            and (entry.approved or not fips)
            and (key_type is None or key_type in entry.key_types)
        ):
            return entry  # the hot path: one dict look-up, no conversions
        try:
            number = Mechanism(mechanism)  # type: ignore[arg-type]
        except (ValueError, TypeError):
            raise MechanismInvalid("unknown mechanism") from None
        entry = self._entries.get(number)
        if entry is None or not entry.functions & function:
            raise MechanismInvalid(f"{number.name} cannot {function.name.lower()}")  # type: ignore[union-attr]
        if fips and not entry.approved:
            raise MechanismNotApproved(f"{number.name} is not approved in FIPS mode")
        if key_type is not None and key_type not in entry.key_types:
            raise KeyTypeInconsistent(f"{number.name} does not take {key_type.name} keys")
        return entry


def default_registry() -> MechanismRegistry:
    """A registry with every family module registered."""
    from strongroom.engine.mechanisms import aes, ec, generic, rsa

    registry = MechanismRegistry()
    for family in (aes, generic, ec, rsa):
        family.register(registry)
    return registry

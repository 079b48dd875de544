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
from typing import TYPE_CHECKING, Any, Protocol

from strongroom.constants import KeyType, Mechanism
from strongroom.errors import KeyTypeInconsistent, MechanismInvalid, MechanismNotApproved

if TYPE_CHECKING:
    from strongroom.crypto.random import RandomSource
    from strongroom.engine.objects import HSMObject
    from strongroom.model.templates import Template

__all__ = [
    "FIPS_POLICY",
    "CipherStream",
    "DigestStream",
    "Function",
    "GeneratedKey",
    "GeneratedKeyPair",
    "MechanismEntry",
    "MechanismRegistry",
    "SignStream",
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


class CipherStream(Protocol):
    """A multi-part encryption or decryption: ``update`` any number of times, then ``finalize``."""

    def update(self, data: bytes) -> bytes:
        """Process more input; returns whatever output is ready."""
        ...

    def finalize(self) -> bytes:
        """Finish; returns the last output (and, for AEADs, the tag or the checked plaintext)."""
        ...


class SignStream(Protocol):
    """A multi-part signature or MAC: ``update``, then exactly one of ``sign`` or ``verify``."""

    def update(self, data: bytes) -> None:
        """Feed more data."""
        ...

    def sign(self) -> bytes:
        """The signature (or MAC) over everything fed."""
        ...

    def verify(self, signature: bytes) -> None:
        """Raise SignatureInvalid unless ``signature`` is right for everything fed."""
        ...


class DigestStream(Protocol):
    """A multi-part digest."""

    def update(self, data: bytes) -> None:
        """Feed more data."""
        ...

    def finalize(self) -> bytes:
        """The digest of everything fed."""
        ...


GenerateFn = Callable[["RandomSource", "Template", bool], GeneratedKey]
GeneratePairFn = Callable[["Template", "Template", bool], GeneratedKeyPair]
CipherFn = Callable[["HSMObject", Any, bytes, "RandomSource"], bytes]
CipherStreamFn = Callable[["HSMObject", Any, "RandomSource"], CipherStream]
SignFn = Callable[["HSMObject", Any, bytes], bytes]
VerifyFn = Callable[["HSMObject", Any, bytes, bytes], None]
SignStreamFn = Callable[["HSMObject", Any], SignStream]
WrapFn = Callable[["HSMObject", Any, bytes, "RandomSource"], bytes]
UnwrapFn = Callable[["HSMObject", Any, bytes], bytes]
DigestFn = Callable[[Any, bytes], bytes]
DigestStreamFn = Callable[[Any], DigestStream]
DeriveFn = Callable[["HSMObject", Any, int, bool], bytes]
"""Derive: (base key, parameters, new key length in bytes, FIPS mode) → the new value."""


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
    unwrap: UnwrapFn | None = None
    encrypt_stream: CipherStreamFn | None = None
    decrypt_stream: CipherStreamFn | None = None
    sign_stream: SignStreamFn | None = None
    digest: DigestFn | None = None
    digest_stream: DigestStreamFn | None = None
    derive: DeriveFn | None = None
    fips_functions: Function | None = None
    """With ``approved``: the functions approved in FIPS mode (None: all it does)."""
    notes: str = field(default="")

    def approved_for(self, function: Function) -> bool:
        """Whether ``function`` with this mechanism may run in FIPS mode."""
        if not self.approved:
            return False
        return self.fips_functions is None or bool(self.fips_functions & function)

    @property
    def multi_part(self) -> bool:
        """Whether the mechanism runs as init/update/final as well as single-part."""
        return (
            self.encrypt_stream is not None
            or self.sign_stream is not None
            or self.digest_stream is not None
        )


class MechanismRegistry:
    """Mechanisms by number; lookups refuse what is not registered or not allowed."""

    def __init__(self) -> None:
        self._entries: dict[Mechanism, MechanismEntry] = {}
        self._fast: dict[tuple[int, int], tuple[MechanismEntry, bool]] = {}

    def add(self, entry: MechanismEntry) -> None:
        """Register one mechanism; registering a number twice is a programming error."""
        if entry.mechanism in self._entries:
            raise ValueError(f"{entry.mechanism.name} registered twice")
        self._entries[entry.mechanism] = entry
        for bit in Function:
            if bit and entry.functions & bit:
                self._fast[int(entry.mechanism), int(bit)] = (entry, entry.approved_for(bit))

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
        if type(mechanism) in (int, Mechanism):
            fast = self._fast.get((mechanism, function))  # type: ignore[arg-type]
            if (
                fast is not None
                and (fast[1] or not fips)
                and (key_type is None or key_type in fast[0].key_types)
            ):
                return fast[0]  # the hot path: one dict look-up, no conversions
        try:
            number = Mechanism(mechanism)  # type: ignore[arg-type]
        except (ValueError, TypeError):
            raise MechanismInvalid("unknown mechanism") from None
        entry = self._entries.get(number)
        if entry is None or not entry.functions & function:
            raise MechanismInvalid(f"{number.name} cannot {function.name.lower()}")  # type: ignore[union-attr]
        if fips and not entry.approved_for(function):
            raise MechanismNotApproved(
                f"{number.name} is not approved for {function.name.lower()} in FIPS mode"  # type: ignore[union-attr]
            )
        if key_type is not None and key_type not in entry.key_types:
            raise KeyTypeInconsistent(f"{number.name} does not take {key_type.name} keys")
        return entry


def default_registry() -> MechanismRegistry:
    """A registry with every family module registered."""
    from strongroom.engine.mechanisms import (
        aes,
        aes_modes,
        derive,
        digest,
        ec,
        generic,
        mldsa,
        rsa,
        rsa_cipher,
    )

    registry = MechanismRegistry()
    for family in (aes, aes_modes, generic, digest, ec, rsa, rsa_cipher, derive, mldsa):
        family.register(registry)
    return registry

"""The raw store API: typed records in, typed records out, transactions, no crypto.

This module owns the contract every storage backend (SQLite, in-memory) implements. A
backend stores opaque bytes where the record says so — sealing happens above it, in
``store.sealing`` — and it must never interpret them. Everything a backend persists is
already safe to hold at rest: verifiers instead of passwords, sealed blobs instead of
key material.

Durability rule: when ``transaction()`` returns normally, everything written inside it is
on stable storage (fsync'd); when it raises, nothing written inside it is visible.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "FORMAT_META_KEYS",
    "AuditRecord",
    "ObjectQuery",
    "ObjectRecord",
    "RawStore",
    "StoreSnapshot",
    "StoreTransaction",
    "UserRecord",
]


@dataclass(frozen=True, slots=True)
class ObjectRecord:
    """One token object as stored.

    ``label``, ``ckid``, ``object_class``, ``key_type``, ``owner`` and ``private`` are
    index columns, kept in the clear so find stays fast; they duplicate values that are
    also bound into ``sealed`` (see store-v1.md) so tampering with them is detected when
    the object is opened. ``public`` holds the CBOR map of attributes stored in the clear;
    ``sealed`` is the sealed blob (or ``None`` for public objects).
    """

    handle: int
    object_class: int
    key_type: int | None
    label: str
    ckid: bytes
    owner: int
    private: bool
    public: bytes
    sealed: bytes | None

    def __repr__(self) -> str:
        return (
            f"ObjectRecord(handle={self.handle}, class={self.object_class}, "
            f"key_type={self.key_type}, owner={self.owner}, sealed={self.sealed is not None})"
        )


@dataclass(frozen=True, slots=True)
class UserRecord:
    """One HSM user as stored: a verifier, never a password.

    ``wrapped_storage_key`` is set for admins only: the storage key wrapped under a KEK
    derived from that admin's password (one slot per admin).
    """

    user_id: int
    username: str
    role: str
    verifier: bytes
    failed_logins: int
    wrapped_storage_key: bytes | None

    def __repr__(self) -> str:
        return (
            f"UserRecord(user_id={self.user_id}, username={self.username!r}, "
            f"role={self.role!r}, failed_logins={self.failed_logins})"
        )


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One entry of the hash-chained audit log; ``details`` is a CBOR map without secrets."""

    seq: int
    boot: int
    timestamp_ns: int
    event: str
    actor: str
    details: bytes
    prev_hash: bytes
    hash: bytes


@dataclass(frozen=True, slots=True)
class ObjectQuery:
    """Index-backed filter for ``RawStore.find_objects``; ``None`` fields match anything."""

    object_class: int | None = None
    key_type: int | None = None
    label: str | None = None
    ckid: bytes | None = None
    owner: int | None = None


FORMAT_META_KEYS = frozenset({"magic", "schema_version"})
"""Meta keys that belong to the store format: never set by callers, never cleared."""


class StoreSnapshot(Protocol):
    """One consistent, read-only view of the whole store, however long it is read."""

    def objects(self) -> Iterator[tuple[ObjectRecord, frozenset[int]]]:
        """Every object with the users it is shared with, in handle order."""

    def count_objects(self) -> int:
        """Number of objects."""

    def users(self) -> list[UserRecord]:
        """Every user, by user id."""

    def meta(self) -> dict[str, bytes]:
        """Every meta value except the format's own keys."""

    def counters(self) -> tuple[int, int]:
        """The allocation counters: the last handle and the last user id handed out."""

    def last_audit(self) -> AuditRecord | None:
        """The newest audit record, or ``None``."""


class StoreTransaction(Protocol):
    """Writes inside one atomic, durable transaction."""

    def allocate_handle(self) -> int:
        """Return a fresh token-object handle (never reused, even after a crash)."""

    def allocate_user_id(self) -> int:
        """Return a fresh user id (never reused)."""

    def put_object(self, record: ObjectRecord) -> None:
        """Insert or replace the object with ``record.handle``."""

    def delete_object(self, handle: int) -> None:
        """Delete the object and its shares; a missing handle is not an error."""

    def set_shares(self, handle: int, user_ids: frozenset[int]) -> None:
        """Replace the set of users the object is shared with."""

    def put_user(self, record: UserRecord) -> None:
        """Insert or replace the user with ``record.user_id``."""

    def delete_user(self, user_id: int) -> None:
        """Delete the user and remove it from every share list."""

    def set_meta(self, key: str, value: bytes) -> None:
        """Set an HSM-wide metadata value."""

    def append_audit(self, record: AuditRecord) -> None:
        """Append an audit record; ``record.seq`` must be the last seq + 1."""

    def append_audits(self, records: Sequence[AuditRecord]) -> None:
        """Append consecutive audit records at once; the first's seq is the last seq + 1."""

    def clear_state(self, keep_meta: frozenset[str]) -> None:
        """Delete every object, share and user, and every meta value not in ``keep_meta``.

        The audit log, the allocation counters and the format's own meta keys stay. Used by
        restore, which then writes the new state in the same transaction.
        """

    def raise_counters(self, last_handle: int, last_user_id: int) -> None:
        """Advance the allocation counters to at least these values (never back)."""


class RawStore(Protocol):
    """A storage backend. Reads see the last committed state."""

    def transaction(self, *, durable: bool = True) -> AbstractContextManager[StoreTransaction]:
        """Open a write transaction; backends serialise them (one at a time).

        ``durable=False`` commits without waiting for stable storage: the change survives a
        process crash (it is in the OS, and SQLite's WAL keeps order) but not a power loss,
        until the next durable commit, which makes it and everything before it durable. The
        engine uses it only for changes that are not persistent state (audit records of
        reads and exports, session objects).

        A transaction has no reads of its own: reads through the store see the last
        committed state, not the transaction's staged writes. Callers that read and then
        write (the engine) hold their own lock around both, so no other write interleaves.
        """

    def get_object(self, handle: int) -> ObjectRecord | None:
        """The object with this handle, or ``None``."""

    def find_objects(self, query: ObjectQuery) -> list[int]:
        """Handles of objects matching every non-``None`` field, in ascending order."""

    def iter_objects(self) -> Iterator[ObjectRecord]:
        """Every object, in handle order."""

    def count_objects(self) -> int:
        """Number of token objects."""

    def get_shares(self, handle: int) -> frozenset[int]:
        """User ids the object is shared with."""

    def handles_shared_with(self, user_id: int) -> list[int]:
        """Handles of objects shared with this user, ascending."""

    def get_user(self, user_id: int) -> UserRecord | None:
        """The user with this id, or ``None``."""

    def get_user_by_name(self, username: str) -> UserRecord | None:
        """The user with this (already lower-cased) name, or ``None``."""

    def list_users(self) -> list[UserRecord]:
        """Every user, by user id."""

    def get_meta(self, key: str) -> bytes | None:
        """An HSM-wide metadata value, or ``None``."""

    def audit_records(self, start_seq: int = 1) -> Iterator[AuditRecord]:
        """Audit records with ``seq >= start_seq``, in stored order."""

    def last_audit(self) -> AuditRecord | None:
        """The newest audit record, or ``None``."""

    def snapshot(self) -> AbstractContextManager[StoreSnapshot]:
        """A consistent read-only view for as long as the ``with`` block lasts (backups)."""

    def integrity_check(self) -> None:
        """Raise ``StoreCorrupt`` if the backend's own consistency check fails."""

    def close(self) -> None:
        """Release the backend; later calls are errors."""

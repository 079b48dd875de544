"""In-memory raw store: the reference semantics every backend matches.

This module owns ``MemoryStore`` — a ``RawStore`` held in Python dicts, used by tests and
re-exported by ``strongroom.testing``. It applies the same argument checks as
``store.sqlite`` (``store._checks``), so the two backends raise the same error for the same
call. Writes are staged in the transaction object and applied under a lock when
the ``with`` block exits normally; readers always see the last committed state. Like every
backend it keeps only what the raw-store contract allows (verifiers, sealed blobs) and must
not import crypto or interpret the bytes it holds.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from strongroom.errors import StorageError, StoreCorrupt
from strongroom.store._checks import (
    INT64_MAX,
    SCHEMA_VERSION,
    STORE_MAGIC,
    check_audit_record,
    check_meta,
    check_object_record,
    check_shares,
    check_user_record,
    lookup_int,
    lookup_query,
    lookup_text,
    matches,
)
from strongroom.store.api import (
    FORMAT_META_KEYS,
    AuditRecord,
    ObjectQuery,
    ObjectRecord,
    StoreSnapshot,
    StoreTransaction,
    UserRecord,
)

__all__ = ["MemoryStore"]

# --- the in-memory store --------------------------------------------------------------------


class MemoryStore:
    """A ``RawStore`` held in memory with exactly the SQLite backend's semantics; for tests.

    Nothing survives the process. Transactions are serialised by a lock; a second
    ``transaction()`` in the thread that already holds one raises ``StorageError`` instead of
    deadlocking.
    """

    def __init__(self) -> None:
        self._objects: dict[int, ObjectRecord] = {}
        self._shares: dict[int, frozenset[int]] = {}  # handle -> users; empty sets not kept
        self._users: dict[int, UserRecord] = {}
        self._meta: dict[str, bytes] = {
            "magic": STORE_MAGIC,
            "schema_version": str(SCHEMA_VERSION).encode("ascii"),
        }
        self._audit: list[AuditRecord] = []
        self._last_handle = 0
        self._last_user_id = 0
        self._state_lock = threading.Lock()  # guards reads against a commit being applied
        self._write_lock = threading.Lock()  # one transaction at a time
        self._writer_thread: int | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"MemoryStore(objects={len(self._objects)}, users={len(self._users)})"

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError("the store is closed")

    # --- transactions ---

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[StoreTransaction]:
        """Open a write transaction; it commits when the ``with`` block exits normally."""
        self._check_open()
        if self._writer_thread == threading.get_ident():
            raise StorageError("a transaction is already open in this thread")
        with self._write_lock:
            self._check_open()
            self._writer_thread = threading.get_ident()
            txn = _MemoryTransaction(self)
            try:
                yield txn
                txn.finish()
                self._apply(txn)
            finally:
                txn.finish()
                self._writer_thread = None

    def _apply(self, txn: _MemoryTransaction) -> None:
        with self._state_lock:
            for handle, record in txn.objects.items():
                if record is None:
                    self._objects.pop(handle, None)
                else:
                    self._objects[handle] = record
            for handle, user_ids in txn.shares.items():
                if user_ids:
                    self._shares[handle] = user_ids
                else:
                    self._shares.pop(handle, None)
            for user_id, user in txn.users.items():
                if user is None:
                    self._users.pop(user_id, None)
                else:
                    self._users[user_id] = user
            for key in txn.meta_deleted:
                self._meta.pop(key, None)
            self._meta.update(txn.meta)
            self._audit.extend(txn.audit)
            self._last_handle = txn.last_handle
            self._last_user_id = txn.last_user_id

    # --- reads ---

    def get_object(self, handle: int) -> ObjectRecord | None:
        """The object with this handle, or ``None``."""
        self._check_open()
        lookup_int(handle, "handle")
        with self._state_lock:
            return self._objects.get(handle)

    def find_objects(self, query: ObjectQuery) -> list[int]:
        """Handles of objects matching every non-``None`` field, in ascending order."""
        self._check_open()
        if not lookup_query(query):
            return []
        with self._state_lock:
            return sorted(h for h, record in self._objects.items() if matches(record, query))

    def iter_objects(self) -> Iterator[ObjectRecord]:
        """Every object, in handle order."""
        self._check_open()
        with self._state_lock:
            snapshot = [self._objects[h] for h in sorted(self._objects)]
        return self._iterate(snapshot)

    def _iterate(self, records: list[ObjectRecord]) -> Iterator[ObjectRecord]:
        for record in records:
            self._check_open()
            yield record

    def count_objects(self) -> int:
        """Number of token objects."""
        self._check_open()
        with self._state_lock:
            return len(self._objects)

    def get_shares(self, handle: int) -> frozenset[int]:
        """User ids the object is shared with."""
        self._check_open()
        lookup_int(handle, "handle")
        with self._state_lock:
            return self._shares.get(handle, frozenset())

    def handles_shared_with(self, user_id: int) -> list[int]:
        """Handles of objects shared with this user, ascending."""
        self._check_open()
        lookup_int(user_id, "user_id")
        with self._state_lock:
            return sorted(h for h, users in self._shares.items() if user_id in users)

    def get_user(self, user_id: int) -> UserRecord | None:
        """The user with this id, or ``None``."""
        self._check_open()
        lookup_int(user_id, "user_id")
        with self._state_lock:
            return self._users.get(user_id)

    def get_user_by_name(self, username: str) -> UserRecord | None:
        """The user with this (already lower-cased) name, or ``None``."""
        self._check_open()
        lookup_text(username, "username")
        with self._state_lock:
            for user in self._users.values():
                if user.username == username:
                    return user
        return None

    def list_users(self) -> list[UserRecord]:
        """Every user, by user id."""
        self._check_open()
        with self._state_lock:
            return [self._users[u] for u in sorted(self._users)]

    def get_meta(self, key: str) -> bytes | None:
        """An HSM-wide metadata value, or ``None``."""
        self._check_open()
        lookup_text(key, "meta key")
        with self._state_lock:
            return self._meta.get(key)

    def audit_records(self, start_seq: int = 1) -> Iterator[AuditRecord]:
        """Audit records with ``seq >= start_seq``, in stored order."""
        self._check_open()
        lookup_int(start_seq, "start_seq")
        return self._iterate_audit(max(start_seq, 1))

    def _iterate_audit(self, start_seq: int) -> Iterator[AuditRecord]:
        # Seqs are 1, 2, 3… by the append rule, so record n sits at index n - 1. The list is
        # only ever appended to, so reading by index needs no snapshot.
        index = start_seq - 1
        while True:
            self._check_open()
            with self._state_lock:
                if index >= len(self._audit):
                    return
                record = self._audit[index]
            yield record
            index += 1

    def last_audit(self) -> AuditRecord | None:
        """The newest audit record, or ``None``."""
        self._check_open()
        with self._state_lock:
            return self._audit[-1] if self._audit else None

    @contextmanager
    def snapshot(self) -> Iterator[StoreSnapshot]:
        """A consistent read-only view: a copy of the committed state, taken at once."""
        self._check_open()
        with self._state_lock:
            snap = _MemorySnapshot(
                objects=[
                    (self._objects[h], self._shares.get(h, frozenset()))
                    for h in sorted(self._objects)
                ],
                users=[self._users[u] for u in sorted(self._users)],
                meta={k: v for k, v in self._meta.items() if k not in FORMAT_META_KEYS},
                counters=(self._last_handle, self._last_user_id),
                last_audit=self._audit[-1] if self._audit else None,
            )
        yield snap

    def integrity_check(self) -> None:
        """Raise ``StoreCorrupt`` if the in-memory invariants do not hold."""
        self._check_open()
        with self._state_lock:
            if any(h not in self._objects for h in self._shares):
                raise StoreCorrupt("a share refers to a missing object")
            if any(not users <= self._users.keys() for users in self._shares.values()):
                raise StoreCorrupt("a share refers to a missing user")
            if self._objects and max(self._objects) > self._last_handle:
                raise StoreCorrupt("the handle counter is behind the stored objects")
            if self._users and max(self._users) > self._last_user_id:
                raise StoreCorrupt("the user-id counter is behind the stored users")
            if any(r.seq != i for i, r in enumerate(self._audit, start=1)):
                raise StoreCorrupt("the audit log has a gap")
            names = [u.username for u in self._users.values()]
            if len(set(names)) != len(names):
                raise StoreCorrupt("two users share a username")

    def close(self) -> None:
        """Release the store; later calls raise ``StorageError`` (closing twice is allowed)."""
        if self._writer_thread == threading.get_ident():
            raise StorageError("close() called inside a transaction")
        with self._write_lock, self._state_lock:
            self._closed = True


class _MemorySnapshot:
    """A ``StoreSnapshot`` over copied lists (records are immutable, so copies are cheap)."""

    __slots__ = ("_counters", "_last_audit", "_meta", "_objects", "_users")

    def __init__(
        self,
        *,
        objects: list[tuple[ObjectRecord, frozenset[int]]],
        users: list[UserRecord],
        meta: dict[str, bytes],
        counters: tuple[int, int],
        last_audit: AuditRecord | None,
    ) -> None:
        self._objects = objects
        self._users = users
        self._meta = meta
        self._counters = counters
        self._last_audit = last_audit

    def objects(self) -> Iterator[tuple[ObjectRecord, frozenset[int]]]:
        """Every object with its shares, in handle order."""
        return iter(self._objects)

    def count_objects(self) -> int:
        """Number of objects."""
        return len(self._objects)

    def users(self) -> list[UserRecord]:
        """Every user, by user id."""
        return list(self._users)

    def meta(self) -> dict[str, bytes]:
        """Every meta value except the format's own keys."""
        return dict(self._meta)

    def counters(self) -> tuple[int, int]:
        """The last handle and user id handed out."""
        return self._counters

    def last_audit(self) -> AuditRecord | None:
        """The newest audit record, or ``None``."""
        return self._last_audit


class _MemoryTransaction:
    """Staged writes of one ``MemoryStore`` transaction; reads see staged-over-committed."""

    def __init__(self, store: MemoryStore) -> None:
        # Only the thread holding the store's write lock mutates committed state, and that is
        # this transaction's thread, so reading the store's dicts here needs no other lock.
        self._store = store
        self._finished = False
        self.objects: dict[int, ObjectRecord | None] = {}
        self.shares: dict[int, frozenset[int]] = {}
        self.users: dict[int, UserRecord | None] = {}
        self.meta: dict[str, bytes] = {}
        self.meta_deleted: set[str] = set()
        self.audit: list[AuditRecord] = []
        self.last_handle = store._last_handle
        self.last_user_id = store._last_user_id

    def __repr__(self) -> str:
        return f"_MemoryTransaction(finished={self._finished})"

    def finish(self) -> None:
        self._finished = True

    def _check_live(self) -> None:
        if self._finished:
            raise StorageError("the transaction is finished")

    def _object(self, handle: int) -> ObjectRecord | None:
        if handle in self.objects:
            return self.objects[handle]
        return self._store._objects.get(handle)

    def _user(self, user_id: int) -> UserRecord | None:
        if user_id in self.users:
            return self.users[user_id]
        return self._store._users.get(user_id)

    def _shares_of(self, handle: int) -> frozenset[int]:
        if handle in self.shares:
            return self.shares[handle]
        return self._store._shares.get(handle, frozenset())

    def allocate_handle(self) -> int:
        """Return a fresh token-object handle (never reused, even after a crash)."""
        self._check_live()
        if self.last_handle >= INT64_MAX:
            raise StorageError("the handle space is exhausted")
        self.last_handle += 1
        return self.last_handle

    def allocate_user_id(self) -> int:
        """Return a fresh user id (never reused)."""
        self._check_live()
        if self.last_user_id >= INT64_MAX:
            raise StorageError("the user-id space is exhausted")
        self.last_user_id += 1
        return self.last_user_id

    def put_object(self, record: ObjectRecord) -> None:
        """Insert or replace the object with ``record.handle``; its shares are kept."""
        self._check_live()
        check_object_record(record)
        self.objects[record.handle] = record
        self.last_handle = max(self.last_handle, record.handle)

    def delete_object(self, handle: int) -> None:
        """Delete the object and its shares; a missing handle is not an error."""
        self._check_live()
        if not lookup_int(handle, "handle"):
            return
        self.objects[handle] = None
        self.shares[handle] = frozenset()

    def set_shares(self, handle: int, user_ids: frozenset[int]) -> None:
        """Replace the set of users the object is shared with."""
        self._check_live()
        check_shares(handle, user_ids)
        if self._object(handle) is None:
            raise StorageError("cannot share an object that does not exist")
        if any(self._user(user_id) is None for user_id in user_ids):
            raise StorageError("cannot share with a user that does not exist")
        self.shares[handle] = frozenset(user_ids)

    def put_user(self, record: UserRecord) -> None:
        """Insert or replace the user with ``record.user_id``; usernames stay unique."""
        self._check_live()
        check_user_record(record)
        user_ids = (self._store._users.keys() | self.users.keys()) - {record.user_id}
        for user_id in user_ids:
            other = self._user(user_id)
            if other is not None and other.username == record.username:
                raise StorageError("another user already has this username")
        self.users[record.user_id] = record
        self.last_user_id = max(self.last_user_id, record.user_id)

    def delete_user(self, user_id: int) -> None:
        """Delete the user and remove it from every share list."""
        self._check_live()
        if not lookup_int(user_id, "user_id"):
            return
        for handle in self._store._shares.keys() | self.shares.keys():
            users = self._shares_of(handle)
            if user_id in users:
                self.shares[handle] = users - {user_id}
        self.users[user_id] = None

    def set_meta(self, key: str, value: bytes) -> None:
        """Set an HSM-wide metadata value."""
        self._check_live()
        check_meta(key, value)
        self.meta[key] = value
        self.meta_deleted.discard(key)

    def clear_state(self, keep_meta: frozenset[str]) -> None:
        """Delete every object, share, user and meta value not in ``keep_meta``."""
        self._check_live()
        for handle in self._store._objects.keys() | self.objects.keys():
            self.objects[handle] = None
            self.shares[handle] = frozenset()
        for user_id in self._store._users.keys() | self.users.keys():
            self.users[user_id] = None
        for key in self._store._meta.keys() | self.meta.keys():
            if key not in keep_meta and key not in FORMAT_META_KEYS:
                self.meta.pop(key, None)
                self.meta_deleted.add(key)

    def raise_counters(self, last_handle: int, last_user_id: int) -> None:
        """Advance the allocation counters to at least these values (never back)."""
        self._check_live()
        lookup_int(last_handle, "handle")
        lookup_int(last_user_id, "user_id")
        self.last_handle = max(self.last_handle, last_handle)
        self.last_user_id = max(self.last_user_id, last_user_id)

    def append_audits(self, records: Sequence[AuditRecord]) -> None:
        """Append consecutive audit records at once; the first's seq is the last seq + 1."""
        for record in records:
            self.append_audit(record)

    def append_audit(self, record: AuditRecord) -> None:
        """Append an audit record; ``record.seq`` must be the last seq + 1."""
        self._check_live()
        check_audit_record(record)
        if self.audit:
            last = self.audit[-1].seq
        else:
            last = self._store._audit[-1].seq if self._store._audit else 0
        if record.seq != last + 1:
            raise StorageError("audit record out of sequence: seq must be the last seq + 1")
        self.audit.append(record)

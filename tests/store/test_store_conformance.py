"""Conformance suite for ``RawStore``: every test runs against the SQLite and memory backends.

Like OpenBao's ExerciseBackend, one suite pins down the contract and each backend must pass
it unchanged; SQLite-only behaviour (files, durability, query plans) lives in
``test_store_sqlite.py``.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from strongroom.errors import ArgumentsBad, StorageError
from strongroom.store.api import (
    AuditRecord,
    ObjectQuery,
    ObjectRecord,
    RawStore,
    StoreTransaction,
    UserRecord,
)
from strongroom.store.memory import MemoryStore
from strongroom.store.sqlite import SQLiteStore

from .store_records import make_audit, make_object, make_user, observable_state

BACKENDS = ["sqlite", "memory"]


def open_store(kind: str, directory: Path) -> RawStore:
    """A fresh backend of ``kind``."""
    if kind == "sqlite":
        return SQLiteStore(directory / "store.db")
    return MemoryStore()


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RawStore]:
    """A fresh, empty store of each backend kind."""
    backend = open_store(request.param, tmp_path)
    yield backend
    backend.close()


def add_users(store: RawStore, *names: str) -> list[int]:
    """Commit one user per name and return their ids."""
    ids = []
    with store.transaction() as tx:
        for name in names:
            user_id = tx.allocate_user_id()
            tx.put_user(make_user(user_id, name))
            ids.append(user_id)
    return ids


def add_objects(store: RawStore, *records: ObjectRecord) -> None:
    """Commit the given object records."""
    with store.transaction() as tx:
        for record in records:
            tx.put_object(record)


def state(store: RawStore) -> dict[str, object]:
    """The observable state over small id ranges (enough for these tests)."""
    return observable_state(
        store,
        handles=range(12),
        user_ids=range(8),
        usernames=["alice", "bob", "carol", "dave"],
        meta_keys=["k", "new", "magic"],
        queries=[ObjectQuery(), ObjectQuery(owner=1), ObjectQuery(label="key-1")],
    )


# --- fresh store -------------------------------------------------------------------------------


def test_fresh_store_is_empty(store: RawStore) -> None:
    """A new store holds no objects, users, shares or audit records."""
    assert store.count_objects() == 0
    assert list(store.iter_objects()) == []
    assert store.find_objects(ObjectQuery()) == []
    assert store.list_users() == []
    assert store.get_object(1) is None
    assert store.get_user(1) is None
    assert store.get_user_by_name("alice") is None
    assert store.get_shares(1) == frozenset()
    assert store.handles_shared_with(1) == []
    assert list(store.audit_records()) == []
    assert store.last_audit() is None
    assert store.get_meta("anything") is None


def test_format_meta_rows_are_readable(store: RawStore) -> None:
    """Both backends expose the format's magic and schema_version meta rows."""
    assert store.get_meta("magic") == b"strongroom-store"
    assert store.get_meta("schema_version") == b"1"


def test_integrity_check_passes_on_fresh_and_populated_store(store: RawStore) -> None:
    """``integrity_check`` is silent on a fresh store and on one with every kind of row."""
    store.integrity_check()
    (alice,) = add_users(store, "alice")
    with store.transaction() as tx:
        handle = tx.allocate_handle()
        tx.put_object(make_object(handle, owner=alice))
        tx.set_shares(handle, frozenset({alice}))
        tx.set_meta("k", b"v")
        tx.append_audit(make_audit(1))
    store.integrity_check()


# --- objects -----------------------------------------------------------------------------------

ROUND_TRIP_OBJECTS = [
    make_object(1),
    make_object(2, key_type=None, sealed=None, private=False, ckid=b"", label=""),
    make_object(3, label="ключ 🔑 with\x00nul", public=b"", object_class=0x80000001),
    make_object(2**63 - 1, owner=0, key_type=0, object_class=0),
]


@pytest.mark.parametrize("record", ROUND_TRIP_OBJECTS, ids=lambda r: str(r.handle))
def test_object_round_trips_exactly(store: RawStore, record: ObjectRecord) -> None:
    """An object comes back field-for-field equal, as an ``ObjectRecord`` with a bool flag."""
    add_objects(store, record)
    got = store.get_object(record.handle)
    assert got == record
    assert type(got) is ObjectRecord
    assert type(got.private) is bool
    assert list(store.iter_objects()) == [record]


def test_put_object_replaces_and_keeps_shares(store: RawStore) -> None:
    """Putting an existing handle replaces every field and leaves its share list alone."""
    (alice,) = add_users(store, "alice")
    add_objects(store, make_object(1))
    with store.transaction() as tx:
        tx.set_shares(1, frozenset({alice}))
    replacement = make_object(1, label="renamed", sealed=None, key_type=None, owner=7)
    add_objects(store, replacement)
    assert store.get_object(1) == replacement
    assert store.count_objects() == 1
    assert store.get_shares(1) == frozenset({alice})


def test_delete_object_removes_it_and_its_shares(store: RawStore) -> None:
    """Deleting an object removes it, its shares, and it stops matching finds."""
    (alice,) = add_users(store, "alice")
    add_objects(store, make_object(1), make_object(2))
    with store.transaction() as tx:
        tx.set_shares(1, frozenset({alice}))
        tx.set_shares(2, frozenset({alice}))
    with store.transaction() as tx:
        tx.delete_object(1)
    assert store.get_object(1) is None
    assert store.get_shares(1) == frozenset()
    assert store.handles_shared_with(alice) == [2]
    assert store.find_objects(ObjectQuery(label="key-1")) == []
    assert store.count_objects() == 1
    add_objects(store, make_object(1))
    assert store.get_shares(1) == frozenset(), "a re-created handle must not inherit shares"


def test_delete_missing_object_is_not_an_error(store: RawStore) -> None:
    """Deleting a handle that does not exist (or cannot exist) does nothing."""
    add_objects(store, make_object(1))
    with store.transaction() as tx:
        tx.delete_object(99)
        tx.delete_object(2**70)
        tx.delete_object(-3)
    assert store.count_objects() == 1


def test_iter_objects_and_count_cover_many_objects_in_handle_order(store: RawStore) -> None:
    """``iter_objects`` yields every object in handle order, past any internal batch size."""
    handles = list(range(1, 1301))
    random.Random(7).shuffle(handles)
    add_objects(store, *(make_object(h) for h in handles))
    assert [r.handle for r in store.iter_objects()] == sorted(handles)
    assert store.count_objects() == 1300
    assert store.find_objects(ObjectQuery()) == sorted(handles)


# Handle, object_class, key_type, label, ckid, owner.
FIND_ROWS = [
    (1, 4, 0x1F, "alpha", b"\x01", 1),
    (2, 4, 0x1F, "beta", b"\x02", 1),
    (3, 3, 0x00, "alpha", b"\x01", 2),
    (4, 2, 0x00, "alpha", b"\x01", 2),
    (5, 0, None, "data", b"", 3),
    (6, 4, 0x10, "", b"", 1),
]

FIND_CASES: list[tuple[ObjectQuery, list[int]]] = [
    (ObjectQuery(), [1, 2, 3, 4, 5, 6]),
    (ObjectQuery(label="alpha"), [1, 3, 4]),
    (ObjectQuery(label=""), [6]),
    (ObjectQuery(label="ALPHA"), []),
    (ObjectQuery(ckid=b"\x01"), [1, 3, 4]),
    (ObjectQuery(ckid=b""), [5, 6]),
    (ObjectQuery(owner=1), [1, 2, 6]),
    (ObjectQuery(owner=2), [3, 4]),
    (ObjectQuery(owner=999), []),
    (ObjectQuery(object_class=4), [1, 2, 6]),
    (ObjectQuery(object_class=0), [5]),
    (ObjectQuery(key_type=0x00), [3, 4]),
    (ObjectQuery(key_type=0x10), [6]),
    (ObjectQuery(object_class=4, key_type=0x1F), [1, 2]),
    (ObjectQuery(label="alpha", owner=2), [3, 4]),
    (ObjectQuery(label="alpha", object_class=3), [3]),
    (ObjectQuery(ckid=b"\x01", object_class=4), [1]),
    (ObjectQuery(ckid=b"\x01", label="alpha", owner=2, object_class=2, key_type=0), [4]),
    (ObjectQuery(ckid=b"", label=""), [6]),
    (ObjectQuery(ckid=b"", owner=3), [5]),
    (ObjectQuery(object_class=4, key_type=0x1F, owner=1, label="beta"), [2]),
    (ObjectQuery(label="alpha", ckid=b"\x02"), []),
    (ObjectQuery(owner=2**64), []),
    (ObjectQuery(object_class=-1), []),
]


@pytest.mark.parametrize(("query", "expected"), FIND_CASES, ids=repr)
def test_find_objects_matches_every_given_field(
    store: RawStore, query: ObjectQuery, expected: list[int]
) -> None:
    """``find_objects`` returns, ascending, exactly the handles matching every non-None field."""
    add_objects(
        store,
        *(
            make_object(h, object_class=c, key_type=k, label=label, ckid=ckid, owner=owner)
            for h, c, k, label, ckid, owner in reversed(FIND_ROWS)
        ),
    )
    assert store.find_objects(query) == expected


# --- shares ------------------------------------------------------------------------------------


def test_set_shares_replaces_the_share_list(store: RawStore) -> None:
    """``set_shares`` replaces the whole list; an empty set clears it."""
    alice, bob, carol = add_users(store, "alice", "bob", "carol")
    add_objects(store, make_object(1), make_object(2), make_object(3))
    with store.transaction() as tx:
        tx.set_shares(3, frozenset({alice, bob}))
        tx.set_shares(1, frozenset({alice}))
    assert store.get_shares(3) == frozenset({alice, bob})
    assert store.handles_shared_with(alice) == [1, 3]
    assert store.handles_shared_with(bob) == [3]
    with store.transaction() as tx:
        tx.set_shares(3, frozenset({carol}))
    assert store.get_shares(3) == frozenset({carol})
    assert store.handles_shared_with(alice) == [1]
    assert store.handles_shared_with(bob) == []
    with store.transaction() as tx:
        tx.set_shares(1, frozenset())
    assert store.get_shares(1) == frozenset()
    assert store.handles_shared_with(alice) == []


def test_shares_can_be_set_on_an_object_created_in_the_same_transaction(store: RawStore) -> None:
    """``put_object`` then ``set_shares`` in one transaction works (the engine's order)."""
    (alice,) = add_users(store, "alice")
    with store.transaction() as tx:
        handle = tx.allocate_handle()
        tx.put_object(make_object(handle))
        tx.set_shares(handle, frozenset({alice}))
    assert store.get_shares(handle) == frozenset({alice})


def test_set_shares_refuses_a_missing_object_or_user(store: RawStore) -> None:
    """Sharing a missing object, or with a missing user, raises ``StorageError``."""
    (alice,) = add_users(store, "alice")
    add_objects(store, make_object(1))
    with store.transaction() as tx:
        with pytest.raises(StorageError, match="object that does not exist"):
            tx.set_shares(2, frozenset({alice}))
        with pytest.raises(StorageError, match="user that does not exist"):
            tx.set_shares(1, frozenset({alice, 42}))
        tx.set_shares(1, frozenset({alice}))  # the transaction is still usable
    assert store.get_shares(1) == frozenset({alice})


def test_delete_user_removes_it_from_share_lists_and_keeps_owned_objects(store: RawStore) -> None:
    """Deleting a user drops it from every share list; objects it owns are left alone."""
    alice, bob = add_users(store, "alice", "bob")
    add_objects(store, make_object(1, owner=alice), make_object(2, owner=bob))
    with store.transaction() as tx:
        tx.set_shares(1, frozenset({alice, bob}))
        tx.set_shares(2, frozenset({alice}))
    with store.transaction() as tx:
        tx.delete_user(alice)
    assert store.get_user(alice) is None
    assert store.get_user_by_name("alice") is None
    assert store.get_shares(1) == frozenset({bob})
    assert store.get_shares(2) == frozenset()
    assert store.handles_shared_with(alice) == []
    assert store.find_objects(ObjectQuery(owner=alice)) == [1]
    with store.transaction() as tx:
        tx.delete_user(alice)  # already gone: not an error
        tx.delete_user(2**70)


# --- users -------------------------------------------------------------------------------------


def test_user_round_trip_lookup_and_listing(store: RawStore) -> None:
    """Users come back equal, by id and by exact name, and ``list_users`` is by id."""
    admin = make_user(2, "admin", role="admin", wrapped_storage_key=b"\x00wrapped")
    bob = make_user(1, "bob", failed_logins=3)
    with store.transaction() as tx:
        tx.put_user(admin)
        tx.put_user(bob)
    assert store.get_user(2) == admin
    assert type(store.get_user(2)) is UserRecord
    assert store.get_user_by_name("admin") == admin
    assert store.get_user_by_name("Admin") is None, "names are matched exactly"
    assert store.list_users() == [bob, admin]


def test_put_user_replaces_the_same_user_id(store: RawStore) -> None:
    """Putting an existing user id replaces its record (same name allowed)."""
    add_users(store, "alice")
    updated = make_user(1, "alice", failed_logins=5, wrapped_storage_key=b"slot")
    with store.transaction() as tx:
        tx.put_user(updated)
    assert store.list_users() == [updated]


def test_duplicate_username_raises_storage_error_without_leaking_it(store: RawStore) -> None:
    """A username held by another user id is refused with ``StorageError`` naming no value."""
    add_users(store, "secretname")
    with store.transaction() as tx:
        with pytest.raises(StorageError) as caught:
            tx.put_user(make_user(2, "secretname"))
        tx.put_user(make_user(3, "other"))  # the transaction is still usable
    assert "secretname" not in str(caught.value)
    assert [u.username for u in store.list_users()] == ["secretname", "other"]
    assert store.get_user_by_name("secretname") == make_user(1, "secretname")


def test_renaming_a_user_frees_the_old_name(store: RawStore) -> None:
    """After a rename, even within the same transaction, another user may take the old name."""
    add_users(store, "alice")
    with store.transaction() as tx:
        tx.put_user(make_user(1, "alicia"))
        tx.put_user(make_user(2, "alice"))
    assert store.get_user_by_name("alice") == make_user(2, "alice")
    assert store.get_user_by_name("alicia") == make_user(1, "alicia")


def test_deleted_users_name_can_be_reused(store: RawStore) -> None:
    """A deleted user's name is free for a new user id."""
    add_users(store, "alice")
    with store.transaction() as tx:
        tx.delete_user(1)
        tx.put_user(make_user(tx.allocate_user_id(), "alice"))
    assert store.get_user_by_name("alice") == make_user(2, "alice")


# --- meta --------------------------------------------------------------------------------------


def test_meta_set_get_and_replace(store: RawStore) -> None:
    """``set_meta`` stores bytes under a key and a later set replaces them."""
    with store.transaction() as tx:
        tx.set_meta("policy", b"\xa0")
        tx.set_meta("empty", b"")
    assert store.get_meta("policy") == b"\xa0"
    assert store.get_meta("empty") == b""
    with store.transaction() as tx:
        tx.set_meta("policy", b"\xa1\x01\xf5")
    assert store.get_meta("policy") == b"\xa1\x01\xf5"


@pytest.mark.parametrize("key", ["magic", "schema_version"])
def test_format_meta_keys_cannot_be_overwritten(store: RawStore, key: str) -> None:
    """The format's own meta keys are reserved: ``set_meta`` refuses them."""
    with store.transaction() as tx, pytest.raises(ArgumentsBad):
        tx.set_meta(key, b"x")
    assert store.get_meta("magic") == b"strongroom-store"


# --- audit -------------------------------------------------------------------------------------


def test_audit_append_iterate_and_last(store: RawStore) -> None:
    """Audit records come back in seq order, from any start, and ``last_audit`` is the newest."""
    with store.transaction() as tx:
        for seq in (1, 2, 3):
            tx.append_audit(make_audit(seq))
    with store.transaction() as tx:
        tx.append_audit(make_audit(4, details=b"", event="other"))
    assert list(store.audit_records()) == [make_audit(s) for s in (1, 2, 3)] + [
        make_audit(4, details=b"", event="other")
    ]
    assert [r.seq for r in store.audit_records(3)] == [3, 4]
    assert [r.seq for r in store.audit_records(-10)] == [1, 2, 3, 4]
    assert list(store.audit_records(5)) == []
    assert list(store.audit_records(2**70)) == []
    assert store.last_audit() == make_audit(4, details=b"", event="other")
    assert type(store.last_audit()) is AuditRecord


def test_audit_iteration_spans_many_records(store: RawStore) -> None:
    """Iterating a log longer than any internal batch yields every record once, in order."""
    with store.transaction() as tx:
        for seq in range(1, 1201):
            tx.append_audit(make_audit(seq))
    assert [r.seq for r in store.audit_records()] == list(range(1, 1201))
    assert [r.seq for r in store.audit_records(600)] == list(range(600, 1201))


@pytest.mark.parametrize(
    ("committed", "attempt"),
    [((), 2), ((), 5), ((1, 2), 2), ((1, 2), 4), ((1, 2), 1)],
    ids=["first-not-1", "gap-from-empty", "repeat", "gap", "backwards"],
)
def test_audit_seq_must_be_last_plus_one(
    store: RawStore, committed: tuple[int, ...], attempt: int
) -> None:
    """``append_audit`` refuses any seq other than last + 1 with ``StorageError``."""
    with store.transaction() as tx:
        for seq in committed:
            tx.append_audit(make_audit(seq))
    with store.transaction() as tx, pytest.raises(StorageError, match="out of sequence"):
        tx.append_audit(make_audit(attempt))
    assert [r.seq for r in store.audit_records()] == list(committed)


def test_audit_seq_rule_counts_records_staged_in_the_same_transaction(store: RawStore) -> None:
    """Within one transaction the seq rule sees earlier appends; a refusal can be caught."""
    with store.transaction() as tx:
        tx.append_audit(make_audit(1))
        with pytest.raises(StorageError):
            tx.append_audit(make_audit(1))
        tx.append_audit(make_audit(2))
    assert [r.seq for r in store.audit_records()] == [1, 2]


# --- allocation --------------------------------------------------------------------------------


def test_handles_start_at_one_and_never_repeat(store: RawStore) -> None:
    """Handles are 1, 2, 3… and a deleted object's handle is never handed out again."""
    with store.transaction() as tx:
        first = [tx.allocate_handle() for _ in range(3)]
        for handle in first:
            tx.put_object(make_object(handle))
    assert first == [1, 2, 3]
    with store.transaction() as tx:
        for handle in first:
            tx.delete_object(handle)
    with store.transaction() as tx:
        again = tx.allocate_handle()
    assert again == 4
    with store.transaction() as tx:
        assert tx.allocate_handle() == 5, "committed allocations are used up even if unused"


def test_user_ids_start_at_one_and_never_repeat(store: RawStore) -> None:
    """User ids are 1, 2, 3… and a deleted user's id is never handed out again."""
    alice, bob = add_users(store, "alice", "bob")
    assert (alice, bob) == (1, 2)
    with store.transaction() as tx:
        tx.delete_user(bob)
    (carol,) = add_users(store, "carol")
    assert carol == 3


def test_explicit_ids_advance_the_allocators(store: RawStore) -> None:
    """Putting a record with an id above the counter moves the counter past it."""
    with store.transaction() as tx:
        tx.put_object(make_object(100))
        tx.put_user(make_user(50, "restored"))
        assert tx.allocate_handle() == 101
        assert tx.allocate_user_id() == 51
    with store.transaction() as tx:
        tx.put_object(make_object(7))  # below the counter: the counter stays
        assert tx.allocate_handle() == 102


def test_transactions_from_many_threads_are_serialised(store: RawStore) -> None:
    """Concurrent transactions from several threads all commit with distinct handles."""
    allocated: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(10):
                with store.transaction() as tx:
                    handle = tx.allocate_handle()
                    tx.put_object(make_object(handle))
                allocated.append(handle)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(allocated) == list(range(1, 41))
    assert store.count_objects() == 40


# --- transactions ------------------------------------------------------------------------------


def populate(store: RawStore) -> None:
    """A small committed state touching every table."""
    alice, bob = add_users(store, "alice", "bob")
    with store.transaction() as tx:
        for _ in range(3):
            tx.put_object(make_object(tx.allocate_handle()))
        tx.set_shares(1, frozenset({alice, bob}))
        tx.set_meta("k", b"v")
        tx.append_audit(make_audit(1))


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_exception_in_transaction_rolls_back_everything(
    store: RawStore, error: type[BaseException]
) -> None:
    """Any exception leaves no write visible (objects, shares, users, meta, audit, counters)."""
    populate(store)
    before = state(store)
    raised = error("boom")
    allocated: dict[str, int] = {}

    def doomed() -> None:
        with store.transaction() as tx:
            allocated["handle"] = tx.allocate_handle()
            tx.put_object(make_object(allocated["handle"]))
            tx.put_object(make_object(1, label="changed"))
            tx.delete_object(2)
            tx.set_shares(1, frozenset({2}))
            allocated["user_id"] = tx.allocate_user_id()
            tx.put_user(make_user(allocated["user_id"], "carol"))
            tx.put_user(make_user(1, "alice", failed_logins=9))
            tx.delete_user(2)
            tx.set_meta("k", b"changed")
            tx.set_meta("new", b"x")
            tx.append_audit(make_audit(2))
            raise raised

    with pytest.raises(error) as caught:
        doomed()
    assert caught.value is raised, "the original exception propagates"
    assert state(store) == before
    with store.transaction() as tx:
        assert tx.allocate_handle() == allocated["handle"], "uncommitted allocations roll back"
        assert tx.allocate_user_id() == allocated["user_id"]
    store.integrity_check()


def test_uncaught_storage_error_rolls_back_the_transaction(store: RawStore) -> None:
    """A refused write that escapes the block rolls back the writes before it."""
    add_users(store, "alice")

    def doomed() -> None:
        with store.transaction() as tx:
            tx.put_object(make_object(tx.allocate_handle()))
            tx.put_user(make_user(2, "alice"))

    with pytest.raises(StorageError):
        doomed()
    assert store.count_objects() == 0
    assert [u.user_id for u in store.list_users()] == [1]


def test_reads_during_a_transaction_see_only_committed_state(store: RawStore) -> None:
    """Store reads inside an open transaction do not see its uncommitted writes."""
    with store.transaction() as tx:
        tx.put_object(make_object(1))
        tx.set_meta("k", b"v")
        assert store.get_object(1) is None
        assert store.count_objects() == 0
        assert store.get_meta("k") is None
    assert store.get_object(1) == make_object(1)


def test_finished_transaction_refuses_writes(store: RawStore) -> None:
    """Using a transaction object after its block has exited raises ``StorageError``."""
    with store.transaction() as tx:
        pass
    with pytest.raises(StorageError, match="finished"):
        tx.put_object(make_object(1))
    with pytest.raises(StorageError, match="finished"):
        tx.allocate_handle()
    assert store.count_objects() == 0


def test_nested_transaction_in_one_thread_raises_instead_of_deadlocking(store: RawStore) -> None:
    """Opening a second transaction in the same thread raises; the outer one still commits."""
    with store.transaction() as tx:
        tx.put_object(make_object(1))
        with pytest.raises(StorageError, match="already open"), store.transaction():
            pass  # pragma: no cover
        with pytest.raises(StorageError, match="inside a transaction"):
            store.close()
    assert store.count_objects() == 1


def test_readers_never_see_a_partial_transaction(store: RawStore) -> None:
    """Reader threads racing a writer only ever observe whole transactions."""
    done = threading.Event()
    errors: list[str] = []

    def reader() -> None:
        while not done.is_set():
            count = store.count_objects()
            owned = len(store.find_objects(ObjectQuery(owner=1)))
            if count % 2 or owned % 2:
                errors.append(f"saw {count} objects, {owned} owned")

    readers = [threading.Thread(target=reader) for _ in range(2)]
    for thread in readers:
        thread.start()
    try:
        for _ in range(40):
            with store.transaction() as tx:
                tx.put_object(make_object(tx.allocate_handle()))
                tx.put_object(make_object(tx.allocate_handle()))
    finally:
        done.set()
        for thread in readers:
            thread.join()
    assert errors == []
    assert store.count_objects() == 80


# --- misuse and closing ------------------------------------------------------------------------

BAD_WRITES: list[tuple[str, Callable[[Any], object]]] = [
    ("handle-0", lambda tx: tx.put_object(make_object(0))),
    ("handle-negative", lambda tx: tx.put_object(make_object(-1))),
    ("handle-too-big", lambda tx: tx.put_object(make_object(2**63))),
    ("handle-bool", lambda tx: tx.put_object(make_object(True))),
    ("class-negative", lambda tx: tx.put_object(make_object(1, object_class=-1))),
    ("class-too-big", lambda tx: tx.put_object(make_object(1, object_class=2**64))),
    ("key-type-str", lambda tx: tx.put_object(make_object(1, key_type="AES"))),
    ("label-bytes", lambda tx: tx.put_object(make_object(1, label=b"x"))),
    ("label-surrogate", lambda tx: tx.put_object(make_object(1, label="\ud800"))),
    ("ckid-str", lambda tx: tx.put_object(make_object(1, ckid="01"))),
    ("ckid-bytearray", lambda tx: tx.put_object(make_object(1, ckid=bytearray(b"1")))),
    ("owner-negative", lambda tx: tx.put_object(make_object(1, owner=-1))),
    ("private-int", lambda tx: tx.put_object(make_object(1, private=1))),
    ("public-none", lambda tx: tx.put_object(make_object(1, public=None))),
    ("sealed-str", lambda tx: tx.put_object(make_object(1, sealed="x"))),
    ("not-a-record", lambda tx: tx.put_object(make_user(1))),
    ("user-id-0", lambda tx: tx.put_user(make_user(0))),
    ("username-bytes", lambda tx: tx.put_user(make_user(1, username=b"a"))),
    ("role-none", lambda tx: tx.put_user(make_user(1, role=None))),
    ("verifier-str", lambda tx: tx.put_user(make_user(1, verifier="v"))),
    ("failed-logins-negative", lambda tx: tx.put_user(make_user(1, failed_logins=-1))),
    ("wrapped-key-str", lambda tx: tx.put_user(make_user(1, wrapped_storage_key="k"))),
    ("meta-key-bytes", lambda tx: tx.set_meta(b"k", b"v")),
    ("meta-value-str", lambda tx: tx.set_meta("k", "v")),
    ("audit-seq-0", lambda tx: tx.append_audit(make_audit(0))),
    ("audit-details-str", lambda tx: tx.append_audit(make_audit(1, details="x"))),
    ("audit-boot-negative", lambda tx: tx.append_audit(make_audit(1, boot=-1))),
    ("audit-not-a-record", lambda tx: tx.append_audit(make_object(1))),
    ("shares-list", lambda tx: tx.set_shares(1, [1])),
    ("shares-user-0", lambda tx: tx.set_shares(1, frozenset({0}))),
    ("shares-handle-0", lambda tx: tx.set_shares(0, frozenset())),
    ("delete-object-str", lambda tx: tx.delete_object("1")),
    ("delete-user-none", lambda tx: tx.delete_user(None)),
]


@pytest.mark.parametrize("write", [w for _, w in BAD_WRITES], ids=[n for n, _ in BAD_WRITES])
def test_malformed_writes_raise_arguments_bad_and_change_nothing(
    store: RawStore, write: Callable[[StoreTransaction], object]
) -> None:
    """A malformed write raises ``ArgumentsBad`` and leaves the transaction usable."""
    with store.transaction() as tx:
        tx.put_object(make_object(1))
        tx.put_user(make_user(1))
        with pytest.raises(ArgumentsBad):
            write(tx)
        tx.put_object(make_object(2))
    assert store.find_objects(ObjectQuery()) == [1, 2]
    assert store.list_users() == [make_user(1)]
    assert list(store.audit_records()) == []


def query(**fields: Any) -> ObjectQuery:
    """An ``ObjectQuery`` built without type checking, to hand backends malformed fields."""
    return ObjectQuery(**fields)


BAD_READS: list[tuple[str, Callable[[Any], object]]] = [
    ("get-object-str", lambda s: s.get_object("1")),
    ("get-object-float", lambda s: s.get_object(1.0)),
    ("get-object-bool", lambda s: s.get_object(True)),
    ("find-not-a-query", lambda s: s.find_objects({"label": "x"})),
    ("find-label-bytes", lambda s: s.find_objects(query(label=b"x"))),
    ("find-owner-str", lambda s: s.find_objects(query(owner="1"))),
    ("find-owner-bool", lambda s: s.find_objects(query(owner=True))),
    ("find-ckid-str", lambda s: s.find_objects(query(ckid="1"))),
    ("shares-none", lambda s: s.get_shares(None)),
    ("shared-with-str", lambda s: s.handles_shared_with("1")),
    ("get-user-str", lambda s: s.get_user("1")),
    ("by-name-bytes", lambda s: s.get_user_by_name(b"alice")),
    ("by-name-surrogate", lambda s: s.get_user_by_name("\udc80")),
    ("meta-none", lambda s: s.get_meta(None)),
    ("audit-start-str", lambda s: s.audit_records("1")),
]


@pytest.mark.parametrize("read", [r for _, r in BAD_READS], ids=[n for n, _ in BAD_READS])
def test_malformed_reads_raise_arguments_bad_eagerly(
    store: RawStore, read: Callable[[RawStore], object]
) -> None:
    """A malformed lookup raises ``ArgumentsBad`` at call time, not on first iteration."""
    with pytest.raises(ArgumentsBad):
        read(store)


def test_out_of_range_lookups_find_nothing(store: RawStore) -> None:
    """Ids no backend could store are simply not found."""
    add_objects(store, make_object(1))
    assert store.get_object(2**70) is None
    assert store.get_object(-1) is None
    assert store.get_shares(2**64) == frozenset()
    assert store.handles_shared_with(-(2**70)) == []
    assert store.get_user(2**65) is None


CLOSED_CALLS: list[tuple[str, Callable[[Any], object]]] = [
    ("transaction", lambda s: s.transaction().__enter__()),
    ("get_object", lambda s: s.get_object(1)),
    ("find_objects", lambda s: s.find_objects(ObjectQuery())),
    ("iter_objects", lambda s: s.iter_objects()),
    ("count_objects", lambda s: s.count_objects()),
    ("get_shares", lambda s: s.get_shares(1)),
    ("handles_shared_with", lambda s: s.handles_shared_with(1)),
    ("get_user", lambda s: s.get_user(1)),
    ("get_user_by_name", lambda s: s.get_user_by_name("a")),
    ("list_users", lambda s: s.list_users()),
    ("get_meta", lambda s: s.get_meta("k")),
    ("audit_records", lambda s: s.audit_records()),
    ("last_audit", lambda s: s.last_audit()),
    ("integrity_check", lambda s: s.integrity_check()),
]


@pytest.mark.parametrize("call", [c for _, c in CLOSED_CALLS], ids=[n for n, _ in CLOSED_CALLS])
def test_closed_store_refuses_every_call(
    store: RawStore, call: Callable[[RawStore], object]
) -> None:
    """After ``close()`` every method raises ``StorageError``; closing again is allowed."""
    store.close()
    with pytest.raises(StorageError, match="closed"):
        call(store)
    store.close()


def test_iterators_stop_with_storage_error_when_the_store_closes(store: RawStore) -> None:
    """An iterator still being consumed when the store closes raises ``StorageError``."""
    add_objects(store, *(make_object(h) for h in range(1, 1100)))
    objects = store.iter_objects()
    next(objects)
    store.close()
    with pytest.raises(StorageError):
        list(objects)


# --- snapshots, clearing and counters (backup and restore) ------------------------------------


def _populate_for_snapshot(store: RawStore) -> tuple[int, int]:
    alice, bob = add_users(store, "alice", "bob")
    with store.transaction() as tx:
        h1, h2 = tx.allocate_handle(), tx.allocate_handle()
        tx.put_object(make_object(h1, owner=alice))
        tx.put_object(make_object(h2, owner=alice))
        tx.set_shares(h1, frozenset({bob}))
        tx.set_meta("policy", b"p")
        tx.append_audit(make_audit(1))
    return h1, h2


def test_snapshot_sees_one_moment_while_writes_go_on(store: RawStore) -> None:
    """A snapshot keeps showing the state it started with while later commits land."""
    h1, h2 = _populate_for_snapshot(store)
    with store.snapshot() as snap:
        with store.transaction() as tx:
            tx.delete_object(h2)
            tx.set_meta("policy", b"changed")
            tx.put_object(make_object(tx.allocate_handle(), owner=1))
        objects = list(snap.objects())
        assert [record.handle for record, _ in objects] == [h1, h2]
        assert objects[0][1] == frozenset({2})
        assert objects[1][1] == frozenset()
        assert snap.count_objects() == 2
        assert [u.username for u in snap.users()] == ["alice", "bob"]
        assert snap.meta() == {"policy": b"p"}
        assert snap.counters() == (2, 2)
        last = snap.last_audit()
        assert last is not None
        assert last.seq == 1
    assert store.count_objects() == 2  # h1 and the new one


def test_snapshot_of_many_objects_keeps_shares_with_their_objects(store: RawStore) -> None:
    """Objects beyond one read batch come back in order, each with its own shares."""
    (alice, bob) = add_users(store, "alice", "bob")
    with store.transaction() as tx:
        for i in range(1, 1301):
            tx.put_object(make_object(i, owner=alice))
            if i % 7 == 0:
                tx.set_shares(i, frozenset({bob}))
    with store.snapshot() as snap:
        seen = list(snap.objects())
    assert [r.handle for r, _ in seen] == list(range(1, 1301))
    assert all((shares == frozenset({bob})) == (r.handle % 7 == 0) for r, shares in seen)


def test_clear_state_keeps_audit_counters_and_chosen_meta(store: RawStore) -> None:
    """clear_state empties objects, shares, users and unkept meta in one transaction."""
    _populate_for_snapshot(store)
    with store.transaction() as tx:
        tx.set_meta("hsm_id", b"keep me")
    with store.transaction() as tx:
        tx.clear_state(frozenset({"hsm_id"}))
        tx.put_user(make_user(7, "carol"))
    assert store.count_objects() == 0
    assert [u.username for u in store.list_users()] == ["carol"]
    assert store.get_meta("policy") is None
    assert store.get_meta("hsm_id") == b"keep me"
    assert store.get_meta("magic") is not None
    assert [r.seq for r in store.audit_records()] == [1]
    with store.transaction() as tx:
        assert tx.allocate_handle() == 3  # counters never go back
        assert tx.allocate_user_id() == 8


def test_clear_state_rolls_back_with_its_transaction(store: RawStore) -> None:
    """A failed restore-style transaction leaves the old state untouched."""
    _populate_for_snapshot(store)

    def state() -> object:
        return observable_state(
            store,
            handles=range(1, 4),
            user_ids=range(1, 4),
            usernames=["alice", "bob"],
            meta_keys=["policy"],
            queries=[ObjectQuery()],
        )

    before = state()

    def fail() -> None:
        with store.transaction() as tx:
            tx.clear_state(frozenset())
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail()
    assert state() == before


def test_raise_counters_only_moves_forward(store: RawStore) -> None:
    """raise_counters advances the allocators and never moves them back."""
    with store.transaction() as tx:
        tx.raise_counters(100, 50)
    with store.transaction() as tx:
        tx.raise_counters(10, 5)
        assert tx.allocate_handle() == 101
        assert tx.allocate_user_id() == 51

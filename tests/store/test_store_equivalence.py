"""Property tests: the SQLite and memory backends are observably the same store.

A Hypothesis state machine applies identical random transactions — puts, deletes, shares,
users, meta, audit appends, some aborted halfway — to both backends and after every step
compares every result, every error and the whole readable state. A second property checks that
arbitrary object records round-trip exactly through both.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from strongroom.errors import StrongroomError
from strongroom.store.api import ObjectQuery, ObjectRecord, RawStore, StoreTransaction
from strongroom.store.memory import MemoryStore
from strongroom.store.sqlite import SQLiteStore

from .store_records import make_audit, make_object, make_user, observable_state

Op = tuple[Any, ...]

HANDLES = st.integers(1, 8)
USER_IDS = st.integers(1, 5)
LABELS = ["", "a", "b", "a\x00"]
CKIDS = [b"", b"\x01", b"\x02"]
CLASSES = [0, 2, 3, 4]
KEY_TYPES = [None, 0, 0x1F]
OWNERS = [0, 1, 2, 3]
USERNAMES = ["alice", "bob", "carol", "dave", "erin"]
META_KEYS = ["k1", "k2", "magic"]

ALLOCATE = "allocate"

OPS = st.one_of(
    st.tuples(
        st.just("put_object"),
        st.one_of(st.just(ALLOCATE), HANDLES),
        st.sampled_from(CLASSES),
        st.sampled_from(KEY_TYPES),
        st.sampled_from(LABELS),
        st.sampled_from(CKIDS),
        st.sampled_from(OWNERS),
        st.booleans(),
    ),
    st.tuples(st.just("delete_object"), HANDLES),
    st.tuples(st.just("set_shares"), HANDLES, st.frozensets(st.integers(1, 4), max_size=2)),
    st.tuples(
        st.just("put_user"),
        st.one_of(st.just(ALLOCATE), USER_IDS),
        st.sampled_from(USERNAMES),
        st.integers(0, 2),
    ),
    st.tuples(st.just("delete_user"), USER_IDS),
    st.tuples(st.just("set_meta"), st.sampled_from(META_KEYS), st.binary(max_size=3)),
    st.tuples(st.just("append_audit"), st.integers(0, 3)),
    st.tuples(st.just("allocate_handle")),
)

QUERIES = (
    [ObjectQuery()]
    + [ObjectQuery(label=label) for label in LABELS]
    + [ObjectQuery(ckid=ckid) for ckid in CKIDS]
    + [ObjectQuery(object_class=c) for c in CLASSES]
    + [ObjectQuery(key_type=k) for k in KEY_TYPES if k is not None]
    + [ObjectQuery(owner=owner) for owner in OWNERS]
    + [
        ObjectQuery(object_class=4, key_type=0x1F),
        ObjectQuery(label="a", owner=1),
        ObjectQuery(ckid=b"\x01", object_class=3),
        ObjectQuery(ckid=b"", label="", owner=0),
    ]
)


class _Abort(Exception):
    """Raised inside a transaction to make it roll back."""


def apply(tx: StoreTransaction, op: Op, audit_base: int) -> object:
    """Run one operation; a refused one is caught (the transaction goes on) and reported."""
    name, *args = op
    try:
        if name == "put_object":
            handle, object_class, key_type, label, ckid, owner, private = args
            if handle == ALLOCATE:
                handle = tx.allocate_handle()
            tx.put_object(
                make_object(
                    handle,
                    object_class=object_class,
                    key_type=key_type,
                    label=label,
                    ckid=ckid,
                    owner=owner,
                    private=private,
                    sealed=None if not private else b"sealed",
                )
            )
            return handle
        if name == "delete_object":
            tx.delete_object(args[0])
        elif name == "set_shares":
            tx.set_shares(args[0], args[1])
        elif name == "put_user":
            user_id, username, failed_logins = args
            if user_id == ALLOCATE:
                user_id = tx.allocate_user_id()
            tx.put_user(make_user(user_id, username, failed_logins=failed_logins))
            return user_id
        elif name == "delete_user":
            tx.delete_user(args[0])
        elif name == "set_meta":
            tx.set_meta(args[0], args[1])
        elif name == "append_audit":
            tx.append_audit(make_audit(audit_base + args[0]))
        else:
            assert name == "allocate_handle"
            return tx.allocate_handle()
        return "ok"
    except StrongroomError as exc:
        return (type(exc).__name__, str(exc))


def run(store: RawStore, ops: list[Op], abort: bool) -> object:
    """Apply ``ops`` in one transaction on ``store``; the per-op results, or how it ended."""
    last = store.last_audit()
    audit_base = last.seq if last is not None else 0
    try:
        with store.transaction() as tx:
            results = [apply(tx, op, audit_base) for op in ops]
            if abort:
                raise _Abort
    except _Abort:
        return ("aborted", results)
    return ("committed", results)


def next_ids(store: RawStore) -> tuple[int, int]:
    """The next handle and user id, peeked in a transaction that rolls back."""
    peeked: list[int] = []
    try:
        with store.transaction() as tx:
            peeked = [tx.allocate_handle(), tx.allocate_user_id()]
            raise _Abort
    except _Abort:
        pass
    return peeked[0], peeked[1]


class StoreEquivalence(RuleBasedStateMachine):
    """Drives a SQLiteStore and a MemoryStore in lockstep."""

    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="strongroom-equivalence-"))
        self.stores: tuple[RawStore, RawStore] = (
            SQLiteStore(self.directory / "store.db"),
            MemoryStore(),
        )

    @initialize(
        users=st.integers(3, 4),
        objects=st.lists(st.frozensets(st.integers(1, 3), min_size=1, max_size=3), max_size=5),
    )
    def seed(self, users: int, objects: list[frozenset[int]]) -> None:
        """Start from some users and objects, shared where possible, so rules interact."""
        ops: list[Op] = [("put_user", ALLOCATE, USERNAMES[i], 0) for i in range(users)]
        for index, user_ids in enumerate(objects):
            ops.append(("put_object", ALLOCATE, CLASSES[index % 4], 0x1F, "a", b"", 1, True))
            ops.append(("set_shares", index + 1, user_ids))
        self.transaction(ops, abort=False)

    @rule(ops=st.lists(OPS, min_size=1, max_size=6), abort=st.sampled_from([False] * 3 + [True]))
    def transaction(self, ops: list[Op], abort: bool) -> None:
        """The same transaction gives the same per-operation results on both backends."""
        sqlite_result, memory_result = (run(store, ops, abort) for store in self.stores)
        assert sqlite_result == memory_result

    @invariant()
    def same_observable_state(self) -> None:
        """Both backends read back identically and pass their own integrity checks."""
        sqlite_store, memory_store = self.stores
        states = [
            observable_state(
                store,
                handles=range(12),
                user_ids=range(7),
                usernames=USERNAMES,
                meta_keys=META_KEYS,
                queries=QUERIES,
            )
            for store in self.stores
        ]
        assert states[0] == states[1]
        assert next_ids(sqlite_store) == next_ids(memory_store)
        for store in self.stores:
            store.integrity_check()

    def teardown(self) -> None:
        for store in self.stores:
            store.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def test_backends_agree_on_random_transaction_sequences() -> None:
    """Random transaction sequences leave SQLite and memory stores in identical states."""
    run_state_machine_as_test(
        StoreEquivalence,
        settings=settings(
            max_examples=60,
            stateful_step_count=15,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


OBJECT_RECORDS = st.builds(
    ObjectRecord,
    handle=st.just(1),
    object_class=st.integers(0, 2**63 - 1),
    key_type=st.none() | st.integers(0, 2**63 - 1),
    label=st.text(max_size=40),
    ckid=st.binary(max_size=40),
    owner=st.integers(0, 2**63 - 1),
    private=st.booleans(),
    public=st.binary(max_size=200),
    sealed=st.none() | st.binary(max_size=200),
)


def test_any_object_record_round_trips_through_both_backends(tmp_path: Path) -> None:
    """Any valid object record reads back equal and is found by each of its index fields."""
    stores: list[RawStore] = [SQLiteStore(tmp_path / "store.db"), MemoryStore()]

    @settings(max_examples=80, deadline=None, database=None)
    @given(record=OBJECT_RECORDS)
    def check(record: ObjectRecord) -> None:
        for store in stores:
            with store.transaction() as tx:
                stored = dataclasses.replace(record, handle=tx.allocate_handle())
                tx.put_object(stored)
            assert store.get_object(stored.handle) == stored
            for query in (
                ObjectQuery(label=stored.label),
                ObjectQuery(ckid=stored.ckid),
                ObjectQuery(owner=stored.owner),
                ObjectQuery(object_class=stored.object_class, key_type=stored.key_type),
            ):
                assert stored.handle in store.find_objects(query)

    try:
        check()
    finally:
        for store in stores:
            store.close()

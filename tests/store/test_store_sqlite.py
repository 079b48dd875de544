"""SQLite-only behaviour of the store: the file, its format checks, query plans and durability.

The shared contract is in ``test_store_conformance.py``; this module covers what only a file
can show — reopening, permissions, refusing foreign or future files, damage detection, index
use, and commits that survive SIGKILL.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import signal
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from strongroom.errors import StorageError, StoreCorrupt
from strongroom.store._sqlite_sql import _find_sql
from strongroom.store.api import ObjectQuery
from strongroom.store.sqlite import SQLiteStore

from .store_records import make_audit, make_object, make_user, observable_state


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where the test's store file lives."""
    return tmp_path / "store.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SQLiteStore]:
    """A fresh SQLite store, closed after the test."""
    backend = SQLiteStore(db_path)
    yield backend
    backend.close()


def populate(store: SQLiteStore) -> None:
    """Commit a little of everything."""
    with store.transaction() as tx:
        alice = tx.allocate_user_id()
        tx.put_user(make_user(alice, "alice", role="admin", wrapped_storage_key=b"slot"))
        bob = tx.allocate_user_id()
        tx.put_user(make_user(bob, "bob"))
        for _ in range(5):
            tx.put_object(make_object(tx.allocate_handle(), owner=alice))
        tx.put_object(make_object(tx.allocate_handle(), key_type=None, sealed=None))
        tx.set_shares(2, frozenset({alice, bob}))
        tx.delete_object(3)
        tx.set_meta("policy", b"\xa0")
        for seq in (1, 2, 3):
            tx.append_audit(make_audit(seq))


def full_state(store: SQLiteStore) -> dict[str, object]:
    """Observable state over the ids ``populate`` uses."""
    return observable_state(
        store,
        handles=range(10),
        user_ids=range(5),
        usernames=["alice", "bob"],
        meta_keys=["policy", "magic", "schema_version"],
        queries=[ObjectQuery(owner=1), ObjectQuery(label="key-4"), ObjectQuery(key_type=0x1F)],
    )


def raw(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection to the file, for tampering (autocommit)."""
    return sqlite3.connect(path, isolation_level=None)


def file_digest(path: Path) -> str:
    """SHA-256 of the file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the file ----------------------------------------------------------------------------------


def test_reopen_after_close_sees_everything(db_path: Path) -> None:
    """Everything committed before ``close()`` is there after reopening, allocators included."""
    store = SQLiteStore(db_path)
    populate(store)
    before = full_state(store)
    store.close()
    reopened = SQLiteStore(db_path)
    try:
        assert full_state(reopened) == before
        with reopened.transaction() as tx:
            assert tx.allocate_handle() == 7
            assert tx.allocate_user_id() == 3
        reopened.integrity_check()
    finally:
        reopened.close()


@pytest.mark.parametrize("umask", [0o022, 0o277])
def test_store_files_have_mode_0600_whatever_the_umask(db_path: Path, umask: int) -> None:
    """The database file and its WAL and shared-memory files are created owner-only (0600)."""
    old = os.umask(umask)
    try:
        store = SQLiteStore(db_path)
    finally:
        os.umask(old)
    try:
        populate(store)
        for name in ("store.db", "store.db-wal", "store.db-shm"):
            mode = stat.S_IMODE((db_path.parent / name).stat().st_mode)
            assert mode == 0o600, f"{name} has mode {mode:o}"
    finally:
        store.close()


def test_missing_parent_directory_raises_storage_error(tmp_path: Path) -> None:
    """Opening a store in a directory that does not exist fails and creates nothing."""
    path = tmp_path / "absent" / "store.db"
    with pytest.raises(StorageError, match="does not exist"):
        SQLiteStore(path)
    assert not path.parent.exists()


def test_empty_file_is_initialised_as_a_new_store(db_path: Path) -> None:
    """A zero-length file (e.g. from an interrupted first open) becomes a fresh store."""
    db_path.touch()
    store = SQLiteStore(db_path)
    try:
        assert store.get_meta("magic") == b"strongroom-store"
        store.integrity_check()
    finally:
        store.close()


def test_path_and_repr(store: SQLiteStore, db_path: Path) -> None:
    """``path`` is the path given, and the repr shows only that."""
    assert store.path == db_path
    assert repr(store) == f"SQLiteStore(path={str(db_path)!r})"


def test_pragmas_are_in_force(store: SQLiteStore) -> None:
    """The writer runs with WAL, synchronous=FULL, foreign keys, secure delete, a busy timeout."""
    conn = store._writer
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
    assert conn.execute("PRAGMA secure_delete").fetchone() == (1,)
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000


def test_non_durable_commit_is_committed_and_restores_full_sync(db_path: Path) -> None:
    """A durable=False transaction commits normally, and the next one is back to FULL."""
    store = SQLiteStore(db_path)
    with store.transaction(durable=False) as tx:
        assert store._writer.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
        tx.set_meta("k", b"v")
    assert store._writer.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL again
    store.close()
    reopened = SQLiteStore(db_path)
    try:
        assert reopened.get_meta("k") == b"v"
    finally:
        reopened.close()


def test_non_durable_transaction_rolls_back_and_restores_full_sync(store: SQLiteStore) -> None:
    """A failing durable=False transaction leaves nothing behind and FULL sync in force."""

    def fail() -> None:
        with store.transaction(durable=False) as tx:
            tx.set_meta("k", b"v")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail()
    assert store.get_meta("k") is None
    assert store._writer.execute("PRAGMA synchronous").fetchone() == (2,)


def test_two_stores_on_one_file_share_commits_and_counters(db_path: Path) -> None:
    """Two handles on the same file see each other's commits and never allocate alike."""
    first, second = SQLiteStore(db_path), SQLiteStore(db_path)
    try:
        allocated = []
        for store in (first, second, first, second):
            with store.transaction() as tx:
                handle = tx.allocate_handle()
                tx.put_object(make_object(handle))
            allocated.append(handle)
        assert allocated == [1, 2, 3, 4]
        assert first.find_objects(ObjectQuery()) == second.find_objects(ObjectQuery()) == allocated
    finally:
        first.close()
        second.close()


# --- refusing files that are not v1 stores -------------------------------------------------------

TAMPERS: list[tuple[str, str, str]] = [
    ("wrong-magic", "UPDATE meta SET value = x'6f74686572' WHERE key = 'magic'", "magic"),
    ("no-magic", "DELETE FROM meta WHERE key = 'magic'", "magic"),
    ("future-version", "UPDATE meta SET value = CAST('2' AS BLOB) WHERE key = 'schema_version'",
     "version 2, newer than this Strongroom supports"),
    ("version-0", "UPDATE meta SET value = CAST('0' AS BLOB) WHERE key = 'schema_version'",
     "unknown format version 0"),
    ("version-text", "UPDATE meta SET value = 'one' WHERE key = 'schema_version'", "unreadable"),
    ("version-integer", "UPDATE meta SET value = 1 WHERE key = 'schema_version'", "unreadable"),
    ("no-version", "DELETE FROM meta WHERE key = 'schema_version'", "unreadable"),
    ("missing-table", "DROP TABLE counters", "missing tables: counters"),
    ("no-meta", "DROP TABLE meta", "no meta table"),
]  # fmt: skip


@pytest.mark.parametrize(("sql", "message"), [t[1:] for t in TAMPERS], ids=[t[0] for t in TAMPERS])
def test_files_that_are_not_v1_stores_raise_store_corrupt_untouched(
    db_path: Path, sql: str, message: str
) -> None:
    """Wrong magic, an unknown version or a missing table is ``StoreCorrupt``; the file is kept."""
    SQLiteStore(db_path).close()
    conn = raw(db_path)
    conn.execute(sql)
    conn.close()
    before = file_digest(db_path)
    with pytest.raises(StoreCorrupt, match=message):
        SQLiteStore(db_path)
    assert file_digest(db_path) == before


def test_foreign_sqlite_database_raises_store_corrupt(db_path: Path) -> None:
    """Another application's SQLite file is refused, not adopted."""
    conn = raw(db_path)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.close()
    with pytest.raises(StoreCorrupt, match="not a Strongroom store"):
        SQLiteStore(db_path)


def test_file_that_is_not_a_database_raises_store_corrupt(db_path: Path) -> None:
    """A file that is not SQLite at all is ``StoreCorrupt`` and is left as it was."""
    db_path.write_bytes(b"this is not a database, just some text\n" * 200)
    before = file_digest(db_path)
    with pytest.raises(StoreCorrupt, match="damaged"):
        SQLiteStore(db_path)
    assert file_digest(db_path) == before


# --- damage ------------------------------------------------------------------------------------


def test_integrity_check_detects_garbage_in_the_middle_of_the_file(db_path: Path) -> None:
    """Random bytes written over the middle of a closed store make open or check raise."""
    store = SQLiteStore(db_path)
    with store.transaction() as tx:
        for handle in range(1, 301):
            tx.put_object(make_object(handle, public=os.urandom(600), label=f"label-{handle}"))
    store.close()
    size = db_path.stat().st_size
    page = 4096
    assert size > 20 * page
    with db_path.open("r+b") as damaged:
        damaged.seek((size // 2) // page * page)
        damaged.write(random.Random(5).randbytes(3 * page))

    def open_and_check() -> None:
        reopened = SQLiteStore(db_path)
        try:
            reopened.integrity_check()
        finally:
            reopened.close()

    with pytest.raises(StorageError):
        open_and_check()


def test_damaged_header_raises_store_corrupt_on_open(db_path: Path) -> None:
    """Garbage over the SQLite header is caught when the store is opened."""
    SQLiteStore(db_path).close()
    with db_path.open("r+b") as damaged:
        damaged.write(b"\xff" * 100)
    with pytest.raises(StoreCorrupt):
        SQLiteStore(db_path)


LOGICAL_DAMAGE: list[tuple[str, str, str]] = [
    ("counter-behind", "UPDATE counters SET value = 1 WHERE name = 'handle'", "handle counter"),
    ("user-counter-behind", "UPDATE counters SET value = 0 WHERE name = 'user_id'", "user-id"),
    ("audit-gap", "DELETE FROM audit WHERE seq = 2", "audit log has a gap"),
    ("dangling-share", "INSERT INTO shares VALUES (99, 1)", "missing object or user"),
    ("no-counter", "DELETE FROM counters WHERE name = 'handle'", "counter is missing"),
]


@pytest.mark.parametrize(
    ("sql", "message"), [d[1:] for d in LOGICAL_DAMAGE], ids=[d[0] for d in LOGICAL_DAMAGE]
)
def test_integrity_check_detects_logical_damage(db_path: Path, sql: str, message: str) -> None:
    """Rows edited behind the store's back (counters, audit gaps, dangling shares) are caught."""
    store = SQLiteStore(db_path)
    populate(store)
    store.close()
    conn = raw(db_path)  # foreign_keys is off on a plain connection, so dangling rows go in
    conn.execute(sql)
    conn.close()
    store = SQLiteStore(db_path)
    try:
        with pytest.raises(StoreCorrupt, match=message):
            store.integrity_check()
    finally:
        store.close()


def test_integrity_check_notices_the_schema_disappearing(store: SQLiteStore, db_path: Path) -> None:
    """Dropping every table under an open store makes ``integrity_check`` raise ``StoreCorrupt``."""
    conn = raw(db_path)
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        conn.execute(f"DROP TABLE {table}")
    conn.close()
    with pytest.raises(StoreCorrupt, match="disappeared"):
        store.integrity_check()


def test_wrongly_typed_row_is_reported_as_corrupt(store: SQLiteStore, db_path: Path) -> None:
    """A row whose column has the wrong SQLite type is ``StoreCorrupt``, not a bad record."""
    populate(store)
    conn = raw(db_path)
    conn.execute("UPDATE objects SET label = x'00ff' WHERE handle = 1")
    conn.close()
    with pytest.raises(StoreCorrupt, match="wrong type"):
        store.get_object(1)


def test_sqlite_errors_surface_as_storage_error(store: SQLiteStore, db_path: Path) -> None:
    """A failing statement raises ``StorageError`` (never ``sqlite3.Error``) and names no data."""
    populate(store)
    conn = raw(db_path)
    conn.execute("ALTER TABLE objects RENAME TO objects_gone")
    conn.close()
    with pytest.raises(StorageError) as caught:
        store.get_object(1)
    assert isinstance(caught.value.__cause__, sqlite3.Error)
    assert "key-1" not in str(caught.value)
    with pytest.raises(StorageError), store.transaction() as tx:
        tx.put_object(make_object(42, label="secret-label"))


def test_swallowed_write_failure_still_rolls_the_transaction_back(
    store: SQLiteStore, db_path: Path
) -> None:
    """If SQLite fails a write and the caller swallows it, the transaction rolls back anyway."""
    conn = raw(db_path)
    conn.execute("ALTER TABLE audit RENAME TO audit_gone")
    conn.close()

    def body() -> None:
        with store.transaction() as tx:
            tx.set_meta("k", b"v")
            with contextlib.suppress(StorageError):
                tx.append_audit(make_audit(1))

    with pytest.raises(StorageError, match="rolled back"):
        body()
    assert store.get_meta("k") is None


# --- query plans -------------------------------------------------------------------------------

PLAN_CASES: list[tuple[ObjectQuery, str]] = [
    (ObjectQuery(label="a"), "objects_label"),
    (ObjectQuery(ckid=b"a"), "objects_ckid"),
    (ObjectQuery(owner=1), "objects_owner"),
    (ObjectQuery(object_class=4), "objects_class"),
    (ObjectQuery(object_class=4, key_type=0x1F), "objects_class"),
    (ObjectQuery(label="a", owner=1), "objects_label"),
    (ObjectQuery(label="a", ckid=b"x"), "objects_ckid"),
    (ObjectQuery(label="a", object_class=4, key_type=0x1F), "objects_label"),
    (ObjectQuery(ckid=b"x", owner=1, object_class=4), "objects_ckid"),
    (ObjectQuery(owner=1, object_class=4, key_type=0x1F), "objects_owner"),
    (ObjectQuery(ckid=b"", label="a"), "objects_label"),
    (ObjectQuery(ckid=b"", label="", owner=1), "objects_owner"),
    (ObjectQuery(ckid=b"", object_class=4), "objects_class"),
    (ObjectQuery(ckid=b"", label=""), "objects_ckid"),
    (ObjectQuery(label="a", ckid=b"x", owner=1, object_class=4, key_type=0x1F), "objects_ckid"),
]


def explain(conn: sqlite3.Connection, sql: str, params: tuple[object, ...]) -> str:
    """The EXPLAIN QUERY PLAN details of ``sql``, one line per step."""
    return "\n".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))


@pytest.fixture
def plan_db(db_path: Path) -> Iterator[sqlite3.Connection]:
    """A plain connection to a fresh store file (the store never runs ANALYZE)."""
    SQLiteStore(db_path).close()
    conn = raw(db_path)
    yield conn
    conn.close()


@pytest.mark.parametrize(("query", "index"), PLAN_CASES, ids=repr)
def test_find_objects_is_driven_by_the_expected_index(
    plan_db: sqlite3.Connection, query: ObjectQuery, index: str
) -> None:
    """Each find uses the most selective index available, with no table scan or sort."""
    plan = explain(plan_db, *_find_sql(query))
    assert f"INDEX {index} (" in plan, plan
    assert "SCAN" not in plan, plan
    if index != "objects_class":  # (class, key_type, rowid) order needs a sort on class alone
        assert "TEMP B-TREE" not in plan, plan


def test_handles_shared_with_uses_the_share_index(plan_db: sqlite3.Connection) -> None:
    """Listing a user's shares reads the shares_user index in handle order."""
    plan = explain(plan_db, "SELECT handle FROM shares WHERE user_id = ? ORDER BY handle", (1,))
    assert "COVERING INDEX shares_user (user_id=?)" in plan, plan
    assert "TEMP B-TREE" not in plan, plan


# --- durability --------------------------------------------------------------------------------

CHILD = """
import sys
from strongroom.store.api import ObjectRecord
from strongroom.store.sqlite import SQLiteStore

store = SQLiteStore(sys.argv[1])
while True:
    with store.transaction() as tx:
        handle = tx.allocate_handle()
        tx.put_object(
            ObjectRecord(handle, 4, 31, "crash-%d" % handle, b"", 1, True, b"p" * 300, b"s" * 64)
        )
        tx.set_meta("last", b"%d" % handle)
    sys.stdout.write("%d\\n" % handle)
    sys.stdout.flush()
"""


def run_and_kill(path: Path, acknowledgements: int) -> list[int]:
    """Run a writer child and SIGKILL it after some acknowledgements; return every one it made."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    lines: list[str] = []
    while len(lines) < acknowledgements:
        line = child.stdout.readline()
        if not line:
            break
        lines.append(line)
    child.send_signal(signal.SIGKILL)
    rest, errors = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL, errors
    lines += rest.splitlines(keepends=True)
    return [int(line) for line in lines if line.endswith("\n")]


def test_every_acknowledged_commit_survives_sigkill(db_path: Path) -> None:
    """Killing a writer with SIGKILL mid-stream loses no commit it had acknowledged (5 kills)."""
    SQLiteStore(db_path).close()
    rng = random.Random(2024)
    acknowledged: list[int] = []
    for _ in range(5):
        new = run_and_kill(db_path, rng.randint(3, 40))
        assert new, "the child acknowledged nothing"
        assert min(new) > max(acknowledged, default=0), "a handle was allocated twice"
        acknowledged += new
        store = SQLiteStore(db_path)
        try:
            present = set(store.find_objects(ObjectQuery(object_class=4)))
            assert set(acknowledged) <= present
            for handle in new:
                record = store.get_object(handle)
                assert record is not None
                assert record.label == f"crash-{handle}"
            store.integrity_check()
        finally:
            store.close()


def test_handles_never_repeat_across_reopen(db_path: Path) -> None:
    """A handle committed and then deleted is not reissued after the store is reopened."""
    store = SQLiteStore(db_path)
    with store.transaction() as tx:
        handle = tx.allocate_handle()
        tx.put_object(make_object(handle))
    with store.transaction() as tx:
        tx.delete_object(handle)
    store.close()
    store = SQLiteStore(db_path)
    try:
        with store.transaction() as tx:
            assert tx.allocate_handle() == handle + 1
    finally:
        store.close()

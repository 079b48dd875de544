"""SQLite backend of the raw store: one file, WAL journal, fsync on every commit.

This module owns the on-disk layout of store format v1 (docs/formats/store-v1.md, "SQLite
schema"): the tables and indexes, the ``magic`` and ``schema_version`` rows, the PRAGMAs that
make every acknowledged commit durable, and the translation of every ``sqlite3`` error into
``StorageError`` at this boundary. It stores the opaque bytes it is handed (verifiers, sealed
blobs) without interpreting them, and must not import crypto or anything above the store layer.
Argument checks are shared with ``store.memory`` so both backends fail the same way.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from strongroom.errors import StorageError, StoreCorrupt
from strongroom.store._checks import (
    INT64_MAX,
    INT64_MIN,
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
)
from strongroom.store._sqlite_sql import (
    _APPEND_AUDIT,
    _BATCH,
    _GET_OBJECT,
    _GET_USER,
    _GET_USER_BY_NAME,
    _HANDLE_COUNTER,
    _ITER_AUDIT,
    _ITER_OBJECTS,
    _LAST_AUDIT,
    _LIST_USERS,
    _PUT_OBJECT,
    _PUT_USER,
    _SCHEMA,
    _TABLES,
    _USER_ID_COUNTER,
    BUSY_TIMEOUT_MS,
    _audit_from_row,
    _find_sql,
    _object_from_row,
    _translate,
    _user_from_row,
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

__all__ = ["SQLiteStore"]


class SQLiteStore:
    """A ``RawStore`` in one SQLite file (store format v1).

    Two connections: a writer used only inside ``transaction()`` (serialised by a lock, so one
    transaction at a time) and a reader shared by all read calls under its own lock. In WAL
    mode the reader never waits for the writer and only ever sees committed transactions.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._writer_thread: int | None = None
        self._closed = False
        self._broken = False
        _create_file(self.path)
        self._writer = self._connect()
        try:
            self._prepare_writer()
            self._reader = self._connect()
            try:
                self._reader.execute("PRAGMA query_only = ON")
            except BaseException:
                self._reader.close()
                raise
        except sqlite3.Error as exc:
            self._writer.close()
            raise _translate(exc, "open the store") from exc
        except BaseException:
            self._writer.close()
            raise

    def __repr__(self) -> str:
        return f"SQLiteStore(path={str(self.path)!r})"

    # --- opening ---

    def _connect(self) -> sqlite3.Connection:
        # mode=rw: never let SQLite create the file itself (we did, with mode 0600).
        uri = self.path.absolute().as_uri() + "?mode=rw"
        try:
            conn = sqlite3.connect(
                uri,
                uri=True,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,  # autocommit; we issue BEGIN/COMMIT ourselves
                check_same_thread=False,  # every use is under one of our locks
            )
        except sqlite3.Error as exc:
            raise _translate(exc, "open the store") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        except sqlite3.Error as exc:
            conn.close()
            raise _translate(exc, "open the store") from exc
        return conn

    def _prepare_writer(self) -> None:
        conn = self._writer
        fresh = _check_format(conn)
        # WAL + synchronous=FULL: COMMIT returns only after the WAL is fsync'd, so every
        # acknowledged transaction survives kill -9 and power loss; fullfsync makes that hold
        # on macOS too (plain fsync there does not flush the drive cache).
        (mode,) = conn.execute("PRAGMA journal_mode = WAL").fetchone()
        if str(mode).lower() != "wal":
            raise StorageError("could not open the store: SQLite refused WAL journal mode")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA fullfsync = ON")
        conn.execute("PRAGMA foreign_keys = ON")
        # Freed pages are zeroed: defence in depth, since sealed blobs are ciphertext anyway.
        conn.execute("PRAGMA secure_delete = ON")
        if fresh:
            _initialise(conn)

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError("the store is closed")
        if self._broken:
            raise StorageError("the store is unusable after a failed rollback; reopen it")

    # --- transactions ---

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[StoreTransaction]:
        """Open a write transaction: BEGIN IMMEDIATE, then COMMIT (durable) or ROLLBACK.

        A non-durable commit runs with ``synchronous=NORMAL``: in WAL mode it is not
        fsync'd, and the next ``FULL`` commit syncs it together with its own frames.
        """
        self._check_open()
        if self._writer_thread == threading.get_ident():
            raise StorageError("a transaction is already open in this thread")
        with self._write_lock:
            self._check_open()
            self._writer_thread = threading.get_ident()
            if not durable:
                self._writer.execute("PRAGMA synchronous=NORMAL")
            try:
                yield from self._run_transaction(self._writer)
            finally:
                self._writer_thread = None
                if not durable:
                    self._writer.execute("PRAGMA synchronous=FULL")

    def _run_transaction(self, conn: sqlite3.Connection) -> Iterator[StoreTransaction]:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _translate(exc, "begin a transaction") from exc
        txn = _SQLiteTransaction(conn)
        try:
            yield txn
        except BaseException:
            txn.finish()
            self._rollback(conn)
            raise
        txn.finish()
        if txn.failed:
            self._rollback(conn)
            raise StorageError("a write inside the transaction failed; it was rolled back")
        try:
            txn.flush_counters()
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback(conn)
            raise _translate(exc, "commit the transaction") from exc

    def _rollback(self, conn: sqlite3.Connection) -> None:
        if not conn.in_transaction:
            return  # SQLite already rolled back (it does so itself after some errors)
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            # The writer is in an unknown state; refuse further use rather than guess. The
            # exception that caused the rollback is what the caller sees.
            self._broken = True

    # --- reads ---

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        with self._read_lock:
            self._check_open()
            try:
                return self._reader.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise _translate(exc, "read from the store") from exc

    def get_object(self, handle: int) -> ObjectRecord | None:
        """The object with this handle, or ``None``."""
        self._check_open()
        if not lookup_int(handle, "handle"):
            return None
        rows = self._query(_GET_OBJECT, (handle,))
        return _object_from_row(rows[0]) if rows else None

    def find_objects(self, query: ObjectQuery) -> list[int]:
        """Handles of objects matching every non-``None`` field, in ascending order."""
        self._check_open()
        if not lookup_query(query):
            return []
        sql, params = _find_sql(query)
        return [handle for (handle,) in self._query(sql, params)]

    def iter_objects(self) -> Iterator[ObjectRecord]:
        """Every object, in handle order (read in batches, so not one snapshot)."""
        self._check_open()
        return self._iterate_objects()

    def _iterate_objects(self) -> Iterator[ObjectRecord]:
        after = INT64_MIN
        while True:
            rows = self._query(_ITER_OBJECTS, (after, _BATCH))
            for row in rows:
                yield _object_from_row(row)
            if len(rows) < _BATCH:
                return
            after = rows[-1][0]

    def count_objects(self) -> int:
        """Number of token objects."""
        self._check_open()
        ((count,),) = self._query("SELECT count(*) FROM objects")
        return int(count)

    def get_shares(self, handle: int) -> frozenset[int]:
        """User ids the object is shared with."""
        self._check_open()
        if not lookup_int(handle, "handle"):
            return frozenset()
        rows = self._query("SELECT user_id FROM shares WHERE handle = ?", (handle,))
        return frozenset(user_id for (user_id,) in rows)

    def handles_shared_with(self, user_id: int) -> list[int]:
        """Handles of objects shared with this user, ascending."""
        self._check_open()
        if not lookup_int(user_id, "user_id"):
            return []
        rows = self._query(
            "SELECT handle FROM shares WHERE user_id = ? ORDER BY handle", (user_id,)
        )
        return [handle for (handle,) in rows]

    def get_user(self, user_id: int) -> UserRecord | None:
        """The user with this id, or ``None``."""
        self._check_open()
        if not lookup_int(user_id, "user_id"):
            return None
        rows = self._query(_GET_USER, (user_id,))
        return _user_from_row(rows[0]) if rows else None

    def get_user_by_name(self, username: str) -> UserRecord | None:
        """The user with this (already lower-cased) name, or ``None``."""
        self._check_open()
        lookup_text(username, "username")
        rows = self._query(_GET_USER_BY_NAME, (username,))
        return _user_from_row(rows[0]) if rows else None

    def list_users(self) -> list[UserRecord]:
        """Every user, by user id."""
        self._check_open()
        rows = self._query(_LIST_USERS)
        return [_user_from_row(row) for row in rows]

    def get_meta(self, key: str) -> bytes | None:
        """An HSM-wide metadata value, or ``None``."""
        self._check_open()
        lookup_text(key, "meta key")
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        if not rows:
            return None
        (value,) = rows[0]
        if type(value) is not bytes:
            raise StoreCorrupt("a meta value is not a blob")
        return value

    def audit_records(self, start_seq: int = 1) -> Iterator[AuditRecord]:
        """Audit records with ``seq >= start_seq``, in seq order (read in batches)."""
        self._check_open()
        lookup_int(start_seq, "start_seq")
        return self._iterate_audit(max(start_seq, 1))

    def _iterate_audit(self, start_seq: int) -> Iterator[AuditRecord]:
        after = start_seq - 1
        while after < INT64_MAX:
            rows = self._query(_ITER_AUDIT, (after, _BATCH))
            for row in rows:
                yield _audit_from_row(row)
            if len(rows) < _BATCH:
                return
            after = rows[-1][0]

    def last_audit(self) -> AuditRecord | None:
        """The newest audit record, or ``None``."""
        self._check_open()
        rows = self._query(_LAST_AUDIT)
        return _audit_from_row(rows[0]) if rows else None

    @contextmanager
    def snapshot(self) -> Iterator[StoreSnapshot]:
        """A consistent read-only view: its own connection in one read transaction (WAL)."""
        self._check_open()
        conn = self._connect()
        try:
            conn.execute("PRAGMA query_only = ON")
            conn.execute("BEGIN")
            snap = _SQLiteSnapshot(conn)
            snap.counters()  # the first read fixes the snapshot
            yield snap
        except sqlite3.Error as exc:
            raise _translate(exc, "read a snapshot of the store") from exc
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            conn.close()

    # --- maintenance ---

    def integrity_check(self) -> None:
        """Raise ``StoreCorrupt`` unless SQLite's and the format's own checks all pass.

        Runs ``PRAGMA integrity_check`` (every page, every index entry) and
        ``PRAGMA foreign_key_check``, then checks the magic and version rows, that the
        allocation counters are ahead of every stored handle and user id, and that audit
        seqs run 1, 2, 3… without gaps. Reads the whole file: seconds on a large store.
        """
        self._check_open()
        problems = [str(message) for (message,) in self._query("PRAGMA integrity_check")]
        if problems != ["ok"]:
            first = problems[0].splitlines()[0][:200] if problems else "no result"
            raise StoreCorrupt(
                f"SQLite integrity check failed ({len(problems)} problem(s), first: {first})"
            )
        if self._query("PRAGMA foreign_key_check"):
            raise StoreCorrupt("a share refers to a missing object or user")
        with self._read_lock:
            self._check_open()
            try:
                emptied = _check_format(self._reader)
            except sqlite3.Error as exc:
                raise _translate(exc, "check the store") from exc
        if emptied:
            raise StoreCorrupt("the store's schema has disappeared")
        ((max_handle, max_user_id, handle_counter, user_counter),) = self._query(
            "SELECT (SELECT max(handle) FROM objects), (SELECT max(user_id) FROM users),"
            " (SELECT value FROM counters WHERE name = ?),"
            " (SELECT value FROM counters WHERE name = ?)",
            (_HANDLE_COUNTER, _USER_ID_COUNTER),
        )
        if type(handle_counter) is not int or type(user_counter) is not int:
            raise StoreCorrupt("an allocation counter is missing")
        if max_handle is not None and max_handle > handle_counter:
            raise StoreCorrupt("the handle counter is behind the stored objects")
        if max_user_id is not None and max_user_id > user_counter:
            raise StoreCorrupt("the user-id counter is behind the stored users")
        ((count, first_seq, last_seq),) = self._query(
            "SELECT count(*), min(seq), max(seq) FROM audit"
        )
        if count and (first_seq != 1 or last_seq != count):
            raise StoreCorrupt("the audit log has a gap")

    def close(self) -> None:
        """Close both connections; later calls raise ``StorageError`` (closing twice is allowed)."""
        if self._writer_thread == threading.get_ident():
            raise StorageError("close() called inside a transaction")
        with self._write_lock, self._read_lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._reader.close()
                self._writer.close()  # the last connection checkpoints the WAL into the file
            except sqlite3.Error as exc:
                raise _translate(exc, "close the store") from exc


class _SQLiteSnapshot:
    """A ``StoreSnapshot`` on a private connection inside one read transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def _rows(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise _translate(exc, "read a snapshot of the store") from exc

    def objects(self) -> Iterator[tuple[ObjectRecord, frozenset[int]]]:
        """Every object with its shares, in handle order (batched, one snapshot)."""
        after = INT64_MIN
        while True:
            rows = self._rows(_ITER_OBJECTS, (after, _BATCH))
            if not rows:
                return
            first, last = rows[0][0], rows[-1][0]
            shares: dict[int, set[int]] = {}
            for handle, user_id in self._rows(
                "SELECT handle, user_id FROM shares WHERE handle BETWEEN ? AND ?", (first, last)
            ):
                shares.setdefault(handle, set()).add(user_id)
            for row in rows:
                yield _object_from_row(row), frozenset(shares.get(row[0], ()))
            if len(rows) < _BATCH:
                return
            after = last

    def count_objects(self) -> int:
        """Number of objects."""
        ((count,),) = self._rows("SELECT count(*) FROM objects")
        return int(count)

    def users(self) -> list[UserRecord]:
        """Every user, by user id."""
        return [_user_from_row(row) for row in self._rows(_LIST_USERS)]

    def meta(self) -> dict[str, bytes]:
        """Every meta value except the format's own keys."""
        out: dict[str, bytes] = {}
        for key, value in self._rows("SELECT key, value FROM meta ORDER BY key"):
            if key in FORMAT_META_KEYS:
                continue
            if type(value) is not bytes:
                raise StoreCorrupt("a meta value is not a blob")
            out[key] = value
        return out

    def counters(self) -> tuple[int, int]:
        """The last handle and user id handed out."""
        values = dict(self._rows("SELECT name, value FROM counters"))
        handle, user_id = values.get(_HANDLE_COUNTER), values.get(_USER_ID_COUNTER)
        if type(handle) is not int or type(user_id) is not int:
            raise StoreCorrupt("an allocation counter is missing")
        return handle, user_id

    def last_audit(self) -> AuditRecord | None:
        """The newest audit record, or ``None``."""
        rows = self._rows(_LAST_AUDIT)
        return _audit_from_row(rows[0]) if rows else None


class _SQLiteTransaction:
    """Writes of one open ``BEGIN IMMEDIATE`` transaction on the writer connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._finished = False
        self.failed = False  # a statement failed: whatever it half-did is rolled back at exit
        self._counters: dict[str, int] | None = None  # loaded on first use, written at commit

    def __repr__(self) -> str:
        return f"_SQLiteTransaction(finished={self._finished}, failed={self.failed})"

    def finish(self) -> None:
        self._finished = True

    def _check_live(self) -> None:
        if self._finished:
            raise StorageError("the transaction is finished")

    def _execute(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            self.failed = True
            raise _translate(exc, "write to the store") from exc

    # --- counters ---

    def _counter_values(self) -> dict[str, int]:
        if self._counters is None:
            rows = self._execute("SELECT name, value FROM counters")
            counters = {name: value for name, value in rows if type(value) is int}
            if not {_HANDLE_COUNTER, _USER_ID_COUNTER} <= counters.keys():
                raise StoreCorrupt("an allocation counter is missing")
            self._counters = counters
        return self._counters

    def _allocate(self, name: str, what: str) -> int:
        counters = self._counter_values()
        if counters[name] >= INT64_MAX:
            raise StorageError(f"the {what} space is exhausted")
        counters[name] += 1
        return counters[name]

    def _advance(self, name: str, used: int) -> None:
        counters = self._counter_values()
        counters[name] = max(counters[name], used)

    def flush_counters(self) -> None:
        """Write the allocation counters; called just before COMMIT (raises ``sqlite3.Error``)."""
        if self._counters is not None:
            self._conn.executemany(
                "UPDATE counters SET value = ? WHERE name = ?",
                [(value, name) for name, value in self._counters.items()],
            )

    # --- StoreTransaction ---

    def allocate_handle(self) -> int:
        """Return a fresh token-object handle (never reused, even after a crash)."""
        self._check_live()
        return self._allocate(_HANDLE_COUNTER, "handle")

    def allocate_user_id(self) -> int:
        """Return a fresh user id (never reused)."""
        self._check_live()
        return self._allocate(_USER_ID_COUNTER, "user-id")

    def put_object(self, record: ObjectRecord) -> None:
        """Insert or replace the object with ``record.handle``; its shares are kept."""
        self._check_live()
        check_object_record(record)
        self._execute(
            _PUT_OBJECT,
            (
                record.handle,
                record.object_class,
                record.key_type,
                record.label,
                record.ckid,
                record.owner,
                int(record.private),
                record.public,
                record.sealed,
            ),
        )
        self._advance(_HANDLE_COUNTER, record.handle)

    def delete_object(self, handle: int) -> None:
        """Delete the object and its shares; a missing handle is not an error."""
        self._check_live()
        if not lookup_int(handle, "handle"):
            return
        self._execute("DELETE FROM shares WHERE handle = ?", (handle,))
        self._execute("DELETE FROM objects WHERE handle = ?", (handle,))

    def set_shares(self, handle: int, user_ids: frozenset[int]) -> None:
        """Replace the set of users the object is shared with."""
        self._check_live()
        check_shares(handle, user_ids)
        if not self._execute("SELECT 1 FROM objects WHERE handle = ?", (handle,)):
            raise StorageError("cannot share an object that does not exist")
        for user_id in user_ids:
            if not self._execute("SELECT 1 FROM users WHERE user_id = ?", (user_id,)):
                raise StorageError("cannot share with a user that does not exist")
        self._execute("DELETE FROM shares WHERE handle = ?", (handle,))
        for user_id in sorted(user_ids):
            self._execute("INSERT INTO shares (handle, user_id) VALUES (?, ?)", (handle, user_id))

    def put_user(self, record: UserRecord) -> None:
        """Insert or replace the user with ``record.user_id``; usernames stay unique."""
        self._check_live()
        check_user_record(record)
        if self._execute(
            "SELECT 1 FROM users WHERE username = ? AND user_id <> ?",
            (record.username, record.user_id),
        ):
            raise StorageError("another user already has this username")
        self._execute(
            _PUT_USER,
            (
                record.user_id,
                record.username,
                record.role,
                record.verifier,
                record.failed_logins,
                record.wrapped_storage_key,
            ),
        )
        self._advance(_USER_ID_COUNTER, record.user_id)

    def delete_user(self, user_id: int) -> None:
        """Delete the user and remove it from every share list."""
        self._check_live()
        if not lookup_int(user_id, "user_id"):
            return
        self._execute("DELETE FROM shares WHERE user_id = ?", (user_id,))
        self._execute("DELETE FROM users WHERE user_id = ?", (user_id,))

    def set_meta(self, key: str, value: bytes) -> None:
        """Set an HSM-wide metadata value."""
        self._check_live()
        check_meta(key, value)
        self._execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def append_audit(self, record: AuditRecord) -> None:
        """Append an audit record; ``record.seq`` must be the last seq + 1."""
        self.append_audits((record,))

    def clear_state(self, keep_meta: frozenset[str]) -> None:
        """Delete every object, share, user and meta value not in ``keep_meta``."""
        self._check_live()
        self._execute("DELETE FROM shares")
        self._execute("DELETE FROM objects")
        self._execute("DELETE FROM users")
        for (key,) in self._execute("SELECT key FROM meta"):
            if key not in keep_meta and key not in FORMAT_META_KEYS:
                self._execute("DELETE FROM meta WHERE key = ?", (key,))

    def raise_counters(self, last_handle: int, last_user_id: int) -> None:
        """Advance the allocation counters to at least these values (never back)."""
        self._check_live()
        lookup_int(last_handle, "handle")
        lookup_int(last_user_id, "user_id")
        self._advance(_HANDLE_COUNTER, last_handle)
        self._advance(_USER_ID_COUNTER, last_user_id)

    def append_audits(self, records: Sequence[AuditRecord]) -> None:
        """Append consecutive audit records at once; the first's seq is the last seq + 1."""
        self._check_live()
        if not records:
            return
        ((last,),) = self._execute("SELECT max(seq) FROM audit")
        expected = (last or 0) + 1
        for record in records:
            check_audit_record(record)
            if record.seq != expected:
                raise StorageError("audit record out of sequence: seq must be the last seq + 1")
            expected += 1
        rows = [
            (r.seq, r.boot, r.timestamp_ns, r.event, r.actor, r.details, r.prev_hash, r.hash)
            for r in records
        ]
        try:
            self._conn.executemany(_APPEND_AUDIT, rows)
        except sqlite3.Error as exc:
            self.failed = True
            raise _translate(exc, "append audit records") from exc


# --- file creation and format checks --------------------------------------------------------------


def _create_file(path: Path) -> None:
    """Create an empty database file with mode 0600 unless ``path`` already exists."""
    if path.exists():
        return
    parent = path.absolute().parent
    if not parent.is_dir():
        raise StorageError(f"cannot create the store: directory {str(parent)!r} does not exist")
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        return  # someone else created it first; we open theirs
    except OSError as exc:
        raise StorageError(f"cannot create the store file ({exc.strerror})") from exc
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)  # whatever the umask did
        os.fsync(fd)
    finally:
        os.close(fd)
    _fsync_directory(parent)


def _fsync_directory(directory: Path) -> None:
    """Make a new directory entry durable (POSIX; a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _check_format(conn: sqlite3.Connection) -> bool:
    """Check magic, version and tables; ``True`` if the file is empty and needs a schema.

    Raises ``StoreCorrupt`` for anything that is not a v1 Strongroom store. It only reads, and
    runs before any PRAGMA that would change the file, so a refused file keeps its contents.
    ``sqlite3`` errors propagate to the caller.
    """
    names = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    if not names:
        return True
    if "meta" not in names:
        raise StoreCorrupt("not a Strongroom store (no meta table)")
    rows = dict(
        conn.execute("SELECT key, value FROM meta WHERE key IN ('magic', 'schema_version')")
    )
    if rows.get("magic") != STORE_MAGIC:
        raise StoreCorrupt("not a Strongroom store (wrong or missing magic)")
    raw_version = rows.get("schema_version")
    if type(raw_version) is not bytes or not raw_version.isdigit() or len(raw_version) > 9:
        raise StoreCorrupt("the store's schema_version row is missing or unreadable")
    version = int(raw_version)
    if version > SCHEMA_VERSION:
        raise StoreCorrupt(
            f"the store has format version {version}, newer than this Strongroom supports "
            f"({SCHEMA_VERSION}); upgrade Strongroom to open it"
        )
    if version != SCHEMA_VERSION:
        raise StoreCorrupt(f"the store has unknown format version {version}")
    missing = [table for table in _TABLES if table not in names]
    if missing:
        raise StoreCorrupt(f"the store is missing tables: {', '.join(missing)}")
    return False


def _initialise(conn: sqlite3.Connection) -> None:
    """Create the v1 schema in one transaction (a no-op if another opener got there first)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        if not _check_format(conn):
            conn.execute("ROLLBACK")
            return
        for statement in _SCHEMA:
            conn.execute(statement)
        conn.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?)",
            [
                ("magic", STORE_MAGIC),
                ("schema_version", str(SCHEMA_VERSION).encode("ascii")),
            ],
        )
        conn.executemany(
            "INSERT INTO counters (name, value) VALUES (?, 0)",
            [(_HANDLE_COUNTER,), (_USER_ID_COUNTER,)],
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise

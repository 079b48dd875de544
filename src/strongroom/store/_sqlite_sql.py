"""SQL text and row decoding for the SQLite backend (store format v1).

This module owns the schema statements, the prepared queries, the index choice for
``find_objects`` and the conversion of rows into store records (with type checks that turn
a damaged row into ``StoreCorrupt``). ``store.sqlite`` owns connections and transactions.
No I/O happens here.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Sequence
from typing import Any, Final

from strongroom.errors import StorageError, StoreCorrupt
from strongroom.store.api import AuditRecord, ObjectQuery, ObjectRecord, UserRecord

__all__ = [
    "BUSY_TIMEOUT_MS",
    "_APPEND_AUDIT",
    "_BATCH",
    "_GET_OBJECT",
    "_GET_USER",
    "_GET_USER_BY_NAME",
    "_HANDLE_COUNTER",
    "_ITER_AUDIT",
    "_ITER_OBJECTS",
    "_LAST_AUDIT",
    "_LIST_USERS",
    "_PUT_OBJECT",
    "_PUT_USER",
    "_SCHEMA",
    "_TABLES",
    "_USER_ID_COUNTER",
    "_audit_from_row",
    "_find_sql",
    "_object_from_row",
    "_translate",
    "_user_from_row",
]


BUSY_TIMEOUT_MS: Final = 10_000
"""How long a connection waits for another process's lock before failing."""

_BATCH: Final = 512  # rows per query when iterating objects or audit records

# --- schema (store-v1.md, "SQLite schema"; keep the two in step) -------------------------------

_TABLES: Final = ("objects", "shares", "users", "meta", "audit", "counters")

_SCHEMA: Final = (
    """CREATE TABLE objects (
        handle       INTEGER PRIMARY KEY,
        object_class INTEGER NOT NULL,
        key_type     INTEGER,
        label        TEXT NOT NULL,
        ckid         BLOB NOT NULL,
        owner        INTEGER NOT NULL,
        private      INTEGER NOT NULL CHECK (private IN (0, 1)),
        public       BLOB NOT NULL,
        sealed       BLOB
    )""",
    "CREATE INDEX objects_label ON objects (label)",
    "CREATE INDEX objects_ckid ON objects (ckid)",
    "CREATE INDEX objects_class ON objects (object_class, key_type)",
    "CREATE INDEX objects_owner ON objects (owner)",
    """CREATE TABLE users (
        user_id             INTEGER PRIMARY KEY,
        username            TEXT UNIQUE NOT NULL,
        role                TEXT NOT NULL,
        verifier            BLOB NOT NULL,
        failed_logins       INTEGER NOT NULL,
        wrapped_storage_key BLOB
    )""",
    """CREATE TABLE shares (
        handle  INTEGER NOT NULL REFERENCES objects (handle) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
        PRIMARY KEY (handle, user_id)
    ) WITHOUT ROWID""",
    "CREATE INDEX shares_user ON shares (user_id)",
    """CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value BLOB NOT NULL
    )""",
    """CREATE TABLE audit (
        seq          INTEGER PRIMARY KEY,
        boot         INTEGER NOT NULL,
        timestamp_ns INTEGER NOT NULL,
        event        TEXT NOT NULL,
        actor        TEXT NOT NULL,
        details      BLOB NOT NULL,
        prev_hash    BLOB NOT NULL,
        hash         BLOB NOT NULL
    )""",
    """CREATE TABLE counters (
        name  TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    )""",
)

# Every statement is a literal (only ``_find_shape`` composes SQL, from a fixed column list);
# values always travel as parameters.

_GET_OBJECT: Final = """
    SELECT handle, object_class, key_type, label, ckid, owner, private, public, sealed
    FROM objects WHERE handle = ?
"""
_ITER_OBJECTS: Final = """
    SELECT handle, object_class, key_type, label, ckid, owner, private, public, sealed
    FROM objects WHERE handle > ? ORDER BY handle LIMIT ?
"""
_PUT_OBJECT: Final = """
    INSERT INTO objects
        (handle, object_class, key_type, label, ckid, owner, private, public, sealed)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (handle) DO UPDATE SET
        object_class = excluded.object_class, key_type = excluded.key_type,
        label = excluded.label, ckid = excluded.ckid, owner = excluded.owner,
        private = excluded.private, public = excluded.public, sealed = excluded.sealed
"""
_GET_USER: Final = """
    SELECT user_id, username, role, verifier, failed_logins, wrapped_storage_key
    FROM users WHERE user_id = ?
"""
_GET_USER_BY_NAME: Final = """
    SELECT user_id, username, role, verifier, failed_logins, wrapped_storage_key
    FROM users WHERE username = ?
"""
_LIST_USERS: Final = """
    SELECT user_id, username, role, verifier, failed_logins, wrapped_storage_key
    FROM users ORDER BY user_id
"""
# An upsert, not INSERT OR REPLACE: REPLACE would silently delete a *different* user whose
# username collides, where we want the UNIQUE constraint to refuse.
_PUT_USER: Final = """
    INSERT INTO users
        (user_id, username, role, verifier, failed_logins, wrapped_storage_key)
    VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (user_id) DO UPDATE SET
        username = excluded.username, role = excluded.role, verifier = excluded.verifier,
        failed_logins = excluded.failed_logins,
        wrapped_storage_key = excluded.wrapped_storage_key
"""
_ITER_AUDIT: Final = """
    SELECT seq, boot, timestamp_ns, event, actor, details, prev_hash, hash
    FROM audit WHERE seq > ? ORDER BY seq LIMIT ?
"""
_LAST_AUDIT: Final = """
    SELECT seq, boot, timestamp_ns, event, actor, details, prev_hash, hash
    FROM audit ORDER BY seq DESC LIMIT 1
"""
_APPEND_AUDIT: Final = """
    INSERT INTO audit (seq, boot, timestamp_ns, event, actor, details, prev_hash, hash)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""

_HANDLE_COUNTER: Final = "handle"
_USER_ID_COUNTER: Final = "user_id"


# --- error translation -------------------------------------------------------------------------

_CORRUPT_CODES: Final = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


def _translate(exc: sqlite3.Error, doing: str) -> StorageError:
    """The ``StorageError`` for a ``sqlite3`` error; names the SQLite code, never row data."""
    code = getattr(exc, "sqlite_errorcode", None)
    name = getattr(exc, "sqlite_errorname", None) or type(exc).__name__
    if code is not None and (code & 0xFF) in _CORRUPT_CODES:  # primary code, not extended
        return StoreCorrupt(f"could not {doing}: the database file is damaged ({name})")
    return StorageError(f"could not {doing} ({name})")


# --- rows to records -----------------------------------------------------------------------------


def _object_from_row(row: Sequence[Any]) -> ObjectRecord:
    handle, object_class, key_type, label, ckid, owner, private, public, sealed = row
    if not (
        type(handle) is int
        and type(object_class) is int
        and (key_type is None or type(key_type) is int)
        and type(label) is str
        and type(ckid) is bytes
        and type(owner) is int
        and private in (0, 1)
        and type(public) is bytes
        and (sealed is None or type(sealed) is bytes)
    ):
        raise StoreCorrupt("an object row has columns of the wrong type")
    return ObjectRecord(
        handle, object_class, key_type, label, ckid, owner, bool(private), public, sealed
    )


def _user_from_row(row: Sequence[Any]) -> UserRecord:
    user_id, username, role, verifier, failed_logins, wrapped = row
    if not (
        type(user_id) is int
        and type(username) is str
        and type(role) is str
        and type(verifier) is bytes
        and type(failed_logins) is int
        and (wrapped is None or type(wrapped) is bytes)
    ):
        raise StoreCorrupt("a user row has columns of the wrong type")
    return UserRecord(user_id, username, role, verifier, failed_logins, wrapped)


def _audit_from_row(row: Sequence[Any]) -> AuditRecord:
    seq, boot, timestamp_ns, event, actor, details, prev_hash, entry_hash = row
    if not (
        type(seq) is int
        and type(boot) is int
        and type(timestamp_ns) is int
        and type(event) is str
        and type(actor) is str
        and type(details) is bytes
        and type(prev_hash) is bytes
        and type(entry_hash) is bytes
    ):
        raise StoreCorrupt("an audit row has columns of the wrong type")
    return AuditRecord(seq, boot, timestamp_ns, event, actor, details, prev_hash, entry_hash)


# --- find: which index drives the query ----------------------------------------------------------
#
# Without ANALYZE statistics SQLite guesses between indexes, and at a million rows a wrong guess
# (owner, when one user owns everything) turns a 20 µs lookup into a scan. So we pick the
# driving index ourselves, most selective first, and hide the other columns from the planner
# with unary ``+`` (which keeps the comparison but disqualifies the index). An empty label or
# CKA_ID is PKCS#11's default and likely shared by many objects, so it drives last.


def _find_sql(query: ObjectQuery) -> tuple[str, tuple[object, ...]]:
    """The SELECT for ``query`` and its parameters."""
    present = tuple(
        getattr(query, column) is not None
        for column in ("ckid", "label", "owner", "object_class", "key_type")
    )
    empty = (query.ckid == b"", query.label == "")
    sql, columns = _find_shape(present, empty)
    return sql, tuple(getattr(query, column) for column in columns)


@functools.lru_cache(maxsize=256)
def _find_shape(present: tuple[bool, ...], empty: tuple[bool, bool]) -> tuple[str, tuple[str, ...]]:
    """SQL and parameter columns for one query shape (which fields are given, which empty)."""
    has = dict(zip(("ckid", "label", "owner", "object_class", "key_type"), present, strict=True))
    empty_ckid, empty_label = empty
    preference = [
        ("ckid",) if has["ckid"] and not empty_ckid else None,
        ("label",) if has["label"] and not empty_label else None,
        ("owner",) if has["owner"] else None,
        ("object_class", "key_type") if has["object_class"] else None,
        ("ckid",) if has["ckid"] else None,
        ("label",) if has["label"] else None,
    ]
    lead = next((group for group in preference if group is not None), ())
    columns = tuple(c for c in ("ckid", "label", "owner", "object_class", "key_type") if has[c])
    terms = [f"{c} = ?" if c in lead else f"+{c} = ?" for c in columns]
    where = f" WHERE {' AND '.join(terms)}" if terms else ""
    # Column names come from the fixed tuple above, never from the caller.
    return f"SELECT handle FROM objects{where} ORDER BY handle", columns  # noqa: S608


# --- the store ---------------------------------------------------------------------------------

"""Argument checks and format constants shared by every storage backend.

This module owns what both ``store.memory`` and ``store.sqlite`` apply before touching any
state, so the two backends raise the same error for the same call: caller misuse (wrong
type, out-of-range id, text that is not Unicode) is ``ArgumentsBad``, raised before any state
is read, with messages that name the field and never its value. It also owns the store
format's magic and version. No I/O, no crypto.
"""

from __future__ import annotations

from collections.abc import Set

from strongroom.errors import ArgumentsBad
from strongroom.store.api import AuditRecord, ObjectQuery, ObjectRecord, UserRecord

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "RESERVED_META_KEYS",
    "SCHEMA_VERSION",
    "STORE_MAGIC",
    "check_audit_record",
    "check_meta",
    "check_object_record",
    "check_shares",
    "check_user_record",
    "check_write_id",
    "lookup_int",
    "lookup_query",
    "lookup_text",
    "matches",
]

STORE_MAGIC = b"strongroom-store"
"""Value of the ``magic`` meta row: says "this is a Strongroom store"."""

SCHEMA_VERSION = 1
"""Store format version written by, and the only one readable by, this code."""

RESERVED_META_KEYS = frozenset({"magic", "schema_version"})
"""Meta keys owned by the store format itself; ``set_meta`` refuses them."""

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


# --- checks shared by every backend --------------------------------------------------------
#
# Caller misuse (wrong type, out-of-range id, text that is not Unicode) is ``ArgumentsBad``
# and is raised before any state is read. Messages name the field, never its value.


def _check_int(value: object, what: str, minimum: int = INT64_MIN) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= INT64_MAX:
        raise ArgumentsBad(f"{what} must be an int in {minimum}..2**63-1")


def _check_text(value: object, what: str) -> None:
    if not isinstance(value, str):
        raise ArgumentsBad(f"{what} must be a str")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ArgumentsBad(f"{what} must be encodable as UTF-8") from exc


def _check_bytes(value: object, what: str, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if not isinstance(value, bytes):
        raise ArgumentsBad(f"{what} must be bytes" + (" or None" if optional else ""))


def check_write_id(value: object, what: str) -> None:
    """Check a handle, user id or seq being written: an int in 1..2**63-1."""
    _check_int(value, what, 1)


def check_object_record(record: object) -> None:
    """Raise ``ArgumentsBad`` unless ``record`` is a storable ``ObjectRecord``."""
    if not isinstance(record, ObjectRecord):
        raise ArgumentsBad("put_object takes an ObjectRecord")
    check_write_id(record.handle, "handle")
    _check_int(record.object_class, "object_class", 0)
    if record.key_type is not None:
        _check_int(record.key_type, "key_type", 0)
    _check_text(record.label, "label")
    _check_bytes(record.ckid, "ckid")
    _check_int(record.owner, "owner", 0)
    if not isinstance(record.private, bool):
        raise ArgumentsBad("private must be a bool")
    _check_bytes(record.public, "public")
    _check_bytes(record.sealed, "sealed", optional=True)


def check_user_record(record: object) -> None:
    """Raise ``ArgumentsBad`` unless ``record`` is a storable ``UserRecord``."""
    if not isinstance(record, UserRecord):
        raise ArgumentsBad("put_user takes a UserRecord")
    check_write_id(record.user_id, "user_id")
    _check_text(record.username, "username")
    _check_text(record.role, "role")
    _check_bytes(record.verifier, "verifier")
    _check_int(record.failed_logins, "failed_logins", 0)
    _check_bytes(record.wrapped_storage_key, "wrapped_storage_key", optional=True)


def check_audit_record(record: object) -> None:
    """Raise ``ArgumentsBad`` unless ``record`` is a storable ``AuditRecord``."""
    if not isinstance(record, AuditRecord):
        raise ArgumentsBad("append_audit takes an AuditRecord")
    check_write_id(record.seq, "seq")
    _check_int(record.boot, "boot", 0)
    _check_int(record.timestamp_ns, "timestamp_ns")
    _check_text(record.event, "event")
    _check_text(record.actor, "actor")
    _check_bytes(record.details, "details")
    _check_bytes(record.prev_hash, "prev_hash")
    _check_bytes(record.hash, "hash")


def check_meta(key: object, value: object) -> None:
    """Raise ``ArgumentsBad`` unless ``key``/``value`` may be written with ``set_meta``."""
    _check_text(key, "meta key")
    if key in RESERVED_META_KEYS:
        raise ArgumentsBad("this meta key is reserved for the store format")
    _check_bytes(value, "meta value")


def check_shares(handle: object, user_ids: object) -> None:
    """Raise ``ArgumentsBad`` unless the arguments of ``set_shares`` are well formed."""
    check_write_id(handle, "handle")
    if not isinstance(user_ids, Set):
        raise ArgumentsBad("user_ids must be a frozenset of ints")
    for user_id in user_ids:
        check_write_id(user_id, "user id in user_ids")


def lookup_int(value: object, what: str) -> bool:
    """Check an int used as a lookup key; ``False`` means it cannot match any stored row."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentsBad(f"{what} must be an int")
    return INT64_MIN <= value <= INT64_MAX


def lookup_text(value: object, what: str) -> None:
    """Check a str used as a lookup key."""
    _check_text(value, what)


def lookup_query(query: object) -> bool:
    """Check an ``ObjectQuery``; ``False`` means it cannot match any stored object."""
    if not isinstance(query, ObjectQuery):
        raise ArgumentsBad("find_objects takes an ObjectQuery")
    possible = True
    for what in ("object_class", "key_type", "owner"):
        value = getattr(query, what)
        if value is not None and not lookup_int(value, what):
            possible = False
    if query.label is not None:
        lookup_text(query.label, "label")
    if query.ckid is not None:
        _check_bytes(query.ckid, "ckid")
    return possible


def matches(record: ObjectRecord, query: ObjectQuery) -> bool:
    """Whether ``record`` matches every non-``None`` field of ``query``."""
    return (
        (query.object_class is None or record.object_class == query.object_class)
        and (query.key_type is None or record.key_type == query.key_type)
        and (query.label is None or record.label == query.label)
        and (query.ckid is None or record.ckid == query.ckid)
        and (query.owner is None or record.owner == query.owner)
    )

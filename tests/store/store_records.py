"""Record factories and a state snapshot shared by the store tests (not a test module itself).

Owns small helpers that build valid ``ObjectRecord``/``UserRecord``/``AuditRecord`` values and
read a backend's whole observable state for comparison; it touches no backend internals.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from strongroom.store.api import AuditRecord, ObjectQuery, ObjectRecord, RawStore, UserRecord

__all__ = ["make_audit", "make_object", "make_user", "observable_state"]


def make_object(handle: int, **changes: Any) -> ObjectRecord:
    """A valid secret-key object record with ``handle``; keyword arguments override fields."""
    record = ObjectRecord(
        handle=handle,
        object_class=4,
        key_type=0x1F,
        label=f"key-{handle}",
        ckid=str(handle).encode("ascii"),
        owner=1,
        private=True,
        public=b"\xa1\x01\x02",
        sealed=b"\x01sealed-blob",
    )
    return dataclasses.replace(record, **changes)


def make_user(user_id: int, username: Any = None, **changes: Any) -> UserRecord:
    """A valid crypto-user record; keyword arguments override fields."""
    record = UserRecord(
        user_id=user_id,
        username=username if username is not None else f"user{user_id}",
        role="crypto-user",
        verifier=b"verifier-" + str(user_id).encode("ascii"),
        failed_logins=0,
        wrapped_storage_key=None,
    )
    return dataclasses.replace(record, **changes)


def make_audit(seq: int, **changes: Any) -> AuditRecord:
    """A well-formed audit record with ``seq`` (the hash fields are placeholders)."""
    record = AuditRecord(
        seq=seq,
        boot=1,
        timestamp_ns=1_700_000_000_000_000_000 + seq,
        event="test.event",
        actor="tester",
        details=b"\xa0",
        prev_hash=bytes(32),
        hash=str(seq).encode("ascii").rjust(32, b"0"),
    )
    return dataclasses.replace(record, **changes)


def observable_state(
    store: RawStore,
    *,
    handles: range,
    user_ids: range,
    usernames: list[str],
    meta_keys: list[str],
    queries: list[ObjectQuery],
) -> dict[str, object]:
    """Everything a caller can read from ``store`` about the given ids, names and queries."""
    return {
        "objects": list(store.iter_objects()),
        "count": store.count_objects(),
        "get_object": [store.get_object(h) for h in handles],
        "shares": [store.get_shares(h) for h in handles],
        "shared_with": [store.handles_shared_with(u) for u in user_ids],
        "users": store.list_users(),
        "get_user": [store.get_user(u) for u in user_ids],
        "by_name": [store.get_user_by_name(name) for name in usernames],
        "meta": [store.get_meta(key) for key in meta_keys],
        "audit": list(store.audit_records()),
        "last_audit": store.last_audit(),
        "find": [store.find_objects(q) for q in queries],
    }

"""The audit chain: what is recorded, that no secret is, and that tampering is caught."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from strongroom.constants import Attribute, KeyType, Mechanism, ObjectClass
from strongroom.engine import HSM
from strongroom.engine.audit import verify_chain
from strongroom.errors import AuditChainBroken, AuthenticationFailed
from strongroom.store.api import AuditRecord, RawStore
from strongroom.store.sqlite import SQLiteStore
from strongroom.testing import fast_config

from .engine_helpers import (
    ADMIN_PASSWORD,
    ALICE_PASSWORD,
    APP_PASSWORD,
    BOB_PASSWORD,
    Cluster,
    build,
)

A = Attribute


def events(cluster: Cluster) -> list[str]:
    """Event names in order."""
    return [str(r["event"]) for r in cluster.admin.read_audit()]


def test_management_events_are_recorded(cluster: Cluster) -> None:
    """Activation, logins, failures, user and key changes each leave a record."""
    with pytest.raises(AuthenticationFailed):
        cluster.hsm.open_session().login("bob", "wrong-password")
    wrapping = cluster.alice.generate_key(Mechanism.AES_KEY_GEN, {A.VALUE_LEN: 32, A.TOKEN: True})
    key = cluster.alice.generate_key(Mechanism.AES_KEY_GEN, {A.VALUE_LEN: 32, A.TOKEN: True})
    cluster.alice.share_key(key, "bob")
    cluster.alice.unshare_key(key, "bob")
    cluster.alice.set_attributes(key, {A.LABEL: "x"})
    blob = cluster.alice.wrap_key(Mechanism.AES_KEY_WRAP_KWP, wrapping, key)
    cluster.alice.unwrap_key(
        Mechanism.AES_KEY_WRAP_KWP,
        wrapping,
        blob,
        {A.CLASS: ObjectClass.SECRET_KEY, A.KEY_TYPE: KeyType.AES},
    )
    cluster.admin.set_trusted(key, True)
    cluster.alice.destroy_object(key)
    cluster.alice.logout()
    seen = events(cluster)
    for expected in (
        "initialize",
        "boot",
        "self-test",
        "activate",
        "unseal",
        "user-create",
        "login",
        "login-failed",
        "key-generate",
        "key-share",
        "key-unshare",
        "key-set-attribute",
        "key-wrap",
        "key-unwrap",
        "trusted-set",
        "key-destroy",
        "logout",
    ):
        assert expected in seen, expected
    assert cluster.hsm.verify_audit() == len(seen)


def test_no_secret_in_audit_records(cluster: Cluster) -> None:
    """Passwords and key bytes never appear in any audit field."""
    value = bytes(range(100, 132))
    cluster.alice.create_object(
        {A.CLASS: ObjectClass.SECRET_KEY, A.KEY_TYPE: KeyType.AES, A.VALUE: value}
    )
    with pytest.raises(AuthenticationFailed):
        cluster.hsm.open_session().login("alice", "typo-" + ALICE_PASSWORD)
    cluster.admin.change_password("bob-changed-pass", "bob")
    dump = repr(cluster.admin.read_audit()).encode()
    for secret in (ADMIN_PASSWORD, ALICE_PASSWORD, BOB_PASSWORD, APP_PASSWORD, "bob-changed-pass"):
        assert secret.encode() not in dump
    assert value not in dump
    assert value.hex().encode() not in dump


def _records(cluster: Cluster) -> list[AuditRecord]:
    return list(cluster.hsm._core.store.audit_records())


@pytest.mark.parametrize("field", ["event", "actor", "details", "timestamp_ns", "boot"])
def test_edited_record_is_detected(cluster: Cluster, field: str) -> None:
    """Changing any field of any record breaks the chain at that record."""
    from dataclasses import replace

    records = _records(cluster)
    victim = records[3]
    value: object = {
        "event": "x",
        "actor": "mallory",
        "details": b"\xa0",
        "timestamp_ns": 1,
        "boot": 99,
    }[field]
    records[3] = replace(victim, **{field: value})  # type: ignore[arg-type]
    with pytest.raises(AuditChainBroken, match=f"record {victim.seq}"):
        verify_chain(records)


def test_gap_and_reorder_are_detected(cluster: Cluster) -> None:
    """A missing record or two swapped records break the chain."""
    records = _records(cluster)
    with pytest.raises(AuditChainBroken):
        verify_chain(records[:2] + records[3:])
    with pytest.raises(AuditChainBroken):
        verify_chain([records[0], records[2], records[1], *records[3:]])
    with pytest.raises(AuditChainBroken):
        verify_chain(records[1:])
    assert verify_chain(records) == len(records)


def test_tampering_on_disk_is_detected(sqlite_path: Path) -> None:
    """Editing the audit table of a closed store is caught when the HSM verifies its log."""
    cluster = build(SQLiteStore(sqlite_path))
    cluster.hsm.close()
    db = sqlite3.connect(sqlite_path)
    db.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 5")
    db.commit()
    db.close()
    hsm = HSM.open(SQLiteStore(sqlite_path), fast_config())
    with pytest.raises(AuditChainBroken):
        hsm.verify_audit()
    hsm.close()


def test_boot_counter_advances_and_chain_spans_restarts(sqlite_path: Path) -> None:
    """Each open is a new boot; the chain stays valid across restarts."""
    build(SQLiteStore(sqlite_path)).hsm.close()
    for expected_boot in (2, 3):
        hsm = HSM.open(SQLiteStore(sqlite_path), fast_config())
        assert hsm.info()["boot"] == expected_boot
        assert hsm.verify_audit() > 0
        hsm.close()


# --- queued records of events that change no persistent state --------------------------------


def _stored_events(store: RawStore) -> list[str]:
    return [r.event for r in store.audit_records()]


def _wrap_setup(cluster: Cluster) -> tuple[int, int]:
    kek = cluster.alice.generate_key(Mechanism.AES_KEY_GEN, {A.VALUE_LEN: 32, A.TOKEN: True})
    key = cluster.alice.generate_key(
        Mechanism.AES_KEY_GEN, {A.VALUE_LEN: 32, A.TOKEN: True, A.EXTRACTABLE: True}
    )
    return kek, key


def test_export_records_reach_the_store_by_the_timer(sqlite_path: Path) -> None:
    """A wrap's audit record is written within the flush interval, with no other activity."""
    cluster = build(SQLiteStore(sqlite_path), audit_flush_seconds=0.01)
    kek, key = _wrap_setup(cluster)
    cluster.alice.wrap_key(Mechanism.AES_KEY_WRAP_KWP, kek, key)
    reader = SQLiteStore(sqlite_path)
    try:
        for _ in range(200):
            if "key-wrap" in _stored_events(reader):
                break
            time.sleep(0.01)
        assert "key-wrap" in _stored_events(reader)
    finally:
        reader.close()
        cluster.hsm.close()


def test_queued_records_keep_their_place_in_the_chain(sqlite_path: Path) -> None:
    """Queued events precede the next durable write's records, and the chain verifies."""
    cluster = build(SQLiteStore(sqlite_path), audit_flush_seconds=60)
    kek, key = _wrap_setup(cluster)
    cluster.alice.wrap_key(Mechanism.AES_KEY_WRAP_KWP, kek, key)
    session_key = cluster.alice.generate_key(Mechanism.AES_KEY_GEN, {A.VALUE_LEN: 16})
    cluster.alice.destroy_object(session_key)
    cluster.alice.set_attributes(key, {A.LABEL: "after"})  # a durable write
    names = events(cluster)
    tail = names[names.index("key-wrap") :]
    assert tail[:4] == ["key-wrap", "key-generate", "key-destroy", "key-set-attribute"]
    cluster.hsm.close()
    store = SQLiteStore(sqlite_path)
    try:
        verify_chain(store.audit_records())
    finally:
        store.close()


def test_a_full_batch_is_written_at_once(sqlite_path: Path) -> None:
    """When AUDIT_BATCH events wait, they are written without waiting for the timer."""
    from strongroom.engine.core import AUDIT_BATCH

    cluster = build(SQLiteStore(sqlite_path), audit_flush_seconds=60)
    kek, key = _wrap_setup(cluster)
    before = len(_stored_events(cluster.hsm._core.store))
    for _ in range(AUDIT_BATCH):
        cluster.alice.wrap_key(Mechanism.AES_KEY_WRAP_KWP, kek, key)
    after = _stored_events(cluster.hsm._core.store)
    assert len(after) - before == AUDIT_BATCH
    cluster.hsm.close()


def test_close_writes_what_is_queued(sqlite_path: Path) -> None:
    """Closing the HSM writes every queued record before the store closes."""
    cluster = build(SQLiteStore(sqlite_path), audit_flush_seconds=60)
    kek, key = _wrap_setup(cluster)
    cluster.alice.wrap_key(Mechanism.AES_KEY_WRAP_KWP, kek, key)
    cluster.hsm.close()
    store = SQLiteStore(sqlite_path)
    try:
        assert "key-wrap" in _stored_events(store)
        verify_chain(store.audit_records())
    finally:
        store.close()


def test_a_failed_write_keeps_the_queue(cluster: Cluster) -> None:
    """If the write that carries queued events fails, they are carried by the next one."""
    kek, key = _wrap_setup(cluster)
    cluster.alice.wrap_key(Mechanism.AES_KEY_WRAP_KWP, kek, key)
    core = cluster.hsm._core
    with pytest.raises(RuntimeError), core.write("test"):
        raise RuntimeError("boom")
    assert "key-wrap" in events(cluster)

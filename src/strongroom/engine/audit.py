"""The hash-chained audit log: building records, appending them, verifying the chain.

This module owns the audit record format (store format v1, "Audit") and the chain rule:
each record's hash covers its own fields and the previous record's hash, sequence numbers
run 1, 2, 3… with no gap, and the boot counter never goes down. Records are appended in
the same store transaction as the change they describe, so the log and the state cannot
disagree after a crash. Details carry identifiers (handles, usernames, mechanism names),
never secrets; ``record`` refuses values that are not plain identifiers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from strongroom.crypto.hashing import constant_time_equal, digest
from strongroom.errors import AuditChainBroken
from strongroom.model.codec import encode_cbor
from strongroom.store.api import AuditRecord, RawStore, StoreTransaction

__all__ = ["GENESIS_HASH", "AuditLog", "audit_hash", "verify_chain"]

GENESIS_HASH = bytes(32)
"""``prev_hash`` of the first record."""
_DOMAIN = b"strongroom/audit/v1\x00"

DetailValue = str | int | bool | None | list[int] | list[str]


def audit_hash(
    *,
    seq: int,
    boot: int,
    timestamp_ns: int,
    event: str,
    actor: str,
    details: bytes,
    prev_hash: bytes,
) -> bytes:
    """SHA-256 over the domain tag and the canonical CBOR of the record's fields."""
    body = encode_cbor([seq, boot, timestamp_ns, event, actor, details, prev_hash])
    return digest("SHA256", _DOMAIN + body)


@dataclass(slots=True)
class _Head:
    seq: int
    hash: bytes
    boot: int


class AuditLog:
    """Appends records to the store's audit table and remembers the chain's head."""

    def __init__(self, store: RawStore) -> None:
        last = store.last_audit()
        self._head = (
            _Head(0, GENESIS_HASH, 0) if last is None else _Head(last.seq, last.hash, last.boot)
        )
        self._pending: _Head | None = None

    @property
    def head_seq(self) -> int:
        """Sequence number of the last committed record (0 if none)."""
        return self._head.seq

    @property
    def head_hash(self) -> bytes:
        """Hash of the last committed record."""
        return self._head.hash

    def record(
        self,
        tx: StoreTransaction,
        *,
        boot: int,
        timestamp_ns: int,
        event: str,
        actor: str,
        details: Mapping[str, DetailValue] | None = None,
    ) -> AuditRecord:
        """Append one record inside ``tx``; call ``committed``/``rolled_back`` after."""
        return self.record_many(tx, boot, [(timestamp_ns, event, actor, details or {})])[0]

    def record_many(
        self,
        tx: StoreTransaction,
        boot: int,
        events: Iterable[tuple[int, str, str, Mapping[str, DetailValue]]],
    ) -> list[AuditRecord]:
        """Append several records (timestamp, event, actor, details) inside ``tx`` at once."""
        base = self._pending or self._head
        seq, prev = base.seq, base.hash
        entries: list[AuditRecord] = []
        for timestamp_ns, event, actor, details in events:
            seq += 1
            encoded = encode_cbor(dict(details))
            entry_hash = audit_hash(
                seq=seq,
                boot=boot,
                timestamp_ns=timestamp_ns,
                event=event,
                actor=actor,
                details=encoded,
                prev_hash=prev,
            )
            entries.append(
                AuditRecord(seq, boot, timestamp_ns, event, actor, encoded, prev, entry_hash)
            )
            prev = entry_hash
        if entries:
            tx.append_audits(entries)
            self._pending = _Head(seq, prev, boot)
        return entries

    def committed(self) -> None:
        """The transaction holding the pending records committed."""
        if self._pending is not None:
            self._head = self._pending
            self._pending = None

    def rolled_back(self) -> None:
        """The transaction holding the pending records rolled back."""
        self._pending = None


def verify_chain(records: Iterable[AuditRecord]) -> int:
    """Check a whole log from seq 1; return the number of records.

    Raises ``AuditChainBroken`` naming the first bad sequence number on any gap,
    reordering, edited field, broken link or boot counter going backwards.
    """
    expected_seq = 1
    prev_hash = GENESIS_HASH
    last_boot = 0
    count = 0
    for entry in records:
        if entry.seq != expected_seq:
            raise AuditChainBroken(f"expected record {expected_seq}, found {entry.seq}")
        if not constant_time_equal(entry.prev_hash, prev_hash):
            raise AuditChainBroken(f"record {entry.seq} does not link to its predecessor")
        recomputed = audit_hash(
            seq=entry.seq,
            boot=entry.boot,
            timestamp_ns=entry.timestamp_ns,
            event=entry.event,
            actor=entry.actor,
            details=entry.details,
            prev_hash=entry.prev_hash,
        )
        if not constant_time_equal(recomputed, entry.hash):
            raise AuditChainBroken(f"record {entry.seq} was altered")
        if entry.boot < last_boot:
            raise AuditChainBroken(f"record {entry.seq} has a boot counter that went backwards")
        last_boot = entry.boot
        prev_hash = entry.hash
        expected_seq += 1
        count += 1
    return count

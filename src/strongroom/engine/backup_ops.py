"""Backup and restore inside the HSM: the inner, sealed layer (docs/formats/backup-v1.md).

This module owns what a backup holds and how a restore replaces an HSM's state. A backup is
made from one consistent snapshot of the store, so it never blocks the HSM: users (verifiers
and wrapped storage-key slots only), every token object with its sealed material exactly as
stored, shares, settings, the allocation counters, and the HSM's lineage and position (its
audit chain head) for rollback checks. Session objects and the audit log itself are not part
of the state. Plaintext key material never exists here: sealed records stay sealed.

A restore checks everything it can before touching state — format, manufacturer and service
(the PBK), FIPS mode, rollback, approval — then replaces the whole state in ONE store
transaction while it authenticates each chunk; any failure rolls the transaction back and
the HSM is exactly as before. The HSM's own audit log and boot counter are kept (a restore
is recorded in it, with the backup and the source's audit head). After a restore every
session is logged out and the HSM is sealed until an admin of the restored state logs in.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from strongroom.engine.approval import ApprovalRequest
from strongroom.engine.backup_format import (
    RECORDS_PER_CHUNK,
    BackupHeader,
    ByteReader,
    MetaRecord,
    ObjectEntry,
    Record,
    check_family,
    chunk_count_for,
    derive_pbk,
    encode_header,
    header_hash,
    open_chunk,
    parse_header,
    pbk_check_value,
    read_chunk,
    seal_chunk,
    unwrap_ebk,
    wrap_ebk,
)
from strongroom.engine.core import Core
from strongroom.engine.identity import ManufacturerIdentity, ServiceIdentity, open_akbk, seal_akbk
from strongroom.errors import (
    ApprovalDenied,
    BackupInvalid,
    BackupNotConfigured,
    BackupRollback,
    BackupWrongFamily,
    IdentityInvalid,
)
from strongroom.store.api import StoreSnapshot, StoreTransaction, UserRecord

__all__ = [
    "BackupStream",
    "RestoreResult",
    "configure_service",
    "create_backup",
    "record_manufacturer",
    "restore_backup",
]

LOCAL_META = frozenset(
    {
        "hsm_id",
        "boot",
        "fips_mode",
        "manufacturer_id",
        "mkbk_check",
        "service_id",
        "akbk_sealed",
        "akbk_check",
    }
)
"""Meta that belongs to this HSM, not to the state a backup carries: never restored."""

_POSITION_META = frozenset({"lineage", "lineage_base", "audit_base"})


def _approve(core: Core, request: ApprovalRequest) -> None:
    approval = core.config.backup_approval
    if approval is not None and not approval.approve(request):
        core.audit_only("hsm", f"{request.action}-refused", backup_id=request.backup_id)
        raise ApprovalDenied(f"the {request.action} was not approved")


# --- identities on the HSM -----------------------------------------------------------------


def _meta_int(core: Core, key: str) -> int:
    raw = core.store.get_meta(key)
    return int.from_bytes(raw, "big") if raw is not None else 0


def record_manufacturer(core: Core, manufacturer: ManufacturerIdentity | None) -> None:
    """At open: remember who made this HSM, and refuse another manufacturer's identity."""
    if manufacturer is None:
        return
    known = core.store.get_meta("manufacturer_id")
    check = manufacturer.check_value
    if known is None:
        with core.write("hsm") as w:
            w.tx.set_meta("manufacturer_id", manufacturer.manufacturer_id.encode())
            w.tx.set_meta("mkbk_check", check)
            w.audit("manufacturer-recorded", manufacturer_id=manufacturer.manufacturer_id)
        return
    if known.decode() != manufacturer.manufacturer_id or core.store.get_meta("mkbk_check") != check:
        raise IdentityInvalid("this HSM was made by another manufacturer (or with another MKBK)")


def configure_service(core: Core, service: ServiceIdentity) -> None:
    """Install the service identity (once; the same one again is a no-op)."""
    manufacturer = _manufacturer(core)
    with core.lock:
        known = core.store.get_meta("service_id")
        if known is not None:
            if (
                known.decode() != service.service_id
                or core.store.get_meta("akbk_check") != service.check_value
            ):
                raise IdentityInvalid("this HSM is already configured by another service")
            return
        sealed = seal_akbk(manufacturer.mkbk, core.hsm_id, service, core.rng)
        with core.write("hsm") as w:
            w.tx.set_meta("service_id", service.service_id.encode())
            w.tx.set_meta("akbk_sealed", sealed)
            w.tx.set_meta("akbk_check", service.check_value)
            w.audit("service-configured", service_id=service.service_id)


def _manufacturer(core: Core) -> ManufacturerIdentity:
    manufacturer = core.config.manufacturer
    if manufacturer is None or core.store.get_meta("manufacturer_id") is None:
        raise BackupNotConfigured("this HSM has no manufacturer identity")
    return manufacturer


def _family_keys(core: Core) -> tuple[str, str, bytes]:
    """(manufacturer ID, service ID, PBK) of this HSM."""
    manufacturer = _manufacturer(core)
    service_id = core.store.get_meta("service_id")
    sealed = core.store.get_meta("akbk_sealed")
    check = core.store.get_meta("akbk_check")
    if service_id is None or sealed is None or check is None:
        raise BackupNotConfigured("no service has configured this HSM yet")
    sid = service_id.decode()
    akbk = open_akbk(manufacturer.mkbk, core.hsm_id, sid, sealed, check)
    return (
        manufacturer.manufacturer_id,
        sid,
        derive_pbk(manufacturer.mkbk, akbk, manufacturer.manufacturer_id, sid),
    )


def lineage_of(core: Core) -> bytes:
    """This HSM's lineage: created with it, inherited by whatever restores its backups."""
    lineage = core.store.get_meta("lineage")
    if lineage is None:
        lineage = core.rng.random_bytes(16)
        with core.write("hsm") as w:
            w.tx.set_meta("lineage", lineage)
    return lineage


def position_of(core: Core) -> int:
    """How far this lineage's state has come: grows with every audited event."""
    return _meta_int(core, "lineage_base") + core.audit.head_seq - _meta_int(core, "audit_base")


# --- backup --------------------------------------------------------------------------------


class BackupStream:
    """A backup being made: ``header`` at once, then the bytes by iterating ``chunks()``.

    It reads from one store snapshot and never holds more than one chunk; close it (or use it
    as a context manager) to release the snapshot if you stop early.
    """

    def __init__(
        self,
        header: BackupHeader,
        chunks: Iterator[bytes],
        snapshot: contextlib.ExitStack,
    ) -> None:
        self.header = header
        self._chunks = chunks
        self._snapshot = snapshot

    def __repr__(self) -> str:
        return f"BackupStream({self.header!r})"

    def chunks(self) -> Iterator[bytes]:
        """The backup's bytes: the header, then each sealed chunk."""
        try:
            yield from self._chunks
        finally:
            self.close()

    def close(self) -> None:
        """Release the snapshot."""
        self._snapshot.close()

    def __enter__(self) -> BackupStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _records(snap: StoreSnapshot) -> Iterator[Record]:
    for key, value in sorted(snap.meta().items()):
        if key not in LOCAL_META and key not in _POSITION_META:
            yield MetaRecord(key, value)
    yield from snap.users()
    for record, shares in snap.objects():
        yield ObjectEntry(record, shares)


def create_backup(core: Core) -> BackupStream:
    """Start a backup of this HSM's whole state (see the module docstring)."""
    core.require_operational()
    manufacturer_id, service_id, pbk = _family_keys(core)
    lineage = lineage_of(core)
    backup_id = core.rng.random_bytes(16)
    _approve(core, ApprovalRequest("backup", core.hsm_id, backup_id.hex(), "whole HSM state"))
    stack = contextlib.ExitStack()
    with core.lock:  # the snapshot and the position must describe the same moment
        # The backup's own audit record comes first, so the backup's position includes it.
        core.audit_only("hsm", "backup", backup_id=backup_id.hex())
        core.flush_audit()
        snap = stack.enter_context(core.store.snapshot())
        position = position_of(core)
    try:
        meta_count = sum(1 for k in snap.meta() if k not in LOCAL_META and k not in _POSITION_META)
        users = len(snap.users())
        objects = snap.count_objects()
        records = meta_count + users + objects
        last_handle, last_user_id = snap.counters()
        ebk = core.rng.random_bytes(32)
        header = BackupHeader(
            backup_id=backup_id,
            created_ns=core.config.clock.now_ns(),
            hsm_id=core.hsm_id,
            lineage=lineage,
            position=position,
            manufacturer_id=manufacturer_id,
            service_id=service_id,
            fips_mode=core.fips,
            pbk_check=pbk_check_value(pbk),
            wrapped_ebk=wrap_ebk(pbk, ebk),
            chunk_count=chunk_count_for(records),
            record_count=records,
            object_count=objects,
            user_count=users,
            last_handle=last_handle,
            last_user_id=last_user_id,
        )
    except BaseException:
        stack.close()
        raise
    return BackupStream(header, _emit(header, ebk, snap), stack)


def _emit(header: BackupHeader, ebk: bytes, snap: StoreSnapshot) -> Iterator[bytes]:
    header_bytes = encode_header(header)
    yield header_bytes
    digest = header_hash(header_bytes)
    count = header.chunk_count
    batch: list[Record] = []
    index = 0
    emitted = 0
    for record in _records(snap):
        batch.append(record)
        if len(batch) == RECORDS_PER_CHUNK:
            yield seal_chunk(ebk, index, count, digest, batch)
            emitted += len(batch)
            index += 1
            batch = []
    if batch or index == 0:
        yield seal_chunk(ebk, index, count, digest, batch)
        emitted += len(batch)
        index += 1
    if index != count or emitted != header.record_count:  # the snapshot moved: a bug
        raise BackupInvalid("the state changed while it was being backed up")


# --- restore -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """What a restore did."""

    backup_id: str
    source_hsm_id: str
    objects: int
    users: int
    forced: bool


def restore_backup(core: Core, stream: Iterable[bytes], *, force: bool = False) -> RestoreResult:
    """Replace this HSM's state with a backup's, all or nothing (see the module docstring)."""
    reader = ByteReader(stream)
    header, header_bytes = parse_header(reader)
    manufacturer_id, service_id, pbk = _family_keys(core)
    if header.manufacturer_id != manufacturer_id or header.service_id != service_id:
        raise BackupWrongFamily(
            f"the backup is from manufacturer {header.manufacturer_id!r} and service"
            f" {header.service_id!r}; this HSM is {manufacturer_id!r} / {service_id!r}"
        )
    check_family(header, pbk)
    ebk = unwrap_ebk(pbk, header.wrapped_ebk)
    if header.fips_mode != core.fips:
        raise BackupWrongFamily("the backup's FIPS mode differs from this HSM's")
    with core.lock:
        core.flush_audit()
        rollback = header.lineage == lineage_of(core) and header.position < position_of(core)
        if rollback and not force:
            raise BackupRollback(
                f"the backup (position {header.position}) is older than this HSM's state"
                f" (position {position_of(core)}); restore it with force to roll back"
            )
        _approve(
            core,
            ApprovalRequest(
                "restore",
                core.hsm_id,
                header.backup_id.hex(),
                f"{header.object_count} objects and {header.user_count} users from HSM"
                f" {header.hsm_id}; everything on this HSM is replaced",
            ),
        )
        digest = header_hash(header_bytes)
        with core.write("hsm") as w:
            w.tx.clear_state(LOCAL_META)
            counts = {"records": 0, "objects": 0, "users": 0}
            for index in range(header.chunk_count):
                wrapped = read_chunk(reader, index, header.chunk_count)
                for record in open_chunk(ebk, wrapped, index, header.chunk_count, digest):
                    _apply(w.tx, record, counts)
            if not reader.at_end():
                raise BackupInvalid("the backup has bytes after its last chunk")
            if (counts["records"], counts["objects"], counts["users"]) != (
                header.record_count,
                header.object_count,
                header.user_count,
            ):
                raise BackupInvalid("the backup's records do not add up to its header")
            w.tx.raise_counters(header.last_handle, header.last_user_id)
            audit_seq = core.audit.head_seq + 1  # the restore record below
            w.tx.set_meta("lineage", header.lineage)
            w.tx.set_meta("lineage_base", header.position.to_bytes(8, "big"))
            w.tx.set_meta("audit_base", audit_seq.to_bytes(8, "big"))
            w.audit(
                "restore",
                backup_id=header.backup_id.hex(),
                source_hsm_id=header.hsm_id,
                source_position=header.position,
                objects=header.object_count,
                users=header.user_count,
                forced=bool(rollback and force),
            )
            w.on_commit(lambda: _after_restore(core))
    return RestoreResult(
        header.backup_id.hex(),
        header.hsm_id,
        header.object_count,
        header.user_count,
        bool(rollback and force),
    )


def _apply(tx: StoreTransaction, record: Record, counts: dict[str, int]) -> None:
    counts["records"] += 1
    if isinstance(record, ObjectEntry):
        counts["objects"] += 1
        tx.put_object(record.record)
        if record.shares:
            tx.set_shares(record.record.handle, record.shares)
    elif isinstance(record, UserRecord):
        counts["users"] += 1
        tx.put_user(record)
    else:
        if record.key in LOCAL_META or record.key in _POSITION_META:
            raise BackupInvalid(f"the backup carries this HSM's own setting {record.key!r}")
        tx.set_meta(record.key, record.value)


def _after_restore(core: Core) -> None:
    """Forget everything in memory that described the old state; seal the HSM."""
    for state in core.sessions.values():
        for obj in core.catalog.session_objects_of(state.handle):
            core.catalog.forget(obj.handle)
        state.user_id = state.username = state.role = None
        state.operations.clear()
    core.catalog.clear_cache()
    core.catalog.storage_key = None

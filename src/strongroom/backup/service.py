"""The backup service: create, store, list, delete, copy, verify and restore sealed backups.

This module owns the backup lifecycle with CloudHSM's semantics, then beyond: backups are
CREATE_IN_PROGRESS → READY; DeleteBackup moves one to PENDING_DELETION for 7 days (RestoreBackup
brings it back); a retention policy per cluster (default 90 days, 7–379) moves old backups there
too, but never a cluster's most recent backup nor one marked NeverExpires; copies to another
region are re-enveloped under that region's KMS key, keep their CreateTimestamp, belong to no
cluster and have no retention. On-demand backups exist (CloudHSM has none). The purge is a job
anyone can trigger; time comes from an injectable clock.

The service handles only sealed bytes: the HSM makes and opens the inner layer; here the bytes
are enveloped with the region's KMS key (context {cluster, backup, region}) and streamed to the
region's object store, never whole in memory. It never sees key material.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from strongroom.backup.catalog import (
    BackupEntry,
    BackupState,
    backup_object_key,
    catalog_object_key,
    check_tags,
    entry_from_object,
    load_entry,
    new_backup_id,
    save_entry,
)
from strongroom.backup.envelope import open_envelope, seal_envelope
from strongroom.backup.kms.api import KMSProvider
from strongroom.backup.objectstore.api import ObjectStore, StoredObject
from strongroom.crypto.random import RandomSource, SystemRandom
from strongroom.engine import HSM, Clock, SystemClock
from strongroom.engine.backup_format import ByteReader, parse_header, read_chunk
from strongroom.engine.backup_ops import RestoreResult
from strongroom.errors import ActionProhibited, ArgumentsBad, BackupInvalid, StrongroomError


class SealedHeader(Protocol):
    """What the service reads from a sealed backup's clear header."""

    @property
    def hsm_id(self) -> str: ...
    @property
    def backup_id(self) -> bytes: ...
    @property
    def object_count(self) -> int: ...
    @property
    def user_count(self) -> int: ...


class SealedBackup(Protocol):
    """A backup being read out of an HSM (the engine's ``BackupStream`` or a remote one)."""

    @property
    def header(self) -> SealedHeader: ...
    def chunks(self) -> Iterator[bytes]: ...
    def __enter__(self) -> Any: ...
    def __exit__(self, *exc: object) -> None: ...


class RestoreOutcome(Protocol):
    """What a restore reports (the engine's ``RestoreResult`` or its wire form)."""

    @property
    def backup_id(self) -> str: ...
    @property
    def source_hsm_id(self) -> str: ...
    @property
    def objects(self) -> int: ...
    @property
    def users(self) -> int: ...
    @property
    def forced(self) -> bool: ...


class BackupSource(Protocol):
    """An HSM the service can back up: in this process (``HSM``) or over the network."""

    def backup(self) -> SealedBackup: ...


class RestoreTarget(Protocol):
    """An HSM the service can restore onto."""

    def restore(self, stream: Iterable[bytes], *, force: bool = False) -> RestoreOutcome: ...


__all__ = [
    "DEFAULT_RETENTION_DAYS",
    "PENDING_DELETION_DAYS",
    "BackupService",
    "PurgeReport",
    "Region",
    "VerifyReport",
]

DEFAULT_RETENTION_DAYS = 90
PENDING_DELETION_DAYS = 7
_DAY_NS = 86_400 * 10**9
Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class Region:
    """One region: its object store and the KMS key that envelopes backups kept there."""

    name: str
    store: ObjectStore
    kms: KMSProvider
    kms_key_id: str


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """What one purge run did."""

    expired: list[str]
    deleted: list[str]


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The result of checking a stored backup end to end."""

    backup_id: str
    checksum_ok: bool
    envelope_ok: bool
    structure_ok: bool
    chunks: int
    drill: RestoreResult | None
    error: str | None

    @property
    def ok(self) -> bool:
        """True when every check that ran passed."""
        return self.error is None


def _counting(pieces: Iterable[bytes], progress: Progress | None) -> Generator[bytes]:
    for piece in pieces:
        if progress is not None:
            progress(len(piece))
        yield piece


class BackupService:
    """Backups of HSMs across regions (see the module docstring)."""

    def __init__(
        self,
        regions: Mapping[str, Region],
        *,
        clock: Clock | None = None,
        rng: RandomSource | None = None,
    ) -> None:
        if not regions:
            raise ArgumentsBad("a backup service needs at least one region")
        self._regions = dict(regions)
        self._clock = clock or SystemClock()
        self._rng = rng or SystemRandom()

    def __repr__(self) -> str:
        return f"BackupService(regions={sorted(self._regions)})"

    def _region(self, name: str) -> Region:
        try:
            return self._regions[name]
        except KeyError:
            raise ArgumentsBad(f"unknown region {name!r}") from None

    def _context(self, entry: BackupEntry) -> dict[str, str]:
        return {
            "cluster": entry.cluster_id or "",
            "backup": entry.backup_id,
            "region": entry.region,
        }

    # --- catalog reads --------------------------------------------------------------------

    def describe(self, backup_id: str) -> BackupEntry:
        """One backup, from whichever region holds it."""
        for region in self._regions.values():
            entry = load_entry(region.store, backup_id)
            if entry is not None:
                return entry
        raise ArgumentsBad(f"no backup {backup_id}")

    def list_backups(
        self,
        *,
        region: str | None = None,
        cluster_id: str | None = None,
        states: Iterable[BackupState] | None = None,
        never_expires: bool | None = None,
    ) -> list[BackupEntry]:
        """Backups matching the filters, oldest first."""
        wanted = set(states) if states is not None else None
        out: list[BackupEntry] = []
        regions = [self._region(region)] if region is not None else self._regions.values()
        for r in regions:
            for obj in r.store.list("catalog/"):
                entry = load_entry(r.store, obj.key.removeprefix("catalog/").removesuffix(".json"))
                if entry is None:
                    continue
                if cluster_id is not None and entry.cluster_id != cluster_id:
                    continue
                if wanted is not None and entry.state not in wanted:
                    continue
                if never_expires is not None and entry.never_expires != never_expires:
                    continue
                out.append(entry)
        return sorted(out, key=lambda e: (e.create_timestamp_ns, e.backup_id))

    def rebuild_catalog(self) -> list[str]:
        """Recreate missing catalog entries from the backup objects themselves."""
        rebuilt: list[str] = []
        for r in self._regions.values():
            for obj in r.store.list("backups/"):
                entry = entry_from_object(obj)
                if load_entry(r.store, entry.backup_id) is None:
                    save_entry(r.store, entry)
                    rebuilt.append(entry.backup_id)
        return rebuilt

    # --- create ---------------------------------------------------------------------------

    def create_backup(
        self,
        hsm: BackupSource,
        *,
        cluster_id: str,
        region: str,
        tags: Mapping[str, str] | None = None,
        progress: Progress | None = None,
    ) -> BackupEntry:
        """Take an on-demand backup of ``hsm`` and store it in ``region`` (streamed)."""
        r = self._region(region)
        tag_map = check_tags(tags or {})
        with hsm.backup() as stream:
            entry = BackupEntry(
                backup_id=new_backup_id(self._rng),
                region=region,
                cluster_id=cluster_id,
                state=BackupState.CREATE_IN_PROGRESS,
                create_timestamp_ns=self._clock.now_ns(),
                hsm_id=stream.header.hsm_id,
                inner_backup_id=stream.header.backup_id.hex(),
                kms_key_id=r.kms_key_id,
                object_count=stream.header.object_count,
                user_count=stream.header.user_count,
                tags=tag_map,
            )
            stored = self._store_enveloped(r, entry, _counting(stream.chunks(), progress))
        ready = replace(entry, state=BackupState.READY, size=stored.size, sha256=stored.sha256)
        save_entry(r.store, ready)
        return ready

    def _store_enveloped(
        self, region: Region, entry: BackupEntry, inner: Iterable[bytes]
    ) -> StoredObject:
        """Record ``entry`` as in progress, then envelope ``inner`` into the region's store.

        On any failure nothing of the backup is left behind (object and catalog entry).
        """
        save_entry(region.store, entry)
        try:
            sealed = seal_envelope(
                inner,
                kms=region.kms,
                key_id=region.kms_key_id,
                context=self._context(entry),
                rng=self._rng,
            )
            return region.store.put(
                backup_object_key(entry.backup_id), sealed, metadata=entry.object_metadata()
            )
        except BaseException:
            with contextlib.suppress(StrongroomError):
                region.store.delete(backup_object_key(entry.backup_id))
            with contextlib.suppress(StrongroomError):
                region.store.delete(catalog_object_key(entry.backup_id))
            raise

    # --- lifecycle ------------------------------------------------------------------------

    def _update(self, entry: BackupEntry) -> BackupEntry:
        save_entry(self._region(entry.region).store, entry)
        return entry

    def delete_backup(self, backup_id: str) -> BackupEntry:
        """DeleteBackup: READY → PENDING_DELETION; gone for good after 7 days."""
        entry = self.describe(backup_id)
        if entry.state is not BackupState.READY:
            raise ActionProhibited(f"backup {backup_id} is {entry.state.value}, not READY")
        delete_at = self._clock.now_ns() + PENDING_DELETION_DAYS * _DAY_NS
        return self._update(
            replace(entry, state=BackupState.PENDING_DELETION, delete_timestamp_ns=delete_at)
        )

    def restore_deleted_backup(self, backup_id: str) -> BackupEntry:
        """RestoreBackup: PENDING_DELETION → READY."""
        entry = self.describe(backup_id)
        if entry.state is not BackupState.PENDING_DELETION:
            raise ActionProhibited(f"backup {backup_id} is not PENDING_DELETION")
        return self._update(replace(entry, state=BackupState.READY, delete_timestamp_ns=None))

    def set_never_expires(self, backup_id: str, never_expires: bool) -> BackupEntry:
        """ModifyBackupAttributes NeverExpires."""
        entry = self.describe(backup_id)
        return self._update(replace(entry, never_expires=bool(never_expires)))

    def tag(self, backup_id: str, tags: Mapping[str, str]) -> BackupEntry:
        """TagResource: add or replace tags (at most 50 in all)."""
        entry = self.describe(backup_id)
        return self._update(replace(entry, tags=check_tags({**entry.tags, **tags})))

    def untag(self, backup_id: str, keys: Iterable[str]) -> BackupEntry:
        """UntagResource."""
        entry = self.describe(backup_id)
        drop = set(keys)
        return self._update(
            replace(entry, tags={k: v for k, v in entry.tags.items() if k not in drop})
        )

    def retention_days(self, cluster_id: str) -> int:
        """The cluster's retention policy (days)."""
        for r in self._regions.values():
            with contextlib.suppress(StrongroomError):
                data = b"".join(r.store.get(f"clusters/{cluster_id}.retention"))
                return int(data.decode())
        return DEFAULT_RETENTION_DAYS

    def set_retention(self, cluster_id: str, days: int) -> None:
        """ModifyCluster BackupRetentionPolicy: 7–379 days."""
        if isinstance(days, bool) or not isinstance(days, int) or not 7 <= days <= 379:
            raise ArgumentsBad("backup retention is 7-379 days")
        for r in self._regions.values():
            r.store.put(f"clusters/{cluster_id}.retention", [str(days).encode()])

    def purge(self) -> PurgeReport:
        """The retention job: expire old backups, then delete those whose 7 days are over."""
        now = self._clock.now_ns()
        expired: list[str] = []
        deleted: list[str] = []
        entries = self.list_backups()
        newest: dict[str, str] = {}
        for e in entries:  # oldest first: the last one seen per cluster is the newest
            if e.cluster_id is not None and e.state is BackupState.READY:
                newest[e.cluster_id] = e.backup_id
        for e in entries:
            if (
                e.state is BackupState.READY
                and e.cluster_id is not None
                and not e.is_copy
                and not e.never_expires
                and newest.get(e.cluster_id) != e.backup_id
                and now - e.create_timestamp_ns > self.retention_days(e.cluster_id) * _DAY_NS
            ):
                self._update(
                    replace(
                        e,
                        state=BackupState.PENDING_DELETION,
                        delete_timestamp_ns=now + PENDING_DELETION_DAYS * _DAY_NS,
                    )
                )
                expired.append(e.backup_id)
            elif (
                e.state is BackupState.PENDING_DELETION
                and e.delete_timestamp_ns is not None
                and e.delete_timestamp_ns <= now
            ):
                store = self._region(e.region).store
                store.delete(backup_object_key(e.backup_id))
                store.delete(catalog_object_key(e.backup_id))
                deleted.append(e.backup_id)
        return PurgeReport(expired, deleted)

    # --- copy, restore, verify ------------------------------------------------------------

    def copy_to_region(
        self,
        backup_id: str,
        destination: str,
        *,
        tags: Mapping[str, str] | None = None,
        progress: Progress | None = None,
    ) -> BackupEntry:
        """CopyBackupToRegion: re-envelope under the destination region's key; inner untouched."""
        source = self.describe(backup_id)
        if source.state is not BackupState.READY:
            raise ActionProhibited(f"backup {backup_id} is not READY")
        dst = self._region(destination)
        copy = BackupEntry(
            backup_id=new_backup_id(self._rng),
            region=destination,
            cluster_id=None,
            state=BackupState.CREATE_IN_PROGRESS,
            create_timestamp_ns=source.create_timestamp_ns,
            hsm_id=source.hsm_id,
            inner_backup_id=source.inner_backup_id,
            kms_key_id=dst.kms_key_id,
            object_count=source.object_count,
            user_count=source.user_count,
            tags=check_tags(tags or {}),
            source_region=source.region,
            source_backup=source.backup_id,
            source_cluster=source.cluster_id,
        )
        with self._inner(source, progress) as inner:
            stored = self._store_enveloped(dst, copy, inner)
        return self._update(
            replace(copy, state=BackupState.READY, size=stored.size, sha256=stored.sha256)
        )

    @contextlib.contextmanager
    def _inner(self, entry: BackupEntry, progress: Progress | None) -> Iterator[Iterator[bytes]]:
        """The inner (HSM-sealed) bytes of a stored backup; the object is closed afterwards."""
        r = self._region(entry.region)
        raw = r.store.get(backup_object_key(entry.backup_id))
        try:
            inner = open_envelope(raw, kms_for=r.kms, expected_context=self._context(entry))
            counted = _counting(inner, progress)
            try:
                yield counted
            finally:
                counted.close()
        finally:
            close = getattr(raw, "close", None)
            if close is not None:
                close()

    def restore_to_hsm(
        self,
        backup_id: str,
        hsm: RestoreTarget,
        *,
        force: bool = False,
        progress: Progress | None = None,
    ) -> RestoreOutcome:
        """Restore a READY backup onto ``hsm`` (all or nothing; the HSM checks the family)."""
        entry = self.describe(backup_id)
        if entry.state is not BackupState.READY:
            raise ActionProhibited(f"backup {backup_id} is {entry.state.value}, not READY")
        with self._inner(entry, progress) as inner:
            return hsm.restore(inner, force=force)

    def verify(self, backup_id: str, *, drill: Callable[[], HSM] | None = None) -> VerifyReport:
        """Check a stored backup end to end without touching any serving HSM.

        Reads the object (checksum), opens the envelope (KMS, every chunk's tag, nothing cut
        off) and walks the inner structure (header, every chunk's framing). Given ``drill`` —
        a factory for a scratch HSM of the right family — it also restores into that HSM,
        which the caller then throws away.
        """
        entry = self.describe(backup_id)
        stage = "checksum"
        chunks = 0
        result: RestoreResult | None = None
        try:
            if drill is not None:
                stage = "restore drill"
                scratch = drill()
                try:
                    with self._inner(entry, None) as inner:
                        result = scratch.restore(inner)
                finally:
                    scratch.close()
                chunks = -1
            else:
                with self._inner(entry, None) as inner:
                    reader = ByteReader(inner)
                    stage = "structure"
                    header, _ = parse_header(reader)
                    for index in range(header.chunk_count):
                        read_chunk(reader, index, header.chunk_count)
                        chunks += 1
                    if not reader.at_end():
                        raise BackupInvalid("the backup has bytes after its last chunk")
        except StrongroomError as exc:
            return VerifyReport(
                backup_id, False, False, False, chunks, None, f"{exc.code}: {exc.message} ({stage})"
            )
        return VerifyReport(backup_id, True, True, True, chunks, result, None)

"""The long work of ``strongroom backup``: create, copy-to-region, verify, restore-to-hsm.

This module owns the commands that stream a whole backup: taking one (from a store file in
this process, or from a served HSM over TLS), copying it to another region, verifying it end
to end (with an optional restore drill into a scratch HSM), and restoring it onto an HSM
after a confirmation. The argument grammar is ``cli.backup_cmd``'s; shared output and
helpers are ``cli.backup_common``'s. Nothing here sees key material: the HSM seals and
opens backups, the service moves sealed bytes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from strongroom.cli.config import BackupSetup
from strongroom.cli.output import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    iso_utc,
    key_value_table,
    print_json,
)
from strongroom.cli.remote_hsm import endpoints_file, remote_admin

if TYPE_CHECKING:
    from strongroom.backup.catalog import BackupEntry
    from strongroom.backup.objectstore.api import ObjectStore, StoredObject
    from strongroom.backup.service import BackupService, RestoreOutcome
    from strongroom.engine import HSM

__all__ = ["copy", "create", "restore_to_hsm", "verify"]
from strongroom.cli.backup_common import (
    open_hsm,
    pick_region,
    progress_bar,
    restore_json,
    show_entry,
    tag_map,
    verify_json,
    wants_json,
)

# --- long work: create, copy, verify, restore-to-hsm ---------------------------------------


def _restore_remote(
    args: argparse.Namespace,
    service: BackupService,
    entry: BackupEntry,
    remote: Path,
    interactive: bool,
) -> int:
    """restore-to-hsm onto a served HSM (confirmed here, all or nothing there)."""
    if not args.yes:
        assert interactive
        print(
            f"restore-to-hsm: backup {entry.backup_id} (created "
            f"{iso_utc(entry.create_timestamp_ns)}) replaces everything on the HSM in {remote}",
            file=sys.stderr,
        )
        sys.stderr.write("type 'yes' to go on: ")
        sys.stderr.flush()
        if sys.stdin.readline().strip() != "yes":
            raise UsageError("restore-to-hsm: not confirmed; nothing changed")
    with remote_admin(remote) as client, progress_bar(args, "restore", entry.size) as bar:
        target = str(client.info()["hsm_id"])
        result = service.restore_to_hsm(args.backup_id, client, force=args.force, progress=bar)
    _print_restore(args, entry, target, result)
    return EXIT_OK


def _print_restore(
    args: argparse.Namespace, entry: BackupEntry, target: str, result: RestoreOutcome
) -> None:
    if wants_json(args):
        print_json({"BackupId": entry.backup_id, "TargetHsmId": target, **restore_json(result)})
        return
    print(
        key_value_table(
            [
                ("BackupId", entry.backup_id),
                ("TargetHsmId", target),
                ("SourceHsmId", result.source_hsm_id),
                ("ObjectCount", result.objects),
                ("UserCount", result.users),
                ("Forced", str(result.forced).lower()),
            ]
        )
    )


def create(args: argparse.Namespace, setup: BackupSetup) -> int:
    region = pick_region(args, setup)
    tags = tag_map(args.tag)
    service = setup.service()
    setup.prepare_kms_key(region)
    remote = endpoints_file(args.endpoints, args.hsm, _data_dir(args, setup))
    if remote is not None:
        with remote_admin(remote) as client, progress_bar(args, "backup", None) as bar:
            entry = service.create_backup(
                client, cluster_id=args.cluster, region=region, tags=tags, progress=bar
            )
        return show_entry(args, entry)
    manufacturer = setup.manufacturer()
    service_identity = setup.service_identity()
    with open_hsm(args.hsm, manufacturer) as hsm:
        hsm.configure_service(service_identity)
        with progress_bar(args, "backup", None) as bar:
            entry = service.create_backup(
                hsm, cluster_id=args.cluster, region=region, tags=tags, progress=bar
            )
    return show_entry(args, entry)


def _data_dir(args: argparse.Namespace, setup: BackupSetup) -> Path | None:
    return args.data_dir if args.data_dir is not None else setup.settings.data_dir


def copy(args: argparse.Namespace, setup: BackupSetup) -> int:
    destination = setup.check_region(args.region)
    tags = tag_map(args.tag)
    service = setup.service()
    source = service.describe(args.backup_id)
    setup.prepare_kms_key(destination)
    with progress_bar(args, f"copy to {destination}", source.size) as bar:
        copy = service.copy_to_region(args.backup_id, destination, tags=tags, progress=bar)
    return show_entry(args, copy)


class _MeteredStore:
    """An object store whose reads of one object report their byte counts.

    ``BackupService.verify`` takes no progress callback, so its bar counts the stored object's
    bytes as they are read instead (exactly ``entry.size`` in all).
    """

    def __init__(self, inner: ObjectStore, key: str, progress: Callable[[int], None]) -> None:
        self._inner = inner
        self._key = key
        self._progress = progress
        self.name = inner.name

    def __repr__(self) -> str:
        return f"_MeteredStore({self._inner!r})"

    def put(
        self, key: str, chunks: Iterable[bytes], *, metadata: Mapping[str, str] | None = None
    ) -> StoredObject:
        return self._inner.put(key, chunks, metadata=metadata)

    def get(self, key: str, *, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        source = self._inner.get(key, chunk_size=chunk_size)
        return self._counted(source) if key == self._key else source

    def _counted(self, source: Iterator[bytes]) -> Iterator[bytes]:
        try:
            for piece in source:
                self._progress(len(piece))
                yield piece
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    def head(self, key: str) -> StoredObject | None:
        return self._inner.head(key)

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        return self._inner.list(prefix)

    def delete(self, key: str) -> None:
        self._inner.delete(key)


def verify(args: argparse.Namespace, setup: BackupSetup) -> int:
    from strongroom.backup.catalog import backup_object_key
    from strongroom.backup.service import BackupService

    entry = setup.service().describe(args.backup_id)
    manufacturer = setup.manufacturer() if args.drill else None
    service_identity = setup.service_identity() if args.drill else None
    with (
        progress_bar(args, "verify", entry.size) as bar,
        tempfile.TemporaryDirectory(prefix="strongroom-drill-") as scratch_dir,
    ):
        regions = setup.regions()
        if bar is not None:
            key = backup_object_key(entry.backup_id)
            regions = {
                n: replace(r, store=_MeteredStore(r.store, key, bar)) for n, r in regions.items()
            }
        service = BackupService(regions)

        def scratch() -> HSM:
            from strongroom.engine import HSM, HSMConfig
            from strongroom.store.sqlite import SQLiteStore

            assert manufacturer is not None
            assert service_identity is not None
            hsm = HSM.open(
                SQLiteStore(Path(scratch_dir) / "scratch-hsm.db"),
                HSMConfig(manufacturer=manufacturer),
            )
            try:
                hsm.configure_service(service_identity)
            except BaseException:
                hsm.close()
                raise
            return hsm

        report = service.verify(args.backup_id, drill=scratch if args.drill else None)
    if wants_json(args):
        print_json(verify_json(report))
    else:
        rows: list[tuple[str, object]] = [
            ("BackupId", report.backup_id),
            ("Result", "ok" if report.ok else "FAILED"),
            ("Checks", "checksum, envelope, structure" + (", restore drill" if args.drill else "")),
        ]
        if report.chunks >= 0:
            rows.append(("ChunkCount", report.chunks))
        if report.drill is not None:
            rows += [
                ("DrillObjects", report.drill.objects),
                ("DrillUsers", report.drill.users),
                ("DrillSourceHsmId", report.drill.source_hsm_id),
            ]
        if report.error is not None:
            rows.append(("Error", report.error))
        print(key_value_table(rows))
    if not report.ok:
        print(f"error: verification of {report.backup_id} failed: {report.error}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def restore_to_hsm(args: argparse.Namespace, setup: BackupSetup) -> int:
    from strongroom.engine.approval import LocalConfirmation

    service = setup.service()
    entry = service.describe(args.backup_id)
    interactive = sys.stdin is not None and sys.stdin.isatty()
    if not args.yes and not interactive:
        raise UsageError(
            "restore-to-hsm replaces everything on the HSM: pass --yes, or run it in a "
            "terminal to confirm"
        )
    remote = endpoints_file(args.endpoints, args.hsm, _data_dir(args, setup))
    if remote is not None:
        return _restore_remote(args, service, entry, remote, interactive)
    manufacturer = setup.manufacturer()
    service_identity = setup.service_identity()
    with progress_bar(args, "restore", entry.size) as bar:

        def ask(prompt: str) -> str:
            if bar is not None:
                bar.clear()
            print(
                f"restore-to-hsm: backup {entry.backup_id} (region {entry.region}, created "
                f"{iso_utc(entry.create_timestamp_ns)}) onto the HSM in {args.hsm}",
                file=sys.stderr,
            )
            sys.stderr.write(prompt)
            sys.stderr.flush()
            return sys.stdin.readline()

        approval = None if args.yes else LocalConfirmation(ask)
        new_store = not args.hsm.exists()
        try:
            with open_hsm(args.hsm, manufacturer, may_create=True, approval=approval) as hsm:
                hsm.configure_service(service_identity)
                target = str(hsm.info()["hsm_id"])
                result = service.restore_to_hsm(args.backup_id, hsm, force=args.force, progress=bar)
        except BaseException:
            if new_store:  # leave no half-made HSM behind where none was
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{args.hsm}{suffix}").unlink(missing_ok=True)
            raise
    _print_restore(args, entry, target, result)
    if not wants_json(args):
        print("the HSM is sealed until an admin of the restored state logs in", file=sys.stderr)
    return EXIT_OK

"""``strongroom backup``: take, list, copy, delete, verify and restore sealed backups.

This module owns the backup command group (issue 4 §4): the argument grammar of every
subcommand, opening the HSM whose state is backed up or restored (``--hsm``, a SQLite store
file), the confirmation a restore needs, the scratch HSM of a restore drill, and turning the
service's entries and reports into tables or JSON. The lifecycle rules themselves live in
``strongroom.backup.service``; where regions, keys and identities come from lives in
``cli.config``; how output looks lives in ``cli.output``. Nothing here sees key material:
the HSM seals and opens backups, the service moves sealed bytes.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from strongroom.cli.config import BackupSetup, load_settings
from strongroom.cli.output import (
    EXIT_FAILED,
    EXIT_OK,
    ProgressBar,
    UsageError,
    human_size,
    iso_utc,
    key_value_table,
    print_json,
    report_errors,
    table,
)
from strongroom.cli.remote_hsm import endpoints_file, remote_admin

if TYPE_CHECKING:
    from strongroom.backup.catalog import BackupEntry
    from strongroom.backup.objectstore.api import ObjectStore, StoredObject
    from strongroom.backup.service import BackupService, PurgeReport, RestoreOutcome, VerifyReport
    from strongroom.engine import HSM
    from strongroom.engine.approval import BackupApproval
    from strongroom.engine.identity import ManufacturerIdentity

__all__ = ["STATES", "configure_parser", "run"]

STATES = ("CREATE_IN_PROGRESS", "READY", "PENDING_DELETION")
"""The catalog's backup states (``BackupState`` values; spelled out to keep start-up light)."""
_CLUSTER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_MIN_RETENTION, _MAX_RETENTION = 7, 379

Handler = Callable[[argparse.Namespace, BackupSetup], int]


# --- argument grammar ----------------------------------------------------------------------


def _tag(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    return key, value


def _cluster_id(text: str) -> str:
    if not _CLUSTER_ID.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a cluster id (1-128 characters of A-Z a-z 0-9 . _ -)"
        )
    return text


def _boolean(text: str) -> bool:
    value = text.strip().lower()
    if value not in {"true", "false"}:
        raise argparse.ArgumentTypeError(f"{text!r} is not true or false")
    return value == "true"


def _days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days") from None
    if not _MIN_RETENTION <= days <= _MAX_RETENTION:
        raise argparse.ArgumentTypeError(
            f"backup retention is {_MIN_RETENTION}-{_MAX_RETENTION} days, not {days}"
        )
    return days


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_mutually_exclusive_group()
    where.add_argument(
        "--config", type=Path, metavar="FILE", help="TOML config file (see docs/cli.md)"
    )
    where.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="root of the embedded default config (default ./strongroom-data)",
    )
    common.add_argument(
        "--output",
        choices=("table", "json"),
        default="table",
        help="table (default) or json: exactly one JSON document on stdout",
    )
    return common


def _progress_option() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar (it is shown only when stderr is a terminal)",
    )
    return parent


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``backup`` subcommands to ``parser`` (the ``backup`` group's own parser)."""
    common = _common_options()
    long_work = [common, _progress_option()]
    sub = parser.add_subparsers(dest="backup_command", metavar="SUBCOMMAND", required=True)

    def add(name: str, handler: Handler, text: str, parents: list[Any]) -> Any:
        cmd = sub.add_parser(name, help=text, description=text, parents=parents)
        cmd.set_defaults(backup_handler=handler)
        return cmd

    create = add("create", _create, "take an on-demand backup of an HSM", long_work)
    create.add_argument("--hsm", type=Path, metavar="PATH", help="the HSM's SQLite store file")
    create.add_argument(
        "--endpoints",
        type=Path,
        metavar="FILE",
        help="back up a served HSM instead (default: --data-dir's endpoints.json from `up`)",
    )
    create.add_argument("--cluster", type=_cluster_id, required=True, metavar="ID")
    create.add_argument("--region", metavar="NAME", help="optional when only one is configured")
    create.add_argument("--tag", type=_tag, action="append", default=[], metavar="KEY=VALUE")

    lst = add("list", _list, "list backups, oldest first", [common])
    lst.add_argument("--region", metavar="NAME")
    lst.add_argument("--cluster", type=_cluster_id, metavar="ID")
    lst.add_argument("--state", action="append", choices=STATES, help="repeatable")
    lst.add_argument("--never-expires", type=_boolean, metavar="true|false")

    describe = add("describe", _describe, "show one backup", [common])
    describe.add_argument("backup_id", metavar="BACKUP_ID")

    copy = add("copy-to-region", _copy, "copy a READY backup to another region", long_work)
    copy.add_argument("backup_id", metavar="BACKUP_ID")
    copy.add_argument("--region", required=True, metavar="DEST")
    copy.add_argument("--tag", type=_tag, action="append", default=[], metavar="KEY=VALUE")

    delete = add("delete", _delete, "delete a backup (PENDING_DELETION for 7 days)", [common])
    delete.add_argument("backup_id", metavar="BACKUP_ID")

    restore = add("restore", _restore, "un-delete a PENDING_DELETION backup", [common])
    restore.add_argument("backup_id", metavar="BACKUP_ID")

    tag = add("tag", _tag_cmd, "add or replace tags", [common])
    tag.add_argument("backup_id", metavar="BACKUP_ID")
    tag.add_argument("tags", type=_tag, nargs="+", metavar="KEY=VALUE")

    untag = add("untag", _untag, "remove tags", [common])
    untag.add_argument("backup_id", metavar="BACKUP_ID")
    untag.add_argument("keys", nargs="+", metavar="KEY")

    never = add("set-never-expires", _never_expires, "exempt a backup from retention", [common])
    never.add_argument("backup_id", metavar="BACKUP_ID")
    never.add_argument("value", type=_boolean, metavar="true|false")

    verify = add("verify", _verify, "check a stored backup end to end", long_work)
    verify.add_argument("backup_id", metavar="BACKUP_ID")
    verify.add_argument(
        "--drill",
        action="store_true",
        help="also restore it into a scratch HSM that is then thrown away",
    )

    to_hsm = add(
        "restore-to-hsm", _restore_to_hsm, "replace an HSM's whole state with a backup", long_work
    )
    to_hsm.add_argument("backup_id", metavar="BACKUP_ID")
    to_hsm.add_argument(
        "--hsm",
        type=Path,
        metavar="PATH",
        help="the HSM's SQLite store file (a new file makes a new HSM)",
    )
    to_hsm.add_argument(
        "--endpoints",
        type=Path,
        metavar="FILE",
        help="restore onto a served HSM instead (default: --data-dir's endpoints.json)",
    )
    to_hsm.add_argument(
        "--force", action="store_true", help="allow rolling the HSM back to an older state"
    )
    to_hsm.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    add("purge", _purge, "run the retention job once", [common])

    retention = add("set-retention", _set_retention, "set a cluster's retention policy", [common])
    retention.add_argument("--cluster", type=_cluster_id, required=True, metavar="ID")
    retention.add_argument(
        "--days", type=_days, required=True, metavar="N", help="7-379 (default policy: 90)"
    )


def run(args: argparse.Namespace) -> int:
    """Run the parsed ``backup`` subcommand; returns the exit code."""
    handler: Handler = args.backup_handler

    def command() -> int:
        with BackupSetup(load_settings(args.config, args.data_dir)) as setup:
            return handler(args, setup)

    return report_errors(command)


# --- helpers -------------------------------------------------------------------------------


def _json(args: argparse.Namespace) -> bool:
    return bool(args.output == "json")


def _tags(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in pairs:
        if key in out:
            raise UsageError(f"tag {key!r} is given twice")
        out[key] = value
    return out


def _region(args: argparse.Namespace, setup: BackupSetup) -> str:
    if args.region is not None:
        return setup.check_region(args.region)
    names = setup.region_names()
    if len(names) != 1:
        raise UsageError(f"name a --region ({', '.join(names)})")
    return names[0]


def _progress(
    args: argparse.Namespace, label: str, total: int | None
) -> contextlib.AbstractContextManager[ProgressBar | None]:
    if args.no_progress or sys.stderr is None or not sys.stderr.isatty():
        return contextlib.nullcontext()
    return ProgressBar(label, total)


@contextlib.contextmanager
def _open_hsm(
    path: Path,
    manufacturer: ManufacturerIdentity,
    *,
    may_create: bool = False,
    approval: BackupApproval | None = None,
) -> Iterator[HSM]:
    """The HSM in the SQLite store ``path``, opened as made by ``manufacturer``; closed after."""
    from strongroom.engine import HSM, HSMConfig
    from strongroom.store.sqlite import SQLiteStore

    if path.exists() and not path.is_file():
        raise UsageError(f"--hsm {path} is not a file")
    if not may_create and not path.exists():
        raise UsageError(f"no HSM store at {path} (--hsm names the SQLite file of an HSM)")
    store = SQLiteStore(path)
    try:
        hsm = HSM.open(store, HSMConfig(manufacturer=manufacturer, backup_approval=approval))
    except BaseException:
        store.close()
        raise
    try:
        yield hsm
    finally:
        hsm.close()


def _entry_rows(entry: BackupEntry) -> list[tuple[str, object]]:
    size = None if entry.size is None else f"{entry.size} ({human_size(entry.size)})"
    rows: list[tuple[str, object]] = [
        ("BackupId", entry.backup_id),
        ("Region", entry.region),
        ("ClusterId", entry.cluster_id),
        ("BackupState", entry.state.value),
        ("CreateTimestamp", iso_utc(entry.create_timestamp_ns)),
        ("DeleteTimestamp", iso_utc(entry.delete_timestamp_ns)),
        ("NeverExpires", str(entry.never_expires).lower()),
        ("Size", size),
        ("Sha256", entry.sha256),
        ("ObjectCount", entry.object_count),
        ("UserCount", entry.user_count),
        ("HsmId", entry.hsm_id),
        ("InnerBackupId", entry.inner_backup_id),
        ("KmsKeyId", entry.kms_key_id),
    ]
    if entry.is_copy:
        rows += [
            ("SourceRegion", entry.source_region),
            ("SourceBackup", entry.source_backup),
            ("SourceCluster", entry.source_cluster),
        ]
    rows.append(("Tags", _tag_text(entry.tags) or "-"))
    return rows


def _tag_text(tags: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(tags.items()))


def _show_entry(args: argparse.Namespace, entry: BackupEntry) -> int:
    if _json(args):
        print_json(entry.to_json())
    else:
        print(key_value_table(_entry_rows(entry)))
    return EXIT_OK


def _restore_json(result: RestoreOutcome) -> dict[str, object]:
    return {
        "InnerBackupId": result.backup_id,
        "SourceHsmId": result.source_hsm_id,
        "ObjectCount": result.objects,
        "UserCount": result.users,
        "Forced": result.forced,
    }


def verify_json(report: VerifyReport) -> dict[str, object]:
    """A verification report as ``backup verify --output json`` prints it."""
    return {
        "BackupId": report.backup_id,
        "Ok": report.ok,
        "ChecksumOk": report.checksum_ok,
        "EnvelopeOk": report.envelope_ok,
        "StructureOk": report.structure_ok,
        "ChunkCount": report.chunks if report.chunks >= 0 else None,
        "Drill": None if report.drill is None else _restore_json(report.drill),
        "Error": report.error,
    }


def purge_json(report: PurgeReport) -> dict[str, object]:
    """A purge report as ``backup purge --output json`` prints it."""
    return {"Expired": list(report.expired), "Deleted": list(report.deleted)}


# --- catalog commands ----------------------------------------------------------------------


def _list(args: argparse.Namespace, setup: BackupSetup) -> int:
    from strongroom.backup.catalog import BackupState

    region = None if args.region is None else setup.check_region(args.region)
    entries = setup.service().list_backups(
        region=region,
        cluster_id=args.cluster,
        states=None if args.state is None else [BackupState(s) for s in args.state],
        never_expires=args.never_expires,
    )
    if _json(args):
        print_json([e.to_json() for e in entries])
        return EXIT_OK
    if not entries:
        print("no backups")
        return EXIT_OK
    rows = [
        (
            e.backup_id,
            e.region,
            e.cluster_id,
            e.state.value,
            iso_utc(e.create_timestamp_ns),
            iso_utc(e.delete_timestamp_ns),
            human_size(e.size),
            "yes" if e.never_expires else "no",
            f"{e.source_region}/{e.source_backup}" if e.is_copy else "-",
            _tag_text(e.tags) or "-",
        )
        for e in entries
    ]
    headers = (
        "BACKUP ID",
        "REGION",
        "CLUSTER",
        "STATE",
        "CREATED (UTC)",
        "DELETE AT (UTC)",
        "SIZE",
        "NEVER EXPIRES",
        "COPIED FROM",
        "TAGS",
    )
    print(table(headers, rows))
    return EXIT_OK


def _describe(args: argparse.Namespace, setup: BackupSetup) -> int:
    return _show_entry(args, setup.service().describe(args.backup_id))


def _delete(args: argparse.Namespace, setup: BackupSetup) -> int:
    return _show_entry(args, setup.service().delete_backup(args.backup_id))


def _restore(args: argparse.Namespace, setup: BackupSetup) -> int:
    return _show_entry(args, setup.service().restore_deleted_backup(args.backup_id))


def _tag_cmd(args: argparse.Namespace, setup: BackupSetup) -> int:
    return _show_entry(args, setup.service().tag(args.backup_id, _tags(args.tags)))


def _untag(args: argparse.Namespace, setup: BackupSetup) -> int:
    return _show_entry(args, setup.service().untag(args.backup_id, args.keys))


def _never_expires(args: argparse.Namespace, setup: BackupSetup) -> int:
    return _show_entry(args, setup.service().set_never_expires(args.backup_id, args.value))


def _purge(args: argparse.Namespace, setup: BackupSetup) -> int:
    report = setup.service().purge()
    if _json(args):
        print_json(purge_json(report))
    elif not report.expired and not report.deleted:
        print("nothing to purge")
    else:
        print(
            table(
                ("BACKUP ID", "ACTION"),
                [(b, "expired: PENDING_DELETION") for b in report.expired]
                + [(b, "deleted for good") for b in report.deleted],
            )
        )
    return EXIT_OK


def _set_retention(args: argparse.Namespace, setup: BackupSetup) -> int:
    setup.service().set_retention(args.cluster, args.days)
    if _json(args):
        print_json(
            {
                "ClusterId": args.cluster,
                "BackupRetentionPolicy": {"Type": "DAYS", "Value": str(args.days)},
            }
        )
    else:
        print(f"cluster {args.cluster}: backups are kept {args.days} days")
    return EXIT_OK


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
    with remote_admin(remote) as client, _progress(args, "restore", entry.size) as bar:
        target = str(client.info()["hsm_id"])
        result = service.restore_to_hsm(args.backup_id, client, force=args.force, progress=bar)
    _print_restore(args, entry, target, result)
    return EXIT_OK


def _print_restore(
    args: argparse.Namespace, entry: BackupEntry, target: str, result: RestoreOutcome
) -> None:
    if _json(args):
        print_json({"BackupId": entry.backup_id, "TargetHsmId": target, **_restore_json(result)})
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


def _create(args: argparse.Namespace, setup: BackupSetup) -> int:
    region = _region(args, setup)
    tags = _tags(args.tag)
    service = setup.service()
    setup.prepare_kms_key(region)
    remote = endpoints_file(args.endpoints, args.hsm, _data_dir(args, setup))
    if remote is not None:
        with remote_admin(remote) as client, _progress(args, "backup", None) as bar:
            entry = service.create_backup(
                client, cluster_id=args.cluster, region=region, tags=tags, progress=bar
            )
        return _show_entry(args, entry)
    manufacturer = setup.manufacturer()
    service_identity = setup.service_identity()
    with _open_hsm(args.hsm, manufacturer) as hsm:
        hsm.configure_service(service_identity)
        with _progress(args, "backup", None) as bar:
            entry = service.create_backup(
                hsm, cluster_id=args.cluster, region=region, tags=tags, progress=bar
            )
    return _show_entry(args, entry)


def _data_dir(args: argparse.Namespace, setup: BackupSetup) -> Path | None:
    return args.data_dir if args.data_dir is not None else setup.settings.data_dir


def _copy(args: argparse.Namespace, setup: BackupSetup) -> int:
    destination = setup.check_region(args.region)
    tags = _tags(args.tag)
    service = setup.service()
    source = service.describe(args.backup_id)
    setup.prepare_kms_key(destination)
    with _progress(args, f"copy to {destination}", source.size) as bar:
        copy = service.copy_to_region(args.backup_id, destination, tags=tags, progress=bar)
    return _show_entry(args, copy)


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


def _verify(args: argparse.Namespace, setup: BackupSetup) -> int:
    from strongroom.backup.catalog import backup_object_key
    from strongroom.backup.service import BackupService

    entry = setup.service().describe(args.backup_id)
    manufacturer = setup.manufacturer() if args.drill else None
    service_identity = setup.service_identity() if args.drill else None
    with (
        _progress(args, "verify", entry.size) as bar,
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
    if _json(args):
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


def _restore_to_hsm(args: argparse.Namespace, setup: BackupSetup) -> int:
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
    with _progress(args, "restore", entry.size) as bar:

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
            with _open_hsm(args.hsm, manufacturer, may_create=True, approval=approval) as hsm:
                hsm.configure_service(service_identity)
                target = str(hsm.info()["hsm_id"])
                result = service.restore_to_hsm(args.backup_id, hsm, force=args.force, progress=bar)
        except BaseException:
            if new_store:  # leave no half-made HSM behind where none was
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{args.hsm}{suffix}").unlink(missing_ok=True)
            raise
    _print_restore(args, entry, target, result)
    if not _json(args):
        print("the HSM is sealed until an admin of the restored state logs in", file=sys.stderr)
    return EXIT_OK

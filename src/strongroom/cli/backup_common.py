"""What the backup commands share: output of entries and reports, opening an HSM, progress.

This module owns the pieces both halves of ``strongroom backup`` use — the catalog commands
(``cli.backup_cmd``) and the long work (``cli.backup_work``): JSON or table output of
entries, restore results and reports, the region and tag arguments, the progress bar, and
opening an HSM's SQLite store in this process. Nothing here sees key material.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from strongroom.cli.config import BackupSetup
from strongroom.cli.output import (
    EXIT_OK,
    ProgressBar,
    UsageError,
    human_size,
    iso_utc,
    key_value_table,
    print_json,
)

__all__ = [
    "entry_rows",
    "open_hsm",
    "pick_region",
    "progress_bar",
    "purge_json",
    "restore_json",
    "show_entry",
    "tag_map",
    "tag_text",
    "verify_json",
    "wants_json",
]

if TYPE_CHECKING:
    from strongroom.backup.catalog import BackupEntry
    from strongroom.backup.service import PurgeReport, RestoreOutcome, VerifyReport
    from strongroom.engine import HSM
    from strongroom.engine.approval import BackupApproval
    from strongroom.engine.identity import ManufacturerIdentity


# --- helpers -------------------------------------------------------------------------------


def wants_json(args: argparse.Namespace) -> bool:
    return bool(args.output == "json")


def tag_map(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in pairs:
        if key in out:
            raise UsageError(f"tag {key!r} is given twice")
        out[key] = value
    return out


def pick_region(args: argparse.Namespace, setup: BackupSetup) -> str:
    if args.region is not None:
        return setup.check_region(args.region)
    names = setup.region_names()
    if len(names) != 1:
        raise UsageError(f"name a --region ({', '.join(names)})")
    return names[0]


def progress_bar(
    args: argparse.Namespace, label: str, total: int | None
) -> contextlib.AbstractContextManager[ProgressBar | None]:
    if args.no_progress or sys.stderr is None or not sys.stderr.isatty():
        return contextlib.nullcontext()
    return ProgressBar(label, total)


@contextlib.contextmanager
def open_hsm(
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


def entry_rows(entry: BackupEntry) -> list[tuple[str, object]]:
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
    rows.append(("Tags", tag_text(entry.tags) or "-"))
    return rows


def tag_text(tags: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(tags.items()))


def show_entry(args: argparse.Namespace, entry: BackupEntry) -> int:
    if wants_json(args):
        print_json(entry.to_json())
    else:
        print(key_value_table(entry_rows(entry)))
    return EXIT_OK


def restore_json(result: RestoreOutcome) -> dict[str, object]:
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
        "Drill": None if report.drill is None else restore_json(report.drill),
        "Error": report.error,
    }


def purge_json(report: PurgeReport) -> dict[str, object]:
    """A purge report as ``backup purge --output json`` prints it."""
    return {"Expired": list(report.expired), "Deleted": list(report.deleted)}

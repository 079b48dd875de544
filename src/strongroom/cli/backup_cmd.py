"""``strongroom backup``: take, list, copy, delete, verify and restore sealed backups.

This module owns the backup command group's argument grammar and its catalog commands
(list, describe, delete, restore, tags, never-expires, purge, retention). The long work —
create, copy-to-region, verify, restore-to-hsm — is ``cli.backup_work``; shared output and
helpers are ``cli.backup_common``. The lifecycle rules live in ``strongroom.backup.service``;
where regions, keys and identities come from lives in ``cli.config``. Nothing here sees key
material: the HSM seals and opens backups, the service moves sealed bytes.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from strongroom.cli import backup_work
from strongroom.cli.backup_common import (
    purge_json,
    show_entry,
    tag_map,
    tag_text,
    wants_json,
)
from strongroom.cli.config import BackupSetup, load_settings
from strongroom.cli.output import (
    EXIT_OK,
    human_size,
    iso_utc,
    print_json,
    report_errors,
    table,
)

if TYPE_CHECKING:
    pass

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

    create = add("create", backup_work.create, "take an on-demand backup of an HSM", long_work)
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

    copy = add(
        "copy-to-region", backup_work.copy, "copy a READY backup to another region", long_work
    )
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

    verify = add("verify", backup_work.verify, "check a stored backup end to end", long_work)
    verify.add_argument("backup_id", metavar="BACKUP_ID")
    verify.add_argument(
        "--drill",
        action="store_true",
        help="also restore it into a scratch HSM that is then thrown away",
    )

    to_hsm = add(
        "restore-to-hsm",
        backup_work.restore_to_hsm,
        "replace an HSM's whole state with a backup",
        long_work,
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
    if wants_json(args):
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
            tag_text(e.tags) or "-",
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
    return show_entry(args, setup.service().describe(args.backup_id))


def _delete(args: argparse.Namespace, setup: BackupSetup) -> int:
    return show_entry(args, setup.service().delete_backup(args.backup_id))


def _restore(args: argparse.Namespace, setup: BackupSetup) -> int:
    return show_entry(args, setup.service().restore_deleted_backup(args.backup_id))


def _tag_cmd(args: argparse.Namespace, setup: BackupSetup) -> int:
    return show_entry(args, setup.service().tag(args.backup_id, tag_map(args.tags)))


def _untag(args: argparse.Namespace, setup: BackupSetup) -> int:
    return show_entry(args, setup.service().untag(args.backup_id, args.keys))


def _never_expires(args: argparse.Namespace, setup: BackupSetup) -> int:
    return show_entry(args, setup.service().set_never_expires(args.backup_id, args.value))


def _purge(args: argparse.Namespace, setup: BackupSetup) -> int:
    report = setup.service().purge()
    if wants_json(args):
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
    if wants_json(args):
        print_json(
            {
                "ClusterId": args.cluster,
                "BackupRetentionPolicy": {"Type": "DAYS", "Value": str(args.days)},
            }
        )
    else:
        print(f"cluster {args.cluster}: backups are kept {args.days} days")
    return EXIT_OK

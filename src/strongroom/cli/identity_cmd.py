"""``strongroom identity``: create manufacturer and service identities, and show what a file holds.

This module owns the identity command group (issue 4 §1, "Commands create both"): making a
new manufacturer identity (ID, MKBK, node CA) or service identity (ID, AKBK) into a file that
is written 0600 and never silently replaced, and printing an identity's public facts — its
ID, the check value that tells identities apart, the CA certificate's fingerprint — never a
key. The identities themselves (format, checks, file handling) live in
``strongroom.engine.identity``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from strongroom.cli.output import (
    EXIT_OK,
    UsageError,
    key_value_table,
    print_json,
    report_errors,
    warn,
)

if TYPE_CHECKING:
    from strongroom.engine.identity import ManufacturerIdentity, ServiceIdentity

__all__ = ["configure_parser", "identity_json", "run"]


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``identity`` subcommands to ``parser`` (the ``identity`` group's own parser)."""
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--output", choices=("table", "json"), default="table")
    creating = argparse.ArgumentParser(add_help=False)
    creating.add_argument("--id", required=True, metavar="ID", help="1-63 characters of a-z 0-9 -")
    creating.add_argument("--out", type=Path, required=True, metavar="FILE")
    creating.add_argument(
        "--force", action="store_true", help="replace an existing file (its identity is lost)"
    )
    sub = parser.add_subparsers(dest="identity_command", metavar="SUBCOMMAND", required=True)
    maker = sub.add_parser(
        "create-manufacturer",
        parents=[creating, output],
        help="create a manufacturer identity (ID, MKBK, node CA)",
        description="Create a manufacturer identity: every HSM it makes shares its MKBK.",
    )
    maker.set_defaults(identity_kind="manufacturer")
    service = sub.add_parser(
        "create-service",
        parents=[creating, output],
        help="create a service identity (ID, AKBK)",
        description="Create a service identity: installed into the HSMs the service configures.",
    )
    service.set_defaults(identity_kind="service")
    show = sub.add_parser(
        "show",
        parents=[output],
        help="print an identity file's ID and check value",
        description="Print the public facts of an identity file (never a key).",
    )
    show.add_argument("file", type=Path, metavar="FILE")
    show.set_defaults(identity_kind=None)


def run(args: argparse.Namespace) -> int:
    """Run the parsed ``identity`` subcommand; returns the exit code."""
    if args.identity_command == "show":
        return report_errors(lambda: _show(args))
    return report_errors(lambda: _create(args))


def identity_json(
    identity: ManufacturerIdentity | ServiceIdentity, path: Path
) -> dict[str, object]:
    """An identity's public facts, as ``--output json`` prints them."""
    from strongroom.crypto.hashing import digest
    from strongroom.engine.identity import ManufacturerIdentity

    if isinstance(identity, ManufacturerIdentity):
        return {
            "Kind": "manufacturer",
            "Id": identity.manufacturer_id,
            "CheckValue": identity.check_value.hex(),
            "CaCertSha256": digest("SHA256", identity.ca_cert).hex(),
            "File": str(path),
        }
    return {
        "Kind": "service",
        "Id": identity.service_id,
        "CheckValue": identity.check_value.hex(),
        "File": str(path),
    }


def _print(args: argparse.Namespace, facts: dict[str, object]) -> None:
    if args.output == "json":
        print_json(facts)
    else:
        print(key_value_table(list(facts.items())))


@contextlib.contextmanager
def _claim(path: Path, force: bool) -> Iterator[None]:
    """Reserve ``path`` (exclusive create, 0600) unless ``force``; undone if writing fails."""
    if force:
        if path.exists() and not path.is_file():
            raise UsageError(f"{path} is not a file")
        yield
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise UsageError(
            f"{path} exists; pass --force to replace it (the identity in it is then lost)"
        ) from None
    os.close(fd)
    try:
        yield
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _create(args: argparse.Namespace) -> int:
    from strongroom.engine.identity import ManufacturerIdentity, ServiceIdentity
    from strongroom.errors import IdentityInvalid

    identity: ManufacturerIdentity | ServiceIdentity
    try:
        if args.identity_kind == "manufacturer":
            identity = ManufacturerIdentity.create(args.id)
        else:
            identity = ServiceIdentity.create(args.id)
    except IdentityInvalid as exc:
        raise UsageError(f"--id {args.id!r}: {exc.message}") from None
    path: Path = args.out
    with _claim(path, args.force):
        identity.save(path)
    _print(args, identity_json(identity, path))
    key = "MKBK" if args.identity_kind == "manufacturer" else "AKBK"
    warn(
        f"{path} holds the {key} in the clear (mode 0600): keep it secret and back it up; "
        "without it no backup of its HSMs can be restored"
    )
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    from strongroom.engine.identity import ManufacturerIdentity, ServiceIdentity
    from strongroom.errors import IdentityInvalid

    path: Path = args.file
    identity: ManufacturerIdentity | ServiceIdentity
    try:
        identity = ManufacturerIdentity.load(path)
    except IdentityInvalid as as_manufacturer:
        try:
            identity = ServiceIdentity.load(path)
        except IdentityInvalid:
            if "is not a strongroom-manufacturer-identity" not in as_manufacturer.message:
                raise as_manufacturer from None
            raise IdentityInvalid(
                f"{path.name} is neither a manufacturer nor a service identity file"
            ) from None
    _print(args, identity_json(identity, path))
    return EXIT_OK

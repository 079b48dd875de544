"""Argument parsing and dispatch for the ``strongroom`` command.

This module owns the top-level grammar (``version``, ``demo``, ``mechanisms``, and the
``backup`` and ``identity`` groups, whose subcommands live in ``cli.backup_cmd`` and
``cli.identity_cmd``) and hands each command to its module. Heavy imports happen inside the
commands, so ``strongroom --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from strongroom import __version__
from strongroom.cli import backup_cmd, hsm_cmd, identity_cmd, pkcs11_cmd, session_cmd, up_cmd

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="strongroom",
        description="Strongroom: an open-source, clustered software HSM.",
    )
    parser.add_argument("--version", action="version", version=f"strongroom {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("version", help="print the version and exit")
    demo = sub.add_parser(
        "demo", help="start the development cluster (like `up --detach`) and tour it"
    )
    demo.add_argument("--data-dir", type=Path, default=Path("strongroom-data"))
    mechanisms = sub.add_parser("mechanisms", help="print the mechanism table (Markdown)")
    mechanisms.add_argument(
        "--update-doc",
        type=Path,
        metavar="FILE",
        help="rewrite the generated table inside FILE (docs/mechanisms.md) instead",
    )
    backup = sub.add_parser(
        "backup",
        help="sealed backups: create, list, copy, delete, verify, restore (docs/cli.md)",
        description="Sealed backups of HSMs across regions (docs/cli.md).",
    )
    backup_cmd.configure_parser(backup)
    identity = sub.add_parser(
        "identity",
        help="create manufacturer and service identities (docs/cli.md)",
        description="Manufacturer and service identities: the roots of the backup keys.",
    )
    identity_cmd.configure_parser(identity)
    hsm = sub.add_parser(
        "hsm",
        help="HSM nodes: create, install-certificate, configure-service, serve",
        description="Make, configure and serve HSM nodes (docs/cli.md).",
    )
    hsm_cmd.configure_parser(hsm)
    for party in _PARTIES:
        sub.add_parser(
            party,
            help=f"{party} set-up: `{party} create --id ID --out FILE`, `{party} show FILE`"
            f" (the same as `identity create-{party}` / `identity show`)",
            add_help=False,
        )
    pkcs11_cmd.configure_parser(
        sub.add_parser(
            "pkcs11",
            help="the PKCS#11 bridge for p11-kit-client.so: serve, module-config",
            description="Serve the cluster to PKCS#11 applications (docs/pkcs11.md).",
        )
    )
    up_cmd.configure_up(
        sub.add_parser("up", help="start a development cluster on 127.0.0.1 (first run: make it)")
    )
    up_cmd.configure_down(sub.add_parser("down", help="stop the development cluster"))
    session_cmd.add_placeholders(sub)  # login, logout, user, key, crypto, cluster, shell
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    arguments = _aliases(list(sys.argv[1:] if argv is None else argv))
    if session_cmd.handles(arguments):  # the CloudHSM-CLI-shaped tree parses its own words
        return session_cmd.main(arguments)
    parser = _parser()
    args = parser.parse_args(arguments)
    if args.command == "version":
        print(f"strongroom {__version__}")
        return 0
    if args.command == "demo":
        from strongroom.cli.demo import run_demo

        return run_demo(args.data_dir)
    if args.command == "mechanisms":
        return _mechanisms(args.update_doc)
    if args.command == "backup":
        return backup_cmd.run(args)
    if args.command == "identity":
        return identity_cmd.run(args)
    if args.command == "hsm":
        return hsm_cmd.run(args)
    if args.command == "pkcs11":
        return pkcs11_cmd.run(args)
    if args.command == "up":
        return up_cmd.run_up(args)
    if args.command == "down":
        return up_cmd.run_down(args)
    parser.print_help()
    return 0


_PARTIES = ("manufacturer", "service")


def _aliases(arguments: list[str]) -> list[str]:
    """``manufacturer create …`` / ``service create …`` (and ``show``) are ``identity …``."""
    if len(arguments) >= 2 and arguments[0] in _PARTIES and arguments[1] in ("create", "show"):
        verb = f"create-{arguments[0]}" if arguments[1] == "create" else "show"
        return ["identity", verb, *arguments[2:]]
    return arguments


def _mechanisms(doc: Path | None) -> int:
    from strongroom.engine.mechanisms.registry import default_registry
    from strongroom.engine.mechanisms.table import BEGIN_MARKER, END_MARKER, markdown_table

    table = markdown_table(default_registry())
    if doc is None:
        print(table, end="")
        return 0
    text = doc.read_text(encoding="utf-8")
    head, begin, rest = text.partition(BEGIN_MARKER + "\n")
    _, end, tail = rest.partition(END_MARKER)
    if not begin or not end:
        print(f"{doc}: the generated-table markers are missing", file=sys.stderr)
        return 1
    doc.write_text(head + BEGIN_MARKER + "\n" + table + END_MARKER + tail, encoding="utf-8")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

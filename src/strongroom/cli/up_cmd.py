"""``strongroom up`` / ``strongroom down``: the command-line face of ``cli.up``.

This module owns the two commands' arguments and what they print: which HSMs are serving
where, the trust anchor, where the credentials are (never the passwords themselves), and
how to use the cluster from the CLI and the SDK. ``up`` stays in the foreground until
Ctrl-C or SIGTERM (then stops the nodes) unless ``--detach`` is given.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from strongroom.cli.config import DEFAULT_DATA_DIR
from strongroom.cli.output import EXIT_OK, print_json, report_errors

__all__ = ["configure_down", "configure_up", "run_down", "run_up"]


def configure_up(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``up``."""
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--detach", action="store_true", help="return once the HSMs serve")
    parser.add_argument("--output", choices=["text", "json"], default="text")
    parser.add_argument(
        "--p11-kit-module",
        type=Path,
        metavar="FILE",
        help="also write a p11-kit module file registering the PKCS#11 bridge system-wide "
        "(e.g. /etc/pkcs11/modules/strongroom.module)",
    )


def configure_down(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``down``."""
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)


def run_up(args: argparse.Namespace) -> int:
    """Start (or reuse) the development cluster in ``--data-dir``."""
    return report_errors(lambda: _up(args))


def run_down(args: argparse.Namespace) -> int:
    """Stop the cluster in ``--data-dir``."""
    return report_errors(lambda: _down(args))


def _up(args: argparse.Namespace) -> int:
    from strongroom.cli.up import DevCluster, down, up

    # One HSM until the cluster journal keeps several in sync (a later issue); DevCluster and
    # endpoints.json already take any number.
    cluster = DevCluster(args.data_dir)
    stop = threading.Event()
    if not args.detach:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    endpoints, first = up(cluster)
    if args.p11_kit_module is not None:
        from strongroom.cli.pkcs11_cmd import module_config

        args.p11_kit_module.parent.mkdir(parents=True, exist_ok=True)
        address = endpoints["pkcs11"]["p11_kit_server_address"]
        args.p11_kit_module.write_text(module_config(address), encoding="utf-8")
    if args.output == "json":
        print_json({k: v for k, v in endpoints.items() if k not in ("admin", "crypto_user")})
    else:
        _describe(endpoints, first, args.data_dir, args.detach)
    sys.stdout.flush()
    if args.detach:
        return EXIT_OK
    try:
        while not stop.wait(0.5):
            if len(cluster.running()) < len(endpoints["hsms"]):
                print("an HSM node stopped; shutting the cluster down", file=sys.stderr)
                break
    finally:
        names = down(cluster)
        print(f"stopped {', '.join(names) or 'nothing'}", file=sys.stderr)
    return EXIT_OK


def _describe(endpoints: dict[str, Any], first: bool, data_dir: Path, detach: bool) -> None:
    state = "created and started" if first else "started"
    print(f"Strongroom development cluster {state} (data in {endpoints['data_dir']}):")
    for hsm in endpoints["hsms"]:
        print(f"  {hsm['name']}  hsm_id {hsm['hsm_id']}  serving on {hsm['address']} (TLS 1.3)")
    print(f"  trust anchor   {endpoints['trust_anchor']}")
    print(
        f"  users          admin (admin), {endpoints['crypto_user']['username']} (crypto user);"
        f" passwords in {Path(endpoints['data_dir']) / 'endpoints.json'} (0600)"
    )
    print()
    print("Use it:")
    flag = "" if data_dir == DEFAULT_DATA_DIR else f" --data-dir {data_dir}"
    print(f"  strongroom{flag} shell                      # interactive; then: login")
    print(f"  strongroom{flag} key list --output json     # single commands (password from")
    print("                                                 #   STRONGROOM_PASSWORD or a prompt)")
    print(
        f"  python: HSMClient.connect(ClientConfig.from_endpoints("
        f"'{Path(endpoints['data_dir']) / 'endpoints.json'}'))"
    )
    print(f"  strongroom backup create --data-dir {data_dir} …   # sealed backups")
    pkcs11 = endpoints.get("pkcs11")
    if pkcs11:
        print(
            f"  P11_KIT_SERVER_ADDRESS={pkcs11['p11_kit_server_address']} "
            f"pkcs11-tool --module {pkcs11['module']} -L   # PKCS#11, PIN user:password"
        )
    print()
    if detach:
        print(f"Stop it with: strongroom down{flag}")
    else:
        print("Press Ctrl-C to stop (or run `strongroom down` elsewhere).")


def _down(args: argparse.Namespace) -> int:
    from strongroom.cli.up import DevCluster, down

    names = down(DevCluster(args.data_dir))
    print(f"stopped {', '.join(names)}" if names else "nothing was running", file=sys.stderr)
    return EXIT_OK

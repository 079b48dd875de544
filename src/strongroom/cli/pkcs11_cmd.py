"""``strongroom pkcs11 …``: serve the PKCS#11 bridge, and register it with p11-kit.

``serve --socket PATH`` listens on a unix socket for ``p11-kit-client.so``
(``P11_KIT_SERVER_ADDRESS=unix:path=PATH``); ``serve --stdio`` serves the one client that
spawned it (``P11_KIT_SERVER_ADDRESS="|strongroom pkcs11 serve --stdio"``). The cluster comes
from ``--endpoints`` or the usual discovery (``STRONGROOM_ENDPOINTS``, ``./strongroom-data``).
``module-config`` prints (or writes) a p11-kit module file so p11-kit-proxy and GnuTLS
applications find the token with no per-application set-up.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

__all__ = ["MODULE_PATHS", "configure_parser", "module_config", "module_path", "run"]

MODULE_PATHS = (
    "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so",
    "/usr/lib/aarch64-linux-gnu/pkcs11/p11-kit-client.so",
    "/usr/lib64/pkcs11/p11-kit-client.so",
    "/usr/lib/pkcs11/p11-kit-client.so",
)
"""Where distributions install p11-kit's client module (Debian: package p11-kit-modules)."""


def module_path() -> str:
    """The path of p11-kit-client.so on this machine (the Debian path if none is found)."""
    for candidate in MODULE_PATHS:
        if Path(candidate).exists():
            return candidate
    return MODULE_PATHS[0]


def module_config(address: str) -> str:
    """A p11-kit module file that registers the bridge at ``address`` (unix:path=…)."""
    return (
        "# Strongroom PKCS#11 bridge (written by `strongroom pkcs11 module-config`).\n"
        "# Put it in /etc/pkcs11/modules/: p11-kit-proxy and GnuTLS then list the token.\n"
        f"remote: {address}\n"
    )


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add ``serve`` and ``module-config``."""
    sub = parser.add_subparsers(dest="pkcs11_command", metavar="COMMAND", required=True)
    serve = sub.add_parser("serve", help="serve p11-kit-client.so on a socket or stdin/stdout")
    where = serve.add_mutually_exclusive_group(required=True)
    where.add_argument("--socket", type=Path, metavar="PATH", help="unix socket to listen on")
    where.add_argument("--stdio", action="store_true", help="serve the client on stdin/stdout")
    serve.add_argument("--endpoints", type=Path, help="the cluster's endpoints.json")
    serve.add_argument("--label", default="strongroom", help="the token label (32 bytes at most)")
    serve.add_argument("--log-level", default="warning", choices=["debug", "info", "warning"])
    config = sub.add_parser("module-config", help="print a p11-kit module file for the bridge")
    config.add_argument("--socket", type=Path, required=True, metavar="PATH")
    config.add_argument("--out", type=Path, help="write it here (e.g. /etc/pkcs11/modules/…)")


def run(args: argparse.Namespace) -> int:
    """Dispatch ``pkcs11 …``."""
    if args.pkcs11_command == "module-config":
        text = module_config(f"unix:path={args.socket.absolute()}")
        if args.out is None:
            print(text, end="")
        else:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(text, encoding="utf-8")
        return 0
    return _serve(args)


def _serve(args: argparse.Namespace) -> int:
    from strongroom.client import ClientConfig
    from strongroom.pkcs11 import BridgeServer, Token, serve_stdio

    logging.basicConfig(
        stream=sys.stderr,
        level=args.log_level.upper(),
        format='{"time": "%(asctime)s", "level": "%(levelname)s", "message": "%(message)s"}',
    )
    try:
        config = (
            ClientConfig.from_endpoints(args.endpoints)
            if args.endpoints is not None
            else ClientConfig.discover()
        )
    except (OSError, ValueError, KeyError) as exc:
        print(f"strongroom pkcs11: no cluster to serve: {exc}", file=sys.stderr)
        return 2
    token = Token(config, label=args.label)
    if args.stdio:
        serve_stdio(token)
        return 0
    server = BridgeServer(token, args.socket)
    server.bind()
    signal.signal(signal.SIGTERM, lambda *_: server.close())
    print(f"P11_KIT_SERVER_ADDRESS={server.address}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0

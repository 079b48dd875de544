"""``strongroom hsm …``: make a node, give it its cluster certificate, serve it.

This module owns the node set-up commands (the manufacturer's ``create``, the customer's
``install-certificate``, the service's ``configure-service``) and ``serve``, which runs the
node in the foreground until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from strongroom.cli.output import EXIT_OK, report_errors

__all__ = ["configure_parser", "run"]


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``hsm`` subcommands to ``parser``."""
    sub = parser.add_subparsers(dest="hsm_command", metavar="COMMAND", required=True)
    serve = sub.add_parser("serve", help="serve a node directory over TLS (foreground)")
    serve.add_argument("--node-dir", type=Path, required=True)
    serve.add_argument("--ready-file", type=Path, help="write {address, pid} here when listening")
    serve.add_argument("--log-file", type=Path, help="JSON-lines log (default: standard error)")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    create = sub.add_parser("create", help="make a node (manufacturer step): key, HSM, CSR")
    create.add_argument("--node-dir", type=Path, required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--manufacturer", type=Path, required=True, help="identity file")
    create.add_argument("--host", default="127.0.0.1")
    create.add_argument("--port", type=int, default=0)
    create.add_argument("--no-auto-unseal", action="store_true")
    install = sub.add_parser(
        "install-certificate", help="install the CA-signed cluster certificate (customer step)"
    )
    install.add_argument("--node-dir", type=Path, required=True)
    install.add_argument("--certificate", type=Path, required=True)
    install.add_argument("--trust-anchor", type=Path, required=True)
    service = sub.add_parser("configure-service", help="install the service identity (AKBK)")
    service.add_argument("--node-dir", type=Path, required=True)
    service.add_argument("--service", type=Path, required=True, help="service identity file")


def run(args: argparse.Namespace) -> int:
    """Run one ``hsm`` subcommand."""
    return report_errors(lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    from strongroom.server import node

    if args.hsm_command == "serve":
        from strongroom.server.logs import configure_logging

        configure_logging(args.log_level, args.log_file)
        return node.run_node(node.NodeConfig.load(args.node_dir), ready_file=args.ready_file)
    if args.hsm_command == "create":
        config = node.make_node(
            args.node_dir,
            name=args.name,
            manufacturer_path=args.manufacturer,
            host=args.host,
            port=args.port,
            auto_unseal=not args.no_auto_unseal,
        )
        facts = {"node_dir": str(config.directory), "csr": str(config.path("cluster.csr"))}
        print(json.dumps({**facts, "hsm_id": config.extra.get("hsm_id")}))
        return EXIT_OK
    config = node.NodeConfig.load(args.node_dir)
    if args.hsm_command == "install-certificate":
        node.install_cluster_certificate(
            config, args.certificate.read_bytes(), args.trust_anchor.read_bytes()
        )
    else:
        from strongroom.engine.identity import ServiceIdentity

        node.configure_service(config, ServiceIdentity.load(args.service))
    print(f"{config.name}: done", file=sys.stderr)
    return EXIT_OK

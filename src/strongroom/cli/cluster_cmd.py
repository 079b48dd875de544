"""``strongroom cluster info|mtls|audit``: the cluster's HSMs, its mTLS policy, its audit log.

This module owns the cluster commands' grammar and output. ``cluster info`` needs no login
and asks every HSM in the endpoints for its state (an HSM that does not answer is listed
as ``UNREACHABLE``, not an error); ``cluster mtls`` reads and (admins, over mutual TLS)
sets the ``mtls_enforced`` policy and manages the extra trust anchors for client
certificates; ``cluster audit`` pages through one HSM's audit log
(admins).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Final

from strongroom.cli.output import UsageError, iso_utc, table
from strongroom.cli.session import Outcome, Session, add_command

__all__ = ["configure"]

_INFO_FIELDS: Final = ("node_name", "version", "fips_mode", "activated", "sealed", "error_state")
_LEVELS: Final = ("none", "cluster")


def configure(parser: argparse.ArgumentParser) -> None:
    """The ``cluster`` subcommands."""
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add_command(
        sub, "info", _info, "every HSM: address, hsm_id, state (no login)", aliases=("hsm-info",)
    )
    mtls = sub.add_parser("mtls", help="the cluster's mutual-TLS enforcement")
    actions = mtls.add_subparsers(dest="mtls_action", metavar="ACTION", required=True)
    add_command(actions, "get-enforcement", _get_enforcement, "show the mTLS enforcement level")
    setter = add_command(
        actions,
        "set-enforcement",
        _set_enforcement,
        "admins (over mutual TLS): require client certificates (cluster) or not (none)",
    )
    setter.add_argument("--level", required=True, choices=_LEVELS)
    register = add_command(
        actions,
        "register-trust-anchor",
        _register_anchor,
        "admins: accept client certificates issued by this CA (at most 2)",
    )
    register.add_argument("--path", type=Path, required=True, help="the CA certificate (PEM)")
    add_command(actions, "list-trust-anchors", _list_anchors, "the registered trust anchors")
    deregister = add_command(
        actions, "deregister-trust-anchor", _deregister_anchor, "admins: remove a trust anchor"
    )
    deregister.add_argument("--sha256", required=True, help="as list-trust-anchors shows it")
    audit = add_command(sub, "audit", _audit, "admins: read an HSM's audit log")
    audit.add_argument("--start", type=int, default=1, help="first sequence number (default 1)")
    audit.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")


def _info(session: Session, args: argparse.Namespace) -> Outcome:
    from strongroom.client import HSMClient

    with HSMClient(session.config()) as client:  # not connect(): every HSM may be down
        entries = client.cluster_info()
    hsms: list[dict[str, Any]] = []
    for entry in entries:
        info = entry.get("info") or {}
        row = {"address": entry["address"], "hsm_id": entry.get("hsm_id"), "state": entry["state"]}
        row.update({name: info[name] for name in _INFO_FIELDS if name in info})
        if "error" in entry:
            row["error"] = entry["error"]
        hsms.append(row)
    rows = [
        [h["hsm_id"] or "-", h["address"], h["state"], h.get("node_name", "-"), h.get("version")]
        for h in hsms
    ]
    text = table(["HSM_ID", "ADDRESS", "STATE", "NAME", "VERSION"], rows)
    return Outcome({"hsms": hsms}, text)


def _level(enforced: bool) -> str:
    return "cluster" if enforced else "none"


def _get_enforcement(session: Session, args: argparse.Namespace) -> Outcome:
    level = _level(bool(session.logged_in().get_policy().get("mtls_enforced")))
    return Outcome({"mtls_enforcement": level}, f"mtls enforcement: {level}")


def _set_enforcement(session: Session, args: argparse.Namespace) -> Outcome:
    client = session.logged_in()
    client.set_policy("mtls_enforced", args.level == "cluster")
    level = _level(bool(client.get_policy().get("mtls_enforced")))
    return Outcome({"mtls_enforcement": level}, f"mtls enforcement: {level}")


def _anchor_rows(anchors: list[bytes]) -> list[dict[str, str]]:
    from strongroom.crypto.certs import load_certificate_subject
    from strongroom.crypto.hashing import digest

    return [
        {"sha256": digest("SHA256", der).hex(), "subject": load_certificate_subject(der)}
        for der in anchors
    ]


def _register_anchor(session: Session, args: argparse.Namespace) -> Outcome:
    try:
        pem = args.path.read_bytes()
    except OSError as exc:
        raise UsageError(f"--path {args.path}: {exc.strerror}") from None
    fingerprint = session.logged_in().register_trust_anchor(pem)
    return Outcome({"sha256": fingerprint}, f"registered trust anchor {fingerprint}")


def _list_anchors(session: Session, args: argparse.Namespace) -> Outcome:
    anchors = _anchor_rows(session.logged_in().list_trust_anchors())
    text = table(["SHA256", "SUBJECT"], [[a["sha256"], a["subject"]] for a in anchors])
    return Outcome({"trust_anchors": anchors}, text if anchors else "no trust anchors registered")


def _deregister_anchor(session: Session, args: argparse.Namespace) -> Outcome:
    session.logged_in().deregister_trust_anchor(args.sha256)
    return Outcome({"sha256": args.sha256}, f"deregistered trust anchor {args.sha256}")


def _audit(session: Session, args: argparse.Namespace) -> Outcome:
    if args.start < 1 or not 1 <= args.limit <= 10_000:
        raise UsageError("--start must be at least 1 and --limit 1-10000")
    records = session.logged_in().read_audit(args.start, args.limit)
    rows = [
        [
            r.get("seq"),
            iso_utc(r.get("timestamp_ns")),
            r.get("event"),
            r.get("actor"),
            json.dumps(r.get("details") or {}, sort_keys=True, separators=(",", ":")),
        ]
        for r in records
    ]
    text = table(["SEQ", "TIME", "EVENT", "ACTOR", "DETAILS"], rows)
    return Outcome({"records": records}, text if records else "no audit records")

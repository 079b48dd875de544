"""HSM-wide commands: info, policy, audit reading, self-tests on demand, sync digests.

This module owns the commands that concern the HSM as a whole rather than one user or
object. Self-test failures latch the error state here, and the result is audited.
"""

from __future__ import annotations

import itertools

from strongroom import __version__
from strongroom.crypto.certs import check_ca_certificate
from strongroom.crypto.hashing import Digest, digest
from strongroom.crypto.selftest import run_known_answer_tests
from strongroom.engine.core import Core, SessionState
from strongroom.errors import ArgumentsBad
from strongroom.model.codec import decode_cbor, encode_cbor

__all__ = [
    "MAX_TRUST_ANCHORS",
    "deregister_trust_anchor",
    "hsm_info",
    "read_audit",
    "register_trust_anchor",
    "run_self_tests",
    "set_policy",
    "sync_digest",
    "trust_anchors",
]

MAX_TRUST_ANCHORS = 2
"""CloudHSM registers at most two mTLS trust anchors."""
_MAX_ANCHOR_BYTES = 16 * 1024


def hsm_info(core: Core) -> dict[str, object]:
    """Basic information anyone may read: identity, mode and state, no secrets."""
    return {
        "hsm_id": core.hsm_id,
        "version": __version__,
        "fips_mode": core.fips,
        "activated": core.activated,
        "sealed": core.sealed,
        "error_state": core.error_state,
        "boot": core.boot,
        "token_objects": core.catalog.token_count(),
        "users": len(core.store.list_users()),
    }


def set_policy(core: Core, session: SessionState, name: str, value: bool) -> None:
    """Change one HSM policy; FIPS mode forbids clear key import."""
    policy = core.policy()
    if name not in policy:
        raise ArgumentsBad(f"unknown policy {name!r}")
    if not isinstance(value, bool):
        raise ArgumentsBad("policy values are booleans")
    if core.fips and name == "clear_key_import" and value:
        raise ArgumentsBad("FIPS mode never allows clear key import")
    policy[name] = value
    with core.write(session.actor) as w:
        w.tx.set_meta("policy", core.encode_policy(policy))
        w.audit("policy-set", name=name, value=value)


def read_audit(core: Core, start_seq: int = 1, limit: int | None = None) -> list[dict[str, object]]:
    """Audit records from ``start_seq`` (at most ``limit`` of them), with details decoded."""
    if isinstance(start_seq, bool) or not isinstance(start_seq, int) or start_seq < 1:
        raise ArgumentsBad("start_seq must be a positive integer")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ArgumentsBad("limit must be a positive integer")
    core.flush_audit()
    records = core.store.audit_records(start_seq)
    if limit is not None:
        records = itertools.islice(records, limit)
    return [
        {
            "seq": r.seq,
            "boot": r.boot,
            "timestamp_ns": r.timestamp_ns,
            "event": r.event,
            "actor": r.actor,
            "details": decode_cbor(r.details),
            "hash": r.hash.hex(),
        }
        for r in records
    ]


def run_self_tests(core: Core, actor: str) -> dict[str, bool]:
    """Run every known-answer test, audit the outcome, latch the error state on failure."""
    results = run_known_answer_tests(core.config.self_test_broken)
    failed = [r.family for r in results if not r.passed]
    if failed:
        core.error_state = "self-test failed: " + ", ".join(failed)
    core.audit_only(actor, "self-test", passed=not failed, failed=failed)
    return {r.family: r.passed for r in results}


def sync_digest(core: Core) -> str:
    """SHA-256 over every token object record and user (verifiers included), in order.

    Two HSMs holding the same state give the same digest; sealed blobs are compared as
    stored, so this is only meaningful between HSMs that share a storage key.
    """
    digest = Digest("SHA256")
    for record in core.store.iter_objects():
        digest.update(
            encode_cbor(
                [
                    record.handle,
                    record.owner,
                    record.public,
                    sorted(core.store.get_shares(record.handle)),
                ]
            )
        )
    for user in core.store.list_users():
        digest.update(encode_cbor([user.user_id, user.username, user.role]))
    return digest.finalize().hex()


# --- mTLS trust anchors (CloudHSM's `cluster mtls register-trust-anchor`) -----------------


def trust_anchors(core: Core) -> list[bytes]:
    """The registered client-certificate trust anchors (DER), oldest first."""
    raw = core.store.get_meta("mtls_trust_anchors")
    stored = decode_cbor(raw) if raw is not None else []
    return [a for a in stored if isinstance(a, bytes)] if isinstance(stored, list) else []


def register_trust_anchor(core: Core, session: SessionState, certificate_der: bytes) -> str:
    """Add a CA whose client certificates the HSM accepts; returns its SHA-256 (hex)."""
    if not isinstance(certificate_der, bytes) or not 0 < len(certificate_der) <= _MAX_ANCHOR_BYTES:
        raise ArgumentsBad(f"a trust anchor is a DER certificate of at most {_MAX_ANCHOR_BYTES} B")
    check_ca_certificate(certificate_der)
    fingerprint = digest("SHA256", certificate_der).hex()
    with core.lock:
        anchors = trust_anchors(core)
        if certificate_der in anchors:
            raise ArgumentsBad("this trust anchor is already registered")
        if len(anchors) >= MAX_TRUST_ANCHORS:
            raise ArgumentsBad(f"at most {MAX_TRUST_ANCHORS} trust anchors; deregister one first")
        with core.write(session.actor) as w:
            w.tx.set_meta("mtls_trust_anchors", encode_cbor([*anchors, certificate_der]))
            w.audit("trust-anchor-registered", sha256=fingerprint)
    return fingerprint


def deregister_trust_anchor(core: Core, session: SessionState, fingerprint: str) -> None:
    """Remove the anchor whose SHA-256 (hex) is ``fingerprint``."""
    with core.lock:
        anchors = trust_anchors(core)
        keep = [a for a in anchors if digest("SHA256", a).hex() != fingerprint]
        if len(keep) == len(anchors):
            raise ArgumentsBad("no trust anchor has this SHA-256")
        with core.write(session.actor) as w:
            w.tx.set_meta("mtls_trust_anchors", encode_cbor(keep))
            w.audit("trust-anchor-deregistered", sha256=fingerprint)

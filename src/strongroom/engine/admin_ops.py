"""HSM-wide commands: info, policy, audit reading, self-tests on demand, sync digests.

This module owns the commands that concern the HSM as a whole rather than one user or
object. Self-test failures latch the error state here, and the result is audited.
"""

from __future__ import annotations

import itertools

from strongroom import __version__
from strongroom.crypto.hashing import Digest
from strongroom.crypto.selftest import run_known_answer_tests
from strongroom.engine.core import Core, SessionState
from strongroom.errors import ArgumentsBad
from strongroom.model.codec import decode_cbor, encode_cbor

__all__ = ["hsm_info", "read_audit", "run_self_tests", "set_policy", "sync_digest"]


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

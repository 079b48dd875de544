"""Command handlers: one function per wire command, each a thin call into the engine.

This module owns turning a checked request into an engine call and its result into plain
wire values (protocol.values). Handlers run with a ``ConnectionSessions`` — the engine
sessions this connection opened — and never see sockets; the dispatcher decides whether a
handler runs on the event loop or on a worker thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from strongroom.constants import Command, Role
from strongroom.engine import HSM, Session
from strongroom.errors import (
    ArgumentsBad,
    AttributeSensitive,
    MutualTLSRequired,
    PermissionDenied,
    SessionHandleInvalid,
)
from strongroom.protocol.values import encode_template
from strongroom.server.transfers import BackupCursor, RestoreFeed, TransferTable

__all__ = ["HANDLERS", "MAX_SESSIONS_PER_CONNECTION", "ConnectionSessions", "Handler"]

MAX_SESSIONS_PER_CONNECTION: Final = 1024


@dataclass(slots=True)
class ConnectionSessions:
    """What one connection has on the HSM: its engine sessions, by handle."""

    hsm: HSM
    peer: str
    client_certificate: bool
    node_info: dict[str, Any] = field(default_factory=dict)
    anchor_added: Callable[[bytes], None] = field(default=lambda der: None)
    """Tells the listener's TLS context about a newly registered trust anchor."""
    sessions: dict[int, Session] = field(default_factory=dict)
    transfers: TransferTable = field(default_factory=TransferTable)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def session(self, handle: int) -> Session:
        """The session ``handle`` if this connection opened it (others' are invisible)."""
        found = self.sessions.get(handle)
        if found is None:
            raise SessionHandleInvalid("no such session on this connection")
        return found

    def open(self, share_login: int | None) -> int:
        """Open a session (logged in as ``share_login``'s user if given); returns its handle."""
        with self.lock:
            if len(self.sessions) >= MAX_SESSIONS_PER_CONNECTION:
                raise ArgumentsBad(
                    f"a connection holds at most {MAX_SESSIONS_PER_CONNECTION} sessions"
                )
            if share_login is None:
                session = self.hsm.open_session()
            else:
                session = self.session(share_login).open_sibling()
            self.sessions[session.handle] = session
            return session.handle

    def close(self, handle: int) -> None:
        """Close one session (its session objects are destroyed)."""
        with self.lock:
            session = self.sessions.pop(handle, None)
        if session is None:
            raise SessionHandleInvalid("no such session on this connection")
        session.close()

    def close_all(self) -> None:
        """The connection is gone: end its transfers and close every session it opened."""
        self.transfers.close_all()
        with self.lock:
            sessions, self.sessions = list(self.sessions.values()), {}
        for session in sessions:
            session.close()


Handler = Callable[[ConnectionSessions, dict[str, Any]], Any]


def _info(conn: ConnectionSessions, _args: dict[str, Any]) -> Any:
    return {**conn.hsm.info(), **conn.node_info}


def _open(conn: ConnectionSessions, args: dict[str, Any]) -> Any:
    return conn.open(args["share_login"])


def _close(conn: ConnectionSessions, args: dict[str, Any]) -> Any:
    conn.close(args["session"])


def _login(conn: ConnectionSessions, args: dict[str, Any]) -> Any:
    return conn.session(args["session"]).login(args["username"], args["password"]).value


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise ArgumentsBad(f"unknown role {value!r}") from None


def _user_list(conn: ConnectionSessions, args: dict[str, Any]) -> Any:
    return [
        {
            "username": u.username,
            "role": u.role.value,
            "locked": u.locked,
            "failed_logins": u.failed_logins,
        }
        for u in conn.session(args["session"]).list_users()
    ]


def _attributes(conn: ConnectionSessions, args: dict[str, Any]) -> Any:
    values = conn.session(args["session"]).get_attributes(args["handle"], args["attributes"])
    return encode_template(values)


def _read_attributes(conn: ConnectionSessions, args: dict[str, Any]) -> Any:
    values, errors = conn.session(args["session"]).read_attributes(
        args["handle"], args["attributes"]
    )
    return {
        "values": encode_template(values),
        "sensitive": [a for a, e in errors.items() if isinstance(e, AttributeSensitive)],
        "invalid": [a for a, e in errors.items() if not isinstance(e, AttributeSensitive)],
    }


def _policy_set(conn: ConnectionSessions, args: dict[str, Any]) -> Any:
    session = conn.session(args["session"])
    if args["name"] == "mtls_enforced":
        # CloudHSM: only the user named admin, and only over a mutual-TLS connection.
        if session.username != "admin":
            raise PermissionDenied("only the user named admin may set mTLS enforcement")
        if not conn.client_certificate:
            raise MutualTLSRequired("set mTLS enforcement over a mutual-TLS connection")
    session.set_policy(args["name"], args["value"])


_OPERATIONS: Final = frozenset({"encrypt", "decrypt", "sign", "verify", "digest"})


def _step(conn: ConnectionSessions, args: dict[str, Any], step: str) -> tuple[str, Any]:
    """The operation's name and the session's ``<operation>_<step>`` method."""
    operation = args["operation"]
    if operation not in _OPERATIONS:
        raise ArgumentsBad(f"unknown operation {operation!r}")
    return operation, getattr(conn.session(args["session"]), f"{operation}_{step}")


def _crypto_init(conn: ConnectionSessions, args: dict[str, Any]) -> Any:
    operation, init = _step(conn, args, "init")
    if operation == "digest":
        init(args["mechanism"], args["params"])
        return None
    if args["handle"] is None:
        raise ArgumentsBad(f"a {operation} operation needs a key handle")
    init(args["handle"], args["mechanism"], args["params"])
    return None


def _crypto_update(conn: ConnectionSessions, args: dict[str, Any]) -> Any:
    return _step(conn, args, "update")[1](args["data"])


def _crypto_final(conn: ConnectionSessions, args: dict[str, Any]) -> Any:
    operation, final = _step(conn, args, "final")
    if operation != "verify":
        return final()
    if args["signature"] is None:
        raise ArgumentsBad("verify_final needs the signature")
    final(args["signature"])
    return None


def _backup_begin(conn: ConnectionSessions, args: dict[str, Any]) -> Any:
    cursor = BackupCursor(conn.session(args["session"]).backup())
    return {"backup": conn.transfers.add_backup(cursor), "header": cursor.header()}


def _backup_next(conn: ConnectionSessions, args: dict[str, Any]) -> Any:
    conn.session(args["session"])
    cursor = conn.transfers.backup(args["backup"])
    answer = cursor.next()
    if cursor.done:
        conn.transfers.backups.pop(args["backup"], None)
    return answer


def _backup_cancel(conn: ConnectionSessions, args: dict[str, Any]) -> Any:
    conn.session(args["session"])
    cursor = conn.transfers.backups.pop(args["backup"], None)
    if cursor is not None:
        cursor.close()


def _restore_begin(conn: ConnectionSessions, args: dict[str, Any]) -> Any:
    session = conn.session(args["session"])
    # authorise now, not when the first bytes arrive
    session.authorize(Command.RESTORE)
    return conn.transfers.add_restore(RestoreFeed(session, args["force"]))


def _restore_data(conn: ConnectionSessions, args: dict[str, Any]) -> Any:
    conn.session(args["session"])
    conn.transfers.restore(args["restore"]).put(args["data"])


def _restore_commit(conn: ConnectionSessions, args: dict[str, Any]) -> Any:
    conn.session(args["session"])
    return conn.transfers.restore(args["restore"], remove=True).commit()


def _restore_cancel(conn: ConnectionSessions, args: dict[str, Any]) -> Any:
    conn.session(args["session"])
    conn.transfers.restore(args["restore"], remove=True).cancel()


def _register_anchor(conn: ConnectionSessions, args: dict[str, Any]) -> Any:
    fingerprint = conn.session(args["session"]).register_trust_anchor(args["certificate"])
    conn.anchor_added(args["certificate"])
    return fingerprint


def _s(conn: ConnectionSessions, args: dict[str, Any]) -> Session:
    return conn.session(args["session"])


HANDLERS: Final[dict[str, Handler]] = {
    "wire.ping": lambda c, a: None,
    "hsm.info": _info,
    "hsm.mechanisms": lambda c, a: c.hsm.mechanism_info(),
    "session.open": _open,
    "session.close": _close,
    "session.login": _login,
    "session.logout": lambda c, a: _s(c, a).logout(),
    "session.activate": lambda c, a: _s(c, a).activate(a["new_password"]),
    "user.create": lambda c, a: _s(c, a).create_user(
        a["username"], a["password"], _role(a["role"])
    ),
    "user.delete": lambda c, a: _s(c, a).delete_user(a["username"]),
    "user.list": _user_list,
    "user.change_password": lambda c, a: _s(c, a).change_password(a["new_password"], a["username"]),
    "key.generate": lambda c, a: _s(c, a).generate_key(a["mechanism"], a["template"]),
    "key.generate_pair": lambda c, a: list(
        _s(c, a).generate_key_pair(a["mechanism"], a["public_template"], a["private_template"])
    ),
    "object.create": lambda c, a: _s(c, a).create_object(a["template"]),
    "object.find": lambda c, a: _s(c, a).find_objects(a["template"]),
    "object.get_attributes": _attributes,
    "object.read_attributes": _read_attributes,
    "object.set_attributes": lambda c, a: _s(c, a).set_attributes(a["handle"], a["template"]),
    "object.set_trusted": lambda c, a: _s(c, a).set_trusted(a["handle"], a["trusted"]),
    "object.destroy": lambda c, a: _s(c, a).destroy_object(a["handle"]),
    "object.copy": lambda c, a: _s(c, a).copy_object(a["handle"], a["template"]),
    "key.share": lambda c, a: _s(c, a).share_key(a["handle"], a["username"]),
    "key.unshare": lambda c, a: _s(c, a).unshare_key(a["handle"], a["username"]),
    "key.wrap": lambda c, a: _s(c, a).wrap_key(
        a["mechanism"], a["wrapping_key"], a["key"], a["params"]
    ),
    "key.unwrap": lambda c, a: _s(c, a).unwrap_key(
        a["mechanism"], a["unwrapping_key"], a["wrapped"], a["template"], a["params"]
    ),
    "key.derive": lambda c, a: _s(c, a).derive_key(
        a["mechanism"], a["base_key"], a["template"], a["params"]
    ),
    "key.export_public": lambda c, a: _s(c, a).export_public_key(a["handle"]),
    "crypto.encrypt": lambda c, a: _s(c, a).encrypt(
        a["handle"], a["mechanism"], a["data"], a["params"]
    ),
    "crypto.decrypt": lambda c, a: _s(c, a).decrypt(
        a["handle"], a["mechanism"], a["data"], a["params"]
    ),
    "crypto.sign": lambda c, a: _s(c, a).sign(a["handle"], a["mechanism"], a["data"], a["params"]),
    "crypto.verify": lambda c, a: _s(c, a).verify(
        a["handle"], a["mechanism"], a["data"], a["signature"], a["params"]
    ),
    "crypto.digest": lambda c, a: _s(c, a).digest(a["mechanism"], a["data"], a["params"]),
    "crypto.random": lambda c, a: _s(c, a).generate_random(a["length"]),
    "crypto.init": _crypto_init,
    "crypto.update": _crypto_update,
    "crypto.final": _crypto_final,
    "crypto.cancel": lambda c, a: _s(c, a).cancel(a["operation"]),
    "backup.begin": _backup_begin,
    "backup.next": _backup_next,
    "backup.cancel": _backup_cancel,
    "restore.begin": _restore_begin,
    "restore.data": _restore_data,
    "restore.commit": _restore_commit,
    "restore.cancel": _restore_cancel,
    "policy.get": lambda c, a: _s(c, a).get_policy(),
    "mtls.list_anchors": lambda c, a: _s(c, a).trust_anchors(),
    "mtls.register_anchor": _register_anchor,
    "mtls.deregister_anchor": lambda c, a: _s(c, a).deregister_trust_anchor(a["sha256"]),
    "policy.set": _policy_set,
    "audit.read": lambda c, a: _s(c, a).read_audit(
        a["start"] or 1, min(a["limit"] or 1000, 10_000)
    ),
    "hsm.self_test": lambda c, a: _s(c, a).run_self_test(),
    "hsm.sync_digest": lambda c, a: _s(c, a).sync_digest(),
}
"""Wire command → handler; a test checks this covers ``protocol.COMMANDS`` exactly."""

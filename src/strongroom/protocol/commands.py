"""The wire command table: every command's name, arguments and retry safety.

This module owns what a request may say (docs/formats/wire-v1.md §Commands). Both ends read
it: the server checks each request's arguments against it before anything runs (a missing,
unknown or mistyped argument is COMMAND_INVALID), and the client uses ``idempotent`` to
decide what it may retry on another HSM after a connection dies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from strongroom.errors import CommandInvalid
from strongroom.protocol.values import decode_params, decode_template

__all__ = ["COMMANDS", "ArgKind", "CommandSpec", "check_args"]

ArgKind = Literal["int", "bytes", "str", "bool", "template", "params", "ints"]


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One command: required and optional arguments, and whether a retry is harmless."""

    name: str
    args: Mapping[str, ArgKind] = field(default_factory=dict)
    optional: Mapping[str, ArgKind] = field(default_factory=dict)
    idempotent: bool = False
    session: bool = True
    """The request names a session (``"session"``: an int) opened on this connection."""
    secret_args: frozenset[str] = frozenset()
    """Arguments never logged (passwords, plaintext, key material)."""


_S: Final[dict[str, ArgKind]] = {"session": "int"}
_PW = frozenset({"password", "new_password"})
_DATA = frozenset({"data", "wrapped", "template"})


def _spec(
    name: str,
    args: Mapping[str, ArgKind] | None = None,
    optional: Mapping[str, ArgKind] | None = None,
    *,
    idempotent: bool = False,
    session: bool = True,
    secret: frozenset[str] = frozenset(),
) -> CommandSpec:
    full: dict[str, ArgKind] = dict(_S) if session else {}
    full.update(args or {})
    return CommandSpec(name, full, dict(optional or {}), idempotent, session, secret)


_TABLE: Final = [
    # connection and sessions
    _spec("wire.ping", idempotent=True, session=False),
    _spec("hsm.info", idempotent=True, session=False),
    _spec("hsm.mechanisms", idempotent=True, session=False),
    _spec("session.open", optional={"share_login": "int"}, session=False),
    _spec("session.close"),
    _spec("session.login", {"username": "str", "password": "str"}, secret=_PW),
    _spec("session.logout"),
    _spec("session.activate", {"new_password": "str"}, secret=_PW),
    # users
    _spec("user.create", {"username": "str", "password": "str", "role": "str"}, secret=_PW),
    _spec("user.delete", {"username": "str"}),
    _spec("user.list", idempotent=True),
    _spec("user.change_password", {"new_password": "str"}, {"username": "str"}, secret=_PW),
    # keys and objects
    _spec("key.generate", {"mechanism": "int", "template": "template"}),
    _spec(
        "key.generate_pair",
        {"mechanism": "int", "public_template": "template", "private_template": "template"},
    ),
    _spec("object.create", {"template": "template"}, secret=frozenset({"template"})),
    _spec("object.find", optional={"template": "template"}, idempotent=True),
    _spec("object.get_attributes", {"handle": "int", "attributes": "ints"}, idempotent=True),
    _spec("object.read_attributes", {"handle": "int", "attributes": "ints"}, idempotent=True),
    _spec("object.set_attributes", {"handle": "int", "template": "template"}),
    _spec("object.set_trusted", {"handle": "int", "trusted": "bool"}),
    _spec("object.destroy", {"handle": "int"}),
    _spec("object.copy", {"handle": "int", "template": "template"}, secret=frozenset({"template"})),
    _spec("key.share", {"handle": "int", "username": "str"}),
    _spec("key.unshare", {"handle": "int", "username": "str"}),
    _spec(
        "key.wrap",
        {"mechanism": "int", "wrapping_key": "int", "key": "int"},
        {"params": "params"},
        idempotent=True,
    ),
    _spec(
        "key.unwrap",
        {"mechanism": "int", "unwrapping_key": "int", "wrapped": "bytes", "template": "template"},
        {"params": "params"},
    ),
    _spec(
        "key.derive",
        {"mechanism": "int", "base_key": "int", "template": "template"},
        {"params": "params"},
    ),
    _spec("key.export_public", {"handle": "int"}, idempotent=True),
    # crypto, single part
    _spec(
        "crypto.encrypt",
        {"handle": "int", "mechanism": "int", "data": "bytes"},
        {"params": "params"},
        idempotent=True,
        secret=_DATA,
    ),
    _spec(
        "crypto.decrypt",
        {"handle": "int", "mechanism": "int", "data": "bytes"},
        {"params": "params"},
        idempotent=True,
        secret=_DATA,
    ),
    _spec(
        "crypto.sign",
        {"handle": "int", "mechanism": "int", "data": "bytes"},
        {"params": "params"},
        idempotent=True,
        secret=_DATA,
    ),
    _spec(
        "crypto.verify",
        {"handle": "int", "mechanism": "int", "data": "bytes", "signature": "bytes"},
        {"params": "params"},
        idempotent=True,
        secret=_DATA,
    ),
    _spec(
        "crypto.digest",
        {"mechanism": "int", "data": "bytes"},
        {"params": "params"},
        idempotent=True,
        secret=_DATA,
    ),
    _spec("crypto.random", {"length": "int"}, idempotent=True),
    # crypto, multi-part (state lives in the session: never retried elsewhere)
    _spec(
        "crypto.init",
        {"operation": "str", "mechanism": "int"},
        {"handle": "int", "params": "params"},
    ),
    _spec("crypto.update", {"operation": "str", "data": "bytes"}, secret=_DATA),
    _spec("crypto.final", {"operation": "str"}, {"signature": "bytes"}),
    _spec("crypto.cancel", {"operation": "str"}),
    # sealed backups (admins and appliance users; the bytes are sealed inside the HSM)
    _spec("backup.begin"),
    _spec("backup.next", {"backup": "int"}),
    _spec("backup.cancel", {"backup": "int"}),
    _spec("restore.begin", {"force": "bool"}),
    _spec("restore.data", {"restore": "int", "data": "bytes"}),
    _spec("restore.commit", {"restore": "int"}),
    _spec("restore.cancel", {"restore": "int"}),
    # HSM-wide
    _spec("policy.get", idempotent=True),
    _spec("policy.set", {"name": "str", "value": "bool"}),
    _spec("audit.read", optional={"start": "int", "limit": "int"}, idempotent=True),
    _spec("mtls.list_anchors", idempotent=True),
    _spec("mtls.register_anchor", {"certificate": "bytes"}),
    _spec("mtls.deregister_anchor", {"sha256": "str"}),
    _spec("hsm.self_test", idempotent=True),
    _spec("hsm.sync_digest", idempotent=True),
]

COMMANDS: Final[dict[str, CommandSpec]] = {spec.name: spec for spec in _TABLE}
"""Command name → its spec."""

_MAX_INT: Final = 2**64 - 1


def _check(kind: ArgKind, name: str, value: object) -> Any:
    if kind == "int":
        if type(value) is not int or not 0 <= value <= _MAX_INT:
            raise CommandInvalid(f"argument {name!r} must be an unsigned integer")
        return value
    if kind == "bytes":
        if type(value) is not bytes:
            raise CommandInvalid(f"argument {name!r} must be bytes")
        return value
    if kind == "str":
        if type(value) is not str:
            raise CommandInvalid(f"argument {name!r} must be text")
        return value
    if kind == "bool":
        if type(value) is not bool:
            raise CommandInvalid(f"argument {name!r} must be true or false")
        return value
    if kind == "template":
        return decode_template(value, f"argument {name!r}")
    if kind == "params":
        return decode_params(value)
    if kind == "ints":
        if type(value) is not list or any(type(v) is not int or v < 0 for v in value):
            raise CommandInvalid(f"argument {name!r} must be a list of unsigned integers")
        return value
    raise AssertionError(kind)  # pragma: no cover - the table names known kinds


def check_args(spec: CommandSpec, args: Mapping[str, Any]) -> dict[str, Any]:
    """The request's arguments, checked and decoded (parameters rebuilt as objects)."""
    unknown = set(args) - set(spec.args) - set(spec.optional)
    if unknown:
        raise CommandInvalid(f"{spec.name} takes no argument {sorted(unknown)[0]!r}")
    out: dict[str, Any] = {}
    for name, kind in spec.args.items():
        if name not in args:
            raise CommandInvalid(f"{spec.name} needs argument {name!r}")
        out[name] = _check(kind, name, args[name])
    for name, kind in spec.optional.items():
        value = args.get(name)
        out[name] = None if value is None else _check(kind, name, value)
    return out

"""The role × command permission table, as data, and the one function that reads it.

This module owns who may run which command. The engine calls ``authorize`` first thing
in every command; nothing else decides permissions by role. Ownership of individual
keys (owner manages, shared users only use) is a second, per-object rule enforced by the
engine's object layer, not here.

CloudHSM's matrix (user guide, "HSM user permissions table", CloudHSM CLI), reproduced::

    operation                                   admin  crypto-user  appliance  unactivated
    get basic cluster info                        y        y            y          y   (+ no login)
    change own password                           y        y            y          y   (activation)
    add/remove users, change others' passwords    y        -            -          -
    sync status / object digests                  y        y            y          -
    key management, encrypt/decrypt, sign/verify  -        y            -          -
    set CKA_TRUSTED                               y        -            -          -

Strongroom additions: admins may also find keys and read their non-sensitive attributes
(to pick the key they mark TRUSTED), set HSM policy, read the audit log and run the
self-tests on demand; anyone logged in may list users. Over the network, admins and
appliance users (the service's role in CloudHSM) may take a sealed backup or restore one;
the backup is sealed inside the HSM either way.
"""

from __future__ import annotations

from strongroom.constants import Command, Role
from strongroom.errors import AlreadyLoggedIn, NotLoggedIn, PermissionDenied

__all__ = ["PERMISSIONS", "authorize"]

_A = Role.ADMIN
_CU = Role.CRYPTO_USER
_AU = Role.APPLIANCE
_PRECO = Role.UNACTIVATED_ADMIN
NOBODY = None
"""Stands for a session with no user logged in."""

_ANYONE = frozenset({NOBODY, _PRECO, _A, _CU, _AU})
_LOGGED_IN = frozenset({_PRECO, _A, _CU, _AU})
_ACTIVE_USERS = frozenset({_A, _CU, _AU})
_CRYPTO = frozenset({_CU})
_ADMIN = frozenset({_A})

PERMISSIONS: dict[Command, frozenset[Role | None]] = {
    Command.GET_INFO: _ANYONE,
    Command.LOGIN: frozenset({NOBODY}),
    Command.LOGOUT: _LOGGED_IN,
    Command.ACTIVATE: frozenset({_PRECO}),
    Command.CHANGE_OWN_PASSWORD: _ACTIVE_USERS,
    Command.CHANGE_USER_PASSWORD: _ADMIN,
    Command.CREATE_USER: _ADMIN,
    Command.DELETE_USER: _ADMIN,
    Command.LIST_USERS: _ACTIVE_USERS,
    Command.SET_POLICY: _ADMIN,
    Command.GET_POLICY: _ACTIVE_USERS,
    Command.READ_AUDIT: _ADMIN,
    Command.RUN_SELF_TEST: _ACTIVE_USERS,
    Command.SYNC_DIGEST: _ACTIVE_USERS,
    Command.GENERATE_KEY: _CRYPTO,
    Command.GENERATE_KEY_PAIR: _CRYPTO,
    Command.CREATE_OBJECT: _CRYPTO,
    # A session with nobody logged in sees public objects only (CKA_PRIVATE false), as in
    # PKCS#11: ssh-keygen -D and p11tool list public keys and certificates before any login.
    Command.FIND_OBJECTS: frozenset({NOBODY, _CU, _A}),
    Command.GET_ATTRIBUTES: frozenset({NOBODY, _CU, _A}),
    Command.SET_ATTRIBUTES: _CRYPTO,
    Command.SET_TRUSTED: _ADMIN,
    Command.DESTROY_OBJECT: _CRYPTO,
    Command.COPY_OBJECT: _CRYPTO,
    Command.SHARE_KEY: _CRYPTO,
    Command.UNSHARE_KEY: _CRYPTO,
    Command.WRAP_KEY: _CRYPTO,
    Command.UNWRAP_KEY: _CRYPTO,
    Command.EXPORT_PUBLIC_KEY: _CRYPTO,
    Command.ENCRYPT: _CRYPTO,
    Command.DECRYPT: _CRYPTO,
    Command.SIGN: _CRYPTO,
    Command.VERIFY: _CRYPTO,
    Command.GENERATE_RANDOM: _CRYPTO,
    Command.DIGEST: _CRYPTO,
    Command.DERIVE_KEY: _CRYPTO,
    Command.BACKUP: frozenset({_A, _AU}),
    Command.RESTORE: frozenset({_A, _AU}),
}


def authorize(command: Command, role: Role | None) -> None:
    """Raise unless ``role`` (``None``: nobody logged in) may run ``command``."""
    allowed = PERMISSIONS[command]
    if role in allowed:
        return
    if command is Command.LOGIN:
        raise AlreadyLoggedIn("the session is already logged in; log out first")
    if role is None:
        raise NotLoggedIn(f"{command.value} needs a logged-in user")
    raise PermissionDenied(f"the {role.value} role may not {command.value}")

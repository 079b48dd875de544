"""User commands: activation, login and lockout, user management, passwords, unsealing.

This module owns the credential side of the engine. Its lockout rule follows TPM 2.0's
anti-hammering design: the failure counter is incremented and made durable *before* the
password is checked, and reset only after a successful check, so killing the process
mid-login can never hand an attacker a free guess. Unknown usernames cost the same work
as known ones and fail with the same error. Passwords never reach the store, the audit
log or an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from strongroom.constants import Role
from strongroom.crypto.kdf import pbkdf2_hmac_sha256
from strongroom.engine.core import Core, SessionState
from strongroom.engine.passwords import (
    check_password,
    derive_credential,
    normalize_username,
    validate_password,
)
from strongroom.errors import (
    AlreadyActivated,
    ArgumentsBad,
    AuthenticationFailed,
    HSMSealed,
    IntegrityError,
    UserExists,
    UserLimitReached,
    UserLocked,
    UserNotFound,
    UserOwnsKeys,
)
from strongroom.store.api import ObjectQuery, UserRecord
from strongroom.store.sealing import StorageKey, unwrap_storage_key, wrap_storage_key

__all__ = [
    "UserInfo",
    "activate",
    "change_password",
    "create_user",
    "delete_user",
    "initial_user",
    "list_users",
    "login",
    "logout",
]

PRECO_USERNAME = "admin"
_CREATABLE = (Role.ADMIN, Role.CRYPTO_USER, Role.APPLIANCE)


@dataclass(frozen=True, slots=True)
class UserInfo:
    """What ``list_users`` shows about a user: never its verifier."""

    username: str
    role: Role
    locked: bool
    failed_logins: int


def initial_user(core: Core) -> UserRecord:
    """The unactivated admin a new HSM starts with (password from the config)."""
    credential = derive_credential(
        core.config.initial_password, core.config.password_iterations, core.rng
    )
    return UserRecord(1, PRECO_USERNAME, Role.UNACTIVATED_ADMIN.value, credential.verifier, 0, None)


def _burn(core: Core) -> None:
    """Spend one password stretch, so unknown users cost what known ones do."""
    pbkdf2_hmac_sha256(b"strongroom-dummy", b"\x00" * 16, core.config.password_iterations, 32)


def _unseal_with(core: Core, kek: bytes, user: UserRecord) -> None:
    if not core.sealed or user.wrapped_storage_key is None:
        return
    try:
        storage_key = unwrap_storage_key(kek, user.wrapped_storage_key, core.rng)
    except IntegrityError:
        core.audit_only(user.username, "unseal-failed")
        return
    install_storage_key(core, storage_key, user.username)


def install_storage_key(core: Core, storage_key: StorageKey, actor: str) -> None:
    """Load the storage key (unseal) and give the auto-unseal provider its blob if needed."""
    core.catalog.storage_key = storage_key
    provider = core.config.unseal_provider
    with core.write(actor) as w:
        if provider is not None and core.store.get_meta("auto_unseal") is None:
            w.tx.set_meta("auto_unseal", provider.wrap(storage_key.key_bytes))
        w.audit("unseal", provider=provider.name if provider is not None else "password")


def login(core: Core, session: SessionState, username: str, password: str) -> Role:
    """Log ``session`` in; returns the user's role."""
    name = normalize_username(username)
    if not isinstance(password, str):
        raise ArgumentsBad("password must be a string")
    threshold = core.config.lockout_threshold
    with core.lock:
        user = core.store.get_user_by_name(name)
        if user is not None and user.failed_logins >= threshold:
            core.audit_only(name, "login-locked")
            raise UserLocked(f"user {name} is locked after {threshold} failed logins")
        if user is not None:
            # Durable before the check (TPM 2.0 DA logic): a crash now still counts.
            with core.write(name) as w:
                w.tx.put_user(replace(user, failed_logins=user.failed_logins + 1))
    if user is None:
        _burn(core)
        core.audit_only(name, "login-failed", reason="unknown-user")
        raise AuthenticationFailed("wrong username or password")
    kek = check_password(user.verifier, password)
    if kek is None:
        attempts = user.failed_logins + 1
        core.audit_only(name, "login-failed", attempt=attempts)
        raise AuthenticationFailed(
            f"wrong username or password ({max(threshold - attempts, 0)} attempts left)"
        )
    role = Role(user.role)
    with core.write(name) as w:
        current = core.store.get_user(user.user_id) or user
        w.tx.put_user(replace(current, failed_logins=0))
        w.audit("login", role=role.value)
    session.user_id, session.username, session.role = user.user_id, name, role
    if role is Role.ADMIN:
        _unseal_with(core, kek, user)
    return role


def logout(core: Core, session: SessionState) -> None:
    """End the session's login."""
    actor = session.actor
    session.user_id = session.username = session.role = None
    session.operations.clear()  # nothing begun under the login outlives it
    core.audit_only(actor, "logout", durable=False)


def activate(core: Core, session: SessionState, new_password: str) -> None:
    """The unactivated admin sets the admin password; the HSM gets its storage key."""
    if core.activated:
        raise AlreadyActivated("the HSM is already activated")
    assert session.user_id is not None
    credential = derive_credential(new_password, core.config.password_iterations, core.rng)
    storage_key = StorageKey(core.rng.random_bytes(32), core.rng)
    user = core.store.get_user(session.user_id)
    if user is None:  # pragma: no cover - the session's user exists
        raise UserNotFound("the unactivated admin is gone")
    with core.write(session.actor) as w:
        w.tx.put_user(
            replace(
                user,
                role=Role.ADMIN.value,
                verifier=credential.verifier,
                failed_logins=0,
                wrapped_storage_key=wrap_storage_key(credential.kek, storage_key),
            )
        )
        w.tx.set_meta("activated", b"\x01")
        w.audit("activate")
    session.role = Role.ADMIN
    install_storage_key(core, storage_key, session.actor)


def _require_storage_key(core: Core) -> StorageKey:
    key = core.catalog.storage_key
    if key is None:
        raise HSMSealed("the HSM is sealed")
    return key


def create_user(
    core: Core, session: SessionState, username: str, password: str, role: Role
) -> None:
    """Create a user (admins only; the access table checked that)."""
    name = normalize_username(username)
    try:
        role = Role(role)
    except ValueError:
        raise ArgumentsBad("unknown role") from None
    if role not in _CREATABLE:
        raise ArgumentsBad(f"cannot create users with role {role.value}")
    credential = derive_credential(password, core.config.password_iterations, core.rng)
    wrapped = None
    if role is Role.ADMIN:
        wrapped = wrap_storage_key(credential.kek, _require_storage_key(core))
    with core.write(session.actor) as w:
        if core.store.get_user_by_name(name) is not None:
            raise UserExists(f"user {name} already exists")
        if len(core.store.list_users()) >= core.config.max_users:
            raise UserLimitReached(f"the HSM holds at most {core.config.max_users} users")
        user_id = w.tx.allocate_user_id()
        w.tx.put_user(UserRecord(user_id, name, role.value, credential.verifier, 0, wrapped))
        w.audit("user-create", username=name, role=role.value)


def delete_user(core: Core, session: SessionState, username: str) -> None:
    """Delete a user that owns no keys; its shares are withdrawn and resealed."""
    with core.lock:  # read, check and write as one step: no lost updates
        name = normalize_username(username)
        user = core.store.get_user_by_name(name)
        if user is None:
            raise UserNotFound(f"no user {name}")
        if user.user_id == session.user_id:
            raise ArgumentsBad("you cannot delete yourself")
        if core.store.find_objects(ObjectQuery(owner=user.user_id)):
            raise UserOwnsKeys(f"user {name} owns keys")
        catalog = core.catalog
        shared = [
            catalog.unseal(catalog.get(h)) for h in core.store.handles_shared_with(user.user_id)
        ]
        with core.write(session.actor) as w:
            for obj in shared:
                updated = replace(obj, shares=obj.shares - {user.user_id})
                w.on_commit(catalog.write(w.tx, updated))
            w.tx.delete_user(user.user_id)
            w.audit("user-delete", username=name)
        for other in core.sessions.values():
            if other.user_id == user.user_id:
                other.user_id = other.username = other.role = None
                other.operations.clear()


def change_password(
    core: Core, session: SessionState, username: str | None, new_password: str
) -> None:
    """Change the caller's own password, or (admins) another user's, which also unlocks it."""
    validate_password(new_password)
    name = session.username if username is None else normalize_username(username)
    if name is None or core.store.get_user_by_name(name) is None:
        raise UserNotFound(f"no user {name}")
    # The stretch (tens of ms) happens outside the lock; the read-check-write inside it.
    credential = derive_credential(new_password, core.config.password_iterations, core.rng)
    with core.lock:
        user = core.store.get_user_by_name(name)
        if user is None:
            raise UserNotFound(f"no user {name}")
        wrapped = user.wrapped_storage_key
        if Role(user.role) is Role.ADMIN:
            wrapped = wrap_storage_key(credential.kek, _require_storage_key(core))
        with core.write(session.actor) as w:
            w.tx.put_user(
                replace(
                    user, verifier=credential.verifier, failed_logins=0, wrapped_storage_key=wrapped
                )
            )
            w.audit(
                "user-password-change",
                username=user.username,
                unlocked=user.failed_logins >= core.config.lockout_threshold,
            )


def list_users(core: Core) -> list[UserInfo]:
    """Every user, with role and lockout state."""
    threshold = core.config.lockout_threshold
    return [
        UserInfo(u.username, Role(u.role), u.failed_logins >= threshold, u.failed_logins)
        for u in core.store.list_users()
    ]

"""Sessions: the caller's handle on an HSM, and where every command is authorised.

This module owns the public command surface. Every method of ``Session`` is declared
with the ``Command`` it performs; ``_command`` checks it against the role × command table
(``model.access``) before the body runs — the one place permissions are enforced. Bodies
delegate to the command modules; no rule lives here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Concatenate, ParamSpec, TypeVar

from strongroom.constants import Attribute, Command, Role
from strongroom.engine import (
    admin_ops,
    backup_ops,
    crypto_ops,
    derive_ops,
    key_ops,
    user_ops,
    wrap_ops,
)
from strongroom.engine.backup_ops import BackupStream, RestoreResult
from strongroom.engine.core import Core, SessionState
from strongroom.engine.mechanisms.registry import Function
from strongroom.engine.user_ops import UserInfo
from strongroom.errors import ArgumentsBad, SessionHandleInvalid, TemplateError
from strongroom.model.templates import AttributeValue, TemplateLike

__all__ = ["Session"]

_OPERATIONS = {
    "encrypt": Function.ENCRYPT,
    "decrypt": Function.DECRYPT,
    "sign": Function.SIGN,
    "verify": Function.VERIFY,
    "digest": Function.DIGEST,
}

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _command(
    command: Command,
) -> Callable[[Callable[Concatenate[Session, _P], _R]], Callable[Concatenate[Session, _P], _R]]:
    """Mark a method as performing ``command``; authorise before running it."""

    def decorate(
        method: Callable[Concatenate[Session, _P], _R],
    ) -> Callable[Concatenate[Session, _P], _R]:
        @functools.wraps(method)
        def run(self: Session, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
            self._core.authorize(self._state, command)
            return method(self, *args, **kwargs)

        run.command = command  # type: ignore[attr-defined]
        return run

    return decorate


class Session:
    """One session with the HSM. Log in, then run the commands your role allows."""

    def __init__(self, core: Core, state: SessionState) -> None:
        self._core = core
        self._state = state

    def __repr__(self) -> str:
        role = self._state.role.value if self._state.role else "none"
        return f"Session(handle={self._state.handle}, user={self._state.username!r}, role={role})"

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def handle(self) -> int:
        """The session's number."""
        return self._state.handle

    @property
    def role(self) -> Role | None:
        """The logged-in user's role, or ``None``."""
        return self._state.role

    @property
    def username(self) -> str | None:
        """The logged-in user's name, or ``None``."""
        return self._state.username

    def close(self) -> None:
        """End the session; its session objects are destroyed."""
        core = self._core
        with core.lock:
            if self._state.closed:
                return
            if self._state.family == self._state.handle:  # siblings leave the objects be
                for obj in core.catalog.session_objects_of(self._state.handle):
                    core.catalog.forget(obj.handle)
                for other in core.sessions.values():  # orphaned siblings start anew
                    if other.family == self._state.handle:
                        other.family = other.handle
            self._state.operations.clear()
            self._state.closed = True
            core.sessions.pop(self._state.handle, None)

    def authorize(self, command: Command) -> None:
        """Raise unless this session may run ``command`` (for callers starting long work)."""
        self._core.authorize(self._state, command)

    def open_sibling(self) -> Session:
        """A new session logged in as this one's user, with no password check.

        PKCS#11 logs an application in once for all its sessions; the node server does the
        same for the sessions of one connection. The sibling's login is independent from
        then on (logging one out leaves the other in). Siblings share session objects: each
        sees those the others made, and they last until the first session closes.
        """
        core = self._core
        with core.lock:
            if self._state.closed:
                raise SessionHandleInvalid("the session is closed")
            state = core.new_session()
            state.family = self._state.family
            state.user_id = self._state.user_id
            state.username = self._state.username
            state.role = self._state.role
        return Session(core, state)

    # --- users ---------------------------------------------------------------------------

    @_command(Command.LOGIN)
    def login(self, username: str, password: str) -> Role:
        """Log in; five consecutive failures lock the user until an admin resets it."""
        return user_ops.login(self._core, self._state, username, password)

    @_command(Command.LOGOUT)
    def logout(self) -> None:
        """Log out (session objects stay until the session closes)."""
        user_ops.logout(self._core, self._state)

    @_command(Command.ACTIVATE)
    def activate(self, new_password: str) -> None:
        """Unactivated admin only: set the admin password and activate the HSM."""
        user_ops.activate(self._core, self._state, new_password)

    def change_password(self, new_password: str, username: str | None = None) -> None:
        """Change your own password, or (admins) another user's — which also unlocks it."""
        if username is None or username.lower() == self._state.username:
            self._change_own_password(new_password)
        else:
            self._change_user_password(username, new_password)

    @_command(Command.CHANGE_OWN_PASSWORD)
    def _change_own_password(self, new_password: str) -> None:
        user_ops.change_password(self._core, self._state, None, new_password)

    @_command(Command.CHANGE_USER_PASSWORD)
    def _change_user_password(self, username: str, new_password: str) -> None:
        user_ops.change_password(self._core, self._state, username, new_password)

    @_command(Command.CREATE_USER)
    def create_user(self, username: str, password: str, role: Role) -> None:
        """Create an admin, crypto user or appliance user."""
        user_ops.create_user(self._core, self._state, username, password, role)

    @_command(Command.DELETE_USER)
    def delete_user(self, username: str) -> None:
        """Delete a user that owns no keys."""
        user_ops.delete_user(self._core, self._state, username)

    @_command(Command.LIST_USERS)
    def list_users(self) -> list[UserInfo]:
        """Every user with its role and lockout state."""
        return user_ops.list_users(self._core)

    # --- objects -------------------------------------------------------------------------

    @_command(Command.GENERATE_KEY)
    def generate_key(self, mechanism: int, template: TemplateLike) -> int:
        """Generate a secret key; returns its handle."""
        return key_ops.generate_key(self._core, self._state, mechanism, template)

    @_command(Command.GENERATE_KEY_PAIR)
    def generate_key_pair(
        self,
        mechanism: int,
        public_template: TemplateLike,
        private_template: TemplateLike,
    ) -> tuple[int, int]:
        """Generate a key pair; returns (public handle, private handle)."""
        return key_ops.generate_key_pair(
            self._core, self._state, mechanism, public_template, private_template
        )

    @_command(Command.CREATE_OBJECT)
    def create_object(self, template: TemplateLike) -> int:
        """Import a key in the clear (where policy allows) or store a data object."""
        return key_ops.create_object(self._core, self._state, template)

    @_command(Command.FIND_OBJECTS)
    def find_objects(self, template: TemplateLike | None = None) -> list[int]:
        """Handles of visible objects whose attributes match ``template``."""
        return key_ops.find_objects(self._core, self._state, template)

    @_command(Command.GET_ATTRIBUTES)
    def get_attributes(
        self, handle: int, attributes: Iterable[int]
    ) -> dict[Attribute, AttributeValue]:
        """Attribute values; key material raises ATTRIBUTE_SENSITIVE."""
        return key_ops.get_attributes(self._core, self._state, handle, attributes)

    @_command(Command.GET_ATTRIBUTES)
    def read_attributes(
        self, handle: int, attributes: Iterable[int]
    ) -> tuple[dict[Attribute, AttributeValue], dict[int, TemplateError]]:
        """Attribute by attribute: readable values, and the error for each other one."""
        return key_ops.read_attributes(self._core, self._state, handle, attributes)

    @_command(Command.SET_ATTRIBUTES)
    def set_attributes(self, handle: int, changes: TemplateLike) -> None:
        """Change modifiable attributes of a key you own."""
        key_ops.set_attributes(self._core, self._state, handle, changes)

    @_command(Command.SET_TRUSTED)
    def set_trusted(self, handle: int, trusted: bool) -> None:
        """Admins: mark a key TRUSTED (or not)."""
        key_ops.set_attributes(self._core, self._state, handle, {Attribute.TRUSTED: trusted})

    @_command(Command.COPY_OBJECT)
    def copy_object(self, handle: int, changes: TemplateLike | None = None) -> int:
        """A copy of a COPYABLE object you own, with ``changes`` (TOKEN, PRIVATE, or what
        could be set on it); returns the copy's handle."""
        return key_ops.copy_object(self._core, self._state, handle, changes or {})

    @_command(Command.DESTROY_OBJECT)
    def destroy_object(self, handle: int) -> None:
        """Destroy an object you own."""
        key_ops.destroy_object(self._core, self._state, handle)

    @_command(Command.SHARE_KEY)
    def share_key(self, handle: int, username: str) -> None:
        """Let another crypto user use (not manage) a key you own."""
        key_ops.share_key(self._core, self._state, handle, username, share=True)

    @_command(Command.UNSHARE_KEY)
    def unshare_key(self, handle: int, username: str) -> None:
        """Withdraw a share."""
        key_ops.share_key(self._core, self._state, handle, username, share=False)

    @_command(Command.WRAP_KEY)
    def wrap_key(
        self, mechanism: int, wrapping_key: int, key_to_wrap: int, params: object = None
    ) -> bytes:
        """Export a key you own, encrypted under a wrapping key."""
        return wrap_ops.wrap_key(
            self._core, self._state, mechanism, wrapping_key, key_to_wrap, params
        )

    @_command(Command.UNWRAP_KEY)
    def unwrap_key(
        self,
        mechanism: int,
        unwrapping_key: int,
        wrapped: bytes,
        template: TemplateLike,
        params: object = None,
    ) -> int:
        """Import a wrapped key; returns its handle."""
        return wrap_ops.unwrap_key(
            self._core, self._state, mechanism, unwrapping_key, wrapped, template, params
        )

    @_command(Command.DERIVE_KEY)
    def derive_key(
        self, mechanism: int, base_key: int, template: TemplateLike, params: object = None
    ) -> int:
        """Derive a new secret key from a base key you may use; returns its handle."""
        return derive_ops.derive_key(self._core, self._state, mechanism, base_key, template, params)

    @_command(Command.EXPORT_PUBLIC_KEY)
    def export_public_key(self, handle: int) -> bytes:
        """A public key (or a private key's public half) as SubjectPublicKeyInfo DER."""
        return key_ops.public_key_der(self._core, self._state, handle)

    # --- crypto ---------------------------------------------------------------------------

    @_command(Command.ENCRYPT)
    def encrypt(self, handle: int, mechanism: int, data: bytes, params: object = None) -> bytes:
        """Encrypt ``data`` with a key you may use."""
        return crypto_ops.encrypt(self._core, self._state, handle, mechanism, data, params)

    @_command(Command.DECRYPT)
    def decrypt(self, handle: int, mechanism: int, data: bytes, params: object = None) -> bytes:
        """Decrypt ``data``; integrity failures raise ENCRYPTED_DATA_INVALID."""
        return crypto_ops.decrypt(self._core, self._state, handle, mechanism, data, params)

    @_command(Command.SIGN)
    def sign(self, handle: int, mechanism: int, data: bytes, params: object = None) -> bytes:
        """Sign (or MAC) ``data``."""
        return crypto_ops.sign(self._core, self._state, handle, mechanism, data, params)

    @_command(Command.VERIFY)
    def verify(
        self, handle: int, mechanism: int, data: bytes, signature: bytes, params: object = None
    ) -> None:
        """Verify a signature; raises SIGNATURE_INVALID if it does not verify."""
        crypto_ops.verify(self._core, self._state, handle, mechanism, data, signature, params)

    @_command(Command.DIGEST)
    def digest(self, mechanism: int, data: bytes, params: object = None) -> bytes:
        """Hash ``data``."""
        return crypto_ops.digest(self._core, mechanism, data, params)

    # --- multi-part (PKCS#11 §5.2: init, any number of updates, final) --------------------

    @_command(Command.ENCRYPT)
    def encrypt_init(self, handle: int, mechanism: int, params: object = None) -> None:
        """Start a multi-part encryption."""
        crypto_ops.begin(self._core, self._state, Function.ENCRYPT, handle, mechanism, params)

    @_command(Command.ENCRYPT)
    def encrypt_update(self, data: bytes) -> bytes:
        """Encrypt more data; returns the ciphertext ready so far."""
        return crypto_ops.update(self._core, self._state, Function.ENCRYPT, data)

    @_command(Command.ENCRYPT)
    def encrypt_final(self) -> bytes:
        """Finish the encryption; returns the last ciphertext (and a GCM tag)."""
        return crypto_ops.finish(self._core, self._state, Function.ENCRYPT)

    @_command(Command.DECRYPT)
    def decrypt_init(self, handle: int, mechanism: int, params: object = None) -> None:
        """Start a multi-part decryption."""
        crypto_ops.begin(self._core, self._state, Function.DECRYPT, handle, mechanism, params)

    @_command(Command.DECRYPT)
    def decrypt_update(self, data: bytes) -> bytes:
        """Decrypt more data; GCM releases nothing until ``decrypt_final`` checks the tag."""
        return crypto_ops.update(self._core, self._state, Function.DECRYPT, data)

    @_command(Command.DECRYPT)
    def decrypt_final(self) -> bytes:
        """Finish the decryption; integrity failures raise ENCRYPTED_DATA_INVALID."""
        return crypto_ops.finish(self._core, self._state, Function.DECRYPT)

    @_command(Command.SIGN)
    def sign_init(self, handle: int, mechanism: int, params: object = None) -> None:
        """Start a multi-part signature or MAC."""
        crypto_ops.begin(self._core, self._state, Function.SIGN, handle, mechanism, params)

    @_command(Command.SIGN)
    def sign_update(self, data: bytes) -> None:
        """Feed more data to the signature."""
        crypto_ops.update(self._core, self._state, Function.SIGN, data)

    @_command(Command.SIGN)
    def sign_final(self) -> bytes:
        """The signature over everything fed."""
        return crypto_ops.finish(self._core, self._state, Function.SIGN)

    @_command(Command.VERIFY)
    def verify_init(self, handle: int, mechanism: int, params: object = None) -> None:
        """Start a multi-part verification."""
        crypto_ops.begin(self._core, self._state, Function.VERIFY, handle, mechanism, params)

    @_command(Command.VERIFY)
    def verify_update(self, data: bytes) -> None:
        """Feed more data to the verification."""
        crypto_ops.update(self._core, self._state, Function.VERIFY, data)

    @_command(Command.VERIFY)
    def verify_final(self, signature: bytes) -> None:
        """Check ``signature`` over everything fed; raises SIGNATURE_INVALID if wrong."""
        crypto_ops.finish(self._core, self._state, Function.VERIFY, signature)

    @_command(Command.DIGEST)
    def digest_init(self, mechanism: int, params: object = None) -> None:
        """Start a multi-part digest."""
        crypto_ops.begin(self._core, self._state, Function.DIGEST, None, mechanism, params)

    @_command(Command.DIGEST)
    def digest_update(self, data: bytes) -> None:
        """Feed more data to the digest."""
        crypto_ops.update(self._core, self._state, Function.DIGEST, data)

    @_command(Command.DIGEST)
    def digest_final(self) -> bytes:
        """The digest of everything fed."""
        return crypto_ops.finish(self._core, self._state, Function.DIGEST)

    def cancel(self, operation: str) -> None:
        """End a multi-part operation without a result: encrypt, decrypt, sign, verify, digest."""
        try:
            function = _OPERATIONS[operation]
        except (KeyError, TypeError):
            raise ArgumentsBad(f"unknown operation {operation!r}") from None
        crypto_ops.cancel(self._state, function)

    @_command(Command.GENERATE_RANDOM)
    def generate_random(self, length: int) -> bytes:
        """Random bytes from the HSM."""
        return crypto_ops.generate_random(self._core, length)

    # --- HSM-wide ---------------------------------------------------------------------------

    # --- backups over a session (the node server's path; see HSM.backup) -------------------

    @_command(Command.BACKUP)
    def backup(self) -> BackupStream:
        """Admins and appliance users: start a sealed backup (see ``HSM.backup``)."""
        return backup_ops.create_backup(self._core)

    @_command(Command.RESTORE)
    def restore(self, stream: Iterable[bytes], *, force: bool = False) -> RestoreResult:
        """Admins and appliance users: replace the whole state with a backup's (all or nothing).

        Every session is logged out afterwards, this one included.
        """
        return backup_ops.restore_backup(self._core, stream, force=force)

    @_command(Command.GET_INFO)
    def info(self) -> dict[str, object]:
        """Basic HSM information (anyone, even before login)."""
        return admin_ops.hsm_info(self._core)

    @_command(Command.GET_POLICY)
    def get_policy(self) -> dict[str, bool]:
        """The HSM's policies."""
        return self._core.policy()

    @_command(Command.SET_POLICY)
    def set_policy(self, name: str, value: bool) -> None:
        """Admins: change one policy."""
        admin_ops.set_policy(self._core, self._state, name, value)

    @_command(Command.GET_POLICY)
    def trust_anchors(self) -> list[bytes]:
        """The registered mTLS trust anchors (DER certificates)."""
        return admin_ops.trust_anchors(self._core)

    @_command(Command.SET_POLICY)
    def register_trust_anchor(self, certificate_der: bytes) -> str:
        """Admins: accept client certificates issued by this CA; returns its SHA-256 (hex)."""
        return admin_ops.register_trust_anchor(self._core, self._state, certificate_der)

    @_command(Command.SET_POLICY)
    def deregister_trust_anchor(self, sha256: str) -> None:
        """Admins: stop accepting the CA whose SHA-256 (hex) is ``sha256``."""
        admin_ops.deregister_trust_anchor(self._core, self._state, sha256)

    @_command(Command.READ_AUDIT)
    def read_audit(self, start_seq: int = 1, limit: int | None = None) -> list[dict[str, object]]:
        """Admins: audit records from ``start_seq`` on (at most ``limit``), decoded."""
        return admin_ops.read_audit(self._core, start_seq, limit)

    @_command(Command.RUN_SELF_TEST)
    def run_self_test(self) -> dict[str, bool]:
        """Run the known-answer tests now; a failure latches the error state."""
        return admin_ops.run_self_tests(self._core, self._state.actor)

    @_command(Command.SYNC_DIGEST)
    def sync_digest(self) -> str:
        """A digest of every token object and user, for comparing HSMs."""
        return admin_ops.sync_digest(self._core)

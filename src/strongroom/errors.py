"""Every error Strongroom raises on purpose, each with a stable code.

This module owns the exception hierarchy and nothing else: it imports nothing from the
rest of the package. Codes are part of the public contract (later the wire protocol and
the PKCS#11 bridge map them one-to-one onto their own tables), so a code, once shipped,
never changes meaning. Messages name the problem but never carry a secret: no key bytes,
no password, no plaintext.

Subclasses are grouped by what the caller can do about them: fix the request
(`RequestError`), authenticate (`AuthenticationError`), ask someone with more rights
(`AccessDenied`), or give up on this HSM (`HSMStateError`, `StorageError`).
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AccessDenied",
    "ActionProhibited",
    "AlreadyActivated",
    "AlreadyLoggedIn",
    "ApprovalDenied",
    "ArgumentsBad",
    "AttributeReadOnly",
    "AttributeSensitive",
    "AttributeTypeInvalid",
    "AttributeValueInvalid",
    "AuditChainBroken",
    "AuthenticationError",
    "AuthenticationFailed",
    "BackupError",
    "BackupInvalid",
    "BackupNotConfigured",
    "BackupRollback",
    "BackupWrongFamily",
    "CommandInvalid",
    "DataLenRange",
    "EnvelopeInvalid",
    "EnvelopeVersionUnsupported",
    "ErrorState",
    "FrameTooLarge",
    "HSMSealed",
    "HSMStateError",
    "HSMUnavailable",
    "IdentityInvalid",
    "IntegrityError",
    "KMSAccessDenied",
    "KMSError",
    "KeyFunctionNotPermitted",
    "KeyNotWrappable",
    "KeySizeRange",
    "KeyTypeInconsistent",
    "KeyUnextractable",
    "MechanismInvalid",
    "MechanismNotApproved",
    "MechanismParamInvalid",
    "MutualTLSRequired",
    "NetworkError",
    "NotActivated",
    "NotKeyOwner",
    "NotLoggedIn",
    "ObjectCorrupt",
    "ObjectHandleInvalid",
    "ObjectNotFound",
    "ObjectStoreError",
    "OperationActive",
    "OperationNotInitialized",
    "PermissionDenied",
    "PolicyDenied",
    "ProtocolError",
    "RequestError",
    "RequestTimeout",
    "SelfTestFailed",
    "ServerBusy",
    "SessionHandleInvalid",
    "SignatureInvalid",
    "StorageError",
    "StoreCorrupt",
    "StrongroomError",
    "TemplateError",
    "TemplateIncomplete",
    "TemplateInconsistent",
    "TrustFailed",
    "UserExists",
    "UserLimitReached",
    "UserLocked",
    "UserNotFound",
    "UserOwnsKeys",
    "WireVersionUnsupported",
    "all_error_classes",
]


class StrongroomError(Exception):
    """Root of every deliberate Strongroom error; ``code`` is stable across releases."""

    code: ClassVar[str] = "GENERAL_ERROR"

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.code)
        self.message = message or self.code

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


# --- the caller can fix the request -------------------------------------------------


class RequestError(StrongroomError):
    """The request itself is wrong; the same request will always fail."""

    code = "REQUEST_INVALID"


class ArgumentsBad(RequestError, ValueError):
    """An argument has the wrong type, size or value."""

    code = "ARGUMENTS_BAD"


class DataLenRange(RequestError, ValueError):
    """Input data has a length the operation cannot take."""

    code = "DATA_LEN_RANGE"


class TemplateError(RequestError):
    """An attribute template breaks the attribute rules."""

    code = "TEMPLATE_ERROR"


class AttributeTypeInvalid(TemplateError):
    """The attribute is unknown or does not apply to this kind of object."""

    code = "ATTRIBUTE_TYPE_INVALID"


class AttributeValueInvalid(TemplateError):
    """The attribute's value has the wrong type or is out of range."""

    code = "ATTRIBUTE_VALUE_INVALID"


class AttributeReadOnly(TemplateError):
    """The attribute cannot be set by this operation (or by anyone)."""

    code = "ATTRIBUTE_READ_ONLY"


class AttributeSensitive(TemplateError):
    """The attribute's value is sensitive and is never returned."""

    code = "ATTRIBUTE_SENSITIVE"


class TemplateIncomplete(TemplateError):
    """An attribute the operation requires is missing."""

    code = "TEMPLATE_INCOMPLETE"


class TemplateInconsistent(TemplateError):
    """Attributes contradict each other, the mechanism or an enforced template."""

    code = "TEMPLATE_INCONSISTENT"


class MechanismInvalid(RequestError):
    """The mechanism is unknown or does not do this operation."""

    code = "MECHANISM_INVALID"


class MechanismParamInvalid(RequestError):
    """The mechanism's parameters are missing or wrong."""

    code = "MECHANISM_PARAM_INVALID"


class MechanismNotApproved(RequestError):
    """The HSM is in FIPS mode and the mechanism or key size is not approved."""

    code = "MECHANISM_NOT_APPROVED"


class OperationActive(RequestError):
    """An operation of this kind is already running in the session (finish or cancel it)."""

    code = "OPERATION_ACTIVE"


class OperationNotInitialized(RequestError):
    """No operation of this kind is running in the session."""

    code = "OPERATION_NOT_INITIALIZED"


class ObjectHandleInvalid(RequestError):
    """No object with this handle is visible to the caller."""

    code = "OBJECT_HANDLE_INVALID"


class SessionHandleInvalid(RequestError):
    """The session is closed or was never opened."""

    code = "SESSION_HANDLE_INVALID"


class KeyTypeInconsistent(RequestError):
    """The key's type does not fit the mechanism."""

    code = "KEY_TYPE_INCONSISTENT"


class KeySizeRange(RequestError):
    """The key size is outside what the key type or policy allows."""

    code = "KEY_SIZE_RANGE"


class KeyFunctionNotPermitted(RequestError):
    """The key's usage attribute (ENCRYPT, SIGN, WRAP…) forbids this operation."""

    code = "KEY_FUNCTION_NOT_PERMITTED"


class KeyUnextractable(RequestError):
    """The key is not extractable (or is sensitive) and cannot leave the HSM this way."""

    code = "KEY_UNEXTRACTABLE"


class KeyNotWrappable(RequestError):
    """The key may only be wrapped by a trusted key (WRAP_WITH_TRUSTED)."""

    code = "KEY_NOT_WRAPPABLE"


class UserNotFound(RequestError):
    """No user with this name exists."""

    code = "USER_NOT_FOUND"


class UserExists(RequestError):
    """A user with this name already exists."""

    code = "USER_ALREADY_EXISTS"


class UserLimitReached(RequestError):
    """The HSM holds the maximum number of users."""

    code = "USER_LIMIT_REACHED"


class UserOwnsKeys(RequestError):
    """The user still owns keys; delete or hand them over first."""

    code = "USER_OWNS_KEYS"


class ActionProhibited(RequestError):
    """The object's own attributes forbid this action (e.g. DESTROYABLE is false)."""

    code = "ACTION_PROHIBITED"


class PolicyDenied(RequestError):
    """An HSM policy set by an admin forbids this operation."""

    code = "POLICY_DENIED"


# --- integrity and verification --------------------------------------------------------


class IntegrityError(StrongroomError):
    """Authenticated decryption or unwrap failed.

    One uniform error for every cause (tag, padding, length, ICV) so that nothing about
    the plaintext leaks through the choice of error — nor through its message: whatever
    the raiser says, the message is always ``UNIFORM_MESSAGE``.
    """

    code = "ENCRYPTED_DATA_INVALID"
    UNIFORM_MESSAGE: ClassVar[str] = "the encrypted data or wrapped key is invalid"

    def __init__(self, message: str = "") -> None:
        super().__init__(self.UNIFORM_MESSAGE)


class SignatureInvalid(StrongroomError):
    """A signature or MAC did not verify."""

    code = "SIGNATURE_INVALID"


# --- the caller must authenticate --------------------------------------------------------


class AuthenticationError(StrongroomError):
    """Logging in failed."""

    code = "AUTHENTICATION_ERROR"


class AuthenticationFailed(AuthenticationError):
    """Wrong username or password (the two are deliberately indistinguishable)."""

    code = "PIN_INCORRECT"


class UserLocked(AuthenticationError):
    """Too many consecutive failed logins; an admin must reset the password."""

    code = "PIN_LOCKED"


class NotLoggedIn(AuthenticationError):
    """The session is not logged in and the command needs a user."""

    code = "USER_NOT_LOGGED_IN"


class AlreadyLoggedIn(AuthenticationError):
    """The session already has a logged-in user."""

    code = "USER_ALREADY_LOGGED_IN"


# --- someone else must act -------------------------------------------------------------------


class AccessDenied(StrongroomError):
    """The logged-in user may not do this."""

    code = "ACCESS_DENIED"


class PermissionDenied(AccessDenied):
    """The user's role does not allow this command."""

    code = "PERMISSION_DENIED"


class NotKeyOwner(AccessDenied):
    """Only the key's owner may manage it; shared users may only use it."""

    code = "NOT_KEY_OWNER"


# --- the HSM cannot serve ----------------------------------------------------------------------


class HSMStateError(StrongroomError):
    """The HSM is not in a state where it can do this."""

    code = "HSM_STATE_ERROR"


class NotActivated(HSMStateError):
    """The HSM has not been activated yet."""

    code = "HSM_NOT_ACTIVATED"


class AlreadyActivated(HSMStateError):
    """The HSM is already activated."""

    code = "HSM_ALREADY_ACTIVATED"


class HSMSealed(HSMStateError):
    """The storage key is not loaded; an admin login (or auto-unseal) opens it."""

    code = "HSM_SEALED"


class SelfTestFailed(HSMStateError):
    """A self-test failed; the HSM has entered its error state."""

    code = "SELF_TEST_FAILED"


class ErrorState(HSMStateError):
    """The HSM is latched in its error state after a self-test failure and refuses crypto."""

    code = "HSM_ERROR_STATE"


class StorageError(StrongroomError):
    """The persistent store failed."""

    code = "STORAGE_ERROR"


class StoreCorrupt(StorageError):
    """The persistent store failed an integrity check."""

    code = "STORE_CORRUPT"


class AuditChainBroken(StorageError):
    """The audit log has a gap, a reordering or an edited record."""

    code = "AUDIT_CHAIN_BROKEN"


class ObjectStoreError(StorageError):
    """A backup object store (filesystem or S3) failed or refused: unreachable, denied, no bucket.

    The message names the store, the operation and the key, never a credential.
    """

    code = "OBJECT_STORE_ERROR"


class ObjectNotFound(ObjectStoreError):
    """No object is stored under this key."""

    code = "OBJECT_NOT_FOUND"


class ObjectCorrupt(ObjectStoreError):
    """A stored object does not match the SHA-256 stored with it, or its record is damaged."""

    code = "OBJECT_CORRUPT"


# --- backups: the KMS and the envelope ---------------------------------------------------------


class KMSError(StrongroomError):
    """The KMS could not be reached or failed (network, timeout, server error, bad key file).

    The same call may succeed later or after the configuration is fixed; nothing was decrypted.
    """

    code = "KMS_ERROR"


class KMSAccessDenied(KMSError):
    """The KMS refused to issue or unwrap a data key.

    One code for every refusal: unknown key, a key other than the one that wrapped the data key,
    an encryption context other than the one bound at wrapping, a damaged wrapped key, or
    credentials without permission. Like AWS KMS, the causes are deliberately not told apart.
    """

    code = "KMS_ACCESS_DENIED"


class EnvelopeInvalid(IntegrityError):
    """A KMS envelope is malformed, truncated, reordered, spliced or fails authentication.

    One uniform error (and message) for every integrity failure of the outer backup layer.
    """

    code = "ENVELOPE_INVALID"
    UNIFORM_MESSAGE: ClassVar[str] = (
        "the backup envelope is damaged, truncated or was tampered with"
    )


class EnvelopeVersionUnsupported(EnvelopeInvalid):
    """The envelope carries a format version this release does not read (newer, or unknown)."""

    code = "ENVELOPE_VERSION_UNSUPPORTED"
    UNIFORM_MESSAGE: ClassVar[str] = (
        "the backup envelope has a format version this Strongroom does not know"
    )


# --- backups and identities (the inner, HSM-made layer) ----------------------------------


class IdentityInvalid(RequestError):
    """A manufacturer or service identity is malformed, unreadable, or does not fit this HSM."""

    code = "IDENTITY_INVALID"


class BackupError(StrongroomError):
    """A backup cannot be made or restored; nothing on the HSM was changed."""

    code = "BACKUP_ERROR"


class BackupInvalid(BackupError):
    """The backup is damaged, truncated, reordered, spliced or not a backup at all."""

    code = "BACKUP_INVALID"


class BackupWrongFamily(BackupError):
    """The backup was made by an HSM of another manufacturer or service: it cannot open here."""

    code = "BACKUP_WRONG_FAMILY"


class BackupRollback(BackupError):
    """The backup is older than this HSM's current state; restore it only with ``force``."""

    code = "BACKUP_ROLLBACK"


class BackupNotConfigured(BackupError):
    """This HSM has no manufacturer or service identity, so it cannot make or open backups."""

    code = "BACKUP_NOT_CONFIGURED"


class ApprovalDenied(BackupError):
    """The approval step for a backup or restore said no."""

    code = "APPROVAL_DENIED"


# --- the network: wire protocol, connections, trust ------------------------------------


class NetworkError(StrongroomError):
    """Talking to an HSM failed; another HSM (or a retry) may succeed."""

    code = "NETWORK_ERROR"


class ProtocolError(NetworkError):
    """A frame broke the wire protocol (docs/formats/wire-v1.md); the connection is closed."""

    code = "PROTOCOL_ERROR"


class FrameTooLarge(ProtocolError):
    """A frame is longer than the peer accepts."""

    code = "FRAME_TOO_LARGE"


class WireVersionUnsupported(ProtocolError):
    """The peers share no wire-protocol version."""

    code = "WIRE_VERSION_UNSUPPORTED"


class HSMUnavailable(NetworkError):
    """No HSM answered (refused, dropped or timed out); the request's outcome may be unknown."""

    code = "HSM_UNAVAILABLE"


class RequestTimeout(HSMUnavailable):
    """The HSM did not answer within the timeout."""

    code = "REQUEST_TIMEOUT"


class TrustFailed(NetworkError):
    """A TLS peer's certificate is not under the trust anchor (or none was offered)."""

    code = "TRUST_FAILED"


class MutualTLSRequired(AccessDenied):
    """The cluster enforces mutual TLS and this connection has no client certificate."""

    code = "MTLS_REQUIRED"


class CommandInvalid(RequestError):
    """The wire command is unknown or its arguments have the wrong shape."""

    code = "COMMAND_INVALID"


class ServerBusy(NetworkError):
    """The HSM is shutting down or over its limits; retry elsewhere or later."""

    code = "SERVER_BUSY"


def all_error_classes() -> list[type[StrongroomError]]:
    """Every error class defined here, root first (used to check codes are unique)."""
    found: list[type[StrongroomError]] = []
    pending: list[type[StrongroomError]] = [StrongroomError]
    while pending:
        cls = pending.pop(0)
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found

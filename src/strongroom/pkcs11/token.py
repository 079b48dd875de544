"""The PKCS#11 token: one slot per cluster, and each application's sessions on it.

This module owns PKCS#11 semantics on top of the SDK. A ``Token`` is the cluster as the
bridge presents it (slot, token and mechanism information, shared by every connection).
An ``Application`` is one p11-kit connection — one process that called C_Initialize — and
holds what PKCS#11 scopes to an application: its login (one ``HSMClient``, whose login is
client-wide as PKCS#11's is application-wide), its sessions, their find and crypto
operations, and the session objects each session made (destroyed when it closes).

Each call handler reads every argument first, then acts: a malformed request never has an
effect. Output buffers follow PKCS#11's size-query rules (§5.2): a NULL buffer asks for the
length, a short one gets CKR_BUFFER_TOO_SMALL, and the result computed for the query is the
one handed over next, so a signature is made once.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Final

import strongroom
from strongroom.client import ClientConfig, HSMClient, Key, Operation
from strongroom.constants import Attribute, ObjectClass, Role
from strongroom.errors import (
    AttributeTypeInvalid,
    AttributeValueInvalid,
    StrongroomError,
)
from strongroom.pkcs11.attributes import decode_template as read_template
from strongroom.pkcs11.attributes import (
    encode_attribute,
    model_template,
    read_attribute_buffer,
    read_attributes,
)
from strongroom.pkcs11.ck import CKF, CKR, CKS, CKU, CKRError, rv_for
from strongroom.pkcs11.mechanisms import CANCEL, MechanismInfo, WireMechanism, mechanism_flags
from strongroom.pkcs11.mechanisms import read_mechanism as read_mech
from strongroom.pkcs11.rpc import CALLS, HANDSHAKE, Call, ParseError, Reader, Writer, error_body

__all__ = ["SLOT_ID", "Application", "Token"]

log = logging.getLogger("strongroom.pkcs11")

SLOT_ID: Final = 1
"""The one slot's id (stable across restarts: configurations name it)."""
UNAVAILABLE: Final = 0xFFFFFFFFFFFFFFFF
"""CK_UNAVAILABLE_INFORMATION."""
MAX_RANDOM: Final = 1024 * 1024
MAX_PIN: Final = 1024

_USAGE: Final = {
    "encrypt": Attribute.ENCRYPT,
    "decrypt": Attribute.DECRYPT,
    "sign": Attribute.SIGN,
    "verify": Attribute.VERIFY,
    "wrap": Attribute.WRAP,
    "unwrap": Attribute.UNWRAP,
    "derive": Attribute.DERIVE,
}
_PRIVATE_KEY_EXTRAS: Final = {0x202: False}
"""Attributes the engine does not keep but applications read: CKA_ALWAYS_AUTHENTICATE is
false on every private key (Strongroom has no per-use re-authentication)."""
_ATTRIBUTE_RV_RANK: Final = {
    CKR.BUFFER_TOO_SMALL: 1,
    CKR.ATTRIBUTE_TYPE_INVALID: 2,
    CKR.ATTRIBUTE_SENSITIVE: 3,
}
"""C_GetAttributeValue's one rv when several attributes fail: the highest ranked."""
_KEY_INFO: Final = [Attribute.CLASS, Attribute.KEY_TYPE, Attribute.TOKEN, *_USAGE.values()]


class Token:
    """The cluster as one PKCS#11 slot and token (shared by every application)."""

    def __init__(self, config: ClientConfig, label: str = "strongroom") -> None:
        self.config = config
        self.label = label
        self._lock = threading.Lock()
        self._mechanisms: dict[int, tuple[MechanismInfo, dict[str, Any]]] | None = None
        self._serial: str | None = None
        self._rotation = 0

    def client(self) -> HSMClient:
        """A client for one application: one connection per HSM, everything on one HSM
        (session objects and operations live there), applications spread over the HSMs."""
        with self._lock:
            self._rotation += 1
            start = self._rotation % len(self.config.hsms)
        hsms = self.config.hsms[start:] + self.config.hsms[:start]
        return HSMClient(replace(self.config, hsms=hsms, balance=False, connections_per_hsm=1))

    def _fetch(self, client: HSMClient) -> None:
        mechanisms = {}
        for entry in client.mechanisms():
            info = mechanism_flags(entry)
            mechanisms[info.mechanism] = (info, entry)
        serial = str(client.info().get("hsm_id", ""))
        with self._lock:
            self._mechanisms, self._serial = mechanisms, serial

    def mechanisms(self, client: HSMClient) -> dict[int, tuple[MechanismInfo, dict[str, Any]]]:
        """Mechanism → (its info, the HSM's entry); read from the cluster once."""
        if self._mechanisms is None:
            self._fetch(client)
        assert self._mechanisms is not None
        return self._mechanisms

    def serial(self, client: HSMClient) -> str:
        """The token's serial number (the first HSM's id)."""
        if self._serial is None:
            self._fetch(client)
        return self._serial or ""


@dataclass(slots=True)
class _Op:
    """One active operation of a session (at most one per kind, as in PKCS#11)."""

    kind: str
    mechanism: WireMechanism
    key: Key | None
    stream: Operation | None = None
    pending: tuple[str, bytes | None, bytes] | None = None
    """A result computed for a size query and not yet handed over: (step, input, output)."""
    finished: bool = False
    """An empty result was handed over in protocol 0's ambiguous way; repeats get it again."""

    def close(self) -> None:
        if self.stream is not None:
            self.stream.cancel()


@dataclass(slots=True)
class _Session:
    handle: int
    rw: bool
    objects: set[int] = field(default_factory=set)
    found: list[int] | None = None
    ops: dict[str, _Op] = field(default_factory=dict)

    def end(self, kind: str) -> None:
        op = self.ops.pop(kind, None)
        if op is not None:
            op.close()


Handler = Callable[["Application", Reader, Writer], None]
_HANDLERS: dict[str, Handler] = {}
_KEY_CALLS: Final = frozenset(
    {
        "C_EncryptInit",
        "C_DecryptInit",
        "C_SignInit",
        "C_VerifyInit",
        "C_WrapKey",
        "C_UnwrapKey",
        "C_DeriveKey",
    }
)


def _handler(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        _HANDLERS[name] = fn
        return fn

    return register


def _template(r: Reader) -> dict[int, Any]:
    try:
        return read_template(r)
    except (TypeError, ValueError) as exc:
        raise ParseError(str(exc)) from None


def _only_session(app: Application, r: Reader) -> _Session:
    """The session named by a request whose one argument is a session handle."""
    handle = r.ulong()
    r.done()
    return app._session(handle)


def _is_token(template: dict[int, Any]) -> bool:
    return bool(template.get(Attribute.TOKEN, False))


class Application:
    """One p11-kit connection: an application's login, sessions and operations."""

    def __init__(self, token: Token, client_version: int = 0) -> None:
        self.token = token
        self.client_version = client_version
        self.initialized = False
        self._client: HSMClient | None = None
        self._sessions: dict[int, _Session] = {}
        self._next_session = 1
        self._login: CKU | None = None
        self._keys: dict[int, Key] = {}
        self._key_info: dict[int, dict[int, Any]] = {}

    # --- dispatch --------------------------------------------------------------------------------

    def handle(self, body: bytes) -> bytes:
        """Answer one request body with a response body (an error response on failure)."""
        reader = Reader(body, self.client_version)
        call: Call | None = None
        try:
            call_id = reader.u32()
            call = CALLS.get(call_id)
            if call is None:
                raise CKRError(CKR.FUNCTION_NOT_SUPPORTED, f"call {call_id}")
            if reader.sig() != call.request.encode():
                raise ParseError("the signature does not match the call")
            handler = _HANDLERS.get(call.name)
            if handler is None:
                raise CKRError(CKR.FUNCTION_NOT_SUPPORTED, call.name)
            if not self.initialized and call.name not in ("C_Initialize", "C_Finalize"):
                raise CKRError(CKR.CRYPTOKI_NOT_INITIALIZED)
            writer = Writer(call)
            handler(self, reader, writer)
            return writer.body()
        except CKRError as exc:
            rv = exc.rv
        except ParseError:
            rv = CKR.DEVICE_ERROR
        except StrongroomError as exc:
            rv = rv_for(exc)
            if rv is CKR.OBJECT_HANDLE_INVALID and call is not None and call.name in _KEY_CALLS:
                rv = CKR.KEY_HANDLE_INVALID
            log.debug("%s: %s", exc.code, exc)  # messages never carry secrets (errors.py)
        name = call.name if call is not None else "?"
        log.debug("%s -> %s", name, CKR(rv).name)
        return error_body(int(rv))

    def close(self) -> None:
        """The connection ended: close every session (their session objects go)."""
        for session in list(self._sessions.values()):
            self._close_session(session)
        if self._client is not None:
            self._client.close()
            self._client = None
        self._login = None

    # --- helpers ---------------------------------------------------------------------------------

    @property
    def client(self) -> HSMClient:
        if self._client is None:
            self._client = self.token.client()
        return self._client

    def _session(self, handle: int) -> _Session:
        session = self._sessions.get(handle)
        if session is None:
            raise CKRError(CKR.SESSION_HANDLE_INVALID)
        return session

    def _key(self, handle: int) -> Key:
        key = self._keys.get(handle)
        if key is None:
            if handle == 0:
                raise CKRError(CKR.OBJECT_HANDLE_INVALID)
            key = self.client.key(handle)
        return key

    def _remember(self, session: _Session, key: Key, token_object: bool) -> int:
        self._keys[key.handle] = key
        if not token_object:
            session.objects.add(key.handle)
        return key.handle

    def _forget(self, handle: int) -> None:
        self._keys.pop(handle, None)
        self._key_info.pop(handle, None)
        for session in self._sessions.values():
            session.objects.discard(handle)

    def _info_of(self, handle: int) -> dict[int, Any]:
        """CLASS, KEY_TYPE, TOKEN and the usage flags of an object (cached per handle)."""
        info = self._key_info.get(handle)
        if info is None:
            report = self._key(handle).read_attributes(_KEY_INFO)
            info = dict(report.values)
            self._key_info[handle] = info
        return info

    def _writable(self, session: _Session, token_object: bool) -> None:
        if token_object and not session.rw:
            raise CKRError(CKR.SESSION_READ_ONLY)

    def _check_key(self, mechanism: WireMechanism, function: str, handle: int) -> None:
        entry = self._check_mechanism(mechanism, function)
        info = self._info_of(handle)
        if Attribute.KEY_TYPE not in info:
            raise CKRError(CKR.KEY_HANDLE_INVALID, "not a key")
        if int(info[Attribute.KEY_TYPE]) not in entry["key_types"]:
            raise CKRError(CKR.KEY_TYPE_INCONSISTENT)
        if not info.get(_USAGE[function], False):
            raise CKRError(CKR.KEY_FUNCTION_NOT_PERMITTED)

    def _check_mechanism(self, mechanism: WireMechanism, function: str) -> dict[str, Any]:
        """The HSM's entry for ``mechanism`` if it does ``function``."""
        found = self.token.mechanisms(self.client).get(mechanism.mechanism)
        if found is None or function not in found[1]["functions"]:
            raise CKRError(CKR.MECHANISM_INVALID)
        return found[1]

    def _deliver(self, w: Writer, capacity: int | None, data: bytes) -> bool:
        """Write ``data`` as an ``ay`` answer to a ``fy`` buffer; True if handed over."""
        if capacity is None:
            if not data and self.client_version == 0:
                w.byte_array(b"")  # protocol 0 cannot tell NULL from an empty buffer
                return True
            w.byte_array_length(len(data))
            return False
        if capacity < len(data):
            w.byte_array_length(len(data))
            return False
        w.byte_array(data)
        return True

    def _close_session(self, session: _Session) -> None:
        for kind in list(session.ops):
            session.end(kind)
        for handle in list(session.objects):
            # it may be gone already (logged out, or destroyed by another session)
            with contextlib.suppress(StrongroomError):
                self._key(handle).destroy()
            self._forget(handle)
        self._sessions.pop(session.handle, None)
        if not self._sessions and self._login is not None:
            self._logout()  # PKCS#11: closing an application's last session logs it out

    def _logout(self) -> None:
        self.client.logout()
        self._login = None
        for session in self._sessions.values():
            for kind in list(session.ops):
                session.end(kind)
            session.objects.clear()
        self._keys.clear()
        self._key_info.clear()

    # --- operations shared by the encrypt, decrypt, sign, verify and digest families -----------

    def _begin(
        self, session: _Session, kind: str, mechanism: WireMechanism, key: int | None
    ) -> None:
        current = session.ops.get(kind)
        if mechanism.mechanism == CANCEL:
            session.end(kind)
            return
        if current is not None and not current.finished:
            raise CKRError(CKR.OPERATION_ACTIVE)
        if key is None:
            self._check_mechanism(mechanism, kind)
        else:
            self._check_key(mechanism, kind, key)
        session.end(kind)
        session.ops[kind] = _Op(kind, mechanism, None if key is None else self._key(key))

    def _op(self, session: _Session, kind: str) -> _Op:
        op = session.ops.get(kind)
        if op is None:
            raise CKRError(CKR.OPERATION_NOT_INITIALIZED)
        return op

    def _run(
        self,
        session: _Session,
        op: _Op,
        step: str,
        data: bytes | None,
        compute: Callable[[], bytes],
    ) -> bytes:
        """The result of ``step`` on ``data``: the one computed for a size query, or new."""
        pending = op.pending
        if pending is not None and pending[0] == step and pending[1] == data:
            return pending[2]
        try:
            out = compute()
        except BaseException:
            session.end(op.kind)
            raise
        op.pending = (step, data, out)
        return out

    def _finish(self, session: _Session, op: _Op, out: bytes) -> None:
        """The last output was handed over: the operation ends. Protocol 0 cannot tell an
        empty answer's repeat from a new call, so there the operation stays, finished, until
        the next ``*Init``."""
        if out or self.client_version > 0:
            session.end(op.kind)
        else:
            op.finished = True
            op.pending = None

    def _stream(self, op: _Op) -> Operation:
        if op.stream is None:
            params = op.mechanism.params
            if op.key is None:
                op.stream = self.client.begin_digest(op.mechanism.mechanism, params)
            else:
                op.stream = op.key.begin(op.kind, op.mechanism.mechanism, params)
        return op.stream

    def single(self, r: Reader, w: Writer, kind: str) -> None:
        """C_Encrypt, C_Decrypt, C_Sign, C_Digest: ``uayfy`` → ``ay``."""
        handle, data, capacity = r.ulong(), r.byte_array(), r.byte_buffer()
        r.done()
        session = self._session(handle)
        op = self._op(session, kind)
        if op.finished:
            self._deliver(w, capacity, b"")
            return
        if op.stream is not None:
            raise CKRError(CKR.OPERATION_ACTIVE, "a multi-part operation is under way")
        payload = data or b""
        mech, params = op.mechanism.mechanism, op.mechanism.params

        def compute() -> bytes:
            if op.key is None:
                return self.client.digest(mech, payload, params)
            method = getattr(op.key, kind)
            return bytes(method(mech, payload, params))

        out = self._run(session, op, "single", payload, compute)
        if self._deliver(w, capacity, out):
            self._finish(session, op, out)

    def update(self, r: Reader, w: Writer, kind: str) -> None:
        """C_EncryptUpdate, C_DecryptUpdate: ``uayfy`` → ``ay``."""
        handle, data, capacity = r.ulong(), r.byte_array(), r.byte_buffer()
        r.done()
        session = self._session(handle)
        op = self._op(session, kind)
        payload = data or b""
        echo = op.pending
        if echo is not None and echo[0] == "update-empty" and echo[1] == payload:
            # protocol 0: the empty answer to a NULL query comes back as a zero-length buffer
            op.pending = None
            self._deliver(w, capacity, b"")
            return
        out = self._run(session, op, "update", payload, lambda: self._stream(op).update(payload))
        if self._deliver(w, capacity, out):
            ambiguous = capacity is None and not out and self.client_version == 0
            op.pending = ("update-empty", payload, b"") if ambiguous else None

    def absorb(self, r: Reader, kind: str) -> None:
        """C_SignUpdate, C_VerifyUpdate, C_DigestUpdate: ``uay``."""
        handle, data = r.ulong(), r.byte_array()
        r.done()
        session = self._session(handle)
        op = self._op(session, kind)
        payload = data or b""
        self._run(session, op, "absorb", None, lambda: self._stream(op).update(payload))
        op.pending = None

    def final(self, r: Reader, w: Writer, kind: str) -> None:
        """C_EncryptFinal, C_DecryptFinal, C_SignFinal, C_DigestFinal: ``ufy`` → ``ay``."""
        handle, capacity = r.ulong(), r.byte_buffer()
        r.done()
        session = self._session(handle)
        op = self._op(session, kind)
        if op.finished:
            self._deliver(w, capacity, b"")
            return
        out = self._run(session, op, "final", None, lambda: self._stream(op).final())
        if self._deliver(w, capacity, out):
            self._finish(session, op, out)

    # --- creating objects ------------------------------------------------------------------------

    def create(self, session: _Session, template: dict[int, Any], make: Callable[[], Key]) -> int:
        token_object = _is_token(template)
        self._writable(session, token_object)
        return self._remember(session, make(), token_object)


# --- general-purpose and slot calls ---------------------------------------------------------------


@_handler("C_Initialize")
def _initialize(app: Application, r: Reader, w: Writer) -> None:
    handshake = r.byte_array()
    r.byte()
    r.byte_array()
    r.done()
    if handshake != HANDSHAKE:
        raise ParseError("wrong protocol string")
    if app.initialized:
        raise CKRError(CKR.CRYPTOKI_ALREADY_INITIALIZED)
    app.initialized = True


@_handler("C_Finalize")
def _finalize(app: Application, r: Reader, w: Writer) -> None:
    r.done()
    app.close()
    app.initialized = False


@_handler("C_GetInfo")
def _get_info(app: Application, r: Reader, w: Writer) -> None:
    r.done()
    major, minor = _version()
    w.version(2, 40).space_string("Strongroom", 32).ulong(0)
    w.space_string("Strongroom PKCS#11 bridge", 32).version(major, minor)


def _version() -> tuple[int, int]:
    parts = [*(int(p) for p in strongroom.__version__.split(".")[:2] if p.isdigit()), 0, 0]
    return parts[0], parts[1]


def _slot(slot_id: int) -> None:
    if slot_id != SLOT_ID:
        raise CKRError(CKR.SLOT_ID_INVALID)


@_handler("C_GetSlotList")
def _get_slot_list(app: Application, r: Reader, w: Writer) -> None:
    r.byte()
    capacity = r.ulong_buffer()
    r.done()
    if capacity is None:
        w.ulong_array_length(1)
    else:
        w.ulong_array([SLOT_ID])


@_handler("C_GetSlotInfo")
def _get_slot_info(app: Application, r: Reader, w: Writer) -> None:
    slot_id = r.ulong()
    r.done()
    _slot(slot_id)
    major, minor = _version()
    w.space_string(f"Strongroom cluster {app.token.label}", 64).space_string("Strongroom", 32)
    w.ulong(CKF.TOKEN_PRESENT | CKF.HW_SLOT).version(major, minor).version(major, minor)


@_handler("C_GetTokenInfo")
def _get_token_info(app: Application, r: Reader, w: Writer) -> None:
    slot_id = r.ulong()
    r.done()
    _slot(slot_id)
    serial = app.token.serial(app.client)
    flags = CKF.RNG | CKF.LOGIN_REQUIRED | CKF.USER_PIN_INITIALIZED | CKF.TOKEN_INITIALIZED
    major, minor = _version()
    w.space_string(app.token.label, 32).space_string("Strongroom", 32)
    w.space_string("Strongroom HSM", 16).space_string(serial[-16:], 16)
    w.ulong(flags).ulong(0).ulong(len(app._sessions)).ulong(0)
    w.ulong(sum(1 for s in app._sessions.values() if s.rw))
    w.ulong(MAX_PIN).ulong(1)
    for _ in range(4):
        w.ulong(UNAVAILABLE)
    w.version(major, minor).version(major, minor).space_string("", 16)


@_handler("C_GetMechanismList")
def _get_mechanism_list(app: Application, r: Reader, w: Writer) -> None:
    slot_id, capacity = r.ulong(), r.ulong_buffer()
    r.done()
    _slot(slot_id)
    mechanisms = sorted(app.token.mechanisms(app.client))
    if capacity is None or capacity < len(mechanisms):
        w.ulong_array_length(len(mechanisms))
    else:
        w.ulong_array(mechanisms)


@_handler("C_GetMechanismInfo")
def _get_mechanism_info(app: Application, r: Reader, w: Writer) -> None:
    slot_id, mechanism = r.ulong(), r.ulong()
    r.done()
    _slot(slot_id)
    found = app.token.mechanisms(app.client).get(mechanism)
    if found is None:
        raise CKRError(CKR.MECHANISM_INVALID)
    info = found[0]
    w.ulong(info.min_key_size).ulong(info.max_key_size).ulong(info.flags)


# --- sessions and login --------------------------------------------------------------------------


@_handler("C_OpenSession")
def _open_session(app: Application, r: Reader, w: Writer) -> None:
    slot_id, flags = r.ulong(), r.ulong()
    r.done()
    _slot(slot_id)
    if not flags & CKF.SERIAL_SESSION:
        raise CKRError(CKR.SESSION_PARALLEL_NOT_SUPPORTED)
    rw = bool(flags & CKF.RW_SESSION)
    if app._login is CKU.SO and not rw:
        raise CKRError(CKR.SESSION_READ_WRITE_SO_EXISTS)
    if len(app._sessions) >= 4096:
        raise CKRError(CKR.SESSION_COUNT)
    handle = app._next_session
    app._next_session += 1
    app._sessions[handle] = _Session(handle, rw)
    w.ulong(handle)


@_handler("C_CloseSession")
def _close_session(app: Application, r: Reader, w: Writer) -> None:
    app._close_session(_only_session(app, r))


@_handler("C_CloseAllSessions")
def _close_all(app: Application, r: Reader, w: Writer) -> None:
    slot_id = r.ulong()
    r.done()
    _slot(slot_id)
    for session in list(app._sessions.values()):
        app._close_session(session)


@_handler("C_GetSessionInfo")
def _session_info(app: Application, r: Reader, w: Writer) -> None:
    session = _only_session(app, r)
    if app._login is CKU.SO:
        state = CKS.RW_SO_FUNCTIONS
    elif app._login is CKU.USER:
        state = CKS.RW_USER_FUNCTIONS if session.rw else CKS.RO_USER_FUNCTIONS
    else:
        state = CKS.RW_PUBLIC_SESSION if session.rw else CKS.RO_PUBLIC_SESSION
    flags = CKF.SERIAL_SESSION | (CKF.RW_SESSION if session.rw else 0)
    w.ulong(SLOT_ID).ulong(state).ulong(flags).ulong(0)


def _pin(raw: bytes | None) -> tuple[str | None, str]:
    """``username:password`` (or a bare password) from a PIN."""
    if raw is None or len(raw) > MAX_PIN:
        raise CKRError(CKR.PIN_LEN_RANGE)
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise CKRError(CKR.PIN_INVALID) from None
    user, sep, password = text.partition(":")
    return (user, password) if sep else (None, text)


@_handler("C_Login")
def _login(app: Application, r: Reader, w: Writer) -> None:
    handle, user_type, raw = r.ulong(), r.ulong(), r.byte_array()
    r.done()
    app._session(handle)
    if user_type not in (CKU.SO, CKU.USER):
        if user_type == CKU.CONTEXT_SPECIFIC:
            raise CKRError(CKR.OPERATION_NOT_INITIALIZED, "no key needs re-authentication")
        raise CKRError(CKR.USER_TYPE_INVALID)
    if app._login is not None:
        same = app._login == user_type
        raise CKRError(CKR.USER_ALREADY_LOGGED_IN if same else CKR.USER_ANOTHER_ALREADY_LOGGED_IN)
    if user_type == CKU.SO and any(not s.rw for s in app._sessions.values()):
        raise CKRError(CKR.SESSION_READ_ONLY_EXISTS)
    username, password = _pin(raw)
    if not username:
        raise CKRError(CKR.PIN_INCORRECT, "the PIN is username:password")
    role = app.client.login(username, password)
    wanted = Role.ADMIN if user_type == CKU.SO else Role.CRYPTO_USER
    if role is not wanted and not (user_type == CKU.SO and role is Role.UNACTIVATED_ADMIN):
        app.client.logout()
        raise CKRError(CKR.USER_TYPE_INVALID, f"{username} is not a {wanted.value}")
    app._login = CKU(user_type)
    app._keys.clear()
    app._key_info.clear()


@_handler("C_Logout")
def _logout(app: Application, r: Reader, w: Writer) -> None:
    _only_session(app, r)
    if app._login is None:
        raise CKRError(CKR.USER_NOT_LOGGED_IN)
    app._logout()


@_handler("C_SetPIN")
def _set_pin(app: Application, r: Reader, w: Writer) -> None:
    handle, old, new = r.ulong(), r.byte_array(), r.byte_array()
    r.done()
    session = app._session(handle)
    if not session.rw:
        raise CKRError(CKR.SESSION_READ_ONLY)
    if app._login is None:
        raise CKRError(CKR.USER_NOT_LOGGED_IN)
    old_user, old_password = _pin(old)
    new_user, new_password = _pin(new)
    me = app.client.username
    if old_user not in (None, me) or new_user not in (None, me):
        raise CKRError(CKR.PIN_INVALID, "C_SetPIN changes the logged-in user's own PIN")
    if not app.client.check_password(old_password):
        raise CKRError(CKR.PIN_INCORRECT)
    app.client.change_password(new_password)


@_handler("C_InitPIN")
def _init_pin(app: Application, r: Reader, w: Writer) -> None:
    handle, raw = r.ulong(), r.byte_array()
    r.done()
    session = app._session(handle)
    if app._login is not CKU.SO:
        raise CKRError(CKR.USER_NOT_LOGGED_IN)
    if not session.rw:
        raise CKRError(CKR.SESSION_READ_ONLY)
    username, password = _pin(raw)
    if not username:
        raise CKRError(CKR.PIN_INVALID, "C_InitPIN takes username:password")
    app.client.change_password(password, username=username)


# --- objects --------------------------------------------------------------------------------------


@_handler("C_CreateObject")
def _create_object(app: Application, r: Reader, w: Writer) -> None:
    handle = r.ulong()
    template = _template(r)
    r.done()
    session = app._session(handle)
    w.ulong(app.create(session, template, lambda: app.client.create_object(template)))


@_handler("C_CopyObject")
def _copy_object(app: Application, r: Reader, w: Writer) -> None:
    handle, obj = r.ulong(), r.ulong()
    template = _template(r)
    r.done()
    session = app._session(handle)
    token_object = bool(template.get(Attribute.TOKEN, app._info_of(obj).get(Attribute.TOKEN)))
    app._writable(session, token_object)
    copy = app._key(obj).copy(template)
    w.ulong(app._remember(session, copy, token_object))


@_handler("C_DestroyObject")
def _destroy_object(app: Application, r: Reader, w: Writer) -> None:
    handle, obj = r.ulong(), r.ulong()
    r.done()
    session = app._session(handle)
    app._writable(session, bool(app._info_of(obj).get(Attribute.TOKEN, False)))
    app._key(obj).destroy()
    app._forget(obj)


@_handler("C_GetObjectSize")
def _get_object_size(app: Application, r: Reader, w: Writer) -> None:
    handle, obj = r.ulong(), r.ulong()
    r.done()
    app._session(handle)
    app._info_of(obj)  # the object must exist and be visible
    w.ulong(UNAVAILABLE)


@_handler("C_GetAttributeValue")
def _get_attribute_value(app: Application, r: Reader, w: Writer) -> None:
    handle, obj = r.ulong(), r.ulong()
    wanted = read_attribute_buffer(r)
    r.done()
    app._session(handle)
    report = app._key(obj).read_attributes([kind for kind, _ in wanted] + [Attribute.CLASS])
    values = dict(report.values)
    if values.get(Attribute.CLASS) == ObjectClass.PRIVATE_KEY:
        for kind, value in _PRIVATE_KEY_EXTRAS.items():
            values.setdefault(kind, value)
    problems: list[CKR] = []
    parts: list[bytes] = []
    for kind, capacity in wanted:
        if kind in report.sensitive:
            problems.append(CKR.ATTRIBUTE_SENSITIVE)
        elif kind not in values:
            problems.append(CKR.ATTRIBUTE_TYPE_INVALID)
        else:
            try:
                encoded, length = encode_attribute(kind, values[kind], app.client_version)
            except CKRError as exc:
                problems.append(exc.rv)
            else:
                if capacity == 0 or capacity >= length:
                    parts.append(encoded)
                    continue
                problems.append(CKR.BUFFER_TOO_SMALL)
        parts.append(kind.to_bytes(4, "big") + b"\x00")  # validity 0: unavailable
    rv = max(problems, key=_ATTRIBUTE_RV_RANK.__getitem__, default=CKR.OK)
    w.u32(len(wanted)).extend(b"".join(parts)).ulong(rv)


@_handler("C_SetAttributeValue")
def _set_attribute_value(app: Application, r: Reader, w: Writer) -> None:
    handle, obj = r.ulong(), r.ulong()
    template = _template(r)
    r.done()
    session = app._session(handle)
    info = app._info_of(obj)
    app._writable(session, bool(info.get(Attribute.TOKEN, False)))
    app._key(obj).set_attributes(template)
    app._key_info.pop(obj, None)


@_handler("C_FindObjectsInit")
def _find_init(app: Application, r: Reader, w: Writer) -> None:
    handle = r.ulong()
    items = read_attributes(r)
    r.done()
    session = app._session(handle)
    if session.found is not None:
        raise CKRError(CKR.OPERATION_ACTIVE)
    try:
        template = model_template(items)
        session.found = [key.handle for key in app.client.find(template)]
    except (CKRError, AttributeTypeInvalid, AttributeValueInvalid):
        session.found = []  # no object has an attribute Strongroom does not know


@_handler("C_FindObjects")
def _find(app: Application, r: Reader, w: Writer) -> None:
    handle, capacity = r.ulong(), r.ulong_buffer()
    r.done()
    session = app._session(handle)
    if session.found is None:
        raise CKRError(CKR.OPERATION_NOT_INITIALIZED)
    count = capacity or 0
    batch, session.found = session.found[:count], session.found[count:]
    w.ulong_array(batch)


@_handler("C_FindObjectsFinal")
def _find_final(app: Application, r: Reader, w: Writer) -> None:
    session = _only_session(app, r)
    if session.found is None:
        raise CKRError(CKR.OPERATION_NOT_INITIALIZED)
    session.found = None


# --- crypto ---------------------------------------------------------------------------------------


def _init_with_key(kind: str) -> Handler:
    def init(app: Application, r: Reader, w: Writer) -> None:
        handle = r.ulong()
        mechanism = read_mech(r)
        key = r.ulong()
        r.done()
        app._begin(app._session(handle), kind, mechanism, key)

    return init


def _bind(method: str, kind: str) -> Handler:
    if method == "absorb":
        return lambda app, r, w: app.absorb(r, kind)
    return lambda app, r, w: getattr(app, method)(r, w, kind)


for _kind in ("encrypt", "decrypt", "sign", "verify"):
    _HANDLERS[f"C_{_kind.capitalize()}Init"] = _init_with_key(_kind)
for _kind in ("encrypt", "decrypt", "sign", "digest"):
    _HANDLERS[f"C_{_kind.capitalize()}"] = _bind("single", _kind)
    _HANDLERS[f"C_{_kind.capitalize()}Final"] = _bind("final", _kind)
for _kind in ("encrypt", "decrypt"):
    _HANDLERS[f"C_{_kind.capitalize()}Update"] = _bind("update", _kind)
for _kind in ("sign", "verify", "digest"):
    _HANDLERS[f"C_{_kind.capitalize()}Update"] = _bind("absorb", _kind)


@_handler("C_DigestInit")
def _digest_init(app: Application, r: Reader, w: Writer) -> None:
    handle = r.ulong()
    mechanism = read_mech(r)
    r.done()
    app._begin(app._session(handle), "digest", mechanism, None)


@_handler("C_Verify")
def _verify(app: Application, r: Reader, w: Writer) -> None:
    handle, data, signature = r.ulong(), r.byte_array(), r.byte_array()
    r.done()
    session = app._session(handle)
    op = app._op(session, "verify")
    if op.stream is not None:
        raise CKRError(CKR.OPERATION_ACTIVE, "a multi-part operation is under way")
    assert op.key is not None
    try:
        op.key.verify(op.mechanism.mechanism, data or b"", signature or b"", op.mechanism.params)
    finally:
        session.end("verify")


@_handler("C_VerifyFinal")
def _verify_final(app: Application, r: Reader, w: Writer) -> None:
    handle, signature = r.ulong(), r.byte_array()
    r.done()
    session = app._session(handle)
    op = app._op(session, "verify")
    try:
        app._stream(op).final(signature or b"")
    finally:
        session.end("verify")


@_handler("C_GenerateKey")
def _generate_key(app: Application, r: Reader, w: Writer) -> None:
    handle = r.ulong()
    mechanism = read_mech(r)
    template = _template(r)
    r.done()
    session = app._session(handle)
    app._check_mechanism(mechanism, "generate")
    make = lambda: app.client.generate_key(mechanism.mechanism, template)  # noqa: E731
    w.ulong(app.create(session, template, make))


@_handler("C_GenerateKeyPair")
def _generate_key_pair(app: Application, r: Reader, w: Writer) -> None:
    handle = r.ulong()
    mechanism = read_mech(r)
    public_template, private_template = _template(r), _template(r)
    r.done()
    session = app._session(handle)
    app._check_mechanism(mechanism, "generate_key_pair")
    public_token, private_token = _is_token(public_template), _is_token(private_template)
    app._writable(session, public_token or private_token)
    public, private = app.client.generate_key_pair(
        mechanism.mechanism, public_template, private_template
    )
    w.ulong(app._remember(session, public, public_token))
    w.ulong(app._remember(session, private, private_token))


@_handler("C_WrapKey")
def _wrap_key(app: Application, r: Reader, w: Writer) -> None:
    handle = r.ulong()
    mechanism = read_mech(r)
    wrapping, key, capacity = r.ulong(), r.ulong(), r.byte_buffer()
    r.done()
    session = app._session(handle)
    app._check_key(mechanism, "wrap", wrapping)
    op = session.ops.get("wrap")
    step = f"wrap:{mechanism.mechanism}:{wrapping}:{key}"
    if op is None or op.pending is None or op.pending[0] != step:
        op = _Op("wrap", mechanism, app._key(wrapping))
        session.ops["wrap"] = op
    wrapper = app._key(wrapping)
    out = app._run(
        session,
        op,
        step,
        None,
        lambda: wrapper.wrap_key(mechanism.mechanism, key, mechanism.params),
    )
    if app._deliver(w, capacity, out):
        session.end("wrap")


@_handler("C_UnwrapKey")
def _unwrap_key(app: Application, r: Reader, w: Writer) -> None:
    handle = r.ulong()
    mechanism = read_mech(r)
    unwrapping, wrapped = r.ulong(), r.byte_array()
    template = _template(r)
    r.done()
    session = app._session(handle)
    app._check_key(mechanism, "unwrap", unwrapping)
    key = app._key(unwrapping)
    make = lambda: key.unwrap_key(  # noqa: E731
        mechanism.mechanism, wrapped or b"", template, mechanism.params
    )
    w.ulong(app.create(session, template, make))


@_handler("C_DeriveKey")
def _derive_key(app: Application, r: Reader, w: Writer) -> None:
    handle = r.ulong()
    mechanism = read_mech(r)
    base = r.ulong()
    template = _template(r)
    r.done()
    session = app._session(handle)
    app._check_key(mechanism, "derive", base)
    key = app._key(base)
    make = lambda: key.derive_key(mechanism.mechanism, template, mechanism.params)  # noqa: E731
    w.ulong(app.create(session, template, make))


@_handler("C_SeedRandom")
def _seed_random(app: Application, r: Reader, w: Writer) -> None:
    handle = r.ulong()
    r.byte_array()
    r.done()
    app._session(handle)
    raise CKRError(CKR.RANDOM_SEED_NOT_SUPPORTED)


@_handler("C_GenerateRandom")
def _generate_random(app: Application, r: Reader, w: Writer) -> None:
    handle, length = r.ulong(), r.byte_buffer()
    r.done()
    app._session(handle)
    length = length or 0
    if length > MAX_RANDOM:
        raise CKRError(CKR.DATA_LEN_RANGE, f"at most {MAX_RANDOM} random bytes per call")
    w.byte_array(app.client.generate_random(length) if length else b"")

"""``HSMClient``: the whole engine command set over the network, for many HSMs.

This module owns routing. Each request goes to an HSM that is up, round-robin (a key the
client made prefers the HSM that made it); if the HSM cannot be reached or drops the
connection, an idempotent request (protocol.commands) is retried on the next HSM after a
jittered exponential back-off, and a state-changing one is retried only if it never left
the client. Session objects and multi-part operations live in one HSM's session, so they
are pinned to that connection and never retried elsewhere. Everything is thread-safe.
"""

from __future__ import annotations

import contextlib
import hmac
import itertools
import random
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from strongroom.client.backups import RemoteBackup, RestoreSummary, restore_stream
from strongroom.client.config import ClientConfig, Credentials
from strongroom.client.identity import verify_hsm_identity
from strongroom.client.links import HSMLink, LinkConnection
from strongroom.client.transport import TLSSettings, client_ssl_context
from strongroom.constants import Attribute, Mechanism, Role
from strongroom.crypto import pem_to_der
from strongroom.errors import (
    HSMUnavailable,
    ObjectHandleInvalid,
    OperationNotInitialized,
    StrongroomError,
)
from strongroom.protocol.commands import COMMANDS
from strongroom.protocol.values import encode_params, encode_template

__all__ = ["AttributeReport", "HSMClient", "Key", "Operation"]

Template = Mapping[Any, Any]


class HSMClient:
    """A client of one cluster's HSMs. ``HSMClient.connect()`` reads the usual settings."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        context = client_ssl_context(
            TLSSettings(config.trust_anchor, config.client_cert, config.client_key)
        )
        self._links = [
            HSMLink(
                address,
                context,
                size=config.connections_per_hsm,
                connect_timeout=config.connect_timeout,
            )
            for address in config.hsms
        ]
        self._by_address = {link.address: link for link in self._links}
        self._rotation = itertools.count()
        self._credentials: Credentials | None = None
        self._generation = 1
        self._lock = threading.Lock()
        self._closed = False
        self._role: Role | None = None

    @classmethod
    def connect(cls, config: ClientConfig | None = None) -> HSMClient:
        """A client from ``config`` or ``ClientConfig.discover()``; checks one HSM answers."""
        client = cls(config or ClientConfig.discover())
        try:
            client.info()
        except BaseException:
            client.close()
            raise
        return client

    def __repr__(self) -> str:
        user = self._credentials.username if self._credentials else None
        return f"HSMClient(hsms={[link.address for link in self._links]}, user={user!r})"

    def __enter__(self) -> HSMClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every connection (the HSMs end this client's sessions)."""
        self._closed = True
        for link in self._links:
            link.close()

    @property
    def username(self) -> str | None:
        """Who is logged in (None: nobody)."""
        return self._credentials.username if self._credentials else None

    # --- routing -----------------------------------------------------------------------------

    def _candidates(self, home: str | None) -> list[HSMLink]:
        start = next(self._rotation) % len(self._links) if self.config.balance else 0
        ordered = self._links[start:] + self._links[:start]
        if home is not None and home in self._by_address:
            ordered.remove(self._by_address[home])
            ordered.insert(0, self._by_address[home])
        up = [link for link in ordered if link.up]
        return up + [link for link in ordered if not link.up]

    def _call(
        self,
        command: str,
        args: dict[str, Any],
        *,
        home: str | None = None,
        pin: LinkConnection | None = None,
    ) -> Any:
        return self._route(command, args, home=home, pin=pin)[0]

    def _route(
        self,
        command: str,
        args: dict[str, Any],
        *,
        home: str | None = None,
        pin: LinkConnection | None = None,
    ) -> tuple[Any, str | None]:
        """Run ``command`` somewhere; returns its result and the HSM that ran it."""
        if self._closed:
            raise HSMUnavailable("the client is closed")
        spec = COMMANDS[command]
        timeout = self.config.request_timeout
        if pin is not None:
            if spec.session:
                args = {**args, "session": pin.session}
            return pin.connection.call(command, args, timeout), None
        candidates = self._candidates(home)
        attempts = self.config.retries + 1
        delay = self.config.backoff
        last: HSMUnavailable | None = None
        for attempt in range(attempts):
            link = candidates[attempt % len(candidates)]
            sent = False
            try:
                item = link.acquire()
                if spec.session:
                    with self._lock:
                        generation, credentials = self._generation, self._credentials
                    session = item.session_for(generation, credentials, timeout)
                    call_args = {**args, "session": session}
                else:
                    call_args = args
                sent = True
                result = item.connection.call(command, call_args, timeout)
            except HSMUnavailable as exc:
                link.mark_down()
                last = exc
                if sent and not spec.idempotent:
                    raise
                if attempt + 1 < attempts:
                    time.sleep(delay * (0.5 + random.random()))  # noqa: S311 - jitter only
                    delay *= 2
                continue
            link.mark_up()
            return result, link.address
        assert last is not None
        raise last

    def _pinned(
        self, home: str | None = None, *, logged_in: bool = True
    ) -> tuple[LinkConnection, str]:
        """A connection (and its HSM's address) whose session later calls must reuse.

        ``logged_in``: its session is logged in as this client's user first.
        """
        last: HSMUnavailable | None = None
        for link in self._candidates(home):
            try:
                item = link.acquire()
                if logged_in:
                    with self._lock:
                        generation, credentials = self._generation, self._credentials
                    item.session_for(generation, credentials, self.config.request_timeout)
            except HSMUnavailable as exc:
                link.mark_down()
                last = exc
                continue
            return item, link.address
        assert last is not None
        raise last

    # --- HSM and login --------------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """Basic information about one HSM (no login needed)."""
        return dict(self._call("hsm.info", {}))

    def mechanisms(self) -> list[dict[str, Any]]:
        """The mechanisms the HSMs offer in their mode (no login needed).

        Each: ``mechanism``, ``min_key_size``, ``max_key_size``, ``functions`` (names such
        as ``"sign"``) and ``key_types``; see docs/mechanisms.md.
        """
        return [dict(entry) for entry in self._call("hsm.mechanisms", {})]

    def cluster_info(self) -> list[dict[str, Any]]:
        """Every HSM's address, id and whether it answers."""
        out = []
        for link in self._links:
            entry: dict[str, Any] = {"address": link.address}
            try:
                info = link.call_any("hsm.info", {}, self.config.request_timeout)
                entry.update(state="ACTIVE", hsm_id=info.get("hsm_id"), info=info)
                link.mark_up()
            except HSMUnavailable as exc:
                entry.update(state="UNREACHABLE", error=exc.code)
            out.append(entry)
        return out

    def verify_hsm_identity(
        self, manufacturer_ca_pem: bytes, service_ca_pem: bytes | None = None
    ) -> list[dict[str, str]]:
        """Check every HSM's certificates against the manufacturer's (and service's) CA.

        See ``client.identity``; raises ``TrustFailed`` at the first HSM that fails.
        """
        out = []
        for link in self._links:
            connection = link.acquire().connection
            info = connection.call("hsm.info", {}, self.config.request_timeout)
            out.append(
                {
                    "address": link.address,
                    **verify_hsm_identity(
                        info, connection.peer_certificate, manufacturer_ca_pem, service_ca_pem
                    ),
                }
            )
        return out

    def login(self, username: str, password: str) -> Role:
        """Log in on every HSM (now on one, lazily on the rest); returns the role."""
        credentials = Credentials(username, password)
        with self._lock:
            self._generation += 1
            generation = self._generation
        item, _address = self._pinned(logged_in=False)
        try:
            item.session_for(generation, credentials, self.config.request_timeout)
        except BaseException:
            with self._lock:
                self._generation += 1
                self._credentials = None
            raise
        with self._lock:
            if self._generation == generation:
                self._credentials = credentials
        self._role = Role(item.role or "")
        return self._role

    def check_password(self, password: str) -> bool:
        """Whether ``password`` is the logged-in user's (constant-time; False: nobody)."""
        with self._lock:
            credentials = self._credentials
        if credentials is None:
            return False
        return hmac.compare_digest(password.encode(), credentials.password.encode())

    @property
    def role(self) -> Role | None:
        """The logged-in user's role (None: nobody)."""
        return self._role if self._credentials is not None else None

    def logout(self) -> None:
        """Log out everywhere (the sessions are replaced; their session objects go)."""
        with self._lock:
            self._generation += 1
            self._credentials = None

    def activate(self, new_password: str) -> None:
        """As the unactivated admin: set the admin password, activating the cluster."""
        self._call("session.activate", {"new_password": new_password})
        if self._credentials is not None:
            with self._lock:
                self._credentials = Credentials(self._credentials.username, new_password)

    # --- users ----------------------------------------------------------------------------------

    def create_user(self, username: str, password: str, role: Role | str) -> None:
        """Admins: add a user with ``role``."""
        self._call(
            "user.create",
            {"username": username, "password": password, "role": Role(role).value},
        )

    def delete_user(self, username: str) -> None:
        """Admins: remove a user (who must own no keys)."""
        self._call("user.delete", {"username": username})

    def list_users(self) -> list[dict[str, Any]]:
        """Every user: name, role, lockout state."""
        return list(self._call("user.list", {}))

    def change_password(self, new_password: str, username: str | None = None) -> None:
        """Your own password, or (admins) another user's."""
        args: dict[str, Any] = {"new_password": new_password}
        if username is not None:
            args["username"] = username
        self._call("user.change_password", args)
        if username is None or username == self.username:
            with self._lock:
                if self._credentials is not None:
                    self._credentials = Credentials(self._credentials.username, new_password)

    # --- keys -------------------------------------------------------------------------------------

    def _key(self, handle: int, template: Template | None, home: str | None) -> Key:
        return Key(self, int(handle), home=home)

    def generate_key(self, mechanism: int, template: Template) -> Key:
        """Generate a secret key (``Mechanism.AES_KEY_GEN``, ``GENERIC_SECRET_KEY_GEN``)."""
        return self._create("key.generate", {"mechanism": int(mechanism)}, template)

    def generate_key_pair(
        self, mechanism: int, public_template: Template, private_template: Template
    ) -> tuple[Key, Key]:
        """Generate a key pair; returns (public key, private key)."""
        session_pair = not _is_token(public_template) or not _is_token(private_template)
        args = {
            "mechanism": int(mechanism),
            "public_template": encode_template(public_template),
            "private_template": encode_template(private_template),
        }
        if session_pair:
            item, address = self._pinned()
            public, private = self._call("key.generate_pair", args, pin=item)
            return (
                Key(self, public, home=address, pin=item),
                Key(self, private, home=address, pin=item),
            )
        (public, private), home = self._route("key.generate_pair", args)
        return Key(self, public, home=home), Key(self, private, home=home)

    def _create(self, command: str, args: dict[str, Any], template: Template) -> Key:
        args = {**args, "template": encode_template(template)}
        if not _is_token(template):
            item, address = self._pinned()
            handle = self._call(command, args, pin=item)
            return Key(self, handle, home=address, pin=item)
        handle, home = self._route(command, args)
        return Key(self, handle, home=home)

    def generate_aes_key(self, bits: int = 256, **attributes: Any) -> Key:
        """An AES key of ``bits``; ``attributes`` by name (``label="x"``, ``token=True``…)."""
        template = {Attribute.VALUE_LEN: bits // 8, **_named(attributes)}
        return self.generate_key(Mechanism.AES_KEY_GEN, template)

    def create_object(self, template: Template) -> Key:
        """Import a key in the clear (where policy allows) or store a data object."""
        return self._create("object.create", {}, template)

    def find(self, template: Template | None = None, **attributes: Any) -> list[Key]:
        """Keys and objects whose attributes match (``label="x"`` works too)."""
        merged = {**encode_template(template), **encode_template(_named(attributes))}
        return [Key(self, h) for h in self._call("object.find", {"template": merged})]

    def find_one(self, template: Template | None = None, **attributes: Any) -> Key:
        """Exactly one match, or OBJECT_HANDLE_INVALID."""
        found = self.find(template, **attributes)
        if len(found) != 1:
            raise ObjectHandleInvalid(f"expected one matching object, found {len(found)}")
        return found[0]

    def key(self, handle: int) -> Key:
        """A reference to the object with ``handle`` (nothing is checked until it is used)."""
        return Key(self, int(handle))

    def unwrap_key(
        self,
        mechanism: int,
        unwrapping_key: Key | int,
        wrapped: bytes,
        template: Template,
        params: object = None,
    ) -> Key:
        """Import a wrapped key under ``template``."""
        return _as_key(self, unwrapping_key).unwrap_key(mechanism, wrapped, template, params)

    def digest(self, mechanism: int, data: bytes | Iterable[bytes], params: object = None) -> bytes:
        """Hash ``data`` (bytes, or an iterable of chunks streamed multi-part)."""
        if isinstance(data, bytes | bytearray | memoryview):
            args = {"mechanism": int(mechanism), "data": bytes(data)}
            if params is not None:
                args["params"] = encode_params(params)
            return bytes(self._call("crypto.digest", args))
        result = self._stream("digest", None, mechanism, params, data, home=None, pin=None)
        return b"".join(result)

    def begin_digest(self, mechanism: int, params: object = None) -> Operation:
        """Start a multi-part digest: ``update()`` it, then ``final()`` (see ``Operation``)."""
        item, _address = self._pinned()
        return Operation(self, item, "digest", None, mechanism, params)

    def generate_random(self, length: int) -> bytes:
        """Random bytes from an HSM's DRBG."""
        return bytes(self._call("crypto.random", {"length": length}))

    # --- HSM-wide -------------------------------------------------------------------------------

    def get_policy(self) -> dict[str, bool]:
        """The HSM's policies."""
        return dict(self._call("policy.get", {}))

    def set_policy(self, name: str, value: bool) -> None:
        """Admins: change a policy (``mtls_enforced`` only as ``admin`` over mutual TLS)."""
        self._call("policy.set", {"name": name, "value": value})

    def list_trust_anchors(self) -> list[bytes]:
        """The CAs (DER) whose client certificates the HSM accepts besides the cluster's."""
        return [bytes(a) for a in self._call("mtls.list_anchors", {})]

    def register_trust_anchor(self, certificate: bytes) -> str:
        """Admins: accept client certificates from this CA (PEM or DER); returns its SHA-256."""
        der = _der_certificate(certificate)
        return str(self._call("mtls.register_anchor", {"certificate": der}))

    def deregister_trust_anchor(self, sha256: str) -> None:
        """Admins: stop accepting the CA with this SHA-256 (hex, as ``register`` returned)."""
        self._call("mtls.deregister_anchor", {"sha256": sha256})

    def read_audit(self, start: int = 1, limit: int = 1000) -> list[dict[str, Any]]:
        """Admins: one HSM's audit records from ``start``."""
        return list(self._call("audit.read", {"start": start, "limit": limit}))

    def run_self_test(self) -> dict[str, bool]:
        """Run the HSM's known-answer tests now."""
        return dict(self._call("hsm.self_test", {}))

    def sync_digest(self) -> str:
        """A digest of one HSM's users and token objects (compare HSMs with it)."""
        return str(self._call("hsm.sync_digest", {}))

    # --- sealed backups (admins and appliance users) -------------------------------------------

    def backup(self, hsm: str | None = None) -> RemoteBackup:
        """Start reading a sealed backup out of one HSM (``hsm``: its address)."""
        item, _address = self._pinned(hsm)
        return RemoteBackup(item, self.config.request_timeout)

    def restore(
        self, stream: Iterable[bytes], *, force: bool = False, hsm: str | None = None
    ) -> RestoreSummary:
        """Replace one HSM's whole state with a sealed backup's (all or nothing there).

        The HSM logs every session out afterwards; log in again to go on.
        """
        item, _address = self._pinned(hsm)
        result = restore_stream(item, stream, force=force, timeout=self.config.request_timeout)
        with self._lock:
            self._generation += 1  # every session on that HSM was logged out
        return result

    # --- multi-part -----------------------------------------------------------------------------

    def _stream(
        self,
        operation: str,
        handle: int | None,
        mechanism: int,
        params: object,
        chunks: Iterable[bytes],
        *,
        home: str | None,
        pin: LinkConnection | None,
        signature: bytes | None = None,
    ) -> Iterator[bytes]:
        """Run init/update…/final in a session of its own; yields output as it comes."""
        item = pin if pin is not None else self._pinned(home)[0]
        with Operation(self, item, operation, handle, mechanism, params) as op:
            for chunk in chunks:
                out = op.update(chunk)
                if out:
                    yield out
            out = op.final(signature)
            if out:
                yield out


class Operation:
    """A multi-part operation in progress (PKCS#11 ``C_*Init`` / ``Update`` / ``Final``).

    It runs in a server session of its own, opened beside the client's session on one
    connection (so it sees that session's objects and login) and closed when the operation
    ends: at ``final()``, ``cancel()``, the first error, or leaving a ``with`` block.
    ``update()`` returns the output so far (encrypt and decrypt; empty for sign, verify and
    digest, and for AES-GCM decryption, which releases nothing before its tag is checked).
    """

    __slots__ = ("_call", "_session", "_timeout", "operation")

    def __init__(
        self,
        client: HSMClient,
        item: LinkConnection,
        operation: str,
        handle: int | None,
        mechanism: int,
        params: object,
    ) -> None:
        self.operation = operation
        self._call = item.connection.call
        self._timeout = client.config.request_timeout
        assert item.session is not None
        session = int(self._call("session.open", {"share_login": item.session}, self._timeout))
        self._session: int | None = session
        init: dict[str, Any] = {
            "session": session,
            "operation": operation,
            "mechanism": int(mechanism),
        }
        if handle is not None:
            init["handle"] = handle
        if params is not None:
            init["params"] = encode_params(params)
        self._request("crypto.init", init)

    def __repr__(self) -> str:
        return f"Operation({self.operation!r}, active={self._session is not None})"

    def __enter__(self) -> Operation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()

    @property
    def active(self) -> bool:
        """Not yet finished, cancelled or failed."""
        return self._session is not None

    def _request(self, command: str, args: dict[str, Any]) -> Any:
        try:
            return self._call(command, args, self._timeout)
        except BaseException:
            self.cancel()
            raise

    def _session_args(self) -> dict[str, Any]:
        if self._session is None:
            raise OperationNotInitialized(f"no {self.operation} operation is active")
        return {"session": self._session, "operation": self.operation}

    def update(self, data: bytes) -> bytes:
        """Feed ``data``; returns output produced so far (often empty)."""
        args = {**self._session_args(), "data": bytes(data)}
        return bytes(self._request("crypto.update", args) or b"")

    def final(self, signature: bytes | None = None) -> bytes:
        """Finish: the last output, the signature or the digest (``verify``: pass the
        signature; a bad one raises ``SignatureInvalid``). The operation ends either way."""
        args = self._session_args()
        if signature is not None:
            args["signature"] = signature
        out = self._request("crypto.final", args)
        self.cancel()
        return bytes(out or b"")

    def cancel(self) -> None:
        """Abandon the operation (nothing if it already ended)."""
        session, self._session = self._session, None
        if session is not None:
            # the connection (and the session with it) may be gone, or the session closed
            with contextlib.suppress(StrongroomError):
                self._call("session.close", {"session": session}, self._timeout)


@dataclass(frozen=True, slots=True)
class AttributeReport:
    """What ``Key.read_attributes`` found: values by attribute number, and the numbers that
    are key material (``sensitive``) or absent from this kind of object (``invalid``)."""

    values: dict[int, Any]
    sensitive: frozenset[int]
    invalid: frozenset[int]

    def __repr__(self) -> str:  # values may include a data object's contents
        return (
            f"AttributeReport(values={sorted(self.values)}, sensitive={sorted(self.sensitive)}, "
            f"invalid={sorted(self.invalid)})"
        )


class Key:
    """A reference to a key (or other object) on the cluster: ``(client, handle)``.

    Holding one holds no key material. Methods send one request each; ``bytes`` inputs run
    single-part, any other iterable of chunks streams multi-part.
    """

    __slots__ = ("client", "handle", "home", "pin")

    def __init__(
        self,
        client: HSMClient,
        handle: int,
        *,
        home: str | None = None,
        pin: LinkConnection | None = None,
    ) -> None:
        self.client = client
        self.handle = handle
        self.home = home
        self.pin = pin

    def __repr__(self) -> str:
        kind = "session" if self.pin is not None else "token"
        return f"Key(handle={self.handle}, {kind})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Key) and other.handle == self.handle and other.pin is self.pin

    def __hash__(self) -> int:
        return hash(self.handle)

    def _call(self, command: str, args: dict[str, Any]) -> Any:
        return self.client._call(command, args, home=self.home, pin=self.pin)

    def _crypto(
        self, command: str, mechanism: int, data: bytes, params: object, **extra: Any
    ) -> Any:
        return self._call(command, crypto_args(self.handle, mechanism, data, params, extra))

    def _stream(
        self,
        operation: str,
        mechanism: int,
        params: object,
        chunks: Iterable[bytes],
        signature: bytes | None = None,
    ) -> Iterator[bytes]:
        return self.client._stream(
            operation,
            self.handle,
            mechanism,
            params,
            chunks,
            home=self.home,
            pin=self.pin,
            signature=signature,
        )

    def _run(
        self,
        operation: str,
        mechanism: int,
        data: bytes | Iterable[bytes],
        params: object,
        signature: bytes | None = None,
    ) -> bytes:
        """One request for ``bytes``; init/update…/final for any other iterable of chunks."""
        if isinstance(data, bytes | bytearray | memoryview):
            extra = {} if signature is None else {"signature": signature}
            out = self._crypto(f"crypto.{operation}", mechanism, bytes(data), params, **extra)
            return bytes(out or b"")
        return b"".join(self._stream(operation, mechanism, params, data, signature))

    def sign(self, mechanism: int, data: bytes | Iterable[bytes], params: object = None) -> bytes:
        """Sign or MAC ``data``."""
        return self._run("sign", mechanism, data, params)

    def verify(
        self,
        mechanism: int,
        data: bytes | Iterable[bytes],
        signature: bytes,
        params: object = None,
    ) -> None:
        """Verify ``signature``; raises ``SignatureInvalid`` if it does not verify."""
        self._run("verify", mechanism, data, params, signature)

    def encrypt(
        self, mechanism: int, data: bytes | Iterable[bytes], params: object = None
    ) -> bytes:
        """Encrypt ``data`` (chunks stream multi-part; the output is joined)."""
        return self._run("encrypt", mechanism, data, params)

    def decrypt(
        self, mechanism: int, data: bytes | Iterable[bytes], params: object = None
    ) -> bytes:
        """Decrypt ``data``; integrity failures raise ``IntegrityError``."""
        return self._run("decrypt", mechanism, data, params)

    def begin(self, operation: str, mechanism: int, params: object = None) -> Operation:
        """Start a multi-part ``operation`` ("encrypt", "decrypt", "sign" or "verify")."""
        if operation not in ("encrypt", "decrypt", "sign", "verify"):
            raise ValueError(f"unknown operation {operation!r}")
        item = self.pin if self.pin is not None else self.client._pinned(self.home)[0]
        return Operation(self.client, item, operation, self.handle, mechanism, params)

    def encrypt_stream(
        self, mechanism: int, chunks: Iterable[bytes], params: object = None
    ) -> Iterator[bytes]:
        """Encrypt chunk by chunk, yielding ciphertext as the HSM returns it."""
        return self._stream("encrypt", mechanism, params, chunks)

    def decrypt_stream(
        self, mechanism: int, chunks: Iterable[bytes], params: object = None
    ) -> Iterator[bytes]:
        """Decrypt chunk by chunk (GCM releases plaintext only at the end)."""
        return self._stream("decrypt", mechanism, params, chunks)

    def wrap_key(self, mechanism: int, key: Key | int, params: object = None) -> bytes:
        """Wrap ``key`` (which you own and is extractable) under this wrapping key."""
        args: dict[str, Any] = {
            "mechanism": int(mechanism),
            "wrapping_key": self.handle,
            "key": _handle(key),
        }
        if params is not None:
            args["params"] = encode_params(params)
        return bytes(self._call("key.wrap", args))

    def unwrap_key(
        self, mechanism: int, wrapped: bytes, template: Template, params: object = None
    ) -> Key:
        """Import ``wrapped`` under this unwrapping key, with ``template``."""
        args: dict[str, Any] = {
            "mechanism": int(mechanism),
            "unwrapping_key": self.handle,
            "wrapped": bytes(wrapped),
            "template": encode_template(template),
        }
        if params is not None:
            args["params"] = encode_params(params)
        return self._new("key.unwrap", args, template)

    def derive_key(self, mechanism: int, template: Template, params: object = None) -> Key:
        """Derive a new secret key from this base key."""
        args: dict[str, Any] = {
            "mechanism": int(mechanism),
            "base_key": self.handle,
            "template": encode_template(template),
        }
        if params is not None:
            args["params"] = encode_params(params)
        return self._new("key.derive", args, template)

    def _new(self, command: str, args: dict[str, Any], template: Template) -> Key:
        """Run a command that makes an object; a session object stays pinned to its session."""
        client = self.client
        pin: LinkConnection | None = self.pin
        home: str | None = self.home
        if pin is None and not _is_token(template):
            pin, home = client._pinned(self.home)
        handle, ran_at = client._route(command, args, home=home, pin=pin)
        return Key(client, int(handle), home=ran_at or home, pin=pin)

    def get_attributes(self, attributes: Sequence[int]) -> dict[Attribute, Any]:
        """Attribute values (sensitive ones raise ``AttributeSensitive``)."""
        raw = self._call(
            "object.get_attributes",
            {"handle": self.handle, "attributes": [int(a) for a in attributes]},
        )
        return {Attribute(int(k)): v for k, v in raw.items()}

    def read_attributes(self, attributes: Sequence[int]) -> AttributeReport:
        """Attribute by attribute, as PKCS#11's C_GetAttributeValue reports them: the
        readable values, and which of the rest are sensitive or do not apply."""
        raw = self._call(
            "object.read_attributes",
            {"handle": self.handle, "attributes": [int(a) for a in attributes]},
        )
        return AttributeReport(
            {int(k): v for k, v in raw["values"].items()},
            frozenset(int(a) for a in raw["sensitive"]),
            frozenset(int(a) for a in raw["invalid"]),
        )

    def get(self, attribute: int) -> Any:
        """One attribute's value."""
        return self.get_attributes([attribute])[Attribute(attribute)]

    @property
    def label(self) -> str | None:
        """``CKA_LABEL``."""
        value = self.get(Attribute.LABEL)
        return value.decode() if isinstance(value, bytes) else value

    def set_attributes(self, changes: Template) -> None:
        """Change modifiable attributes (owner only)."""
        self._call(
            "object.set_attributes", {"handle": self.handle, "template": encode_template(changes)}
        )

    def set_trusted(self, trusted: bool = True) -> None:
        """Admins: mark the key TRUSTED."""
        self._call("object.set_trusted", {"handle": self.handle, "trusted": trusted})

    def copy(self, changes: Template | None = None) -> Key:
        """A copy of this COPYABLE object with ``changes`` (TOKEN, PRIVATE, or attributes
        that could be set on it). The copy of a key made in a session stays in that session's
        HSM connection; any other copy is routed as a token object unless ``changes`` say
        TOKEN false."""
        template = dict(changes or {})
        args = {"handle": self.handle, "template": encode_template(template)}
        routing = (
            template if self.pin is not None or _says_token(template) else {Attribute.TOKEN: True}
        )
        return self._new("object.copy", args, routing)

    def destroy(self) -> None:
        """Destroy the object (owner only)."""
        self._call("object.destroy", {"handle": self.handle})

    def share(self, username: str) -> None:
        """Let another crypto user use the key."""
        self._call("key.share", {"handle": self.handle, "username": username})

    def unshare(self, username: str) -> None:
        """Withdraw a share."""
        self._call("key.unshare", {"handle": self.handle, "username": username})

    def public_key_der(self) -> bytes:
        """The public key as SubjectPublicKeyInfo DER."""
        return bytes(self._call("key.export_public", {"handle": self.handle}))


def crypto_args(
    handle: int, mechanism: int, data: bytes, params: object, extra: dict[str, Any]
) -> dict[str, Any]:
    """The arguments of a single-part ``crypto.*`` request (both SDKs build them here)."""
    args: dict[str, Any] = {
        "handle": handle,
        "mechanism": int(mechanism),
        "data": bytes(data),
        **extra,
    }
    if params is not None:
        args["params"] = encode_params(params)
    return args


def _der_certificate(certificate: bytes) -> bytes:
    if certificate.lstrip().startswith(b"-----BEGIN"):
        return pem_to_der(certificate)[0]
    return bytes(certificate)


def _handle(key: Key | int) -> int:
    return key.handle if isinstance(key, Key) else int(key)


def _as_key(client: HSMClient, key: Key | int) -> Key:
    return key if isinstance(key, Key) else Key(client, int(key))


def _says_token(template: Template) -> bool:
    """Whether ``template`` sets TOKEN at all."""
    return any(int(key) == Attribute.TOKEN for key in template)


def _is_token(template: Template | None) -> bool:
    if not template:
        return False
    for key, value in template.items():
        try:
            if Attribute(int(key)) is Attribute.TOKEN:
                return bool(value)
        except ValueError:
            continue
    return False


def _named(attributes: Mapping[str, Any]) -> dict[Attribute, Any]:
    """``label="x"`` → ``{Attribute.LABEL: "x"}``."""
    out: dict[Attribute, Any] = {}
    for name, value in attributes.items():
        try:
            out[Attribute[name.upper()]] = value
        except KeyError:
            raise ValueError(f"unknown attribute {name!r}") from None
    return out

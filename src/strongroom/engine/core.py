"""The engine's shared state and the one write path every change goes through.

This module owns what one HSM holds while it runs — its store, catalog, registry, audit
log, storage key, error state and sessions — and ``Core.write()``, the context in which
every state change is staged, audited and committed atomically, with in-memory effects
applied only once the store has made the change durable. Command modules (users, keys,
crypto) operate on a ``Core``; they never open store transactions themselves.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from strongroom.constants import Command, Role
from strongroom.crypto.random import RandomSource
from strongroom.engine.audit import AuditLog, DetailValue
from strongroom.engine.config import HSMConfig
from strongroom.engine.mechanisms.registry import MechanismRegistry
from strongroom.engine.objects import ObjectCatalog
from strongroom.errors import ErrorState, SelfTestFailed, SessionHandleInvalid, StrongroomError
from strongroom.model.access import authorize
from strongroom.model.codec import decode_cbor, encode_cbor
from strongroom.store.api import RawStore, StoreTransaction

__all__ = ["Core", "SessionState", "Writer"]


@dataclass(slots=True)
class SessionState:
    """Login state of one session."""

    handle: int
    user_id: int | None = None
    username: str | None = None
    role: Role | None = None
    closed: bool = False
    operations: dict[int, Any] = field(default_factory=dict)
    """Multi-part operations in progress, by ``Function`` (at most one of each kind)."""
    family: int = 0
    """The session that owns this one's session objects: itself, or the session it was opened
    beside (``Session.open_sibling``). Session objects belong to the family: every member sees
    them, and they are destroyed when the family's first session closes."""

    @property
    def actor(self) -> str:
        """How the audit log names whoever acts through this session."""
        return self.username if self.username is not None else "-"


@dataclass(frozen=True, slots=True)
class _QueuedAudit:
    """An audit event waiting for the next write (see ``Core.queue_audit``)."""

    actor: str
    timestamp_ns: int
    event: str
    details: dict[str, DetailValue]


AUDIT_BATCH = 256
"""Queued audit events are written at once when this many are waiting."""


@dataclass(slots=True)
class Writer:
    """One open write: the store transaction, the audit hook and post-commit actions."""

    tx: StoreTransaction
    core: Core
    actor: str
    after: list[Callable[[], None]] = field(default_factory=list)

    def audit(self, event: str, **details: DetailValue) -> None:
        """Append an audit record in this transaction."""
        self.core.audit.record(
            self.tx,
            boot=self.core.boot,
            timestamp_ns=self.core.config.clock.now_ns(),
            event=event,
            actor=self.actor,
            details=details,
        )

    def on_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` after the transaction commits (never if it rolls back)."""
        self.after.append(action)


class _LatchingRandom:
    """The configured random source; a failed health test latches the error state."""

    def __init__(self, source: RandomSource, core: Core) -> None:
        self._source = source
        self._core = core

    def random_bytes(self, n: int) -> bytes:
        """``n`` random bytes, or the error state if the source's health test fails."""
        try:
            return self._source.random_bytes(n)
        except SelfTestFailed:
            self._core.error_state = "random source failed its continuous health test"
            raise


class Core:
    """Everything one running HSM holds."""

    def __init__(
        self,
        store: RawStore,
        config: HSMConfig,
        registry: MechanismRegistry,
        *,
        hsm_id: str,
        fips: bool,
        boot: int,
    ) -> None:
        self.store = store
        self.config = config
        self.registry = registry
        self.hsm_id = hsm_id
        self.fips = fips
        self.boot = boot
        self.lock = threading.RLock()
        self.audit = AuditLog(store)
        self.catalog = ObjectCatalog(store, cache_size=config.object_cache_size)
        self.error_state: str | None = None
        self.rng = _LatchingRandom(config.rng, self)
        self.sessions: dict[int, SessionState] = {}
        self._next_session = 0
        self._audit_queue: list[_QueuedAudit] = []
        self._audit_timer: threading.Timer | None = None

    @property
    def sealed(self) -> bool:
        """True while the storage key is not loaded."""
        return self.catalog.storage_key is None

    @property
    def activated(self) -> bool:
        """True once the unactivated admin has activated the HSM."""
        return self.store.get_meta("activated") == b"\x01"

    @contextmanager
    def write(self, actor: str, *, durable: bool = True) -> Iterator[Writer]:
        """Stage changes; commit (durably, unless told otherwise) with their audit records,
        then apply effects. ``durable=False`` is for what is not persistent state: see
        ``RawStore.transaction``."""
        with self.lock:
            writer: Writer
            queued, self._audit_queue = self._audit_queue, []
            try:
                with self.store.transaction(durable=durable) as tx:
                    if queued:  # events that happened before this write come first
                        self.audit.record_many(
                            tx,
                            self.boot,
                            ((q.timestamp_ns, q.event, q.actor, q.details) for q in queued),
                        )
                    writer = Writer(tx, self, actor)
                    yield writer
            except BaseException:
                self.audit.rolled_back()
                self._audit_queue[:0] = queued  # not lost: the next write carries them
                raise
            self.audit.committed()
            for action in writer.after:
                action()

    def audit_only(
        self, actor: str, event: str, *, durable: bool = True, **details: DetailValue
    ) -> None:
        """Write one audit record on its own (login failures, self-test results…).

        ``durable=False`` queues it instead (``queue_audit``): for events that change no
        persistent state, such as exports, session objects and logouts.
        """
        if not durable:
            self.queue_audit(actor, event, details)
            return
        with self.write(actor) as w:
            w.audit(event, **details)

    def queue_audit(self, actor: str, event: str, details: Mapping[str, DetailValue]) -> None:
        """Record an event of no persistent state without a store write per event.

        The event gets its timestamp now and its place in the hash chain when written: with
        the next write of any kind, when ``AUDIT_BATCH`` events wait, or at the latest after
        ``config.audit_flush_seconds`` (a timer), and always before the audit log is read
        or the HSM closes. The price, documented in docs/architecture.md: a crash can lose
        the events of that last interval — never a state change, which is always durable.
        """
        with self.lock:
            self._audit_queue.append(
                _QueuedAudit(actor, self.config.clock.now_ns(), event, dict(details))
            )
            if len(self._audit_queue) >= AUDIT_BATCH:
                self.flush_audit()
            elif self._audit_timer is None:
                timer = threading.Timer(self.config.audit_flush_seconds, self._timed_flush)
                timer.daemon = True
                self._audit_timer = timer
                timer.start()

    def _timed_flush(self) -> None:
        with self.lock:
            self._audit_timer = None
            # A closing or failing store: the next write (or close) carries the events.
            with contextlib.suppress(StrongroomError):
                self.flush_audit()

    def flush_audit(self) -> None:
        """Write every queued audit event now (one non-durable transaction)."""
        with self.lock:
            if self._audit_queue:
                with self.write("-", durable=False):
                    pass

    def stop_audit_timer(self) -> None:
        """Cancel a pending timed flush (the HSM is closing; it flushes itself)."""
        with self.lock:
            if self._audit_timer is not None:
                self._audit_timer.cancel()
                self._audit_timer = None

    # --- sessions and permissions --------------------------------------------------------

    def new_session(self) -> SessionState:
        """Register a new, logged-out session."""
        with self.lock:
            self._next_session += 1
            state = SessionState(self._next_session)
            state.family = state.handle
            self.sessions[state.handle] = state
            return state

    def authorize(self, session: SessionState, command: Command) -> None:
        """The one permission check: session alive, then the role × command table."""
        if session.closed or self.sessions.get(session.handle) is not session:
            raise SessionHandleInvalid("the session is closed")
        authorize(command, session.role)

    def require_operational(self) -> None:
        """Refuse crypto and key operations in the latched error state."""
        if self.error_state is not None:
            raise ErrorState(f"the HSM is in its error state ({self.error_state})")

    # --- policy ---------------------------------------------------------------------------

    def policy(self) -> dict[str, bool]:
        """HSM policies set by admins (defaults filled in)."""
        raw = self.store.get_meta("policy")
        stored = decode_cbor(raw) if raw is not None else {}
        policy = {"clear_key_import": not self.fips, "mtls_enforced": False}
        if isinstance(stored, Mapping):
            policy.update({k: bool(v) for k, v in stored.items() if k in policy})
        return policy

    @staticmethod
    def encode_policy(policy: Mapping[str, bool]) -> bytes:
        """The stored form of a policy map."""
        return encode_cbor(dict(policy))

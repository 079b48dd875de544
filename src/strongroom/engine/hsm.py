"""The HSM facade: open (or create) one HSM on a store, boot it, hand out sessions.

This module owns the HSM's life cycle. Opening a new store creates the HSM's identity,
records its FIPS mode for good and adds the unactivated admin; every open increments the
boot counter, runs the known-answer self-tests before anything else (a failure latches the
error state), and tries auto-unseal if a provider is configured. Everything else happens
through ``Session``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from strongroom.engine import admin_ops, backup_ops, user_ops
from strongroom.engine.audit import verify_chain
from strongroom.engine.backup_ops import BackupStream, RestoreResult
from strongroom.engine.config import HSMConfig
from strongroom.engine.core import Core
from strongroom.engine.identity import ServiceIdentity
from strongroom.engine.mechanisms.registry import (
    Function,
    MechanismRegistry,
    default_registry,
)
from strongroom.engine.sessions import Session
from strongroom.errors import ArgumentsBad, StoreCorrupt
from strongroom.store.api import RawStore
from strongroom.store.sealing import StorageKey

__all__ = ["HSM"]


class HSM:
    """One HSM: its state lives in ``store``; use ``open_session()`` to work with it."""

    def __init__(self, core: Core) -> None:
        self._core = core

    def __repr__(self) -> str:
        return f"HSM(hsm_id={self._core.hsm_id!r}, fips={self._core.fips})"

    @classmethod
    def open(cls, store: RawStore, config: HSMConfig | None = None) -> HSM:
        """Open the HSM held in ``store``, creating it if the store is empty."""
        config = config or HSMConfig()
        registry = default_registry()
        hsm_id_raw = store.get_meta("hsm_id")
        new = hsm_id_raw is None
        if new:
            hsm_id = config.rng.random_bytes(8).hex()
            fips = bool(config.fips_mode)
            boot = 1
        else:
            assert hsm_id_raw is not None
            hsm_id = hsm_id_raw.decode()
            fips_raw = store.get_meta("fips_mode")
            boot_raw = store.get_meta("boot")
            if fips_raw is None or boot_raw is None:
                raise StoreCorrupt("the store lacks the HSM's mode or boot counter")
            fips = fips_raw == b"\x01"
            if config.fips_mode is not None and config.fips_mode != fips:
                raise ArgumentsBad("the HSM's FIPS mode was fixed when it was created")
            boot = int.from_bytes(boot_raw, "big") + 1
        core = Core(store, config, registry, hsm_id=hsm_id, fips=fips, boot=boot)
        with core.write("hsm") as w:
            if new:
                w.tx.set_meta("hsm_id", hsm_id.encode())
                w.tx.set_meta("fips_mode", b"\x01" if fips else b"\x00")
                user_id = w.tx.allocate_user_id()
                w.tx.put_user(replace(user_ops.initial_user(core), user_id=user_id))
                w.audit("initialize", hsm_id=hsm_id, fips_mode=fips)
            w.tx.set_meta("boot", boot.to_bytes(8, "big"))
            w.audit("boot", boot=boot)
        admin_ops.run_self_tests(core, "hsm")
        backup_ops.record_manufacturer(core, config.manufacturer)
        _auto_unseal(core)
        return cls(core)

    def open_session(self) -> Session:
        """A new session with no user logged in."""
        return Session(self._core, self._core.new_session())

    def info(self) -> dict[str, object]:
        """Basic information (the same as a session's ``info()``)."""
        return admin_ops.hsm_info(self._core)

    def policy(self) -> dict[str, bool]:
        """The HSM's policies (read by the node server, e.g. for mTLS enforcement)."""
        return self._core.policy()

    def trust_anchors(self) -> list[bytes]:
        """The registered mTLS trust anchors (read by the node server at each hello)."""
        return admin_ops.trust_anchors(self._core)

    @property
    def hsm_id(self) -> str:
        """This HSM's identifier."""
        return self._core.hsm_id

    @property
    def registry(self) -> MechanismRegistry:
        """The mechanisms this HSM offers."""
        return self._core.registry

    def mechanism_info(self) -> list[dict[str, object]]:
        """Every mechanism usable in this HSM's mode (CK_MECHANISM_INFO, by meaning).

        Each entry: ``mechanism`` (number), ``min_key_size`` and ``max_key_size`` (as
        docs/mechanisms.md counts them), ``functions`` (names; in FIPS mode only the approved
        ones) and ``key_types`` (numbers).
        """
        fips = self._core.fips
        out: list[dict[str, object]] = []
        for entry in self._core.registry:
            functions = [
                bit.name.lower()
                for bit in Function
                if bit
                and bit.name
                and entry.functions & bit
                and (not fips or entry.approved_for(bit))
            ]
            if functions:
                out.append(
                    {
                        "mechanism": int(entry.mechanism),
                        "min_key_size": entry.min_key_size,
                        "max_key_size": entry.max_key_size,
                        "functions": functions,
                        "key_types": sorted(int(k) for k in entry.key_types),
                    }
                )
        return out

    # --- backups (the service drives these; no user session is involved) -------------------

    def configure_service(self, service: ServiceIdentity) -> None:
        """Install the service identity (the AKBK); once, as CloudHSM's service does."""
        backup_ops.configure_service(self._core, service)

    def backup(self) -> BackupStream:
        """Start a sealed backup of the whole state; iterate ``.chunks()`` for its bytes."""
        return backup_ops.create_backup(self._core)

    def restore(self, stream: Iterable[bytes], *, force: bool = False) -> RestoreResult:
        """Replace the whole state with a backup's, all or nothing (``force``: allow rollback)."""
        return backup_ops.restore_backup(self._core, stream, force=force)

    def verify_audit(self) -> int:
        """Verify the whole audit chain; returns its length, raises AUDIT_CHAIN_BROKEN."""
        return verify_chain(self._core.store.audit_records())

    def close(self) -> None:
        """Close every session and release the store."""
        with self._core.lock:
            for state in list(self._core.sessions.values()):
                Session(self._core, state).close()
            self._core.stop_audit_timer()
            self._core.flush_audit()
            self._core.catalog.storage_key = None
            self._core.store.close()


def _auto_unseal(core: Core) -> None:
    provider = core.config.unseal_provider
    blob = core.store.get_meta("auto_unseal")
    if provider is None or blob is None:
        return
    try:
        key = StorageKey(provider.unwrap(blob), core.rng)
    except Exception:
        core.audit_only("hsm", "unseal-failed", provider=provider.name)
        return
    user_ops.install_storage_key(core, key, "hsm")

"""Crash safety: an HSM process killed with SIGKILL at random moments loses no acknowledged key.

A child process (``crash_worker.py``) creates TOKEN AES-256 keys on a SQLite store and
prints each key's label once ``generate_key`` has returned. The parent kills it at random
moments — during start-up, log-in and, mostly, in the middle of its key-generation loop —
and after every kill reopens the store and checks that it is intact, that the audit chain
verifies, that the admin can still unseal it, and that every acknowledged key is there
exactly once and works.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from strongroom.constants import Attribute, Mechanism
from strongroom.engine import HSM
from strongroom.store.sqlite import SQLiteStore
from strongroom.testing import fast_config

from .crash_worker import READY
from .engine_helpers import ADMIN_PASSWORD, ALICE_PASSWORD

WORKER = Path(__file__).with_name("crash_worker.py")
CYCLES = 30
EARLY_EVERY = 3
"""Every third cycle is killed after a random delay from spawn, whatever it is doing."""
ACK_TIMEOUT_S = 20.0


class Worker:
    """One run of the crash worker, with its stdout lines collected by a reader thread."""

    def __init__(self, store_path: Path, prefix: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "engine.crash_worker", str(store_path), prefix],
            cwd=WORKER.parents[1],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._lines: list[str] = []
        self._stderr = ""
        self._eof = False
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            if raw.endswith(b"\n"):  # a torn last line is not an acknowledgement
                with self._cond:
                    self._lines.append(raw[:-1].decode())
                    self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def wait_for_acks(self, count: int) -> None:
        """Block until the worker is ready and has acknowledged ``count`` keys."""
        with self._cond:
            done = self._cond.wait_for(
                lambda: self._eof or len(self._lines) >= count + 1, timeout=ACK_TIMEOUT_S
            )
        if not done or self._eof:
            self.kill()
            pytest.fail(f"the worker stopped before acknowledging {count} keys")

    def kill(self) -> list[str]:
        """SIGKILL the worker; returns the labels it acknowledged."""
        self.proc.kill()
        self.proc.wait()
        self._reader.join()
        assert self.proc.stdout is not None
        assert self.proc.stderr is not None
        self.proc.stdout.close()
        with self.proc.stderr:
            self._stderr = self.proc.stderr.read().decode(errors="replace")[-2000:]
        assert self.proc.returncode == -signal.SIGKILL, (
            f"the worker exited by itself (rc {self.proc.returncode}): {self._stderr}"
        )
        lines = list(self._lines)
        if lines:
            assert lines[0] == READY
        return lines[1:]


def check_store(path: Path, acked: list[str], cycles_run: int, context: str) -> None:
    """Reopen the store and check integrity, audit, unseal and every acknowledged key."""
    store = SQLiteStore(path)
    try:
        store.integrity_check()
    except BaseException:
        store.close()
        raise
    hsm = HSM.open(store, fast_config())
    try:
        assert hsm.verify_audit() > 0, context
        admin = hsm.open_session()
        admin.login("admin", ADMIN_PASSWORD)
        assert hsm.info()["sealed"] is False, context
        alice = hsm.open_session()
        alice.login("alice", ALICE_PASSWORD)
        # Each kill can leave at most one committed key that was never acknowledged.
        count = hsm.info()["token_objects"]
        assert isinstance(count, int)
        assert len(acked) <= count <= len(acked) + cycles_run, context
        for label in acked:
            handles = alice.find_objects({Attribute.LABEL: label})
            assert len(handles) == 1, f"{context}: {label} found {len(handles)} times"
            ciphertext = alice.encrypt(handles[0], Mechanism.AES_GCM, label.encode())
            assert alice.decrypt(handles[0], Mechanism.AES_GCM, ciphertext) == label.encode()
    finally:
        hsm.close()


@pytest.mark.slow
def test_acknowledged_keys_survive_sigkill(tmp_path: Path) -> None:
    """Every key acknowledged before any of 30 random SIGKILLs is present, unique and usable."""
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    path = tmp_path / "hsm.db"
    acked: list[str] = []
    mid_loop_kills = 0
    for cycle in range(CYCLES):
        context = f"seed {seed}, cycle {cycle}"
        worker = Worker(path, f"c{cycle:02d}")
        # Cycle 0 must finish set-up (activation, alice) so every check below can log in.
        if cycle % EARLY_EVERY == 0 and cycle > 0:
            time.sleep(rng.uniform(0.0, 0.5))
        else:
            worker.wait_for_acks(rng.randint(1, 60))
            time.sleep(rng.uniform(0.0, 0.004))
        labels = worker.kill()
        if labels:
            mid_loop_kills += 1
        acked.extend(labels)
        check_store(path, acked, cycle + 1, context)
    assert mid_loop_kills >= CYCLES - CYCLES // EARLY_EVERY, f"seed {seed}"
    assert len(set(acked)) == len(acked)

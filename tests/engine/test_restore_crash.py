"""A restore killed with SIGKILL at any moment leaves the old state or the new one, whole."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from strongroom.constants import Attribute, Mechanism
from strongroom.engine import HSM, admin_ops
from strongroom.store.sqlite import SQLiteStore
from strongroom.testing import fake_manufacturer, fake_service, fast_config

from .engine_helpers import ALICE_PASSWORD, activate

CYCLES = 12
TESTS_DIR = Path(__file__).resolve().parents[1]


def _hsm(path: Path) -> HSM:
    hsm = HSM.open(SQLiteStore(path), fast_config(manufacturer=fake_manufacturer()))
    hsm.configure_service(fake_service())
    return hsm


def _populated(path: Path, keys: int) -> None:
    hsm = _hsm(path)
    activate(hsm)
    alice = hsm.open_session()
    alice.login("alice", ALICE_PASSWORD)
    for i in range(keys):
        alice.generate_key(
            Mechanism.AES_KEY_GEN,
            {Attribute.VALUE_LEN: 16, Attribute.TOKEN: True, Attribute.LABEL: f"{path.stem}-{i}"},
        )
    hsm.close()


def _digest(path: Path) -> str:
    hsm = _hsm(path)
    try:
        return admin_ops.sync_digest(hsm._core)
    finally:
        hsm.close()


def test_restore_is_all_or_nothing_under_sigkill(tmp_path: Path) -> None:
    """Twelve restores killed at random moments: each store is wholly old or wholly new."""
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    _populated(tmp_path / "source.db", 3000)
    source = _hsm(tmp_path / "source.db")
    with source.backup() as stream:
        (tmp_path / "backup.bin").write_bytes(b"".join(stream.chunks()))
    source.close()
    _populated(tmp_path / "target.db", 5)
    old, new = _digest(tmp_path / "target.db"), _digest(tmp_path / "source.db")
    outcomes = set()
    for cycle in range(CYCLES):
        work = tmp_path / f"work-{cycle}.db"
        shutil.copyfile(tmp_path / "target.db", work)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "engine.restore_crash_worker",
                str(work),
                str(tmp_path / "backup.bin"),
            ],
            cwd=TESTS_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"started", f"seed {seed}"
        time.sleep(rng.uniform(0.0, 0.12))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        finished = b"done" in out
        got = _digest(work)
        assert got in (old, new), f"seed {seed}, cycle {cycle}: a mixture of states"
        if finished:
            assert got == new, f"seed {seed}, cycle {cycle}"
        outcomes.add(got)
    assert old in outcomes, f"seed {seed}: no kill landed mid-restore"

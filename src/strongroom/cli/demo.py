"""``strongroom demo``: a short tour of one HSM engine, printing what it does.

This module owns the demo only. It creates (or reopens) an HSM in a data directory,
activates it, creates a crypto user, generates and uses keys, restarts the HSM to show
the keys survive, and verifies the audit chain. Passwords it makes are random and are
written to the data directory with 0600 permissions, never printed.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path

from strongroom.constants import Attribute, Mechanism, Role
from strongroom.crypto.asymmetric import ec_params_for_curve
from strongroom.engine import HSM, GCMParams, HSMConfig
from strongroom.store.sqlite import SQLiteStore

__all__ = ["run_demo"]


def _say(text: str) -> None:
    print(f"  {text}", flush=True)


def _credentials(data_dir: Path) -> dict[str, str]:
    path = data_dir / "demo-credentials.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    creds = {
        "admin_password": secrets.token_urlsafe(18),
        "crypto_user": "demo_cu",
        "crypto_user_password": secrets.token_urlsafe(18),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(creds, handle)
    return creds


def run_demo(data_dir: Path) -> int:
    """Run the engine tour in ``data_dir``; returns an exit code."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    creds = _credentials(data_dir)
    db = data_dir / "hsm.db"
    print(f"Strongroom engine demo (state in {db})")
    started = time.perf_counter()
    hsm = HSM.open(SQLiteStore(db), HSMConfig())
    info = hsm.info()
    _say(f"opened HSM {info['hsm_id']} (boot {info['boot']}, FIPS mode {info['fips_mode']})")
    _say("start-up self-tests passed" if info["error_state"] is None else "SELF-TEST FAILED")
    with hsm.open_session() as s:
        if not info["activated"]:
            s.login("admin", "password")
            s.activate(creds["admin_password"])
            _say("activated: the unactivated admin set the admin password; storage key created")
            s.create_user(creds["crypto_user"], creds["crypto_user_password"], Role.CRYPTO_USER)
            _say(f"admin created crypto user {creds['crypto_user']!r}")
        else:
            s.login("admin", creds["admin_password"])
            _say("admin logged in: storage key unsealed")
        s.logout()
    with hsm.open_session() as s:
        s.login(creds["crypto_user"], creds["crypto_user_password"])
        label = f"demo-aes-{info['boot']}"
        aes = s.generate_key(
            Mechanism.AES_KEY_GEN,
            {Attribute.VALUE_LEN: 32, Attribute.TOKEN: True, Attribute.LABEL: label},
        )
        sealed = s.encrypt(aes, Mechanism.AES_GCM, b"attack at dawn", GCMParams())
        assert s.decrypt(aes, Mechanism.AES_GCM, sealed, GCMParams()) == b"attack at dawn"
        _say(f"generated token AES-256 key {label!r} (handle {aes}); AES-GCM round trip ok")
        pub, priv = s.generate_key_pair(
            Mechanism.EC_KEY_PAIR_GEN,
            {Attribute.EC_PARAMS: ec_params_for_curve("secp256r1"), Attribute.TOKEN: True},
            {Attribute.TOKEN: True, Attribute.LABEL: f"demo-p256-{info['boot']}"},
        )
        signature = s.sign(priv, Mechanism.ECDSA_SHA256, b"hello")
        s.verify(pub, Mechanism.ECDSA_SHA256, b"hello", signature)
        _say(f"generated P-256 key pair (handles {pub}, {priv}); ECDSA sign/verify ok")
        try:
            s.get_attributes(aes, [Attribute.VALUE])
        except Exception as exc:
            _say(f"reading the AES key's value is refused: {exc}")
        total = len(s.find_objects({Attribute.TOKEN: True}))
        _say(f"crypto user sees {total} token objects")
    hsm.close()
    hsm = HSM.open(SQLiteStore(db), HSMConfig())
    with hsm.open_session() as s:
        s.login("admin", creds["admin_password"])
        s.logout()
        s.login(creds["crypto_user"], creds["crypto_user_password"])
        (again,) = s.find_objects({Attribute.LABEL: label})
        s.decrypt(again, Mechanism.AES_GCM, sealed, GCMParams())
        _say(f"after restart (boot {hsm.info()['boot']}): key {label!r} still decrypts")
    records = hsm.verify_audit()
    _say(f"audit chain verified: {records} records, hash-chained, no gaps")
    hsm.close()
    print(f"done in {time.perf_counter() - started:.2f}s; rerun to reuse {data_dir}")
    return 0

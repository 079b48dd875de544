"""Child process for the crash test: create token keys forever and acknowledge each one.

Run as ``python crash_worker.py STORE_PATH LABEL_PREFIX``. It opens (or creates) the HSM in
the SQLite store, activates it and creates alice if an earlier run did not get that far,
logs in as admin (which unseals the storage key) and as alice, then generates TOKEN AES-256
keys labelled ``LABEL_PREFIX-00000``, ``-00001``… Each label is printed and flushed only
after ``generate_key`` has returned, so a printed label is a key the HSM acknowledged as
durable. The parent kills this process with SIGKILL at random moments.
"""

from __future__ import annotations

import sys

from strongroom.constants import Attribute, Mechanism, Role
from strongroom.engine import HSM
from strongroom.store.sqlite import SQLiteStore
from strongroom.testing import fast_config

from .engine_helpers import ADMIN_PASSWORD, ALICE_PASSWORD

READY = "ready"
"""Printed once the worker is logged in and about to start its loop."""


def main(argv: list[str]) -> None:
    """Open the HSM, finish any interrupted set-up, then create keys until killed."""
    path, prefix = argv
    hsm = HSM.open(SQLiteStore(path), fast_config())
    admin = hsm.open_session()
    if hsm.info()["activated"]:
        admin.login("admin", ADMIN_PASSWORD)
    else:
        admin.login("admin", "password")
        admin.activate(ADMIN_PASSWORD)
    if "alice" not in {user.username for user in admin.list_users()}:
        admin.create_user("alice", ALICE_PASSWORD, Role.CRYPTO_USER)
    alice = hsm.open_session()
    alice.login("alice", ALICE_PASSWORD)
    print(READY, flush=True)
    n = 0
    while True:
        label = f"{prefix}-{n:05d}"
        alice.generate_key(
            Mechanism.AES_KEY_GEN,
            {Attribute.VALUE_LEN: 32, Attribute.TOKEN: True, Attribute.LABEL: label},
        )
        print(label, flush=True)
        n += 1


if __name__ == "__main__":
    main(sys.argv[1:])

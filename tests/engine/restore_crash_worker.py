"""Child process for the restore crash test: restore a backup file onto an HSM store.

Run as ``python -m engine.restore_crash_worker STORE_PATH BACKUP_PATH``. It prints ``started``
just before the restore and ``done`` after it returned; the parent kills it with SIGKILL at
random moments and checks the store holds the old state or the new one, never a mixture.
"""

from __future__ import annotations

import sys
from pathlib import Path

from strongroom.engine import HSM
from strongroom.store.sqlite import SQLiteStore
from strongroom.testing import fake_manufacturer, fake_service, fast_config


def main(argv: list[str]) -> None:
    """Restore the backup file, reading it in 64 KiB pieces."""
    store_path, backup_path = argv
    hsm = HSM.open(SQLiteStore(store_path), fast_config(manufacturer=fake_manufacturer()))
    hsm.configure_service(fake_service())
    data = Path(backup_path).read_bytes()
    print("started", flush=True)
    hsm.restore(data[i : i + 65536] for i in range(0, len(data), 65536))
    print("done", flush=True)
    hsm.close()


if __name__ == "__main__":
    main(sys.argv[1:])

"""Child process for the filesystem object-store crash test: overwrite one key forever.

Run as ``python -m backup.objectstore_crash_worker ROOT FIRST`` from ``tests/``. It opens a
``FilesystemObjectStore`` at ROOT, prints ``ready``, then for n = FIRST, FIRST + 1, … puts
``content(n)`` under ``KEY`` in 64 KiB chunks with metadata ``{"n": str(n)}``. Each n is
printed and flushed only after ``put`` has returned, so a printed n is an object the store
acknowledged as durable. The parent kills this process with SIGKILL at random moments.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator

from strongroom.backup.objectstore import FilesystemObjectStore

KEY = "crash/object"
READY = "ready"
CHUNK = 64 * 1024


def content(n: int) -> bytes:
    """The bytes of put number ``n``: up to 2 MiB, different for every n."""
    rng = random.Random(n)
    return rng.randbytes(rng.randrange(0, 2 << 20))


def _chunks(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), CHUNK):
        yield data[start : start + CHUNK]


def main(argv: list[str]) -> None:
    """Open the store and overwrite ``KEY`` until killed, acknowledging every put."""
    root, first = argv
    store = FilesystemObjectStore(root)
    print(READY, flush=True)
    n = int(first)
    while True:
        store.put(KEY, _chunks(content(n)), metadata={"n": str(n)})
        print(n, flush=True)
        n += 1


if __name__ == "__main__":
    main(sys.argv[1:])

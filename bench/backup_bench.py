"""Backup benchmark: backup and restore of 10k / 100k / 1M keys beside raw AES-KWP.

Run on demand, never in CI::

    python bench/backup_bench.py [--sizes 10000,100000,1000000] [--dir DIR] [--json out.json]

For each size, a child process (so peak memory is its own) builds an HSM on a SQLite store
with that many token keys (records shaped like sealed AES-256 keys: ~60 bytes of clear
attributes, a 76-byte sealed blob), then measures:

* **backup** — ``HSM.backup()`` streamed to a file: keys/s, MB/s of backup bytes;
* **restore** — ``HSM.restore()`` of that file onto a second, fresh HSM of the same
  manufacturer and service, in one transaction: keys/s, MB/s;
* **raw KWP** — pyca/cryptography's ``aes_key_wrap_with_padding`` and unwrap over the same
  number of bytes in the same 512-record chunk sizes: the floor for the sealing itself;
* **through the service** — ``BackupService.create_backup`` (KMS envelope under a local key
  file, then a filesystem object store with its checksum) and ``restore_to_hsm``, the same
  state both ways;
* **peak memory growth** — the child's peak RSS during each step minus its RSS just before
  (sampled every 5 ms from /proc/self/statm; the population's memory is not counted).

Targets (issue 4): ≥ 20,000 keys/s each way; peak memory growth < 200 MB at 1M keys.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

_PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


class _PeakRSS:
    """Samples RSS in a thread; ``growth`` is the peak minus the RSS at start."""

    def __init__(self) -> None:
        self.start = _rss()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _rss())

    def __enter__(self) -> _PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / 1e6


def _child(size: int, directory: Path) -> dict[str, Any]:
    """One size, measured in this (fresh) process."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from cryptography.hazmat.primitives.keywrap import (
        aes_key_unwrap_with_padding,
        aes_key_wrap_with_padding,
    )

    from strongroom.constants import Role
    from strongroom.engine import HSM
    from strongroom.store.api import ObjectRecord
    from strongroom.store.sqlite import SQLiteStore
    from strongroom.testing import fake_manufacturer, fake_service, fast_config

    def make(name: str) -> HSM:
        hsm = HSM.open(SQLiteStore(directory / name), fast_config(manufacturer=fake_manufacturer()))
        hsm.configure_service(fake_service())
        return hsm

    source = make("source.db")
    admin = source.open_session()
    admin.login("admin", "password")
    admin.activate("admin-password-1")
    admin.create_user("alice", "alice-password-1", Role.CRYPTO_USER)
    store = source._core.store
    t = time.perf_counter()
    with store.transaction() as tx:
        for i in range(size):
            handle = tx.allocate_handle()
            public = b"\xa8" + os.urandom(59)
            tx.put_object(
                ObjectRecord(handle, 4, 0x1F, f"key-{i}", b"", 2, True, public, os.urandom(76))
            )
    populate = time.perf_counter() - t

    path = directory / "backup.bin"
    with _PeakRSS() as backup_mem, path.open("wb") as out:
        t = time.perf_counter()
        with source.backup() as stream:
            for piece in stream.chunks():
                out.write(piece)
        backup_s = time.perf_counter() - t
    nbytes = path.stat().st_size
    source.close()

    target = make("target.db")

    def read() -> Any:
        with path.open("rb") as f:
            while piece := f.read(1 << 20):
                yield piece

    with _PeakRSS() as restore_mem:
        t = time.perf_counter()
        result = target.restore(read())
        restore_s = time.perf_counter() - t
    assert result.objects == size
    target.close()

    # Through the service: KMS envelope + filesystem object store (local KMS), both ways.
    from strongroom.backup.kms.local import LocalKMS
    from strongroom.backup.objectstore.filesystem import FilesystemObjectStore
    from strongroom.backup.service import BackupService, Region

    kms = LocalKMS(directory / "kms.keys")
    kms.create_key("bench")
    service = BackupService(
        {"local": Region("local", FilesystemObjectStore(directory / "objects"), kms, "bench")}
    )
    source = HSM.open(
        SQLiteStore(directory / "source.db"), fast_config(manufacturer=fake_manufacturer())
    )
    with _PeakRSS() as service_backup_mem:
        t = time.perf_counter()
        entry = service.create_backup(source, cluster_id="bench", region="local")
        service_backup_s = time.perf_counter() - t
    source.close()
    target2 = make("target2.db")
    with _PeakRSS() as service_restore_mem:
        t = time.perf_counter()
        service.restore_to_hsm(entry.backup_id, target2)
        service_restore_s = time.perf_counter() - t
    target2.close()

    # Raw KWP over the same bytes in the same chunk sizes (512 records per chunk).
    chunks = max(1, -(-size // 512))
    chunk = os.urandom(max(16, nbytes // chunks))
    key = os.urandom(32)
    t = time.perf_counter()
    wrapped = [aes_key_wrap_with_padding(key, chunk) for _ in range(chunks)]
    wrap_s = time.perf_counter() - t
    t = time.perf_counter()
    for w in wrapped:
        aes_key_unwrap_with_padding(key, w)
    unwrap_s = time.perf_counter() - t
    return {
        "size": size,
        "populate_s": populate,
        "backup_bytes": nbytes,
        "backup_s": backup_s,
        "restore_s": restore_s,
        "backup_mem_mb": backup_mem.growth_mb,
        "restore_mem_mb": restore_mem.growth_mb,
        "raw_wrap_s": wrap_s,
        "raw_unwrap_s": unwrap_s,
        "service_backup_s": service_backup_s,
        "service_restore_s": service_restore_s,
        "service_backup_mem_mb": service_backup_mem.growth_mb,
        "service_restore_mem_mb": service_restore_mem.growth_mb,
    }


def _service_row(r: dict[str, Any]) -> str:
    n = r["size"]
    cells = [
        f"{n:,}",
        f"{n / r['service_backup_s']:,.0f}",
        f"{r['service_backup_mem_mb']:.1f}",
        f"{n / r['service_restore_s']:,.0f}",
        f"{r['service_restore_mem_mb']:.1f}",
    ]
    return "| " + " | ".join(cells) + " |"


def _row(r: dict[str, Any]) -> str:
    n, mb = r["size"], r["backup_bytes"] / 1e6
    cells = [
        f"{n:,}",
        f"{mb:.1f}",
        f"{n / r['backup_s']:,.0f}",
        f"{mb / r['backup_s']:.1f}",
        f"{r['backup_mem_mb']:.1f}",
        f"{n / r['restore_s']:,.0f}",
        f"{mb / r['restore_s']:.1f}",
        f"{r['restore_mem_mb']:.1f}",
        f"{mb / r['raw_wrap_s']:.1f}",
        f"{mb / r['raw_unwrap_s']:.1f}",
    ]
    return "| " + " | ".join(cells) + " |"


def main() -> int:
    """Run every size in its own process and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(_child(args.child, args.dir)))
        return 0
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(size), "--dir", tmp],
                check=True,
                capture_output=True,
                text=True,
            )
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"  {size:,} keys: done", file=sys.stderr)
    import cryptography

    print(f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"- python {platform.python_version()}, cryptography {cryptography.__version__}")
    print(f"- cpu: {platform.processor() or platform.machine()}, {os.cpu_count()} cores\n")
    print(
        "| keys | backup MB | backup keys/s | backup MB/s | backup peak +MB | restore keys/s"
        " | restore MB/s | restore peak +MB | raw KWP wrap MB/s | raw KWP unwrap MB/s |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(_row(r))
    print("\nThrough the service (KMS envelope with a local key file, filesystem object store):\n")
    print("| keys | backup keys/s | backup peak +MB | restore keys/s | restore peak +MB |")
    print("|---:|---:|---:|---:|---:|")
    for r in results:
        print(_service_row(r))
    ok = all(
        r["size"] / r["backup_s"] >= 20_000 and r["size"] / r["restore_s"] >= 20_000
        for r in results
    )
    big = [r for r in results if r["size"] >= 1_000_000]
    mem_ok = all(max(r["backup_mem_mb"], r["restore_mem_mb"]) < 200 for r in big)
    print(f"\n- ≥ 20,000 keys/s each way: {'met' if ok else 'MISSED'}")
    if big:
        print(f"- peak memory growth < 200 MB at 1M keys: {'met' if mem_ok else 'MISSED'}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

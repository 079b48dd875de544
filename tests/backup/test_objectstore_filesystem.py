"""The filesystem object store: its layout, crash safety, damage detection and clean-up.

The behaviour every store shares is in ``test_objectstore.py``; these tests look at the
files themselves: permissions, the record that commits an object, what an interrupted or
killed put leaves behind, and how damaged records and data files are reported.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from strongroom.backup.objectstore import FilesystemObjectStore
from strongroom.backup.objectstore.filesystem import RECORD_FORMAT
from strongroom.errors import ObjectCorrupt, ObjectStoreError

from .objectstore_crash_worker import KEY, READY, content
from .objectstore_helpers import payload, read_all

TESTS_DIR = Path(__file__).parents[1]
CRASH_CYCLES = 20


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def store(root: Path) -> FilesystemObjectStore:
    return FilesystemObjectStore(root)


def _files(root: Path) -> list[str]:
    """Every file under ``root``, as sorted paths relative to it."""
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def _record(root: Path, key: str) -> dict[str, object]:
    doc = json.loads((root / f"{key}.meta.json").read_text())
    assert isinstance(doc, dict)
    return doc


def _data_path(root: Path, key: str) -> Path:
    return (root / key).parent / str(_record(root, key)["data"])


# --- layout ---------------------------------------------------------------------------------------


def test_layout_and_permissions(store: FilesystemObjectStore, root: Path) -> None:
    """An object is a 0600 record naming a 0600 raw data file, in 0700 directories."""
    data = payload(1, 5000)
    stored = store.put("a/b/obj", [data], metadata={"k": "v"})
    record = _record(root, "a/b/obj")
    assert record == {
        "format": RECORD_FORMAT,
        "key": "a/b/obj",
        "size": 5000,
        "sha256": hashlib.sha256(data).hexdigest(),
        "metadata": {"k": "v"},
        "data": record["data"],
    }
    assert stored.sha256 == record["sha256"]
    assert _data_path(root, "a/b/obj").read_bytes() == data
    assert _files(root) == sorted(["a/b/obj.meta.json", f"a/b/{record['data']}"])
    for directory in (root, root / "a", root / "a/b"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for name in _files(root):
        assert stat.S_IMODE((root / name).stat().st_mode) == 0o600


def test_overwrite_leaves_one_data_file(store: FilesystemObjectStore, root: Path) -> None:
    """Each put writes a fresh data file and removes the one the old record named."""
    for n in range(3):
        store.put("k", [payload(n, 100)])
    record = _record(root, "k")
    assert _files(root) == sorted(["k.meta.json", str(record["data"])])


def test_key_and_key_prefix_coexist(store: FilesystemObjectStore, root: Path) -> None:
    """Objects "a" and "a/b" live side by side, as in S3."""
    store.put("a", [b"1"])
    store.put("a/b", [b"2"])
    assert read_all(store, "a") == b"1"
    assert read_all(store, "a/b") == b"2"


def test_root_is_created_private(tmp_path: Path) -> None:
    """A missing root is created with mode 0700; a root that is a file is refused."""
    root = tmp_path / "new" / "root"
    FilesystemObjectStore(root)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(ObjectStoreError):
        FilesystemObjectStore(tmp_path / "file")


def test_something_in_the_way_is_a_store_error(store: FilesystemObjectStore, root: Path) -> None:
    """A foreign file where a key's directory should be gives ObjectStoreError."""
    (root / "a").write_bytes(b"not a directory")
    with pytest.raises(ObjectStoreError):
        store.put("a/b", [b"x"])
    assert store.head("a/b") is None


def test_repr_names_the_root(store: FilesystemObjectStore, root: Path) -> None:
    """The repr shows the provider and its root."""
    assert repr(store) == f"FilesystemObjectStore(root={str(root)!r})"
    assert store.name == "filesystem"


# --- interrupted and concurrent puts -------------------------------------------------------------


def test_interrupted_put_leaves_no_files(store: FilesystemObjectStore, root: Path) -> None:
    """A put whose source raises midway removes its temp and data files at once."""

    def failing() -> Iterator[bytes]:
        yield payload(1, 300_000)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.put("x/y", failing())
    assert _files(root) == []
    assert store.cleanup(min_age_s=0) == 0


def test_reader_keeps_its_version_across_an_overwrite(store: FilesystemObjectStore) -> None:
    """A get that started before an overwrite reads the old version whole, and verifies it."""
    old, new = payload(1, 300_000), payload(2, 200_000)
    store.put("k", [old])
    reader = store.get("k", chunk_size=50_000)
    first = next(reader)
    store.put("k", [new])
    assert first + b"".join(reader) == old
    assert read_all(store, "k") == new


@pytest.mark.slow
def test_kill_9_mid_put_leaves_the_old_or_the_new_object(root: Path) -> None:
    """A worker killed with SIGKILL at any moment of a put leaves the old or the new object.

    Never a visible object whose bytes do not match its checksum, never a lost acknowledged
    put; ``cleanup`` then removes every temp and unreferenced data file it left behind.
    """
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    visible: int | None = None
    first = 0
    for cycle in range(CRASH_CYCLES):
        worker = subprocess.Popen(
            [sys.executable, "-m", "backup.objectstore_crash_worker", str(root), str(first)],
            cwd=TESTS_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert worker.stdout is not None
        seen = b""
        if cycle % 4 == 3:  # now and then, kill it wherever it is, start-up included
            time.sleep(rng.uniform(0, 0.3))
        else:
            for _ in range(1 + rng.randrange(3)):  # "ready", then up to two acknowledgements
                seen += worker.stdout.readline()
            time.sleep(rng.uniform(0, 0.03))
        worker.send_signal(signal.SIGKILL)
        out, err = worker.communicate(timeout=30)
        assert worker.returncode == -signal.SIGKILL, err.decode()
        lines = (seen + out).decode().split("\n")[:-1]  # a torn last line acknowledges nothing
        acked = [int(line) for line in lines if line != READY]
        in_flight = acked[-1] + 1 if acked else first
        allowed = {in_flight, acked[-1] if acked else visible}

        store = FilesystemObjectStore(root)
        found = store.head(KEY)
        context = f"seed {seed}, cycle {cycle}, acked {acked}, before {visible}"
        if found is None:
            assert visible is None, context
            assert not acked, context
        else:
            n = int(found.metadata["n"])
            assert n in allowed, context
            assert read_all(store, KEY) == content(n), context
            assert found.sha256 == hashlib.sha256(content(n)).hexdigest(), context
            visible = n
        assert [obj.key for obj in store.list()] == ([] if found is None else [KEY])
        first = in_flight + 1

    store = FilesystemObjectStore(root)
    store.cleanup(min_age_s=0)
    leftover = _files(root)
    if visible is None:
        assert leftover == []
    else:
        assert leftover == sorted(
            [f"{KEY}.meta.json", str(_data_path(root, KEY).relative_to(root))]
        )


# --- damage --------------------------------------------------------------------------------------


def _damage_record(root: Path, key: str, changes: dict[str, object]) -> None:
    record = _record(root, key)
    record.update(changes)
    (root / f"{key}.meta.json").write_text(json.dumps(record))


def _assert_corrupt_everywhere(store: FilesystemObjectStore, key: str) -> None:
    with pytest.raises(ObjectCorrupt):
        store.head(key)
    with pytest.raises(ObjectCorrupt):
        read_all(store, key)
    with pytest.raises(ObjectCorrupt):
        list(store.list())


@pytest.mark.parametrize(
    "changes",
    [
        {"format": "something-else/1"},
        {"key": "other"},
        {"size": -1},
        {"size": True},
        {"sha256": "A" * 64},
        {"metadata": {"Bad Key": "x"}},
        {"data": "../../outside.0123456789abcdef.data"},
        {"data": "other.0123456789abcdef.data"},
        {"extra": 1},
    ],
)
def test_damaged_record_is_corrupt(
    store: FilesystemObjectStore, root: Path, changes: dict[str, object]
) -> None:
    """A record with a wrong field is reported as ObjectCorrupt by head, get and list."""
    store.put("obj", [b"data"])
    _damage_record(root, "obj", changes)
    _assert_corrupt_everywhere(store, "obj")


def test_unreadable_record_is_corrupt_and_can_be_deleted(
    store: FilesystemObjectStore, root: Path
) -> None:
    """A record that is not JSON is ObjectCorrupt; delete removes it and put starts afresh."""
    store.put("obj", [b"data"])
    (root / "obj.meta.json").write_bytes(b"\x00not json")
    _assert_corrupt_everywhere(store, "obj")
    store.delete("obj")
    assert store.head("obj") is None
    store.put("obj", [b"again"])
    assert read_all(store, "obj") == b"again"


def test_changed_checksum_is_detected(store: FilesystemObjectStore, root: Path) -> None:
    """A record whose SHA-256 was edited makes get raise ObjectCorrupt after the last chunk."""
    store.put("obj", [b"data"])
    _damage_record(root, "obj", {"sha256": hashlib.sha256(b"other").hexdigest()})
    with pytest.raises(ObjectCorrupt):
        read_all(store, "obj")


@pytest.mark.parametrize("damage", ["truncate", "extend", "remove"])
def test_damaged_data_file_is_corrupt(
    store: FilesystemObjectStore, root: Path, damage: str
) -> None:
    """A data file shortened, lengthened or removed is ObjectCorrupt for head, get and list."""
    store.put("obj", [payload(3, 1000)])
    path = _data_path(root, "obj")
    if damage == "truncate":
        os.truncate(path, 999)
    elif damage == "extend":
        with open(path, "ab") as fh:
            fh.write(b"!")
    else:
        path.unlink()
    _assert_corrupt_everywhere(store, "obj")


def test_reader_stops_at_extra_bytes(store: FilesystemObjectStore, root: Path) -> None:
    """get raises ObjectCorrupt as soon as the data runs past the recorded size."""
    store.put("obj", [payload(3, 1000)])
    reader = store.get("obj", chunk_size=600)
    with open(_data_path(root, "obj"), "ab") as fh:
        fh.write(payload(4, 1000))
    assert len(next(reader)) == 600
    with pytest.raises(ObjectCorrupt):
        next(reader)


# --- clean-up ------------------------------------------------------------------------------------


def test_cleanup_removes_only_old_debris(store: FilesystemObjectStore, root: Path) -> None:
    """cleanup removes old temp and unreferenced data files, never young ones or live objects."""
    store.put("d/live", [b"live"])
    store.put("d/damaged", [b"keep me"])
    damaged_data = _data_path(root, "d/damaged").name
    (root / "d/damaged.meta.json").write_bytes(b"{broken")
    temp = root / "d" / ".0123456789abcdef.tmp"
    orphan = root / "d" / "live.fedcba9876543210.data"
    temp.write_bytes(b"half")
    orphan.write_bytes(b"old")
    assert sorted(obj.key for obj in store.list("d/live")) == ["d/live"]
    assert store.cleanup() == 0  # both are younger than the safety margin
    past = time.time() - 7200
    for path in (temp, orphan, root / "d" / damaged_data):
        os.utime(path, (past, past))
    assert store.cleanup() == 2
    assert _files(root) == sorted(
        [
            "d/damaged.meta.json",
            f"d/{damaged_data}",  # a damaged record's data is kept for a person to look at
            "d/live.meta.json",
            f"d/{_data_path(root, 'd/live').name}",
        ]
    )
    assert read_all(store, "d/live") == b"live"

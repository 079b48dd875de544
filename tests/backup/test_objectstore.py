"""One conformance suite for every object store: the filesystem and S3 (a real SeaweedFS).

Each test runs against both providers with a fresh store (a new directory, a new bucket),
and states the behaviour of the ``ObjectStore`` contract in ``objectstore.api``.
"""

from __future__ import annotations

import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from strongroom.backup.objectstore import StoredObject
from strongroom.backup.objectstore.s3 import PART_SIZE
from strongroom.errors import ArgumentsBad, ObjectCorrupt, ObjectNotFound

from .objectstore_helpers import (
    Backend,
    chunked,
    filesystem_backend,
    payload,
    read_all,
    s3_backend,
    stream,
)
from .services import S3Service

MiB = 1 << 20
PER_EXAMPLE = settings(max_examples=8, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(params=["filesystem", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """A fresh store of each provider (S3 starts SeaweedFS only when first asked)."""
    if request.param == "filesystem":
        return filesystem_backend(tmp_path / "store")
    service: S3Service = request.getfixturevalue("seaweedfs")
    return s3_backend(service, service.create_bucket())


def _fresh_key() -> str:
    return f"round-trip/{uuid.uuid4().hex}.bin"


# --- round trips -------------------------------------------------------------------------------


@PER_EXAMPLE
@given(size=st.integers(0, 70_000), seed=st.integers(0, 2**32), cut=st.integers(1, 9000))
@example(size=0, seed=0, cut=1)
@example(size=1, seed=1, cut=1)
@example(size=PART_SIZE, seed=2, cut=MiB)
@example(size=PART_SIZE + 1, seed=3, cut=3 * MiB)
def test_put_get_round_trip(backend: Backend, size: int, seed: int, cut: int) -> None:
    """Whatever the size and chunking, get returns exactly the bytes put, described alike."""
    data = payload(seed, size)
    key = _fresh_key()
    stored = backend.store.put(key, chunked(data, cut))
    assert stored.size == size
    assert stored.metadata == {}
    assert read_all(backend.store, key, chunk_size=max(1, cut // 2 + 1)) == data
    assert backend.store.head(key) == stored


def test_put_describes_the_object(backend: Backend) -> None:
    """put returns the key, the size and the lowercase hex SHA-256 of the bytes."""
    stored = backend.store.put("a/b", [b"hello ", b"world"])
    assert stored == StoredObject(
        "a/b",
        11,
        "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9",
        {},
    )


def test_metadata_round_trip(backend: Backend) -> None:
    """User metadata comes back unchanged from put, head and list."""
    metadata = {"cluster": "cluster-1234", "region": "eu-west-1", "note": "a b ~!", "z-9": "x"}
    stored = backend.store.put("backups/one", [b"x"], metadata=metadata)
    assert stored.metadata == metadata
    head = backend.store.head("backups/one")
    assert head is not None
    assert head.metadata == metadata
    assert [obj.metadata for obj in backend.store.list("backups/")] == [metadata]


def test_chunks_may_be_any_bytes_like(backend: Backend) -> None:
    """Chunks may be bytes, bytearray or memoryview."""
    backend.store.put("k", [b"ab", bytearray(b"cd"), memoryview(b"ef")])  # type: ignore[list-item]
    assert read_all(backend.store, "k") == b"abcdef"


def test_non_bytes_chunk_is_refused_and_stores_nothing(backend: Backend) -> None:
    """A chunk that is not bytes-like raises ArgumentsBad and leaves no object."""
    with pytest.raises(ArgumentsBad):
        backend.store.put("k", [b"ab", "cd"])  # type: ignore[list-item]
    assert backend.store.head("k") is None


# --- head, list, delete, overwrite ---------------------------------------------------------------

KEYS = [
    "a",
    "a/b",
    "a/b/c",
    "a.b",
    "a-b",
    "a_b",
    "ab",
    "a/bc",
    "b/a",
    "B",
    "0",
    "x/y.z/w-1_2",
]


@pytest.mark.parametrize("prefix", ["", "a", "a/", "a/b", "a.", "b", "x/y.z/", "zzz", "a/b/c/"])
def test_list_is_sorted_and_filtered_by_prefix(backend: Backend, prefix: str) -> None:
    """list yields every object whose key starts with the prefix, sorted by key."""
    for index, key in enumerate(KEYS):
        backend.store.put(key, [payload(index, index)])
    listed = list(backend.store.list(prefix))
    expected = sorted(key for key in KEYS if key.startswith(prefix))
    assert [obj.key for obj in listed] == expected
    for obj in listed:
        assert obj == backend.store.head(obj.key)
        assert obj.size == KEYS.index(obj.key)


def test_list_of_empty_store(backend: Backend) -> None:
    """An empty store lists nothing, with or without a prefix."""
    assert list(backend.store.list()) == []
    assert list(backend.store.list("a/b")) == []


def test_head_of_missing_key_is_none(backend: Backend) -> None:
    """head returns None when there is no object."""
    assert backend.store.head("no/such/key") is None


def test_get_of_missing_key_raises_before_any_chunk(backend: Backend) -> None:
    """get of a missing key raises ObjectNotFound when called, not later."""
    with pytest.raises(ObjectNotFound):
        backend.store.get("no/such/key")


def test_delete(backend: Backend) -> None:
    """After delete the object is gone from head, get and list; deleting again is fine."""
    backend.store.put("d/one", [b"1"])
    backend.store.put("d/two", [b"2"])
    backend.store.delete("d/one")
    assert backend.store.head("d/one") is None
    with pytest.raises(ObjectNotFound):
        backend.store.get("d/one")
    assert [obj.key for obj in backend.store.list()] == ["d/two"]
    backend.store.delete("d/one")
    backend.store.delete("never/existed")


def test_overwrite_replaces_the_object(backend: Backend) -> None:
    """Putting an existing key replaces bytes, checksum and metadata; the key is listed once."""
    first = backend.store.put("k", [b"first"], metadata={"v": "1"})
    second = backend.store.put("k", [b"second version"], metadata={"v": "2"})
    assert first.sha256 != second.sha256
    assert read_all(backend.store, "k") == b"second version"
    assert backend.store.head("k") == second
    assert list(backend.store.list()) == [second]


def test_failed_put_keeps_the_previous_object(backend: Backend) -> None:
    """A put whose chunks fail midway raises that error and leaves the old object intact."""
    backend.store.put("k", [b"old"], metadata={"v": "old"})

    def failing() -> Iterator[bytes]:
        yield from stream(7, PART_SIZE + MiB)  # past one part: S3 spools to disk by now
        raise RuntimeError("source broke")

    with pytest.raises(RuntimeError, match="source broke"):
        backend.store.put("k", failing(), metadata={"v": "new"})
    head = backend.store.head("k")
    assert head is not None
    assert head.metadata == {"v": "old"}
    assert read_all(backend.store, "k") == b"old"


def test_failed_put_of_new_key_leaves_nothing(backend: Backend) -> None:
    """A put of a new key that fails midway leaves no object and nothing listed."""

    def failing() -> Iterator[bytes]:
        yield b"partial"
        raise RuntimeError("source broke")

    with pytest.raises(RuntimeError):
        backend.store.put("new/key", failing())
    assert backend.store.head("new/key") is None
    assert list(backend.store.list()) == []


# --- keys and metadata that are refused --------------------------------------------------------

BAD_KEYS = [
    "",
    "/a",
    "a/",
    "a//b",
    ".",
    "..",
    "../a",
    "a/../b",
    "a/./b",
    ".hidden",
    "a/.hidden",
    "a b",
    "a\\b",
    "a\x00b",
    "ä",
    "a:b",
    "a*",
    "x" * 201,
    "/".join(["abc"] * 200),
    "a.meta.json",
    "a.meta.json/b",
    "a.data",
    "d.0123456789abcdef.data/x",
]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys_are_refused(backend: Backend, key: str) -> None:
    """Absolute, empty-segment, dot, non-ASCII, over-long and reserved keys: ArgumentsBad."""
    with pytest.raises(ArgumentsBad):
        backend.store.put(key, [b"x"])
    with pytest.raises(ArgumentsBad):
        backend.store.get(key)
    with pytest.raises(ArgumentsBad):
        backend.store.head(key)
    with pytest.raises(ArgumentsBad):
        backend.store.delete(key)


@pytest.mark.parametrize("key", [42, None, b"a"])
def test_non_string_keys_are_refused(backend: Backend, key: object) -> None:
    """A key that is not a string raises ArgumentsBad."""
    with pytest.raises(ArgumentsBad):
        backend.store.head(key)  # type: ignore[arg-type]


@pytest.mark.parametrize("prefix", ["/", "/a", "a//", "../", "a/../", "a b", ".x/", 7])
def test_bad_prefixes_are_refused(backend: Backend, prefix: object) -> None:
    """A list prefix that cannot start a valid key raises ArgumentsBad."""
    with pytest.raises(ArgumentsBad):
        list(backend.store.list(prefix))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "metadata",
    [
        {"Upper": "x"},
        {"": "x"},
        {"with space": "x"},
        {"k": "é"},
        {"k": " leading"},
        {"k": "trailing "},
        {"k": "new\nline"},
        {"strongroom-sha256": "0" * 64},
        {"k": "x" * 257},
        {f"k{i}": "x" * 200 for i in range(6)},
        {"k": 1},
    ],
)
def test_bad_metadata_is_refused(backend: Backend, metadata: dict[str, str]) -> None:
    """Metadata that would not round-trip through S3 headers raises ArgumentsBad; nothing is put."""
    with pytest.raises(ArgumentsBad):
        backend.store.put("k", [b"x"], metadata=metadata)
    assert backend.store.head("k") is None


def test_bad_chunk_size_is_refused(backend: Backend) -> None:
    """get with a chunk size that is not a positive int raises ArgumentsBad."""
    backend.store.put("k", [b"x"])
    for chunk_size in (0, -1, 1.5, True):
        with pytest.raises(ArgumentsBad):
            backend.store.get("k", chunk_size=chunk_size)  # type: ignore[arg-type]


# --- streaming -----------------------------------------------------------------------------------

STREAM_SIZE = 40 * MiB


def test_large_objects_stream_in_both_directions(backend: Backend) -> None:
    """A 40 MiB object goes in from a generator and comes back in chunks, never whole in memory."""
    tracemalloc.start()
    try:
        stored = backend.store.put("big", stream(11, STREAM_SIZE))
        _, put_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        reference = stream(11, STREAM_SIZE, chunk=MiB // 2)
        sizes = []
        for chunk in backend.store.get("big", chunk_size=MiB // 2):
            assert chunk == next(reference)
            sizes.append(len(chunk))
        _, get_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (stored.key, stored.size) == ("big", STREAM_SIZE)
    assert sizes == [MiB // 2] * (STREAM_SIZE // (MiB // 2))
    # S3 holds one 8 MiB part plus botocore's working copies (13 MiB measured); the
    # filesystem one write buffer (4 MiB); both read in 1-2 MiB.
    assert put_peak < 18 * MiB, f"put peaked at {put_peak / MiB:.1f} MiB"
    assert get_peak < 4 * MiB, f"get peaked at {get_peak / MiB:.1f} MiB"


def test_get_can_be_abandoned(backend: Backend) -> None:
    """A reader closed after its first chunk releases the object without error."""
    backend.store.put("k", [payload(1, 3000)])
    reader = backend.store.get("k", chunk_size=1000)
    assert len(next(reader)) == 1000
    reader.close()  # type: ignore[attr-defined]
    assert list(reader) == []
    with backend.store.get("k") as unread:  # type: ignore[attr-defined]
        assert unread is not None


# --- tamper detection ----------------------------------------------------------------------------


@PER_EXAMPLE
@given(size=st.integers(1, 5000), data=st.data())
def test_flipped_byte_is_detected_at_the_end(
    backend: Backend, size: int, data: st.DataObject
) -> None:
    """A byte changed behind the store's back makes get raise ObjectCorrupt after the last chunk."""
    position = data.draw(st.integers(0, size - 1), label="position")
    key = _fresh_key()
    backend.store.put(key, [payload(size, size)])
    backend.flip_byte(key, position)
    reader = backend.store.get(key, chunk_size=256)
    received: list[bytes] = []
    with pytest.raises(ObjectCorrupt):
        received.extend(reader)
    assert sum(map(len, received)) == size  # every chunk came first: act only after the end

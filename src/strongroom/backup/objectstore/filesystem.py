"""The filesystem object store: the embedded default, one directory tree on local disk.

This module owns the on-disk layout of the filesystem store and its crash-safety protocol;
it implements ``ObjectStore`` from ``objectstore.api`` and translates every ``OSError`` into
``ObjectStoreError`` here. It stores the bytes it is handed without interpreting them.

Layout. A key ``a/b/name`` lives in the directory ``<root>/a/b`` (directories 0700) as two
files (0600):

- ``name.meta.json`` — the *record*: JSON with the format tag, the key, the size, the SHA-256,
  the user metadata, and the name of the data file. The record is the commit point: an
  object exists exactly when its record exists.
- ``name.<16 hex>.data`` — the object's bytes, raw, under a name fresh for every put.
- ``.<16 hex>.tmp`` — a file being written (hidden; no key segment starts with ".").

Crash consistency. A put writes the bytes to a temp file while hashing them, fsyncs it,
renames it to a fresh data name and fsyncs the directory; only then does it write the record
to a temp file, fsync it, rename it over ``name.meta.json`` (atomic) and fsync the directory;
last, it unlinks the data file the previous record named. Because the data file's name is
new for every put, a record only ever names a data file that was complete and durable before
the record was renamed into place, and the old record's data file outlives the swap. So a
``kill -9`` at any moment leaves the old object or the new one — never a record whose
checksum does not match its data — plus, at worst, an unreferenced data file or a temp file.
A checksum in a sidecar beside data kept under the key's own name could not give this: two
renames cannot be made atomic together, and between them the old data would sit beside the
new checksum. Leftovers are never visible as objects; ``cleanup`` removes them once they are
older than a safety margin that protects puts still in flight in other processes.

Readers open the data file the record names; a concurrent overwrite unlinks it only after the
new record is in place, and an already-open file stays readable, so a reader sees one whole
version. ``get`` checks size and SHA-256 as it streams; ``head`` and ``list`` read records and
check that the data file exists with the recorded size.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import json
import os
import re
import secrets
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from strongroom.backup.objectstore.api import (
    StoredObject,
    VerifyingReader,
    as_bytes,
    check_chunk_size,
    check_key,
    check_metadata,
    check_prefix,
    is_sha256_hex,
    is_valid_key,
)
from strongroom.errors import ArgumentsBad, ObjectCorrupt, ObjectNotFound, ObjectStoreError

__all__ = ["DEBRIS_MIN_AGE_S", "RECORD_FORMAT", "FilesystemObjectStore"]

RECORD_FORMAT = "strongroom-objectstore-filesystem/1"
"""The format tag every record carries; a record with another tag is corrupt."""

RECORD_SUFFIX = ".meta.json"
DATA_SUFFIX = ".data"
TEMP_SUFFIX = ".tmp"
RECORD_MAX_BYTES = 16 * 1024
WRITE_BUFFER = 1 << 20

DEBRIS_MIN_AGE_S = 3600.0
"""``cleanup`` leaves temp and unreferenced data files younger than this (puts in flight)."""

_RECORD_FIELDS = frozenset({"format", "key", "size", "sha256", "metadata", "data"})


@dataclass(frozen=True, slots=True)
class _Record:
    size: int
    sha256: str
    metadata: dict[str, str]
    data: str


def _error(operation: str, key: str, exc: OSError) -> ObjectStoreError:
    reason = exc.strerror or type(exc).__name__
    return ObjectStoreError(f"filesystem store: {operation} {key!r} failed: {reason}")


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _create_private(path: Path) -> BinaryIO:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    return os.fdopen(fd, "wb", buffering=WRITE_BUFFER)


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _temp_name() -> str:
    return f".{secrets.token_hex(8)}{TEMP_SUFFIX}"


def _data_name_pattern(segment: str) -> re.Pattern[str]:
    return re.compile(re.escape(segment) + r"\.[0-9a-f]{16}" + re.escape(DATA_SUFFIX))


def _parse_record(raw: bytes, key: str, segment: str) -> _Record:
    """Decode and check a record; anything unexpected makes the object corrupt."""
    corrupt = ObjectCorrupt(f"object {key!r} has a damaged record")
    try:
        doc = json.loads(raw)
    except ValueError:
        raise corrupt from None
    if not isinstance(doc, dict) or set(doc) != _RECORD_FIELDS:
        raise corrupt
    size, sha256, metadata, data = doc["size"], doc["sha256"], doc["metadata"], doc["data"]
    if (
        doc["format"] != RECORD_FORMAT
        or doc["key"] != key
        or isinstance(size, bool)
        or not isinstance(size, int)
        or size < 0
        or not is_sha256_hex(sha256)
        or not isinstance(metadata, dict)
        or not isinstance(data, str)
        or _data_name_pattern(segment).fullmatch(data) is None
    ):
        raise corrupt
    try:
        checked = check_metadata(metadata)
    except ArgumentsBad:
        raise corrupt from None
    return _Record(size=size, sha256=sha256, metadata=checked, data=data)


def _walk_keys(directory: Path, base: str) -> builtins.list[str]:
    """Keys of every record under ``directory``, whose own key path is ``base``."""
    found: builtins.list[str] = []
    try:
        entries = builtins.list(os.scandir(directory))
    except FileNotFoundError:
        return found
    for entry in entries:
        name = entry.name
        if name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            key = f"{base}/{name}" if base else name
            if is_valid_key(key):
                found.extend(_walk_keys(Path(entry.path), key))
        elif name.endswith(RECORD_SUFFIX):
            segment = name[: -len(RECORD_SUFFIX)]
            key = f"{base}/{segment}" if base else segment
            if is_valid_key(key):
                found.append(key)
    return found


class FilesystemObjectStore:
    """Objects as files under ``root``, each with a JSON record that commits it (see module)."""

    name: str = "filesystem"

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise _error("open", str(self.root), exc) from exc
        if not self.root.is_dir():
            raise ObjectStoreError(f"filesystem store: {str(self.root)!r} is not a directory")

    def __repr__(self) -> str:
        return f"FilesystemObjectStore(root={str(self.root)!r})"

    # --- paths and records ----------------------------------------------------------------

    def _locate(self, key: str) -> tuple[Path, str]:
        *parents, segment = key.split("/")
        return self.root.joinpath(*parents), segment

    def _make_dirs(self, key: str) -> None:
        """Create the key's parent directories (0700), making each new entry durable."""
        current = self.root
        for part in key.split("/")[:-1]:
            child = current / part
            try:
                child.mkdir(mode=0o700)
            except FileExistsError:
                if not child.is_dir():
                    raise ObjectStoreError(
                        f"filesystem store: {str(child)!r} is in the way of key {key!r}"
                    ) from None
            else:
                _fsync_dir(current)
            current = child

    def _read_record(self, key: str) -> _Record | None:
        directory, segment = self._locate(key)
        try:
            with open(directory / (segment + RECORD_SUFFIX), "rb") as fh:
                raw = fh.read(RECORD_MAX_BYTES + 1)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise _error("read", key, exc) from exc
        if len(raw) > RECORD_MAX_BYTES:
            raise ObjectCorrupt(f"object {key!r} has a damaged record")
        return _parse_record(raw, key, segment)

    def _describe(self, key: str) -> StoredObject | None:
        """The object from its record, after checking the data file is there at full size."""
        directory, _ = self._locate(key)
        for attempt in range(2):
            record = self._read_record(key)
            if record is None:
                return None
            try:
                size = os.stat(directory / record.data).st_size
            except FileNotFoundError:
                if attempt == 0:  # a concurrent put swapped the record; read it again
                    continue
                raise ObjectCorrupt(f"object {key!r} has lost its data file") from None
            except OSError as exc:
                raise _error("head", key, exc) from exc
            if size != record.size:
                raise ObjectCorrupt(f"object {key!r} does not have its recorded size")
            return StoredObject(key, record.size, record.sha256, dict(record.metadata))
        raise AssertionError("unreachable")  # pragma: no cover

    def _write_file(
        self, path: Path, chunks: Iterable[bytes | bytearray | memoryview], key: str
    ) -> tuple[str, int]:
        """Write ``chunks`` to a new private file, fsync it; return (SHA-256 hex, size)."""
        digest = hashlib.sha256()
        size = 0
        try:
            fh = _create_private(path)
        except OSError as exc:
            raise _error("put", key, exc) from exc
        with fh:
            for chunk in chunks:  # the caller's own errors pass through unchanged
                data = as_bytes(chunk)
                digest.update(data)
                size += len(data)
                try:
                    fh.write(data)
                except OSError as exc:
                    raise _error("put", key, exc) from exc
            try:
                fh.flush()
                os.fsync(fh.fileno())
            except OSError as exc:
                raise _error("put", key, exc) from exc
        return digest.hexdigest(), size

    # --- the ObjectStore protocol ---------------------------------------------------------

    def put(
        self, key: str, chunks: Iterable[bytes], *, metadata: Mapping[str, str] | None = None
    ) -> StoredObject:
        """Store ``chunks`` under ``key`` durably and atomically (see the module docstring)."""
        key = check_key(key)
        checked = check_metadata(metadata)
        directory, segment = self._locate(key)
        self._make_dirs(key)
        data_name = f"{segment}.{secrets.token_hex(8)}{DATA_SUFFIX}"
        temp_data = directory / _temp_name()
        temp_record = directory / _temp_name()
        record_path = directory / (segment + RECORD_SUFFIX)
        committed = False
        try:
            sha256, size = self._write_file(temp_data, chunks, key)
            try:
                os.rename(temp_data, directory / data_name)
                _fsync_dir(directory)
            except OSError as exc:
                raise _error("put", key, exc) from exc
            try:
                previous = self._read_record(key)
            except ObjectCorrupt:
                previous = None  # the new record replaces the damaged one
            record = {
                "format": RECORD_FORMAT,
                "key": key,
                "size": size,
                "sha256": sha256,
                "metadata": checked,
                "data": data_name,
            }
            body = json.dumps(record, sort_keys=True, separators=(",", ":")).encode("ascii")
            self._write_file(temp_record, [body, b"\n"], key)
            try:
                os.rename(temp_record, record_path)
                committed = True
                _fsync_dir(directory)
            except OSError as exc:
                raise _error("put", key, exc) from exc
        finally:
            if not committed:
                _unlink_quietly(temp_data)
                _unlink_quietly(temp_record)
                _unlink_quietly(directory / data_name)
        if previous is not None and previous.data != data_name:
            _unlink_quietly(directory / previous.data)
        return StoredObject(key, size, sha256, dict(checked))

    def get(self, key: str, *, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """Stream the object's bytes; ``ObjectCorrupt`` at the end if they do not match."""
        key = check_key(key)
        chunk_size = check_chunk_size(chunk_size)
        directory, _ = self._locate(key)
        for attempt in range(2):
            record = self._read_record(key)
            if record is None:
                raise ObjectNotFound(f"no object {key!r} in the filesystem store")
            try:
                fh = open(directory / record.data, "rb", buffering=0)  # noqa: SIM115
            except FileNotFoundError:
                if attempt == 0:  # a concurrent put swapped the record; read it again
                    continue
                raise ObjectCorrupt(f"object {key!r} has lost its data file") from None
            except OSError as exc:
                raise _error("get", key, exc) from exc
            return VerifyingReader(
                key,
                _read_chunks(fh, chunk_size, key),
                sha256=record.sha256,
                size=record.size,
                close=fh.close,
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def head(self, key: str) -> StoredObject | None:
        """Describe the object under ``key`` from its record, or ``None`` if there is none."""
        return self._describe(check_key(key))

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        """Every object whose key starts with ``prefix``, sorted by key."""
        prefix = check_prefix(prefix)
        complete = prefix.split("/")[:-1]
        try:
            keys = sorted(_walk_keys(self.root.joinpath(*complete), "/".join(complete)))
        except OSError as exc:
            raise _error("list", prefix, exc) from exc
        for key in keys:
            if key.startswith(prefix):
                found = self._describe(key)
                if found is not None:  # deleted since the walk
                    yield found

    def delete(self, key: str) -> None:
        """Remove the record (the object is gone once that is durable), then the data file."""
        key = check_key(key)
        directory, segment = self._locate(key)
        try:
            record = self._read_record(key)
        except ObjectCorrupt:
            record = None  # remove the damaged record; ``cleanup`` takes its data file
        try:
            (directory / (segment + RECORD_SUFFIX)).unlink()
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as exc:
            raise _error("delete", key, exc) from exc
        try:
            _fsync_dir(directory)
            if record is not None:
                _unlink_quietly(directory / record.data)
        except OSError as exc:
            raise _error("delete", key, exc) from exc

    # --- maintenance ------------------------------------------------------------------------

    def cleanup(self, *, min_age_s: float = DEBRIS_MIN_AGE_S) -> int:
        """Remove temp files and unreferenced data files older than ``min_age_s``; return how many.

        These are what an interrupted put or delete leaves behind; they are never visible as
        objects. The age margin keeps the files of puts still running in other processes.
        """
        if min_age_s < 0:
            raise ArgumentsBad("min_age_s must not be negative")
        cutoff = time.time() - min_age_s
        removed = 0
        try:
            for directory, dirnames, filenames in os.walk(self.root):
                dirnames[:] = [name for name in dirnames if not name.startswith(".")]
                here = Path(directory)
                referenced, protected = self._referenced_data(here, filenames)
                for name in filenames:
                    is_temp = name.startswith(".") and name.endswith(TEMP_SUFFIX)
                    is_orphan = (
                        not name.startswith(".")
                        and name.endswith(DATA_SUFFIX)
                        and name not in referenced
                        and not any(name.startswith(seg + ".") for seg in protected)
                    )
                    if not (is_temp or is_orphan):
                        continue
                    path = here / name
                    try:
                        if path.lstat().st_mtime <= cutoff:
                            path.unlink()
                            removed += 1
                    except FileNotFoundError:
                        continue
        except OSError as exc:
            raise _error("cleanup", str(self.root), exc) from exc
        return removed

    def _referenced_data(
        self, directory: Path, filenames: builtins.list[str]
    ) -> tuple[set[str], set[str]]:
        """Data files named by the records here, and segments whose record is damaged."""
        referenced: set[str] = set()
        protected: set[str] = set()
        for name in filenames:
            if name.startswith(".") or not name.endswith(RECORD_SUFFIX):
                continue
            segment = name[: -len(RECORD_SUFFIX)]
            try:
                with open(directory / name, "rb") as fh:
                    raw = fh.read(RECORD_MAX_BYTES + 1)
                doc = json.loads(raw)
                data = doc["data"] if isinstance(doc, dict) else None
            except FileNotFoundError:
                continue
            except (OSError, ValueError, KeyError):
                data = None
            if isinstance(data, str) and _data_name_pattern(segment).fullmatch(data):
                referenced.add(data)
            else:
                protected.add(segment)  # keep its data files: a person may want them back
        return referenced, protected


def _read_chunks(fh: BinaryIO, chunk_size: int, key: str) -> Iterator[bytes]:
    while True:
        try:
            chunk = fh.read(chunk_size)
        except OSError as exc:
            raise _error("get", key, exc) from exc
        if not chunk:
            return
        yield chunk

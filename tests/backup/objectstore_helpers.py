"""Shared helpers for the object-store tests: payloads, chunking, and the two backends.

A ``Backend`` bundles a store with a way to damage one stored byte behind the store's back,
so the conformance suite can run the same tamper test against the filesystem (flip a byte
of the data file) and S3 (re-upload the object through raw boto3, keeping its old checksum
metadata).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from strongroom.backup.objectstore import FilesystemObjectStore, ObjectStore, S3ObjectStore

from .services import S3Service


def payload(seed: int, size: int) -> bytes:
    """``size`` pseudo-random bytes, the same for the same seed."""
    return random.Random(seed).randbytes(size)


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    """``data`` in chunks of ``size`` bytes (the last may be shorter; none for no data)."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def stream(seed: int, total: int, chunk: int = 1 << 20) -> Iterator[bytes]:
    """``total`` pseudo-random bytes made one chunk at a time, never all in memory."""
    rng = random.Random(seed)
    left = total
    while left:
        n = min(chunk, left)
        yield rng.randbytes(n)
        left -= n


def read_all(store: ObjectStore, key: str, chunk_size: int = 1 << 20) -> bytes:
    """The object's bytes, read through ``get`` to the end (so it is verified)."""
    return b"".join(store.get(key, chunk_size=chunk_size))


@dataclass
class Backend:
    """A store under test and a way to flip one of its stored bytes behind its back."""

    name: str
    store: ObjectStore
    flip_byte: Callable[[str, int], None]


def filesystem_backend(root: Path) -> Backend:
    """A filesystem store in ``root``; tampering flips a byte of the data file in place."""
    store = FilesystemObjectStore(root)

    def flip_byte(key: str, position: int) -> None:
        *parents, segment = key.split("/")
        directory = root.joinpath(*parents)
        record = json.loads((directory / f"{segment}.meta.json").read_text())
        with open(directory / record["data"], "r+b") as fh:
            fh.seek(position)
            (byte,) = fh.read(1)
            fh.seek(position)
            fh.write(bytes([byte ^ 0x01]))

    return Backend("filesystem", store, flip_byte)


def s3_store(service: S3Service, bucket: str, prefix: str = "") -> S3ObjectStore:
    """An ``S3ObjectStore`` on the test SeaweedFS."""
    return S3ObjectStore(
        bucket,
        endpoint_url=service.endpoint_url,
        region=service.region,
        access_key=service.access_key,
        secret_key=service.secret_key,
        prefix=prefix,
    )


def s3_backend(service: S3Service, bucket: str) -> Backend:
    """An S3 store in ``bucket``; tampering re-uploads the object with its old metadata."""
    store = s3_store(service, bucket)
    client = service.client()

    def flip_byte(key: str, position: int) -> None:
        current = client.get_object(Bucket=bucket, Key=key)
        data = bytearray(current["Body"].read())
        data[position] ^= 0x01
        client.put_object(Bucket=bucket, Key=key, Body=bytes(data), Metadata=current["Metadata"])

    return Backend("s3", store, flip_byte)

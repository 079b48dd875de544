"""Object stores for sealed backups: the ``ObjectStore`` protocol and its two providers.

This package owns where enveloped backups are kept: ``FilesystemObjectStore`` (the embedded
default, one directory tree) and ``S3ObjectStore`` (any S3 API through boto3). Every object
carries a SHA-256 checked on every read, and large objects stream. The bytes handed to a
store are already sealed; nothing here sees key material. ``S3ObjectStore`` is imported on
first use so that importing the package does not load boto3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from strongroom.backup.objectstore.api import ObjectStore, StoredObject, VerifyingReader
from strongroom.backup.objectstore.filesystem import FilesystemObjectStore

if TYPE_CHECKING:
    from strongroom.backup.objectstore.s3 import S3ObjectStore

__all__ = [
    "FilesystemObjectStore",
    "ObjectStore",
    "S3ObjectStore",
    "StoredObject",
    "VerifyingReader",
]


def __getattr__(name: str) -> object:
    if name == "S3ObjectStore":
        from strongroom.backup.objectstore.s3 import S3ObjectStore

        return S3ObjectStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

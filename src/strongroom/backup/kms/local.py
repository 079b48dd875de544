"""The `local` KMS: named 256-bit master keys in one 0600 key file (the embedded default).

This module owns the local key file format and the local wrapping of data keys, both
specified in docs/formats/envelope-v1.md, appendix A: a data key is AES-256-GCM-encrypted
under a master key with a random 96-bit nonce and the canonical (key id, context) encoding as
AAD, so another key id or context fails authentication (`KMSAccessDenied`). The file holds the
master keys in the clear and is protected only by its permissions: it is created 0600 and any
file that group or others may access, that another user owns or that is not a regular file is
refused (`KMSError`). Writes are atomic (temp file, fsync, rename, fsync of the directory) and
serialised across processes with a lock file. It must not know about envelopes or backups.
"""

from __future__ import annotations

import fcntl
import os
import re
import stat
import struct
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from strongroom.backup.kms.api import DATA_KEY_BYTES, DataKey, check_context, kms_aad
from strongroom.crypto.aead import AESGCM
from strongroom.crypto.hashing import constant_time_equal, digest
from strongroom.crypto.random import RandomSource, SystemRandom
from strongroom.errors import ArgumentsBad, IntegrityError, KMSAccessDenied, KMSError
from strongroom.files import write_atomic
from strongroom.model.codec import decode_cbor, encode_cbor

__all__ = [
    "KEY_FILE_MAGIC",
    "KEY_FILE_VERSION",
    "LOCAL_WRAP_VERSION",
    "LocalKMS",
    "local_unwrap",
    "local_wrap",
]

KEY_FILE_MAGIC: Final = b"SRKF"
"""First four bytes of a local key file."""
KEY_FILE_VERSION: Final = 1
"""Key file format version (u16 after the magic)."""
LOCAL_WRAP_VERSION: Final = 1
"""First byte of a data key wrapped by the local KMS."""
_NONCE_BYTES: Final = 12
_TAG_BYTES: Final = 16
_WRAPPED_BYTES: Final = 1 + _NONCE_BYTES + DATA_KEY_BYTES + _TAG_BYTES
_PREFIX: Final = struct.Struct(">4sHI")
_CHECK_BYTES: Final = 32
_MAX_FILE_BYTES: Final = 1 << 20
_KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def local_wrap(
    master_key: bytes, key_id: str, context: Mapping[str, str], data_key: bytes, nonce: bytes
) -> bytes:
    """``0x01 || nonce(12) || AES-256-GCM(master, nonce, data_key, kms_aad) || tag(16)`` (A.2)."""
    if len(data_key) != DATA_KEY_BYTES:
        raise ArgumentsBad(f"a data key is {DATA_KEY_BYTES} bytes")
    sealed = AESGCM(master_key).encrypt(nonce, data_key, kms_aad(key_id, context))
    return bytes([LOCAL_WRAP_VERSION]) + nonce + sealed


def local_unwrap(
    master_key: bytes, key_id: str, context: Mapping[str, str], wrapped: bytes
) -> bytes:
    """Inverse of `local_wrap`; any mismatch or damage is `KMSAccessDenied`."""
    if len(wrapped) != _WRAPPED_BYTES or wrapped[0] != LOCAL_WRAP_VERSION:
        raise KMSAccessDenied("the wrapped data key is not a local KMS v1 wrapping")
    nonce = wrapped[1 : 1 + _NONCE_BYTES]
    try:
        return AESGCM(master_key).decrypt(
            nonce, wrapped[1 + _NONCE_BYTES :], kms_aad(key_id, context)
        )
    except IntegrityError:
        raise KMSAccessDenied(
            "the data key does not unwrap under this key id and encryption context"
        ) from None


class LocalKMS:
    """Master keys in a local key file; ``create_key`` adds one, the file is made on first use."""

    __slots__ = ("_lock", "_path", "_rng")

    name: Final = "local"

    def __init__(self, path: Path | str, *, rng: RandomSource | None = None) -> None:
        self._path = Path(path)
        self._rng: RandomSource = rng if rng is not None else SystemRandom()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LocalKMS(path={str(self._path)!r})"

    @property
    def path(self) -> Path:
        """Where the key file lives."""
        return self._path

    # --- the KMSProvider interface ---------------------------------------------------------

    def generate_data_key(self, key_id: str, context: Mapping[str, str]) -> DataKey:
        """A fresh random data key wrapped under master key ``key_id`` (appendix A.2)."""
        master = self._master_key(key_id)
        check_context(context)
        data_key = self._rng.random_bytes(DATA_KEY_BYTES)
        nonce = self._rng.random_bytes(_NONCE_BYTES)
        return DataKey(data_key, local_wrap(master, key_id, context, data_key, nonce))

    def decrypt_data_key(self, key_id: str, wrapped: bytes, context: Mapping[str, str]) -> bytes:
        """The data key inside ``wrapped``, only for the same key id and context."""
        master = self._master_key(key_id)
        check_context(context)
        return local_unwrap(master, key_id, context, bytes(wrapped))

    # --- administration -----------------------------------------------------------------------

    def create_key(self, key_id: str) -> None:
        """Add a fresh random master key named ``key_id``, creating the file (0600) if needed.

        A name already in the file is `ArgumentsBad`: keys are never replaced, since every
        data key wrapped under the old one would be lost.
        """
        _check_local_key_id(key_id)
        with self._lock, _FileLock(self._lock_path()):
            keys = self._read() if self._path.exists() else {}
            if key_id in keys:
                raise ArgumentsBad(f"the local key file already has a key named {key_id!r}")
            keys[key_id] = self._rng.random_bytes(DATA_KEY_BYTES)
            self._write(keys)

    def key_ids(self) -> list[str]:
        """Names of the master keys in the file, sorted; an absent file has none."""
        if not self._path.exists():
            return []
        return sorted(self._read())

    # --- the file ------------------------------------------------------------------------------

    def _lock_path(self) -> Path:
        return self._path.with_name(self._path.name + ".lock")

    def _master_key(self, key_id: str) -> bytes:
        if not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id):
            raise KMSAccessDenied("no such key in the local key file")
        keys = self._read()
        master = keys.get(key_id)
        if master is None:
            raise KMSAccessDenied(f"no key named {key_id!r} in the local key file")
        return master

    def _read(self) -> dict[str, bytes]:
        try:
            fd = os.open(self._path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            raise KMSError("the local key file does not exist (create a key first)") from None
        except OSError as exc:
            raise KMSError(f"cannot open the local key file ({exc.strerror})") from exc
        try:
            info = os.fstat(fd)
            _check_file(info)
            if info.st_size > _MAX_FILE_BYTES:
                raise KMSError("the local key file is damaged or not a Strongroom key file")
            with os.fdopen(fd, "rb", closefd=False) as handle:
                data = handle.read(info.st_size + 1)
        finally:
            os.close(fd)
        return _decode_key_file(data)

    def _write(self, keys: dict[str, bytes]) -> None:
        write_atomic(self._path, _encode_key_file(keys), 0o600)


class _FileLock:
    """An exclusive ``flock`` on a 0600 lock file beside the key file, across processes."""

    __slots__ = ("_fd", "_path")

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd = -1

    def __enter__(self) -> None:
        self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)


def _check_local_key_id(key_id: object) -> None:
    if not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id):
        raise ArgumentsBad(
            "a local key id is 1-128 characters of A-Z a-z 0-9 . _ - starting with a letter "
            "or digit"
        )


def _check_file(info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise KMSError("the local key file is not a regular file")
    if info.st_mode & 0o077:
        raise KMSError(
            "the local key file may be accessed by group or others; refusing it (chmod 600)"
        )
    if info.st_uid != os.geteuid():
        raise KMSError("the local key file belongs to another user; refusing it")


def _encode_key_file(keys: dict[str, bytes]) -> bytes:
    """``magic || u16 version || u32 n || CBOR {"keys": {id: key}} || SHA-256(all before)``."""
    body = encode_cbor({"keys": dict(sorted(keys.items()))})
    head = _PREFIX.pack(KEY_FILE_MAGIC, KEY_FILE_VERSION, len(body)) + body
    return head + digest("SHA256", head)


def _decode_key_file(data: bytes) -> dict[str, bytes]:
    corrupt = KMSError("the local key file is damaged or not a Strongroom key file")
    if len(data) < _PREFIX.size + _CHECK_BYTES or len(data) > _MAX_FILE_BYTES:
        raise corrupt
    magic, version, length = _PREFIX.unpack_from(data)
    if magic != KEY_FILE_MAGIC:
        raise corrupt
    if version != KEY_FILE_VERSION:
        raise KMSError(f"the local key file has version {version}; this Strongroom reads 1")
    if len(data) != _PREFIX.size + length + _CHECK_BYTES:
        raise corrupt
    head, check = data[:-_CHECK_BYTES], data[-_CHECK_BYTES:]
    if not constant_time_equal(digest("SHA256", head), check):
        raise corrupt
    try:
        body = decode_cbor(head[_PREFIX.size :])
    except Exception:
        raise corrupt from None
    if not isinstance(body, dict) or set(body) != {"keys"} or not isinstance(body["keys"], dict):
        raise corrupt
    keys: dict[str, bytes] = {}
    for key_id, key in body["keys"].items():
        if not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id):
            raise corrupt
        if not isinstance(key, bytes) or len(key) != DATA_KEY_BYTES:
            raise corrupt
        keys[key_id] = key
    return keys

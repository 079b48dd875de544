"""The local KMS: its key file (0600, refused when looser), atomic writes, and its wrapping."""

from __future__ import annotations

import hashlib
import os
import stat
import struct
import threading
from pathlib import Path

import cbor2
import pytest

from strongroom.backup.kms import LocalKMS, kms_aad
from strongroom.backup.kms.local import KEY_FILE_MAGIC, local_unwrap, local_wrap
from strongroom.errors import ArgumentsBad, KMSAccessDenied, KMSError

CONTEXT = {"cluster": "c-1", "backup": "b-1", "region": "r-1"}


def test_key_file_is_created_0600_whatever_the_umask(tmp_path: Path) -> None:
    """create_key makes the file with mode 0600 even under a permissive umask."""
    old = os.umask(0)
    try:
        kms = LocalKMS(tmp_path / "keys")
        kms.create_key("k1")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys.lock").stat().st_mode) == 0o600
    assert not (tmp_path / "keys.tmp").exists()


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644, 0o601, 0o610])
def test_group_or_other_permissions_are_refused(tmp_path: Path, mode: int) -> None:
    """A key file that group or others may touch in any way is not used."""
    kms = LocalKMS(tmp_path / "keys")
    kms.create_key("k1")
    (tmp_path / "keys").chmod(mode)
    with pytest.raises(KMSError, match="group or others"):
        kms.generate_data_key("k1", CONTEXT)
    with pytest.raises(KMSError, match="group or others"):
        kms.create_key("k2")


def test_symlinks_and_non_files_are_refused(tmp_path: Path) -> None:
    """The key file is opened without following symlinks, and must be a regular file."""
    kms = LocalKMS(tmp_path / "keys")
    kms.create_key("k1")
    (tmp_path / "link").symlink_to(tmp_path / "keys")
    with pytest.raises(KMSError):
        LocalKMS(tmp_path / "link").generate_data_key("k1", CONTEXT)
    (tmp_path / "dir").mkdir(mode=0o700)
    with pytest.raises(KMSError):
        LocalKMS(tmp_path / "dir").generate_data_key("k1", CONTEXT)


def test_missing_file_is_a_kms_error(tmp_path: Path) -> None:
    """Without a key file there are no keys: using one is an error, listing gives none."""
    kms = LocalKMS(tmp_path / "absent")
    assert kms.key_ids() == []
    with pytest.raises(KMSError, match="does not exist"):
        kms.generate_data_key("k1", CONTEXT)


def test_keys_persist_and_are_never_replaced(tmp_path: Path) -> None:
    """A second instance sees the keys; an existing name cannot be created again."""
    first = LocalKMS(tmp_path / "keys")
    first.create_key("k1")
    data_key = first.generate_data_key("k1", CONTEXT)
    second = LocalKMS(tmp_path / "keys")
    second.create_key("k2")
    assert first.key_ids() == ["k1", "k2"]
    assert second.decrypt_data_key("k1", data_key.wrapped, CONTEXT) == data_key.plaintext
    with pytest.raises(ArgumentsBad):
        second.create_key("k1")
    assert first.decrypt_data_key("k1", data_key.wrapped, CONTEXT) == data_key.plaintext


@pytest.mark.parametrize("key_id", ["", "-lead", "has space", "slash/ed", "x" * 129, "é"])
def test_bad_key_ids_are_refused(tmp_path: Path, key_id: str) -> None:
    """Key ids are 1-128 characters of A-Z a-z 0-9 . _ - starting with a letter or digit."""
    kms = LocalKMS(tmp_path / "keys")
    with pytest.raises(ArgumentsBad):
        kms.create_key(key_id)


def test_concurrent_creates_lose_nothing(tmp_path: Path) -> None:
    """Keys created from many threads (and instances) at once all end up in the file."""
    path = tmp_path / "keys"

    def create(i: int) -> None:
        LocalKMS(path).create_key(f"k{i}")

    threads = [threading.Thread(target=create, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert LocalKMS(path).key_ids() == sorted(f"k{i}" for i in range(16))


def _damage(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 1
    path.write_bytes(bytes(data))


def test_key_file_layout_and_damage(tmp_path: Path) -> None:
    """magic || u16 1 || u32 n || CBOR {"keys"} || SHA-256; any damaged byte is refused."""
    path = tmp_path / "keys"
    kms = LocalKMS(path)
    kms.create_key("k1")
    data = path.read_bytes()
    magic, version, length = struct.unpack(">4sHI", data[:10])
    assert (magic, version) == (KEY_FILE_MAGIC, 1)
    assert len(data) == 10 + length + 32
    assert hashlib.sha256(data[:-32]).digest() == data[-32:]
    body = cbor2.loads(data[10:-32])
    assert set(body) == {"keys"}
    assert set(body["keys"]) == {"k1"}
    assert len(body["keys"]["k1"]) == 32
    for offset in (0, 5, 9, 12, len(data) - 40, len(data) - 1):
        path.write_bytes(data)
        _damage(path, offset)
        with pytest.raises(KMSError):
            kms.generate_data_key("k1", CONTEXT)
    path.write_bytes(data + b"\x00")
    with pytest.raises(KMSError):
        kms.key_ids()
    path.write_bytes(b"")
    with pytest.raises(KMSError):
        kms.key_ids()


def test_newer_key_file_version_is_refused(tmp_path: Path) -> None:
    """A key file of another version is refused with a message naming the version."""
    path = tmp_path / "keys"
    LocalKMS(path).create_key("k1")
    data = bytearray(path.read_bytes())
    data[4:6] = b"\x00\x02"
    body = bytes(data[:-32])
    path.write_bytes(body + hashlib.sha256(body).digest())
    with pytest.raises(KMSError, match="version 2"):
        LocalKMS(path).key_ids()


def test_wrapping_layout(tmp_path: Path) -> None:
    """Wrapped data key = 0x01 || nonce(12) || AES-256-GCM(master, data key, kms_aad) || tag."""
    master, data_key, nonce = bytes(range(32)), bytes(range(32, 64)), bytes(12)
    wrapped = local_wrap(master, "k1", CONTEXT, data_key, nonce)
    assert len(wrapped) == 61
    assert wrapped[0] == 1
    assert wrapped[1:13] == nonce
    assert local_unwrap(master, "k1", CONTEXT, wrapped) == data_key
    assert kms_aad("k1", CONTEXT) == kms_aad("k1", dict(reversed(list(CONTEXT.items()))))
    assert kms_aad("k1", CONTEXT).startswith(b"strongroom/kms/v1\x00")
    for bad in (b"\x02" + wrapped[1:], wrapped[:-1], wrapped + b"\x00"):
        with pytest.raises(KMSAccessDenied):
            local_unwrap(master, "k1", CONTEXT, bad)
    with pytest.raises(KMSAccessDenied):
        local_unwrap(master, "k2", CONTEXT, wrapped)


def test_no_secret_in_reprs(tmp_path: Path) -> None:
    """Neither the provider nor a data key shows key bytes."""
    kms = LocalKMS(tmp_path / "keys")
    kms.create_key("k1")
    data_key = kms.generate_data_key("k1", CONTEXT)
    assert data_key.plaintext.hex() not in repr(data_key)
    assert str(data_key.plaintext) not in repr(data_key)
    assert "redacted" in repr(data_key)
    master = cbor2.loads((tmp_path / "keys").read_bytes()[10:-32])["keys"]["k1"]
    assert master.hex() not in repr(kms)

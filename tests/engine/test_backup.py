"""Sealed backups, inner layer: round trip, families, tamper, rollback, approval, no plaintext."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strongroom.constants import Attribute, KeyType, Mechanism, ObjectClass, Role
from strongroom.engine import HSM, GCMParams, admin_ops
from strongroom.engine.approval import LocalConfirmation
from strongroom.engine.backup_format import MAGIC, RECORDS_PER_CHUNK
from strongroom.engine.identity import ManufacturerIdentity
from strongroom.errors import (
    ApprovalDenied,
    BackupError,
    BackupInvalid,
    BackupNotConfigured,
    BackupRollback,
    BackupWrongFamily,
    HSMSealed,
    NotLoggedIn,
)
from strongroom.testing import MemoryStore, fake_manufacturer, fake_service, fast_config

from .engine_helpers import ADMIN_PASSWORD, ALICE_PASSWORD, BOB_PASSWORD, activate

A = Attribute
M = Mechanism
KNOWN_KEY = bytes(range(100, 132))


@dataclass
class Source:
    """An HSM with state worth backing up, and what to check after a restore."""

    hsm: HSM
    aes: int
    shared: int
    ciphertext: bytes
    label_handles: list[int]


def _hsm(
    manufacturer: ManufacturerIdentity | None = None, service: bool = True, **cfg: object
) -> HSM:
    m = manufacturer if manufacturer is not None else fake_manufacturer()
    hsm = HSM.open(MemoryStore(), fast_config(manufacturer=m, **cfg))
    if service:
        hsm.configure_service(fake_service())
    return hsm


def _source(extra_keys: int = 0) -> Source:
    hsm = _hsm()
    admin = activate(hsm)
    admin.set_policy("clear_key_import", True)
    alice = hsm.open_session()
    alice.login("alice", ALICE_PASSWORD)
    aes = alice.create_object(
        {
            A.CLASS: ObjectClass.SECRET_KEY,
            A.KEY_TYPE: KeyType.AES,
            A.VALUE: KNOWN_KEY,
            A.TOKEN: True,
            A.LABEL: "known",
        }
    )
    shared = alice.generate_key(M.AES_KEY_GEN, {A.VALUE_LEN: 32, A.TOKEN: True, A.LABEL: "s"})
    alice.share_key(shared, "bob")
    alice.generate_key_pair(
        M.EC_KEY_PAIR_GEN,
        {A.EC_PARAMS: bytes.fromhex("06082a8648ce3d030107"), A.TOKEN: True},
        {A.TOKEN: True, A.LABEL: "ec"},
    )
    handles = [
        alice.generate_key(M.AES_KEY_GEN, {A.VALUE_LEN: 16, A.TOKEN: True, A.LABEL: f"k{i}"})
        for i in range(extra_keys)
    ]
    ciphertext = alice.encrypt(aes, M.AES_GCM, b"survives", GCMParams(bytes(12)))
    return Source(hsm, aes, shared, ciphertext, handles)


def _backup(hsm: HSM) -> bytes:
    with hsm.backup() as stream:
        return b"".join(stream.chunks())


def _digest(hsm: HSM) -> str:
    return admin_ops.sync_digest(hsm._core)


@pytest.fixture(scope="module")
def source() -> Iterator[Source]:
    """One source HSM with users, keys, a share and a policy, for the whole module."""
    s = _source(extra_keys=RECORDS_PER_CHUNK + 40)  # more than one chunk
    yield s
    s.hsm.close()


@pytest.fixture(scope="module")
def blob(source: Source) -> bytes:
    """One backup of the source."""
    return _backup(source.hsm)


def test_round_trip_gives_an_identical_hsm(source: Source, blob: bytes) -> None:
    """Restored onto a fresh HSM of the family: same users, keys, shares, policies; keys work."""
    target = _hsm()
    result = target.restore([blob[i : i + 4096] for i in range(0, len(blob), 4096)])
    assert result.objects >= RECORDS_PER_CHUNK
    assert _digest(target) == _digest(source.hsm)
    admin = target.open_session()
    admin.login("admin", ADMIN_PASSWORD)  # unseals: the storage key slot came along
    assert admin.get_policy()["clear_key_import"] is True
    alice = target.open_session()
    alice.login("alice", ALICE_PASSWORD)
    assert alice.decrypt(source.aes, M.AES_GCM, source.ciphertext, GCMParams(bytes(12))) == (
        b"survives"
    )
    assert alice.find_objects({A.LABEL: "k7"}) == [source.label_handles[7]]
    bob = target.open_session()
    bob.login("bob", BOB_PASSWORD)
    assert bob.find_objects({A.LABEL: "s"}) == [source.shared]
    new = alice.generate_key(M.AES_KEY_GEN, {A.VALUE_LEN: 16, A.TOKEN: True})
    assert new > max(source.label_handles)  # counters came along: no handle reuse
    assert any(r["event"] == "restore" for r in admin.read_audit())
    target.verify_audit()
    target.close()


def test_backup_holds_no_plaintext_key_or_password(blob: bytes) -> None:
    """Neither a known key value nor any password appears anywhere in the backup bytes."""
    assert blob.startswith(MAGIC)
    for secret in (
        KNOWN_KEY,
        ADMIN_PASSWORD.encode(),
        ALICE_PASSWORD.encode(),
        BOB_PASSWORD.encode(),
    ):
        assert secret not in blob
        assert secret[:16] not in blob


def test_restore_logs_everyone_out_and_seals(source: Source, blob: bytes) -> None:
    """After a restore, sessions are logged out and keys wait for an admin to unseal."""
    target = _hsm()
    activate(target)
    alice = target.open_session()
    alice.login("alice", ALICE_PASSWORD)
    target.restore([blob])
    with pytest.raises(NotLoggedIn):
        alice.generate_random(16)
    alice.login("alice", ALICE_PASSWORD)
    with pytest.raises(HSMSealed):
        alice.decrypt(source.aes, M.AES_GCM, source.ciphertext, GCMParams(bytes(12)))
    target.close()


@pytest.mark.parametrize(
    ("manufacturer", "service"),
    [
        (fake_manufacturer("other-maker"), fake_service()),
        (fake_manufacturer(), fake_service("other-service")),
        (fake_manufacturer(seed=9), fake_service()),  # same ID, other MKBK
        (fake_manufacturer(), fake_service(seed=9)),  # same ID, other AKBK
    ],
    ids=["manufacturer", "service", "mkbk", "akbk"],
)
def test_other_families_are_refused_before_any_change(
    blob: bytes, manufacturer: ManufacturerIdentity, service: object
) -> None:
    """A backup from another manufacturer or service key is refused; the target is untouched."""
    target = HSM.open(MemoryStore(), fast_config(manufacturer=manufacturer))
    target.configure_service(service)  # type: ignore[arg-type]
    activate(target)
    before = _digest(target)
    with pytest.raises(BackupWrongFamily):
        target.restore([blob])
    assert _digest(target) == before
    target.close()


def test_unconfigured_hsms_cannot_back_up_or_restore(blob: bytes) -> None:
    """No manufacturer, or no service yet: BACKUP_NOT_CONFIGURED."""
    bare = HSM.open(MemoryStore(), fast_config())
    with pytest.raises(BackupNotConfigured):
        bare.backup()
    no_service = _hsm(service=False)
    with pytest.raises(BackupNotConfigured):
        no_service.restore([blob])


def _chunks(data: bytes) -> tuple[bytes, list[bytes]]:
    (length,) = struct.unpack(">I", data[6:10])
    header, rest = data[: 10 + length], data[10 + length :]
    chunks = []
    while rest:
        (n,) = struct.unpack(">I", rest[:4])
        chunks.append(rest[: 4 + n])
        rest = rest[4 + n :]
    return header, chunks


@pytest.fixture(scope="module")
def target() -> Iterator[HSM]:
    """An activated target HSM whose state must survive every failed restore."""
    hsm = _hsm()
    activate(hsm)
    yield hsm
    hsm.close()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_any_flipped_bit_is_refused_and_changes_nothing(
    blob: bytes, target: HSM, position: int, bit: int
) -> None:
    """Flipping any single bit anywhere in a backup fails the restore; the target is as before."""
    before = _digest(target)
    damaged = bytearray(blob)
    damaged[position % len(blob)] ^= 1 << bit
    with pytest.raises(BackupError):
        target.restore([bytes(damaged)])
    assert _digest(target) == before


def test_truncation_reorder_duplication_and_splicing_are_refused(
    source: Source, blob: bytes, target: HSM
) -> None:
    """Cut, swapped, repeated or foreign chunks all fail as BACKUP_INVALID, changing nothing."""
    header, chunks = _chunks(blob)
    assert len(chunks) >= 2
    other_header, other_chunks = _chunks(_backup(source.hsm))
    before = _digest(target)
    bad = {
        "truncated": header + b"".join(chunks[:-1]),
        "cut mid-chunk": blob[:-7],
        "swapped": header + chunks[1] + chunks[0] + b"".join(chunks[2:]),
        "repeated": header + chunks[0] + b"".join(chunks),
        "spliced": header + other_chunks[0] + b"".join(chunks[1:]),
        "other header": other_header + b"".join(chunks),
        "trailing bytes": blob + b"\x00",
        "empty": b"",
    }
    for name, data in bad.items():
        with pytest.raises(BackupError):
            target.restore([data])
        assert _digest(target) == before, name
    with pytest.raises(BackupInvalid):
        target.restore([header + chunks[1] + chunks[0] + b"".join(chunks[2:])])


def test_rollback_needs_force_and_is_audited() -> None:
    """Restoring an older backup of the same lineage is refused unless forced."""
    src = _source()
    old = _backup(src.hsm)
    alice = src.hsm.open_session()
    alice.login("alice", ALICE_PASSWORD)
    newer = alice.generate_key(M.AES_KEY_GEN, {A.VALUE_LEN: 16, A.TOKEN: True})
    with pytest.raises(BackupRollback):
        src.hsm.restore([old])
    result = src.hsm.restore([old], force=True)
    assert result.forced
    admin = src.hsm.open_session()
    admin.login("admin", ADMIN_PASSWORD)
    restore = [r for r in admin.read_audit() if r["event"] == "restore"][-1]
    assert restore["details"]["forced"] is True  # type: ignore[index]
    assert newer not in admin.find_objects()
    same = _backup(src.hsm)
    src.hsm.restore([same])  # the same position again is no rollback
    src.hsm.close()


@pytest.mark.parametrize(
    ("answer", "allowed"), [("y", True), ("yes", True), ("n", False), ("", False)]
)
def test_approval_step(blob: bytes, answer: str, allowed: bool) -> None:
    """With an approval configured, a restore goes ahead only when it says yes."""
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return answer

    target = _hsm(backup_approval=LocalConfirmation(ask))
    if allowed:
        target.restore([blob])
    else:
        with pytest.raises(ApprovalDenied):
            target.restore([blob])
    assert asked
    assert "restore" in asked[0]
    target.close()


def test_identity_files_are_private_and_round_trip(tmp_path: os.PathLike[str]) -> None:
    """Identity files are written 0600, read back equal, and refused if others can read them."""
    from pathlib import Path

    from strongroom.engine.identity import ServiceIdentity
    from strongroom.errors import IdentityInvalid

    root = Path(tmp_path)
    m = ManufacturerIdentity.create("acme")
    m.save(root / "m.id")
    assert (root / "m.id").stat().st_mode & 0o777 == 0o600
    assert ManufacturerIdentity.load(root / "m.id") == m
    assert "mkbk" not in repr(m).replace("mkbk=<redacted>", "")
    s = ServiceIdentity.create("svc")
    s.save(root / "s.id")
    assert ServiceIdentity.load(root / "s.id") == s
    os.chmod(root / "s.id", 0o644)
    with pytest.raises(IdentityInvalid):
        ServiceIdentity.load(root / "s.id")
    with pytest.raises(IdentityInvalid):
        ServiceIdentity.load(root / "m.id")


def test_an_hsm_refuses_another_manufacturer_or_service(sqlite_path: os.PathLike[str]) -> None:
    """An HSM keeps its maker and its first service; other identities are refused."""
    from strongroom.errors import IdentityInvalid
    from strongroom.store.sqlite import SQLiteStore

    hsm = HSM.open(SQLiteStore(sqlite_path), fast_config(manufacturer=fake_manufacturer()))
    hsm.configure_service(fake_service())
    hsm.configure_service(fake_service())  # the same again: fine
    with pytest.raises(IdentityInvalid):
        hsm.configure_service(fake_service("someone-else"))
    hsm.close()
    with pytest.raises(IdentityInvalid):
        HSM.open(SQLiteStore(sqlite_path), fast_config(manufacturer=fake_manufacturer(seed=5)))


def test_empty_state_backs_up_in_one_chunk() -> None:
    """A fresh, unactivated HSM backs up (one chunk) and restores."""
    hsm = _hsm()
    data = _backup(hsm)
    assert len(_chunks(data)[1]) == 1
    target = _hsm()
    result = target.restore([data])
    assert result.objects == 0
    target.open_session().login("admin", "password")
    hsm.close()
    target.close()


def test_users_and_roles_survive(source: Source, blob: bytes) -> None:
    """The restored HSM lists the same users with the same roles."""
    target = _hsm()
    target.restore([blob])
    admin = target.open_session()
    admin.login("admin", ADMIN_PASSWORD)
    roles = {u.username: u.role for u in admin.list_users()}
    assert roles == {
        "admin": Role.ADMIN,
        "alice": Role.CRYPTO_USER,
        "bob": Role.CRYPTO_USER,
        "app": Role.APPLIANCE,
    }
    target.close()

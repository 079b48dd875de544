"""The backup service end to end: HSM → envelope → object store → restore, lifecycle, regions.

Region "eu" is real infrastructure started by the suite (SeaweedFS S3 + OpenBao transit);
region "us" is the embedded default (filesystem store + local KMS key file).
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strongroom.backup.catalog import BackupState, backup_object_key, catalog_object_key
from strongroom.backup.kms.local import LocalKMS
from strongroom.backup.kms.openbao import OpenBaoKMS
from strongroom.backup.objectstore.filesystem import FilesystemObjectStore
from strongroom.backup.service import BackupService, Region
from strongroom.constants import Attribute, Mechanism
from strongroom.engine import HSM, GCMParams
from strongroom.errors import (
    ActionProhibited,
    ArgumentsBad,
    BackupError,
    EnvelopeInvalid,
    KMSAccessDenied,
    ObjectCorrupt,
    StrongroomError,
)
from strongroom.testing import FakeClock, MemoryStore, fake_manufacturer, fake_service, fast_config

from .objectstore_helpers import s3_store
from .services import OpenBaoService, S3Service

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine.engine_helpers import ADMIN_PASSWORD, ALICE_PASSWORD, activate

A = Attribute
M = Mechanism
KNOWN = bytes(range(200, 232))
DAY = 86_400


def _hsm() -> HSM:
    hsm = HSM.open(MemoryStore(), fast_config(manufacturer=fake_manufacturer()))
    hsm.configure_service(fake_service())
    return hsm


@pytest.fixture(scope="module")
def source() -> Iterator[tuple[HSM, int, bytes]]:
    """An activated HSM with a known token key and a ciphertext made with it."""
    hsm = _hsm()
    admin = activate(hsm)
    admin.set_policy("clear_key_import", True)
    alice = hsm.open_session()
    alice.login("alice", ALICE_PASSWORD)
    key = alice.create_object(
        {A.CLASS: 4, A.KEY_TYPE: 0x1F, A.VALUE: KNOWN, A.TOKEN: True, A.LABEL: "known"}
    )
    for _ in range(20):
        alice.generate_key(M.AES_KEY_GEN, {A.VALUE_LEN: 32, A.TOKEN: True})
    ciphertext = alice.encrypt(key, M.AES_GCM, b"across regions", GCMParams(bytes(12)))
    yield hsm, key, ciphertext
    hsm.close()


@pytest.fixture
def regions(
    tmp_path: Path, seaweedfs: S3Service, s3_bucket: str, openbao: OpenBaoService
) -> Iterator[dict[str, Region]]:
    """'eu' on SeaweedFS + OpenBao, 'us' on a filesystem store + a local KMS key file."""
    key_name = f"backup-{secrets.token_hex(4)}"
    openbao.request("POST", f"{openbao.transit_mount}/keys/{key_name}", {"type": "aes256-gcm96"})
    local = LocalKMS(tmp_path / "kms.keys")
    local.create_key("us-backups")
    with OpenBaoKMS(openbao.address, openbao.token, openbao.transit_mount) as bao:
        yield {
            "eu": Region("eu", s3_store(seaweedfs, s3_bucket), bao, key_name),
            "us": Region("us", FilesystemObjectStore(tmp_path / "us"), local, "us-backups"),
        }


def _restored_decrypts(hsm: HSM, key: int, ciphertext: bytes) -> bytes:
    admin = hsm.open_session()
    admin.login("admin", ADMIN_PASSWORD)
    alice = hsm.open_session()
    alice.login("alice", ALICE_PASSWORD)
    return alice.decrypt(key, M.AES_GCM, ciphertext, GCMParams(bytes(12)))


def test_backup_to_s3_copy_to_another_region_and_restore_both(
    regions: dict[str, Region], source: tuple[HSM, int, bytes]
) -> None:
    """A backup stored on S3 under OpenBao restores; its copy in another region restores too."""
    hsm, key, ciphertext = source
    clock = FakeClock()
    service = BackupService(regions, clock=clock)
    seen: list[int] = []
    entry = service.create_backup(
        hsm, cluster_id="cluster-1", region="eu", tags={"team": "keys"}, progress=seen.append
    )
    assert entry.state is BackupState.READY
    assert entry.size
    assert sum(seen) > 0
    assert service.describe(entry.backup_id) == entry
    clock.advance(3600)
    copy = service.copy_to_region(entry.backup_id, "us")
    assert copy.create_timestamp_ns == entry.create_timestamp_ns
    assert (copy.source_region, copy.source_backup, copy.source_cluster) == (
        "eu",
        entry.backup_id,
        "cluster-1",
    )
    assert copy.cluster_id is None
    assert copy.kms_key_id == "us-backups"
    for backup_id in (entry.backup_id, copy.backup_id):
        target = _hsm()
        service.restore_to_hsm(backup_id, target)
        assert _restored_decrypts(target, key, ciphertext) == b"across regions"
        target.close()
    report = service.verify(entry.backup_id)
    assert report.ok, report.error
    drill = service.verify(copy.backup_id, drill=_hsm)
    assert drill.ok, drill.error
    assert drill.drill is not None
    assert drill.drill.objects == entry.object_count


def test_no_plaintext_in_stored_objects(
    regions: dict[str, Region], source: tuple[HSM, int, bytes], tmp_path: Path
) -> None:
    """Neither the known key nor a password appears in any stored object or file."""
    hsm, _, _ = source
    service = BackupService(regions)
    entry = service.create_backup(hsm, cluster_id="c", region="us")
    service.copy_to_region(entry.backup_id, "eu")
    blobs = [p.read_bytes() for p in (tmp_path / "us").rglob("*") if p.is_file()]
    blobs += [b"".join(regions["eu"].store.get(o.key)) for o in regions["eu"].store.list()]
    assert blobs
    for blob in blobs:
        for secret in (KNOWN, KNOWN[:16], ADMIN_PASSWORD.encode(), ALICE_PASSWORD.encode()):
            assert secret not in blob


def test_lifecycle_with_a_fake_clock(tmp_path: Path, source: tuple[HSM, int, bytes]) -> None:
    """Delete → PENDING_DELETION for 7 days → restorable → gone; retention spares the newest."""
    hsm, _, _ = source
    local = LocalKMS(tmp_path / "kms.keys")
    local.create_key("k")
    clock = FakeClock()
    service = BackupService(
        {"us": Region("us", FilesystemObjectStore(tmp_path / "us"), local, "k")}, clock=clock
    )
    service.set_retention("c", 7)
    with pytest.raises(ArgumentsBad):
        service.set_retention("c", 6)
    with pytest.raises(ArgumentsBad):
        service.set_retention("c", 380)
    old = service.create_backup(hsm, cluster_id="c", region="us")
    keep = service.create_backup(hsm, cluster_id="c", region="us")
    service.set_never_expires(keep.backup_id, True)
    clock.advance(DAY)
    newest = service.create_backup(hsm, cluster_id="c", region="us")
    deleted = service.delete_backup(newest.backup_id)
    assert deleted.state is BackupState.PENDING_DELETION
    assert deleted.delete_timestamp_ns == clock.now + 7 * DAY * 10**9
    with pytest.raises(ActionProhibited):
        service.delete_backup(newest.backup_id)
    assert service.restore_deleted_backup(newest.backup_id).state is BackupState.READY
    clock.advance(7 * DAY)
    report = service.purge()
    assert report.expired == [old.backup_id]  # keep: NeverExpires; newest: the cluster's latest
    assert service.describe(old.backup_id).state is BackupState.PENDING_DELETION
    clock.advance(7 * DAY - 1)
    assert service.purge().deleted == []
    clock.advance(2)
    assert service.purge().deleted == [old.backup_id]
    with pytest.raises(ArgumentsBad):
        service.describe(old.backup_id)
    assert {e.backup_id for e in service.list_backups()} == {keep.backup_id, newest.backup_id}
    assert service.list_backups(never_expires=True)[0].backup_id == keep.backup_id


def test_tags_follow_cloudhsm_limits(tmp_path: Path, source: tuple[HSM, int, bytes]) -> None:
    """Tags: keys ≤ 128, values ≤ 256 characters, at most 50; untag removes them."""
    local = LocalKMS(tmp_path / "kms.keys")
    local.create_key("k")
    service = BackupService(
        {"us": Region("us", FilesystemObjectStore(tmp_path / "us"), local, "k")}
    )
    entry = service.create_backup(source[0], cluster_id="c", region="us")
    tagged = service.tag(entry.backup_id, {"a": "1", "b": "2"})
    assert tagged.tags == {"a": "1", "b": "2"}
    assert service.untag(entry.backup_id, ["a"]).tags == {"b": "2"}
    for bad in (
        {"k" * 129: "v"},
        {"k": "v" * 257},
        {f"t{i}": "" for i in range(50)},
        {"aws:x": "y"},
    ):
        with pytest.raises(ArgumentsBad):
            service.tag(entry.backup_id, bad)
    assert service.describe(entry.backup_id).tags == {"b": "2"}


def test_catalog_rebuilds_from_the_object_store(
    tmp_path: Path, source: tuple[HSM, int, bytes]
) -> None:
    """With every catalog object gone, the backups' own metadata rebuilds the catalog."""
    local = LocalKMS(tmp_path / "kms.keys")
    local.create_key("k")
    store = FilesystemObjectStore(tmp_path / "us")
    service = BackupService({"us": Region("us", store, local, "k")})
    a = service.create_backup(source[0], cluster_id="c", region="us")
    b = service.copy_to_region(a.backup_id, "us")
    for entry in (a, b):
        store.delete(catalog_object_key(entry.backup_id))
    assert service.list_backups() == []
    assert sorted(service.rebuild_catalog()) == sorted([a.backup_id, b.backup_id])
    rebuilt = {e.backup_id: e for e in service.list_backups()}
    assert rebuilt[a.backup_id].cluster_id == "c"
    assert rebuilt[b.backup_id].source_backup == a.backup_id
    assert rebuilt[a.backup_id].sha256 == a.sha256


@pytest.fixture(scope="module")
def stored(
    tmp_path_factory: pytest.TempPathFactory, source: tuple[HSM, int, bytes]
) -> tuple[BackupService, str, Path]:
    """One backup stored in a filesystem region, for the tamper tests."""
    root = tmp_path_factory.mktemp("tamper")
    local = LocalKMS(root / "kms.keys")
    local.create_key("k")
    service = BackupService({"us": Region("us", FilesystemObjectStore(root / "us"), local, "k")})
    entry = service.create_backup(source[0], cluster_id="c", region="us")
    (data,) = [p for p in (root / "us" / "backups").iterdir() if p.name.endswith(".data")]
    return service, entry.backup_id, data


@pytest.fixture(scope="module")
def tamper_target() -> Iterator[HSM]:
    """An activated HSM whose state every failed restore must leave alone."""
    hsm = _hsm()
    activate(hsm)
    yield hsm
    hsm.close()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_any_flipped_bit_in_a_stored_backup_is_refused(
    stored: tuple[BackupService, str, Path], tamper_target: HSM, position: int, bit: int
) -> None:
    """Any bit flipped in the stored object (outer or inner layer) fails; the HSM is untouched."""
    from strongroom.engine import admin_ops

    service, backup_id, data = stored
    original = data.read_bytes()
    damaged = bytearray(original)
    damaged[position % len(original)] ^= 1 << bit
    before = admin_ops.sync_digest(tamper_target._core)
    data.write_bytes(bytes(damaged))
    try:
        with pytest.raises(StrongroomError) as info:
            service.restore_to_hsm(backup_id, tamper_target)
        assert isinstance(
            info.value, ObjectCorrupt | BackupError | KMSAccessDenied | EnvelopeInvalid
        )
    finally:
        data.write_bytes(original)
    assert admin_ops.sync_digest(tamper_target._core) == before


def test_wrong_kms_key_or_context_is_refused_before_any_change(
    tmp_path: Path, source: tuple[HSM, int, bytes], tamper_target: HSM
) -> None:
    """A backup moved under another id (context) or opened with another KMS key is refused."""
    from strongroom.engine import admin_ops

    local = LocalKMS(tmp_path / "kms.keys")
    local.create_key("k")
    local.create_key("other")
    store = FilesystemObjectStore(tmp_path / "us")
    service = BackupService({"us": Region("us", store, local, "k")})
    a = service.create_backup(source[0], cluster_id="c", region="us")
    b = service.create_backup(source[0], cluster_id="c", region="us")
    before = admin_ops.sync_digest(tamper_target._core)
    # Put a's bytes where b's belong: the envelope's context names a, not b.
    store.put(backup_object_key(b.backup_id), store.get(backup_object_key(a.backup_id)))
    with pytest.raises(KMSAccessDenied):
        service.restore_to_hsm(b.backup_id, tamper_target)
    other = BackupService({"us": Region("us", store, local, "other")})
    c = other.create_backup(source[0], cluster_id="c", region="us")
    assert c.kms_key_id == "other"
    wrong_key = LocalKMS(tmp_path / "kms2.keys")
    wrong_key.create_key("other")  # same name, different key material
    with pytest.raises(KMSAccessDenied):
        BackupService({"us": Region("us", store, wrong_key, "other")}).restore_to_hsm(
            c.backup_id, tamper_target
        )
    assert admin_ops.sync_digest(tamper_target._core) == before

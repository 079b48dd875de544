"""``strongroom backup``: every subcommand through ``main(argv)`` against the embedded default.

The embedded default is a filesystem store and a local KMS key file under ``--data-dir``; the
HSM is a SQLite store file made here with the manufacturer identity the command loads from
that data directory.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from strongroom.backup.catalog import BackupState
from strongroom.cli import main
from strongroom.cli.backup_cmd import STATES
from strongroom.cli.config import BackupSetup, Settings, load_settings, parse_settings
from strongroom.cli.output import ProgressBar, human_size, iso_utc, key_value_table, table
from strongroom.constants import Attribute, Mechanism
from strongroom.engine import HSM, GCMParams
from strongroom.engine.identity import ManufacturerIdentity
from strongroom.store.sqlite import SQLiteStore
from strongroom.testing import fast_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine.engine_helpers import ADMIN_PASSWORD, ALICE_PASSWORD, activate

A = Attribute
M = Mechanism
NONCE = GCMParams(bytes(12))
MESSAGE = b"kept across the restore"


@dataclass(frozen=True)
class Run:
    """One command's exit code and output."""

    code: int
    out: str
    err: str

    def json(self) -> object:
        """stdout as JSON (it must be exactly one document)."""
        return json.loads(self.out)


@dataclass(frozen=True)
class World:
    """A data directory with real identities, and an activated HSM with token keys."""

    data: Path
    hsm: Path
    manufacturer: ManufacturerIdentity
    labels: tuple[str, ...]
    ciphertext: bytes


class FakeTerminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> Run:
    """Run ``strongroom ARGS`` in-process; argparse's exits become exit codes too."""
    capsys.readouterr()
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return Run(code, out, err)


def make_hsm(path: Path, manufacturer: ManufacturerIdentity, keys: int = 3) -> tuple[str, ...]:
    """An activated HSM in the SQLite file ``path`` with ``keys`` labelled token AES keys."""
    hsm = HSM.open(SQLiteStore(path), fast_config(manufacturer=manufacturer))
    activate(hsm)
    alice = hsm.open_session()
    alice.login("alice", ALICE_PASSWORD)
    labels = tuple(f"key-{i}" for i in range(keys))
    for label in labels:
        alice.generate_key(M.AES_KEY_GEN, {A.VALUE_LEN: 32, A.TOKEN: True, A.LABEL: label})
    hsm.close()
    return labels


def encrypt_with(path: Path, manufacturer: ManufacturerIdentity, label: str) -> bytes:
    """Encrypt ``MESSAGE`` with the key labelled ``label`` in the HSM at ``path``."""
    hsm = HSM.open(SQLiteStore(path), fast_config(manufacturer=manufacturer))
    try:
        hsm.open_session().login("admin", ADMIN_PASSWORD)  # unseals the reopened HSM
        alice = hsm.open_session()
        alice.login("alice", ALICE_PASSWORD)
        (key,) = alice.find_objects({A.LABEL: label})
        return alice.encrypt(key, M.AES_GCM, MESSAGE, NONCE)
    finally:
        hsm.close()


def restored_labels(path: Path, manufacturer: ManufacturerIdentity, ciphertext: bytes) -> set[str]:
    """Log in to the (restored) HSM at ``path``; its token key labels, after a decrypt check."""
    hsm = HSM.open(SQLiteStore(path), fast_config(manufacturer=manufacturer))
    try:
        admin = hsm.open_session()
        admin.login("admin", ADMIN_PASSWORD)
        alice = hsm.open_session()
        alice.login("alice", ALICE_PASSWORD)
        handles = alice.find_objects({A.TOKEN: True})
        labels = {str(alice.get_attributes(h, [A.LABEL])[A.LABEL]) for h in handles}
        (key,) = alice.find_objects({A.LABEL: "key-0"})
        assert alice.decrypt(key, M.AES_GCM, ciphertext, NONCE) == MESSAGE
        return labels
    finally:
        hsm.close()


def is_activated(path: Path, manufacturer: ManufacturerIdentity) -> bool:
    """Whether the HSM at ``path`` has been activated."""
    hsm = HSM.open(SQLiteStore(path), fast_config(manufacturer=manufacturer))
    try:
        return bool(hsm.info()["activated"])
    finally:
        hsm.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """Identities made with ``identity create-*`` in the data dir, and an HSM they made."""
    root = tmp_path_factory.mktemp("cli")
    data = root / "data"
    data.mkdir(mode=0o700)
    assert (
        main(
            [
                "identity",
                "create-manufacturer",
                "--id",
                "acme",
                "--out",
                str(data / "manufacturer.id"),
            ]
        )
        == 0
    )
    assert (
        main(["identity", "create-service", "--id", "vault-svc", "--out", str(data / "service.id")])
        == 0
    )
    manufacturer = ManufacturerIdentity.load(data / "manufacturer.id")
    hsm = root / "hsm.db"
    labels = make_hsm(hsm, manufacturer)
    ciphertext = encrypt_with(hsm, manufacturer, "key-0")
    return World(data, hsm, manufacturer, labels, ciphertext)


def create(
    capsys: pytest.CaptureFixture[str], world: World, cluster: str, *extra: str
) -> dict[str, Any]:
    """``backup create`` of the world's HSM; its JSON entry."""
    run = cli(
        capsys,
        "backup", "create", "--hsm", world.hsm, "--cluster", cluster,
        "--data-dir", world.data, "--output", "json", *extra,
    )  # fmt: skip
    assert run.code == 0, run.err
    entry = run.json()
    assert isinstance(entry, dict)
    return entry


def backup(capsys: pytest.CaptureFixture[str], world: World, *args: str | Path) -> Run:
    """``backup ARGS --data-dir <world>``."""
    return cli(capsys, "backup", *args, "--data-dir", world.data)


# --- catalog -------------------------------------------------------------------------------


def test_create_then_list_as_table_and_json(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    """A created backup is READY, and list shows it both as a table and as JSON entries."""
    entry = create(capsys, world, "c-list", "--tag", "team=keys", "--tag", "env=test")
    assert entry["BackupState"] == "READY"
    assert entry["ClusterId"] == "c-list"
    assert entry["Region"] == "local"
    assert entry["ObjectCount"] == len(world.labels)
    assert entry["TagList"] == [{"Key": "env", "Value": "test"}, {"Key": "team", "Value": "keys"}]
    assert "WARNING" not in capsys.readouterr().err  # real identities: no development warning

    listed = backup(capsys, world, "list", "--cluster", "c-list")
    assert listed.code == 0
    header, row = listed.out.splitlines()
    assert header.split()[:3] == ["BACKUP", "ID", "REGION"]
    assert str(entry["BackupId"]) in row
    assert iso_utc(int(str(entry["CreateTimestampNs"]))) in row
    assert "env=test, team=keys" in row
    assert header.index("REGION") == row.index("local")  # aligned columns

    as_json = backup(capsys, world, "list", "--cluster", "c-list", "--output", "json").json()
    assert as_json == [entry]


def test_list_filters(capsys: pytest.CaptureFixture[str], world: World) -> None:
    """list filters by region, cluster, state and NeverExpires."""
    first = create(capsys, world, "c-filter")
    second = create(capsys, world, "c-filter")
    assert backup(capsys, world, "set-never-expires", first["BackupId"], "true").code == 0
    assert backup(capsys, world, "delete", second["BackupId"]).code == 0

    def ids(*filters: str) -> list[object]:
        run = backup(capsys, world, "list", "--cluster", "c-filter", "--output", "json", *filters)
        assert run.code == 0, run.err
        listed = run.json()
        assert isinstance(listed, list)
        return [e["BackupId"] for e in listed]

    assert ids() == [first["BackupId"], second["BackupId"]]
    assert ids("--state", "READY") == [first["BackupId"]]
    assert ids("--state", "READY", "--state", "PENDING_DELETION") == ids()
    assert ids("--never-expires", "true") == [first["BackupId"]]
    assert ids("--never-expires", "false") == [second["BackupId"]]
    assert ids("--region", "local") == ids()
    assert backup(capsys, world, "list", "--region", "mars").code == 2
    assert backup(capsys, world, "list", "--never-expires", "maybe").code == 2
    empty = backup(capsys, world, "list", "--cluster", "c-nothing-here")
    assert (empty.code, empty.out.strip()) == (0, "no backups")


def test_describe_shows_the_entry(capsys: pytest.CaptureFixture[str], world: World) -> None:
    """describe prints the catalog entry: JSON equal to create's, or an aligned table."""
    entry = create(capsys, world, "c-describe")
    described = backup(capsys, world, "describe", entry["BackupId"], "--output", "json")
    assert described.json() == entry
    text = backup(capsys, world, "describe", entry["BackupId"])
    assert text.code == 0
    lines = dict(line.split(None, 1) for line in text.out.splitlines())
    assert lines["BackupId"] == entry["BackupId"]
    assert lines["BackupState"] == "READY"
    assert lines["CreateTimestamp"].endswith("Z")
    assert lines["Size"].startswith(f"{entry['Size']} (")


def test_unknown_backup_is_an_error(capsys: pytest.CaptureFixture[str], world: World) -> None:
    """A missing or malformed backup id fails with the error's code on stderr, exit 1."""
    missing = backup(capsys, world, "describe", "backup-aaaaaaaaaaa")
    assert missing.code == 1
    assert missing.out == ""
    assert missing.err.startswith("error: [ARGUMENTS_BAD]")
    assert backup(capsys, world, "delete", "not-a-backup-id").code == 1


def test_tag_and_untag(capsys: pytest.CaptureFixture[str], world: World) -> None:
    """tag adds or replaces tags, untag removes them; bad syntax is a usage error."""
    entry = create(capsys, world, "c-tags", "--tag", "a=1")
    bid = str(entry["BackupId"])
    tagged = backup(capsys, world, "tag", bid, "a=2", "b=x=y", "--output", "json").json()
    assert isinstance(tagged, dict)
    assert tagged["TagList"] == [{"Key": "a", "Value": "2"}, {"Key": "b", "Value": "x=y"}]
    untagged = backup(capsys, world, "untag", bid, "a", "--output", "json").json()
    assert isinstance(untagged, dict)
    assert untagged["TagList"] == [{"Key": "b", "Value": "x=y"}]
    assert backup(capsys, world, "tag", bid, "novalue").code == 2
    assert backup(capsys, world, "tag", bid, "k=1", "k=2").code == 2
    reserved = backup(capsys, world, "tag", bid, "aws:x=1")
    assert (reserved.code, reserved.err.startswith("error: [ARGUMENTS_BAD]")) == (1, True)


def test_set_never_expires(capsys: pytest.CaptureFixture[str], world: World) -> None:
    """set-never-expires turns NeverExpires on and off."""
    bid = str(create(capsys, world, "c-never")["BackupId"])
    on = backup(capsys, world, "set-never-expires", bid, "true", "--output", "json").json()
    assert isinstance(on, dict)
    assert on["NeverExpires"] is True
    off = backup(capsys, world, "set-never-expires", bid, "False", "--output", "json").json()
    assert isinstance(off, dict)
    assert off["NeverExpires"] is False


def test_delete_then_restore(capsys: pytest.CaptureFixture[str], world: World) -> None:
    """delete moves a backup to PENDING_DELETION with a DeleteTimestamp; restore brings it back."""
    entry = create(capsys, world, "c-delete")
    bid = str(entry["BackupId"])
    deleted = backup(capsys, world, "delete", bid, "--output", "json").json()
    assert isinstance(deleted, dict)
    assert deleted["BackupState"] == "PENDING_DELETION"
    assert isinstance(deleted["DeleteTimestampNs"], int)
    again = backup(capsys, world, "delete", bid)
    assert (again.code, again.err.startswith("error: [ACTION_PROHIBITED]")) == (1, True)
    restored = backup(capsys, world, "restore", bid, "--output", "json").json()
    assert isinstance(restored, dict)
    assert restored["BackupState"] == "READY"
    assert restored["DeleteTimestampNs"] is None
    assert backup(capsys, world, "restore", bid).code == 1


def test_purge_and_set_retention(capsys: pytest.CaptureFixture[str], world: World) -> None:
    """set-retention takes 7-379 days; purge runs once and spares recent backups."""
    ok = backup(
        capsys, world, "set-retention", "--cluster", "c-purge", "--days", "30", "--output", "json"
    )
    assert ok.json() == {
        "ClusterId": "c-purge",
        "BackupRetentionPolicy": {"Type": "DAYS", "Value": "30"},
    }
    for days in ("6", "380", "ninety"):
        bad = backup(capsys, world, "set-retention", "--cluster", "c-purge", "--days", days)
        assert bad.code == 2
        assert "days" in bad.err
    bid = create(capsys, world, "c-purge")["BackupId"]
    report = backup(capsys, world, "purge", "--output", "json").json()
    assert isinstance(report, dict)
    assert set(report) == {"Expired", "Deleted"}
    assert bid not in report["Expired"]
    assert backup(capsys, world, "purge").code == 0


# --- long work -----------------------------------------------------------------------------


def test_verify_plain_and_drill(
    capsys: pytest.CaptureFixture[str],
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """verify checks envelope, checksums and structure; --drill also restores into a scratch HSM."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    entry = create(capsys, world, "c-verify")
    bid = str(entry["BackupId"])
    plain = backup(capsys, world, "verify", bid, "--output", "json")
    assert plain.code == 0, plain.err
    report = plain.json()
    assert isinstance(report, dict)
    assert report["Ok"] is True
    assert report["ChunkCount"] >= 1
    assert report["Drill"] is None
    drill = backup(capsys, world, "verify", bid, "--drill", "--output", "json")
    assert drill.code == 0, drill.err
    drilled = drill.json()
    assert isinstance(drilled, dict)
    assert drilled["Ok"] is True
    assert drilled["Drill"]["ObjectCount"] == entry["ObjectCount"]
    assert drilled["Drill"]["SourceHsmId"] == entry["HsmId"]
    text = backup(capsys, world, "verify", bid, "--drill")
    assert text.code == 0
    assert "restore drill" in text.out
    assert list(scratch.iterdir()) == []  # the scratch HSM was thrown away


def test_verify_reports_a_damaged_backup(capsys: pytest.CaptureFixture[str], world: World) -> None:
    """A flipped byte in the stored object fails verify with exit 1 and says what failed."""
    bid = str(create(capsys, world, "c-damaged")["BackupId"])
    (data_file,) = (world.data / "backups" / "local" / "backups").glob(f"{bid}.srbe.*.data")
    blob = bytearray(data_file.read_bytes())
    blob[len(blob) // 2] ^= 0x01
    data_file.write_bytes(bytes(blob))
    run = backup(capsys, world, "verify", bid, "--output", "json")
    assert run.code == 1
    report = run.json()
    assert isinstance(report, dict)
    assert report["Ok"] is False
    assert "OBJECT_CORRUPT" in str(report["Error"])
    assert f"verification of {bid} failed" in run.err
    human = backup(capsys, world, "verify", bid)
    assert human.code == 1
    assert "FAILED" in human.out


def test_restore_to_a_fresh_hsm_with_yes(
    capsys: pytest.CaptureFixture[str], world: World, tmp_path: Path
) -> None:
    """restore-to-hsm --yes onto a new store file gives an HSM with the same users and keys."""
    entry = create(capsys, world, "c-restore")
    target = tmp_path / "new-hsm.db"
    run = backup(
        capsys,
        world,
        "restore-to-hsm",
        entry["BackupId"],
        "--hsm",
        target,
        "--yes",
        "--output",
        "json",
    )
    assert run.code == 0, run.err
    result = run.json()
    assert isinstance(result, dict)
    assert result["BackupId"] == entry["BackupId"]
    assert result["ObjectCount"] == len(world.labels)
    assert result["SourceHsmId"] == entry["HsmId"]
    assert result["TargetHsmId"] != entry["HsmId"]
    assert restored_labels(target, world.manufacturer, world.ciphertext) == set(world.labels)


def test_a_failed_restore_leaves_no_new_store_behind(
    capsys: pytest.CaptureFixture[str], world: World, tmp_path: Path
) -> None:
    """A restore onto a new path that fails (another service's backup) removes the new file."""
    config = tmp_path / "other-service.toml"
    other_service = tmp_path / "other-service.id"
    assert (
        cli(capsys, "identity", "create-service", "--id", "other", "--out", other_service).code == 0
    )
    config.write_text(
        f"[identities]\nmanufacturer = {json.dumps(str(world.data / 'manufacturer.id'))}\n"
        f"service = {json.dumps(str(other_service))}\n"
        + region_toml(
            "local",
            path=str(world.data / "backups" / "local"),
            key_file=str(world.data / "kms.keys"),
            key_id="backups",
        )
    )
    bid = create(capsys, world, "c-wrong-family")["BackupId"]
    target = tmp_path / "new.db"
    run = cli(capsys, "backup", "restore-to-hsm", bid, "--hsm", target, "--yes", "--config", config)
    assert run.code == 1
    assert "[BACKUP_WRONG_FAMILY]" in run.err
    assert list(tmp_path.glob("new.db*")) == []


def test_restore_to_hsm_refuses_without_yes_when_not_interactive(
    capsys: pytest.CaptureFixture[str], world: World, tmp_path: Path
) -> None:
    """Without --yes and without a terminal, restore-to-hsm refuses and touches nothing."""
    bid = str(create(capsys, world, "c-refuse")["BackupId"])
    target = tmp_path / "new-hsm.db"
    run = backup(capsys, world, "restore-to-hsm", bid, "--hsm", target)
    assert run.code == 2
    assert "--yes" in run.err
    assert not target.exists()
    existing = tmp_path / "existing.db"
    make_hsm(existing, world.manufacturer, keys=1)
    before = existing.read_bytes()
    assert backup(capsys, world, "restore-to-hsm", bid, "--hsm", existing).code == 2
    assert existing.read_bytes() == before


def test_restore_to_hsm_asks_in_a_terminal(
    capsys: pytest.CaptureFixture[str],
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In a terminal restore-to-hsm asks: "n" changes nothing (exit 1), "y" restores."""
    bid = str(create(capsys, world, "c-ask")["BackupId"])
    target = tmp_path / "target.db"
    HSM.open(SQLiteStore(target), fast_config(manufacturer=world.manufacturer)).close()
    monkeypatch.setattr(sys, "stdin", FakeTerminal("n\n"))
    refused = backup(capsys, world, "restore-to-hsm", bid, "--hsm", target)
    assert refused.code == 1
    assert "[y/N]" in refused.err
    assert "[APPROVAL_DENIED]" in refused.err
    assert refused.out == ""
    assert not is_activated(target, world.manufacturer)
    monkeypatch.setattr(sys, "stdin", FakeTerminal("y\n"))
    approved = backup(capsys, world, "restore-to-hsm", bid, "--hsm", target)
    assert approved.code == 0, approved.err
    assert restored_labels(target, world.manufacturer, world.ciphertext) == set(world.labels)


def test_rolling_an_hsm_back_needs_force(
    capsys: pytest.CaptureFixture[str], world: World, tmp_path: Path
) -> None:
    """Restoring an HSM's own older backup is refused unless --force, which rolls it back."""
    source = tmp_path / "source.db"
    make_hsm(source, world.manufacturer, keys=1)
    bid = str(
        json.loads(
            cli(
                capsys,
                "backup",
                "create",
                "--hsm",
                source,
                "--cluster",
                "c-roll",
                "--data-dir",
                world.data,
                "--output",
                "json",
            ).out
        )["BackupId"]
    )
    hsm = HSM.open(SQLiteStore(source), fast_config(manufacturer=world.manufacturer))
    hsm.open_session().login("admin", ADMIN_PASSWORD)
    alice = hsm.open_session()
    alice.login("alice", ALICE_PASSWORD)
    alice.generate_key(M.AES_KEY_GEN, {A.VALUE_LEN: 32, A.TOKEN: True, A.LABEL: "later"})
    hsm.close()
    refused = backup(capsys, world, "restore-to-hsm", bid, "--hsm", source, "--yes")
    assert refused.code == 1
    assert "[BACKUP_ROLLBACK]" in refused.err
    forced = backup(
        capsys,
        world,
        "restore-to-hsm",
        bid,
        "--hsm",
        source,
        "--yes",
        "--force",
        "--output",
        "json",
    )
    assert forced.code == 0, forced.err
    result = forced.json()
    assert isinstance(result, dict)
    assert result["Forced"] is True
    ciphertext = encrypt_with(source, world.manufacturer, "key-0")
    assert restored_labels(source, world.manufacturer, ciphertext) == {"key-0"}


def test_create_needs_an_existing_hsm_store(
    capsys: pytest.CaptureFixture[str], world: World, tmp_path: Path
) -> None:
    """create refuses a --hsm path with no store (exit 2) and an HSM of another manufacturer."""
    missing = backup(capsys, world, "create", "--hsm", tmp_path / "none.db", "--cluster", "c")
    assert missing.code == 2
    assert "no HSM store" in missing.err
    assert not (tmp_path / "none.db").exists()
    other = tmp_path / "other.db"
    make_hsm(other, ManufacturerIdentity.create("someone-else"), keys=0)
    wrong = backup(capsys, world, "create", "--hsm", other, "--cluster", "c")
    assert wrong.code == 1
    assert "[IDENTITY_INVALID]" in wrong.err
    assert backup(capsys, world, "create", "--hsm", world.hsm, "--cluster", "bad id!").code == 2


def test_copy_to_region_with_two_filesystem_regions(
    capsys: pytest.CaptureFixture[str], world: World, tmp_path: Path
) -> None:
    """A config with two regions: copy-to-region re-envelopes, records the source, verifies."""
    config = tmp_path / "conf" / "strongroom.toml"
    config.parent.mkdir()
    config.write_text(
        f"""
[identities]
manufacturer = "{world.data / "manufacturer.id"}"
service = "{world.data / "service.id"}"

[regions.us-east-1]
store = "filesystem"
path = "backups/us"
kms = "local"
key_file = "kms.keys"
key_id = "us-backups"

[regions.eu-west-1]
store = "filesystem"
path = "backups/eu"
kms = "local"
key_file = "eu/kms.keys"
key_id = "eu-backups"
"""
    )
    no_region = cli(
        capsys, "backup", "create", "--hsm", world.hsm, "--cluster", "c-copy", "--config", config
    )
    assert no_region.code == 2
    assert "--region" in no_region.err
    made = cli(
        capsys, "backup", "create", "--hsm", world.hsm, "--cluster", "c-copy",
        "--region", "us-east-1", "--config", config, "--output", "json",
    )  # fmt: skip
    assert made.code == 0, made.err
    assert "created local KMS key 'us-backups'" in made.err
    entry = made.json()
    assert isinstance(entry, dict)
    copied = cli(
        capsys, "backup", "copy-to-region", entry["BackupId"], "--region", "eu-west-1",
        "--tag", "copy=yes", "--config", config, "--output", "json",
    )  # fmt: skip
    assert copied.code == 0, copied.err
    copy = copied.json()
    assert isinstance(copy, dict)
    assert (copy["Region"], copy["ClusterId"], copy["KmsKeyId"]) == (
        "eu-west-1",
        None,
        "eu-backups",
    )
    assert (copy["SourceRegion"], copy["SourceBackup"], copy["SourceCluster"]) == (
        "us-east-1",
        entry["BackupId"],
        "c-copy",
    )
    assert copy["CreateTimestampNs"] == entry["CreateTimestampNs"]
    assert (tmp_path / "conf" / "eu" / "kms.keys").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "conf" / "backups" / "eu").is_dir()
    listed = cli(capsys, "backup", "list", "--region", "eu-west-1", "--config", config)
    assert f"us-east-1/{entry['BackupId']}" in listed.out
    drill = cli(capsys, "backup", "verify", copy["BackupId"], "--drill", "--config", config)
    assert drill.code == 0, drill.err
    bad_dest = cli(
        capsys,
        "backup",
        "copy-to-region",
        entry["BackupId"],
        "--region",
        "mars",
        "--config",
        config,
    )
    assert bad_dest.code == 2
    assert "no region 'mars'" in bad_dest.err


def test_development_identities_are_made_with_a_warning(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Without identity files the embedded default makes development ones, 0600, and warns."""
    hsm = HSM.open(SQLiteStore(tmp_path / "hsm.db"), fast_config())
    activate(hsm)
    hsm.close()
    data = tmp_path / "fresh"
    run = cli(
        capsys,
        "backup",
        "create",
        "--hsm",
        tmp_path / "hsm.db",
        "--cluster",
        "dev",
        "--data-dir",
        data,
    )
    assert run.code == 0, run.err
    assert "DEVELOPMENT manufacturer identity" in run.err
    assert "DEVELOPMENT service identity" in run.err
    assert re.search(r"^BackupState +READY$", run.out, re.MULTILINE)
    for name in ("manufacturer.id", "service.id", "kms.keys"):
        assert (data / name).stat().st_mode & 0o777 == 0o600
    assert data.stat().st_mode & 0o777 == 0o700
    second = cli(
        capsys,
        "backup",
        "create",
        "--hsm",
        tmp_path / "hsm.db",
        "--cluster",
        "dev",
        "--data-dir",
        data,
    )
    assert second.code == 0
    assert "WARNING" not in second.err


def test_progress_bar_on_a_terminal(
    capsys: pytest.CaptureFixture[str], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal create and verify draw a progress bar on stderr; --no-progress hides it."""
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    entry = create(capsys, world, "c-progress")
    assert "backup  " in terminal.getvalue()
    assert "/s" in terminal.getvalue()
    terminal.truncate(0)
    terminal.seek(0)
    assert backup(capsys, world, "verify", entry["BackupId"], "--output", "json").code == 0
    assert "100%" in terminal.getvalue()
    terminal.truncate(0)
    terminal.seek(0)
    assert backup(capsys, world, "verify", entry["BackupId"], "--no-progress").code == 0
    assert terminal.getvalue() == ""


# --- configuration -------------------------------------------------------------------------

FILESYSTEM_LOCAL = {
    "store": "filesystem",
    "path": "p",
    "kms": "local",
    "key_file": "k",
    "key_id": "x",
}


def region_toml(name: str = "a", /, **fields: object) -> str:
    """``[regions.NAME]`` with the filesystem + local defaults, changed by ``fields``
    (``None`` drops a setting)."""
    body = {**FILESYSTEM_LOCAL, **fields}
    lines = [f"{k} = {json.dumps(v)}" for k, v in body.items() if v is not None]
    return f"[regions.{json.dumps(name)}]\n" + "\n".join(lines) + "\n"


S3 = {"store": "s3", "path": None, "bucket": "b", "region": "r"}
BAO = {"kms": "openbao", "key_file": None, "address": "http://127.0.0.1:1"}
BAD_CONFIGS = [
    ("this is [not toml", "not valid TOML"),
    ("", "no regions"),
    ("regions = 5", "[regions] must be a table"),
    ("colour = 'blue'\n" + region_toml(), "unknown setting 'colour'"),
    ("[identities]\nhsm = 'x'\n" + region_toml(), "unknown setting 'hsm'"),
    (region_toml("a b"), "region name 'a b'"),
    (region_toml(store="tape"), "store = 'tape'"),
    (region_toml(kms="hsm"), "kms = 'hsm'"),
    (region_toml(path=None), "path is missing"),
    (region_toml(key_id=None), "key_id is missing"),
    (region_toml(path=3), "path must be a non-empty string"),
    (region_toml(bucket="b"), "unknown setting 'bucket'"),
    (region_toml(**S3, access_key_env="AK"), "give both"),
    (region_toml(**S3, endpoint_url="ftp://x"), "http:// or https://"),
    (region_toml(**BAO, token_env="s.Secret-Token"), "not a credential"),
    (region_toml(**BAO), "token_env"),
    (region_toml(kms="aws", key_file=None), "kms_region is missing"),
]


@pytest.mark.parametrize(("text", "message"), BAD_CONFIGS)
def test_config_errors_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, message: str
) -> None:
    """A wrong config file is refused with exit 2 and a message naming the problem."""
    config = tmp_path / "bad.toml"
    config.write_text(text)
    run = cli(capsys, "backup", "list", "--config", config)
    assert run.code == 2
    assert run.out == ""
    assert run.err.startswith("error: ")
    assert message in run.err


def test_config_usage_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A missing config file, --config with --data-dir, a missing identity file: exit 2."""
    missing = cli(capsys, "backup", "list", "--config", tmp_path / "nope.toml")
    assert (missing.code, "does not exist" in missing.err) == (2, True)
    both = cli(capsys, "backup", "list", "--config", tmp_path / "c.toml", "--data-dir", tmp_path)
    assert both.code == 2
    assert "not allowed with" in both.err
    config = tmp_path / "c.toml"
    config.write_text(
        "[identities]\nmanufacturer='m.id'\nservice='s.id'\n"
        "[regions.a]\nstore='filesystem'\npath='p'\nkms='local'\nkey_file='k'\nkey_id='x'\n"
    )
    hsm = tmp_path / "hsm.db"
    HSM.open(SQLiteStore(hsm), fast_config()).close()
    run = cli(capsys, "backup", "create", "--hsm", hsm, "--cluster", "c", "--config", config)
    assert run.code == 2
    assert "strongroom identity create-manufacturer" in run.err
    no_ids = tmp_path / "no-ids.toml"
    no_ids.write_text(
        "[regions.a]\nstore='filesystem'\npath='p'\nkms='local'\nkey_file='k'\nkey_id='x'\n"
    )
    run = cli(capsys, "backup", "create", "--hsm", hsm, "--cluster", "c", "--config", no_ids)
    assert (run.code, "[identities] has no manufacturer" in run.err) == (2, True)


def test_missing_credential_variable_is_a_config_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An S3 region whose credential variables are unset fails with exit 2, naming them."""
    monkeypatch.delenv("SR_TEST_AK", raising=False)
    config = tmp_path / "s3.toml"
    config.write_text(
        "[regions.a]\nstore='s3'\nbucket='backups'\nregion='us-east-1'\n"
        "endpoint_url='http://127.0.0.1:9'\naccess_key_env='SR_TEST_AK'\nsecret_key_env='SR_TEST_SK'\n"
        "kms='local'\nkey_file='k'\nkey_id='x'\n"
    )
    run = cli(capsys, "backup", "list", "--config", config)
    assert run.code == 2
    assert "environment variable SR_TEST_AK is not set" in run.err


def test_config_builds_s3_openbao_and_aws_without_leaking_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """S3, OpenBao and AWS regions build from env-var credentials that no repr shows."""
    secrets = {
        "SR_AK": "AKIAEXAMPLEACCESS",
        "SR_SK": "s3-secret-value-123",
        "SR_BAO": "s.bao-token-value",
        "SR_KMS_AK": "AKIAKMSACCESS",
        "SR_KMS_SK": "kms-secret-value-456",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    config = tmp_path / "all.toml"
    config.write_text(
        """
[regions.eu]
store = "s3"
bucket = "strongroom-eu"
region = "eu-west-1"
endpoint_url = "http://127.0.0.1:8333"
access_key_env = "SR_AK"
secret_key_env = "SR_SK"
prefix = "prod"
kms = "openbao"
address = "http://127.0.0.1:8200"
token_env = "SR_BAO"
key_id = "eu-backups"

[regions.us]
store = "filesystem"
path = "us"
kms = "aws"
kms_region = "us-east-1"
kms_endpoint_url = "http://127.0.0.1:5000"
kms_access_key_env = "SR_KMS_AK"
kms_secret_key_env = "SR_KMS_SK"
key_id = "alias/strongroom"
"""
    )
    settings = load_settings(config, None)
    assert settings.regions["us"].store.path == tmp_path / "us"  # type: ignore[union-attr]
    with BackupSetup(settings) as setup:
        regions = setup.regions()
        assert regions["eu"].store.name == "s3"
        assert regions["eu"].kms.name == "openbao"
        assert regions["us"].kms.name == "aws"
        assert regions["us"].kms_key_id == "alias/strongroom"
        shown = (
            repr(setup)
            + repr(settings)
            + "".join(repr(r) + repr(r.store) + repr(r.kms) for r in regions.values())
        )
    for value in secrets.values():
        assert value not in shown


def test_the_embedded_default(tmp_path: Path) -> None:
    """Without --config: one region "local", filesystem store and local KMS under the data dir."""
    settings = load_settings(None, tmp_path / "d")
    assert settings.is_default
    assert list(settings.regions) == ["local"]
    local = settings.regions["local"]
    assert local.store.path == tmp_path / "d" / "backups" / "local"  # type: ignore[union-attr]
    assert local.kms.key_file == tmp_path / "d" / "kms.keys"  # type: ignore[union-attr]
    assert local.key_id == "backups"
    assert settings.manufacturer_file == tmp_path / "d" / "manufacturer.id"
    assert settings.service_file == tmp_path / "d" / "service.id"
    assert load_settings(None, None).regions["local"].kms.key_file == (  # type: ignore[union-attr]
        Path.cwd() / "strongroom-data" / "kms.keys"
    )


def test_cli_states_match_the_catalog() -> None:
    """The --state choices are exactly the catalog's backup states."""
    assert tuple(s.value for s in BackupState) == STATES


# --- output --------------------------------------------------------------------------------


def test_tables_timestamps_and_sizes() -> None:
    """Tables align columns without trailing blanks; times are ISO-8601 UTC; sizes binary."""
    text = table(("A", "LONGER"), [("x", 1), ("wide-cell", None), ("tab\there", "ok")])
    assert text.splitlines() == [
        "A          LONGER",
        "x          1",
        "wide-cell  -",
        "tab\\there  ok",
    ]
    assert key_value_table([("a", "1"), ("long", None)]) == "a     1\nlong  -"
    assert iso_utc(1_700_000_000_123_456_789) == "2023-11-14T22:13:20Z"
    assert iso_utc(None) == "-"
    assert [human_size(n) for n in (0, 1023, 1536, 5 * 2**30)] == [
        "0 B",
        "1023 B",
        "1.5 KiB",
        "5.0 GiB",
    ]


def test_progress_bar_rendering() -> None:
    """The bar shows bytes done, the total, a percentage and the rate; it ends its line."""
    now = [0.0]
    stream = io.StringIO()
    bar = ProgressBar("copy", 4096, stream=stream, clock=lambda: now[0])
    now[0] = 1.0
    bar(2048)
    assert "[############............]  50%" in stream.getvalue()
    assert "2.0 KiB / 4.0 KiB  2.0 KiB/s" in stream.getvalue()
    with bar:
        now[0] = 1.05
        bar(1024)  # within the redraw interval: not drawn
        assert "3.0 KiB" not in stream.getvalue()
    assert stream.getvalue().endswith("100%  3.0 KiB / 3.0 KiB  2.9 KiB/s\n")
    unknown = ProgressBar("backup", None, stream=io.StringIO(), clock=lambda: 2.0)
    unknown(1 << 20)
    assert unknown.render(4.0) == "backup  1.0 MiB  512.0 KiB/s"


def test_installed_console_script_lists_backups_as_json(world: World, tmp_path: Path) -> None:
    """The installed ``strongroom`` script prints the backup list as one JSON document."""
    script = Path(sys.executable).parent / "strongroom"
    done = subprocess.run(
        [str(script), "backup", "list", "--output", "json", "--data-dir", str(world.data)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    assert isinstance(listed, list)
    assert all(e["format"] == "strongroom-backup-entry" for e in listed)


def test_config_file_example_in_the_docs_parses(tmp_path: Path) -> None:
    """Every TOML example in docs/cli.md is a valid config."""
    doc = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
    blocks = doc.read_text().split("```toml\n")[1:]
    assert blocks
    for block in blocks:
        text = block.split("```", 1)[0]
        settings = load_settings_from_text(text, tmp_path)
        assert settings.regions


def load_settings_from_text(text: str, base: Path) -> Settings:
    """Parse a config document as if it were a file in ``base``."""
    return parse_settings(tomllib.loads(text), base, source=base / "strongroom.toml")


@pytest.fixture(autouse=True)
def _no_tty_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run with a stdin that is not a terminal unless they say otherwise."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))

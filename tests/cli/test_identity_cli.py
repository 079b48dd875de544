"""``strongroom identity``: create manufacturer and service identities, show their public facts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from strongroom.cli import main
from strongroom.crypto.hashing import digest
from strongroom.engine.identity import ManufacturerIdentity, ServiceIdentity


def cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    """Run ``strongroom ARGS`` in-process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_create_manufacturer_prints_id_and_check_value_never_the_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """create-manufacturer writes a 0600 file and prints its ID and check value, not the MKBK."""
    path = tmp_path / "maker.id"
    code, out, err = cli(capsys, "identity", "create-manufacturer", "--id", "acme", "--out", path)
    assert code == 0, err
    identity = ManufacturerIdentity.load(path)
    assert identity.manufacturer_id == "acme"
    assert path.stat().st_mode & 0o777 == 0o600
    facts = dict(line.split(None, 1) for line in out.splitlines())
    assert facts["Kind"] == "manufacturer"
    assert facts["Id"] == "acme"
    assert facts["CheckValue"] == identity.check_value.hex()
    assert facts["CaCertSha256"] == digest("SHA256", identity.ca_cert).hex()
    assert "keep it secret" in err
    for secret in (identity.mkbk.hex(), identity.mkbk.hex().upper(), identity.ca_key.hex()):
        assert secret not in out + err


def test_create_service_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """create-service --output json prints one JSON document with the ID and check value."""
    path = tmp_path / "svc.id"
    code, out, err = cli(
        capsys, "identity", "create-service", "--id", "svc-1", "--out", path, "--output", "json"
    )
    assert code == 0, err
    identity = ServiceIdentity.load(path)
    assert json.loads(out) == {
        "Kind": "service",
        "Id": "svc-1",
        "CheckValue": identity.check_value.hex(),
        "File": str(path),
    }
    assert identity.akbk.hex() not in out + err


@pytest.mark.parametrize("kind", ["create-manufacturer", "create-service"])
def test_an_existing_file_is_kept_unless_forced(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str
) -> None:
    """An existing identity file is refused (exit 2, unchanged); --force replaces it."""
    path = tmp_path / "id"
    assert cli(capsys, "identity", kind, "--id", "first", "--out", path)[0] == 0
    before = path.read_bytes()
    code, _, err = cli(capsys, "identity", kind, "--id", "second", "--out", path)
    assert code == 2
    assert "--force" in err
    assert path.read_bytes() == before
    assert cli(capsys, "identity", kind, "--id", "second", "--out", path, "--force")[0] == 0
    assert path.read_bytes() != before
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("bad_id", ["Acme", "-acme", "acme_1", "a" * 64, ""])
def test_a_bad_id_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, bad_id: str
) -> None:
    """An ID outside 1-63 characters of [a-z0-9-] is refused with exit 2 and no file."""
    path = tmp_path / "id"
    code, out, err = cli(capsys, "identity", "create-service", "--id", bad_id, "--out", path)
    assert code == 2
    assert out == ""
    assert "--id" in err
    assert not path.exists()


def test_an_unwritable_place_fails_cleanly(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A missing directory fails with exit 1 and names the file."""
    path = tmp_path / "no-such-dir" / "id"
    code, _, err = cli(capsys, "identity", "create-manufacturer", "--id", "m", "--out", path)
    assert code == 1
    assert str(path) in err
    assert err.startswith("error: ")


def test_show_prints_either_kind(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """show tells manufacturer and service files apart; anything else is IDENTITY_INVALID."""
    maker, service, other = tmp_path / "m.id", tmp_path / "s.id", tmp_path / "other"
    assert cli(capsys, "identity", "create-manufacturer", "--id", "m", "--out", maker)[0] == 0
    assert cli(capsys, "identity", "create-service", "--id", "s", "--out", service)[0] == 0
    for path, kind in ((maker, "manufacturer"), (service, "service")):
        code, out, _ = cli(capsys, "identity", "show", path, "--output", "json")
        assert code == 0
        assert json.loads(out)["Kind"] == kind
    other.write_bytes(b"not an identity")
    other.chmod(0o600)
    code, out, err = cli(capsys, "identity", "show", other)
    assert (code, out) == (1, "")
    assert err.startswith("error: [IDENTITY_INVALID]")
    maker.chmod(0o644)
    code, _, err = cli(capsys, "identity", "show", maker)
    assert code == 1
    assert "readable by others" in err


def test_identity_needs_a_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    """``strongroom identity`` alone is a usage error."""
    assert cli(capsys, "identity")[0] == 2
    assert cli(capsys, "backup")[0] == 2


def test_manufacturer_and_service_groups_are_identity_aliases(tmp_path: Path) -> None:
    """``manufacturer create`` / ``service create`` / ``… show`` run the identity commands."""
    maker, service = tmp_path / "maker.id", tmp_path / "service.id"
    assert main(["manufacturer", "create", "--id", "acme", "--out", str(maker)]) == 0
    assert main(["service", "create", "--id", "svc", "--out", str(service)]) == 0
    assert ManufacturerIdentity.load(maker).manufacturer_id == "acme"
    loaded = ServiceIdentity.load(service)
    assert loaded.service_id == "svc"
    assert loaded.ca_cert is not None  # new service identities carry their CA
    assert main(["service", "show", str(service), "--output", "json"]) == 0

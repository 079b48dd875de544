"""Sealed backups of a served HSM from the command line: ``up``, back up, change, restore.

The backup commands reach the node over TLS as its admin (the development credentials in
``endpoints.json``); the node seals the backup inside itself and streams it out, and a
restore streams it back in, all or nothing. After the restore the keys made since the backup
are gone and the ones from before still work.
"""

from __future__ import annotations

import base64

import pytest

from .session_helpers import CLI, Cluster

MESSAGE = base64.b64encode(b"kept across a restore").decode()


def _sign(cli: CLI, label: str) -> str:
    data = cli.data(
        "crypto", "sign", "ecdsa", "--hash-function", "sha256",
        "--filter", f"attr.label={label}", "--data", MESSAGE,
    )  # fmt: skip
    return str(data["signature"])


def test_back_up_and_restore_a_served_hsm(cli: CLI, cluster: Cluster) -> None:
    """Keys from before the backup survive the restore; keys made after it are gone."""
    cli.data(
        "key", "generate-asymmetric-pair", "ec", "--curve", "secp256r1",
        "--private-label", "before", "--public-label", "before-pub",
    )  # fmt: skip
    signature = _sign(cli, "before")
    made = cli.json(
        "backup", "create", "--cluster", "cluster-cli", "--no-progress", login=cluster.admin
    )
    assert made.code == 0, made.err
    entry = made.json()
    assert entry["BackupState"] == "READY"
    assert entry["HsmId"] == cluster.endpoints["hsms"][0]["hsm_id"]
    assert entry["ObjectCount"] == 2
    cli.data(
        "key", "generate-asymmetric-pair", "ec", "--curve", "secp256r1",
        "--private-label", "after", "--public-label", "after-pub",
    )  # fmt: skip
    denied = cli.json("backup", "create", "--cluster", "cluster-cli", "--no-progress")
    assert denied.code == 3  # a crypto user may not take backups
    refused = cli.json(
        "backup", "restore-to-hsm", entry["BackupId"], "--no-progress", login=cluster.admin
    )
    assert refused.code == 2  # a restore replaces everything: --yes or a terminal
    restored = cli.json(
        "backup", "restore-to-hsm", entry["BackupId"], "--yes", "--force", "--no-progress",
        login=cluster.admin,
    )  # fmt: skip
    assert restored.code == 0, restored.err
    result = restored.json()
    assert result["SourceHsmId"] == entry["HsmId"]
    assert result["ObjectCount"] == 2
    # the node is sealed after a restore until an admin logs in (admins unseal)
    assert cli.json("cluster", "audit", "--limit", "1", login=cluster.admin).code == 0
    listed = cli.data("key", "list", "--filter", "attr.class=private-key")
    labels = {k["attributes"]["label"] for k in listed["matched_keys"]}
    assert labels == {"before"}
    assert cli.data(
        "crypto", "verify", "ecdsa", "--hash-function", "sha256",
        "--filter", "attr.label=before-pub", "--data", MESSAGE, "--signature", signature,
    ) is not None  # fmt: skip


def test_backup_needs_an_hsm_to_name(cli: CLI, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Without --hsm, --endpoints or a running cluster in --data-dir: a usage error."""
    empty = tmp_path_factory.mktemp("nothing-here")
    run = cli.json("backup", "create", "--cluster", "c1", "--data-dir", str(empty), data_dir=False)
    assert run.code == 2
    assert "--endpoints" in run.err or "--endpoints" in run.out

"""``strongroom cluster mtls`` trust anchors: register, list, deregister."""

from __future__ import annotations

from pathlib import Path

from strongroom.crypto import create_ca, der_to_pem

from .session_helpers import CLI, Cluster


def test_register_list_deregister(cli: CLI, cluster: Cluster, tmp_path: Path) -> None:
    """Admins manage the anchors; crypto users cannot; a missing file is a usage error."""
    _key, cert = create_ca("partner issuing CA")
    pem = tmp_path / "partner.pem"
    pem.write_bytes(der_to_pem(cert))
    admin = cluster.admin
    fingerprint = cli.data("cluster", "mtls", "register-trust-anchor", "--path", pem, login=admin)[
        "sha256"
    ]
    listed = cli.data("cluster", "mtls", "list-trust-anchors", login=admin)["trust_anchors"]
    assert listed == [{"sha256": fingerprint, "subject": "CN=partner issuing CA"}]
    refused = cli.json("cluster", "mtls", "register-trust-anchor", "--path", pem)
    assert refused.code == 3  # the demo crypto user may not
    missing = cli.json(
        "cluster", "mtls", "register-trust-anchor", "--path", tmp_path / "nope.pem", login=admin
    )
    assert missing.code == 2
    cli.data("cluster", "mtls", "deregister-trust-anchor", "--sha256", fingerprint, login=admin)
    assert cli.data("cluster", "mtls", "list-trust-anchors", login=admin)["trust_anchors"] == []
    again = cli.json(
        "cluster", "mtls", "deregister-trust-anchor", "--sha256", fingerprint, login=admin
    )
    assert again.code == 1
    assert again.error()[1] == "ARGUMENTS_BAD"

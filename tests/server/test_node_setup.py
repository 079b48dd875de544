"""Node set-up without the network: certificates, the node directory, auto-unseal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from strongroom.backup.kms.local import LocalKMS
from strongroom.crypto import (
    create_ca,
    create_csr,
    create_node_key,
    der_to_pem,
    issue_certificate,
    pem_to_der,
    verify_issued_by,
)
from strongroom.crypto.certs import csr_der_from_pem
from strongroom.errors import ArgumentsBad, IdentityInvalid, IntegrityError, KMSAccessDenied
from strongroom.server.node import (
    NodeConfig,
    cluster_csr,
    install_cluster_certificate,
    make_node,
    open_node_hsm,
    server_ssl_context,
)
from strongroom.server.unseal import KMSUnseal
from strongroom.testing import fake_manufacturer


@pytest.fixture(scope="module")
def customer_ca() -> tuple[bytes, bytes]:
    """The customer's issuing CA: (key DER, certificate DER)."""
    return create_ca("test customer CA")


@pytest.fixture
def node(tmp_path: Path) -> NodeConfig:
    """A freshly made node directory (manufacturer step done, no cluster certificate yet)."""
    fake_manufacturer().save(tmp_path / "maker.id")
    return make_node(
        tmp_path / "n1",
        name="n1",
        manufacturer_path=tmp_path / "maker.id",
        password_iterations=1000,
    )


def test_make_node_lays_out_its_directory(node: NodeConfig) -> None:
    """Private identity key, a hardware certificate from the manufacturer CA, a CSR."""
    files = {p.name: p.stat().st_mode & 0o777 for p in node.directory.iterdir()}
    assert files["identity.key"] == 0o600
    assert files["node.json"] == 0o600
    assert files["unseal.keys"] == 0o600
    hardware = pem_to_der((node.directory / "hsm.crt").read_bytes())[0]
    verify_issued_by(hardware, fake_manufacturer().ca_cert)
    raw = json.loads((node.directory / "node.json").read_text())
    assert raw["format"] == "strongroom-node-v1"
    assert "BEGIN CERTIFICATE REQUEST" in cluster_csr(node).decode()
    again = NodeConfig.load(node.directory)
    assert again.name == "n1"
    assert again.extra["hsm_id"] == node.extra["hsm_id"]
    with pytest.raises(ArgumentsBad, match="already holds a node"):
        make_node(node.directory, name="n1", manufacturer_path=Path(str(node.manufacturer)))


def test_cluster_certificate_must_match_key_and_anchor(
    node: NodeConfig, customer_ca: tuple[bytes, bytes]
) -> None:
    """Only a certificate for this node's key, issued by the anchor, is installed."""
    ca_key, ca_cert = customer_ca
    with pytest.raises(ArgumentsBad, match="cluster certificate"):
        server_ssl_context(node)
    csr = csr_der_from_pem(cluster_csr(node))
    good = issue_certificate(ca_key, ca_cert, csr, ip_addresses=["127.0.0.1"])
    other_ca_key, other_ca_cert = create_ca("someone else")
    stranger = create_csr(create_node_key(), "HSM:other")
    wrong_key = issue_certificate(ca_key, ca_cert, stranger)
    with pytest.raises(IdentityInvalid):
        install_cluster_certificate(node, der_to_pem(wrong_key), der_to_pem(ca_cert))
    with pytest.raises(ArgumentsBad, match="not issued"):
        install_cluster_certificate(node, der_to_pem(good), der_to_pem(other_ca_cert))
    install_cluster_certificate(node, der_to_pem(good), der_to_pem(ca_cert))
    context = server_ssl_context(node)
    assert context.minimum_version.name == "TLSv1_3"
    del other_ca_key


def test_issue_certificate_checks_its_inputs(customer_ca: tuple[bytes, bytes]) -> None:
    """A damaged CSR, no usage, a bad address: clear ARGUMENTS_BAD each."""
    ca_key, ca_cert = customer_ca
    csr = create_csr(create_node_key(), "x")
    with pytest.raises(ArgumentsBad):
        issue_certificate(ca_key, ca_cert, csr[:-3] + b"\x00\x00\x00")
    with pytest.raises(ArgumentsBad, match="server or client"):
        issue_certificate(ca_key, ca_cert, csr, server=False, client=False)
    with pytest.raises(ArgumentsBad, match="IP address"):
        issue_certificate(ca_key, ca_cert, csr, ip_addresses=["not-an-ip"])


def test_node_config_load_errors(tmp_path: Path) -> None:
    """A directory that is not a node, bad JSON, a wrong format: ARGUMENTS_BAD."""
    with pytest.raises(ArgumentsBad, match="not a node directory"):
        NodeConfig.load(tmp_path)
    (tmp_path / "node.json").write_text("{")
    with pytest.raises(ArgumentsBad, match="not JSON"):
        NodeConfig.load(tmp_path)
    (tmp_path / "node.json").write_text('{"format": "other"}')
    with pytest.raises(ArgumentsBad, match="strongroom-node-v1"):
        NodeConfig.load(tmp_path)


def test_auto_unseal_round_trip_and_binding(tmp_path: Path) -> None:
    """The blob opens only with the same KMS key and HSM name; damage is refused."""
    kms = LocalKMS(tmp_path / "k")
    kms.create_key("auto-unseal")
    provider = KMSUnseal(kms, "auto-unseal", "hsm1")
    storage_key = bytes(range(32))
    blob = provider.wrap(storage_key)
    assert storage_key not in blob
    assert provider.unwrap(blob) == storage_key
    with pytest.raises(KMSAccessDenied):
        KMSUnseal(kms, "auto-unseal", "hsm2").unwrap(blob)
    with pytest.raises(IntegrityError):
        provider.unwrap(b"\xa0")
    assert "auto-unseal" in repr(provider)
    assert storage_key.hex() not in repr(provider)


def test_restarted_node_unseals_itself(node: NodeConfig) -> None:
    """With auto-unseal, keys are usable after a restart without an admin login."""
    hsm = open_node_hsm(node)
    admin = hsm.open_session()
    admin.login("admin", "password")
    admin.activate("admin-password-1")
    hsm.close()
    hsm = open_node_hsm(node)
    assert hsm.info()["sealed"] is False
    hsm.close()


def test_service_certifies_the_node_it_configures(node: NodeConfig, tmp_path: Path) -> None:
    """The service's CA signs the node's identity key; an identity without a CA signs nothing."""
    from strongroom.crypto import certificate_public_key_der
    from strongroom.engine.identity import ServiceIdentity
    from strongroom.server.node import configure_service

    service = ServiceIdentity.create("svc")
    assert "ca_key" not in repr(service)
    service.save(tmp_path / "svc.id")
    loaded = ServiceIdentity.load(tmp_path / "svc.id")
    assert loaded == service
    plain = make_node(
        tmp_path / "n2",
        name="n2",
        manufacturer_path=Path(str(node.manufacturer)),
        password_iterations=1000,
    )
    configure_service(plain, ServiceIdentity("plain", bytes(32)))
    assert not (plain.directory / "service.crt").exists()
    configure_service(node, loaded)
    issued = pem_to_der((node.directory / "service.crt").read_bytes())[0]
    assert service.ca_cert is not None
    verify_issued_by(issued, service.ca_cert)
    hardware = pem_to_der((node.directory / "hsm.crt").read_bytes())[0]
    assert certificate_public_key_der(issued) == certificate_public_key_der(hardware)


def test_service_identity_ca_is_all_or_nothing() -> None:
    """A key without a certificate (or the reverse) is not an identity."""
    from strongroom.engine.identity import ServiceIdentity

    with pytest.raises(IdentityInvalid):
        ServiceIdentity("s", bytes(32), ca_key=b"k")


def test_a_service_certified_node_verifies_against_both_cas(
    node: NodeConfig, customer_ca: tuple[bytes, bytes]
) -> None:
    """The client-side check passes for the manufacturer and the service that made the node."""
    from strongroom.client.identity import verify_hsm_identity
    from strongroom.engine.identity import ServiceIdentity
    from strongroom.server.node import _node_info, configure_service

    ca_key, ca_cert = customer_ca
    csr = csr_der_from_pem(cluster_csr(node))
    cluster = issue_certificate(ca_key, ca_cert, csr, ip_addresses=["127.0.0.1"])
    install_cluster_certificate(node, der_to_pem(cluster), der_to_pem(ca_cert))
    service = ServiceIdentity.create("svc")
    configure_service(node, service)
    assert service.ca_cert is not None
    info = _node_info(node)
    verified = verify_hsm_identity(
        info,
        cluster,
        der_to_pem(fake_manufacturer().ca_cert),
        service_ca_pem=der_to_pem(service.ca_cert),
    )
    assert verified["service"] == "verified"

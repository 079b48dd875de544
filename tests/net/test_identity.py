"""Verifying an HSM's identity over a live connection (CloudHSM's "verify HSM identity")."""

from __future__ import annotations

import pytest

from strongroom.client import HSMClient
from strongroom.client.identity import verify_hsm_identity
from strongroom.crypto import create_ca, der_to_pem, pem_to_der
from strongroom.engine.identity import ManufacturerIdentity
from strongroom.errors import TrustFailed

from .cluster import Authority, NodeProcess


def test_the_node_proves_it_was_made_by_the_manufacturer(
    authority: Authority, node: NodeProcess, alice: HSMClient
) -> None:
    """The right CA passes, another manufacturer's fails, and a swapped key is caught."""
    maker_ca = der_to_pem(ManufacturerIdentity.load(authority.manufacturer_path).ca_cert)
    (verified,) = alice.verify_hsm_identity(maker_ca)
    assert verified["address"] == node.address
    assert verified["manufacturer"] == "verified"
    assert verified["hsm_id"] in verified["hardware_subject"]
    _key, stranger = create_ca("another maker")
    with pytest.raises(TrustFailed, match="manufacturer"):
        alice.verify_hsm_identity(der_to_pem(stranger))
    info = alice.info()
    with pytest.raises(TrustFailed, match="another key"):
        verify_hsm_identity(info, stranger, maker_ca)  # a different certificate answered
    forged = dict(info, certificates=dict(info["certificates"], cluster=der_to_pem(stranger)))
    with pytest.raises(TrustFailed, match="cluster certificate"):
        verify_hsm_identity(forged, stranger, maker_ca)
    presented = pem_to_der(info["certificates"]["cluster"].encode())[0]
    assert verify_hsm_identity(info, presented, maker_ca)["manufacturer"] == "verified"
    with pytest.raises(TrustFailed, match="service"):  # this node was configured by no service
        verify_hsm_identity(info, presented, maker_ca, service_ca_pem=maker_ca)

"""Verifying an HSM's identity, as CloudHSM's guide has customers do before trusting a cluster.

This module owns the check, client side: the HSM's hardware certificate must be issued by
the manufacturer's CA (and its service certificate, if asked, by the service's CA), and the
hardware certificate, the cluster certificate and the certificate the HSM presented in TLS
must all carry the same public key — so the key that answered this connection is the one
the manufacturer put in that HSM. Any break raises ``TrustFailed``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strongroom.crypto import certificate_public_key_der, pem_to_der, verify_issued_by
from strongroom.crypto.certs import load_certificate_subject
from strongroom.errors import ArgumentsBad, TrustFailed

__all__ = ["verify_hsm_identity"]


def _first(pem: object, what: str) -> bytes:
    if not isinstance(pem, str | bytes):
        raise TrustFailed(f"the HSM did not send its {what} certificate")
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        return pem_to_der(data)[0]
    except ArgumentsBad:
        raise TrustFailed(f"the HSM's {what} certificate is not a PEM certificate") from None


def verify_hsm_identity(
    info: Mapping[str, Any],
    presented: bytes,
    manufacturer_ca_pem: bytes,
    service_ca_pem: bytes | None = None,
) -> dict[str, str]:
    """Check one HSM's certificates (``info`` from ``hsm.info``); returns what was verified."""
    certificates = info.get("certificates")
    if not isinstance(certificates, Mapping):
        raise TrustFailed("the HSM sent no certificates")
    hardware = _first(certificates.get("hsm"), "hardware")
    cluster = _first(certificates.get("cluster"), "cluster")
    try:
        verify_issued_by(hardware, pem_to_der(manufacturer_ca_pem)[0])
    except ArgumentsBad:
        raise TrustFailed("the hardware certificate is not from this manufacturer") from None
    key = certificate_public_key_der(hardware)
    if certificate_public_key_der(cluster) != key:
        raise TrustFailed("the cluster certificate is for another key than the hardware's")
    if not presented or certificate_public_key_der(presented) != key:
        raise TrustFailed("the HSM answered with another key than its hardware certificate's")
    verified = {
        "hsm_id": str(info.get("hsm_id", "")),
        "hardware_subject": load_certificate_subject(hardware),
        "manufacturer": "verified",
    }
    if service_ca_pem is not None:
        service = _first(certificates.get("service"), "service")
        try:
            verify_issued_by(service, pem_to_der(service_ca_pem)[0])
        except ArgumentsBad:
            raise TrustFailed("the service certificate is not from this service") from None
        if certificate_public_key_der(service) != key:
            raise TrustFailed("the service certificate is for another key than the hardware's")
        verified["service"] = "verified"
    return verified

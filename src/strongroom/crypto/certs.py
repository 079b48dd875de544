"""X.509 for identities: the manufacturer's CA (a self-signed P-256 certificate).

This module owns building certificates with pyca/cryptography's x509 API: bytes out (DER).
It must not know about files, identities or HSM concepts. Node certificates signed by the CA
come with the network service; today only the CA itself is made.
"""

from __future__ import annotations

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from strongroom.errors import ArgumentsBad

__all__ = ["create_ca", "load_certificate_subject"]

_CA_YEARS = 20


def create_ca(common_name: str, *, now: datetime.datetime | None = None) -> tuple[bytes, bytes]:
    """A new EC P-256 CA: (PKCS#8 DER private key, DER self-signed certificate).

    RFC 5280 §4.2.1.9: basicConstraints CA:TRUE (critical), keyUsage keyCertSign and cRLSign.
    """
    if not common_name or len(common_name) > 64:
        raise ArgumentsBad("a CA common name is 1-64 characters")
    key = ec.generate_private_key(ec.SECP256R1())
    start = now or datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - datetime.timedelta(minutes=5))
        .not_valid_after(start + datetime.timedelta(days=365 * _CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_der, cert.public_bytes(serialization.Encoding.DER)


def load_certificate_subject(cert_der: bytes) -> str:
    """The subject of a DER certificate as an RFC 4514 string; bad input is ARGUMENTS_BAD."""
    try:
        return x509.load_der_x509_certificate(cert_der).subject.rfc4514_string()
    except ValueError:
        raise ArgumentsBad("not a DER X.509 certificate") from None

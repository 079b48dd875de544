"""X.509 for identities: CAs, node keys, CSRs, and certificates issued from CSRs.

This module owns building and checking certificates with pyca/cryptography's x509 API:
bytes in, bytes out (DER, or PEM where TLS wants it). It must not know about files,
identities or HSM concepts: callers say what a certificate is for (server and/or client
authentication, which IP addresses) and which CA signs it.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
from collections.abc import Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import NameOID

from strongroom.errors import ArgumentsBad

__all__ = [
    "certificate_public_key_der",
    "check_ca_certificate",
    "create_ca",
    "create_csr",
    "create_node_key",
    "csr_der_from_pem",
    "der_to_pem",
    "issue_certificate",
    "load_certificate_subject",
    "pem_to_der",
    "private_key_der_from_pem",
    "private_key_pem",
    "verify_issued_by",
]

_CA_YEARS = 20


def _pkcs8(
    key: PrivateKeyTypes, encoding: serialization.Encoding = serialization.Encoding.DER
) -> bytes:
    return key.private_bytes(
        encoding, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


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
    key_der = _pkcs8(key)
    return key_der, cert.public_bytes(serialization.Encoding.DER)


def load_certificate_subject(cert_der: bytes) -> str:
    """The subject of a DER certificate as an RFC 4514 string; bad input is ARGUMENTS_BAD."""
    try:
        return x509.load_der_x509_certificate(cert_der).subject.rfc4514_string()
    except ValueError:
        raise ArgumentsBad("not a DER X.509 certificate") from None


_LEAF_DAYS = 825


def create_node_key() -> bytes:
    """A new EC P-256 identity key (PKCS#8 DER)."""
    return _pkcs8(ec.generate_private_key(ec.SECP256R1()))


def _load_key(key_der: bytes) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_der_private_key(key_der, password=None)
    except ValueError:
        raise ArgumentsBad("not a PKCS#8 DER private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ArgumentsBad("identity and CA keys are EC keys")
    return key


def _load_cert(cert_der: bytes) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(cert_der)
    except ValueError:
        raise ArgumentsBad("not a DER X.509 certificate") from None


def private_key_pem(key_der: bytes) -> bytes:
    """The PKCS#8 PEM form of a DER private key (for TLS libraries that read files)."""
    return _pkcs8(_load_key(key_der), serialization.Encoding.PEM)


def create_csr(key_der: bytes, common_name: str) -> bytes:
    """A PKCS#10 request (DER) for ``key_der`` with subject CN=``common_name``."""
    if not common_name or len(common_name) > 64:
        raise ArgumentsBad("a common name is 1-64 characters")
    key = _load_key(key_der)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.DER)


def issue_certificate(
    ca_key_der: bytes,
    ca_cert_der: bytes,
    csr_der: bytes,
    *,
    server: bool = True,
    client: bool = False,
    ip_addresses: Sequence[str] = (),
    dns_names: Sequence[str] = (),
    days: int = _LEAF_DAYS,
    now: datetime.datetime | None = None,
) -> bytes:
    """Sign a CSR as an end-entity certificate (DER); its signature is checked first.

    RFC 5280: basicConstraints CA:FALSE, keyUsage digitalSignature, extendedKeyUsage
    serverAuth and/or clientAuth, subjectAltName for the given addresses and names.
    """
    try:
        csr = x509.load_der_x509_csr(csr_der)
    except ValueError:
        raise ArgumentsBad("not a DER PKCS#10 request") from None
    if not csr.is_signature_valid:
        raise ArgumentsBad("the request's signature does not verify")
    ca_key, ca_cert = _load_key(ca_key_der), _load_cert(ca_cert_der)
    start = now or datetime.datetime.now(datetime.UTC)
    usages = [
        oid
        for oid, wanted in (
            (x509.oid.ExtendedKeyUsageOID.SERVER_AUTH, server),
            (x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH, client),
        )
        if wanted
    ]
    if not usages:
        raise ArgumentsBad("a certificate is for server or client authentication (or both)")
    try:
        alt_names: list[x509.GeneralName] = [
            x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses
        ]
    except ValueError:
        raise ArgumentsBad("not an IP address") from None
    alt_names += [x509.DNSName(name) for name in dns_names]
    builder = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(ca_cert.subject)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - datetime.timedelta(minutes=5))
        .not_valid_after(start + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if alt_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.DER)


def verify_issued_by(cert_der: bytes, ca_cert_der: bytes) -> None:
    """Raise ``ArgumentsBad`` unless ``cert_der`` is signed by ``ca_cert_der``'s key."""
    cert, ca = _load_cert(cert_der), _load_cert(ca_cert_der)
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        raise ArgumentsBad("the certificate was not issued by this CA") from None


def certificate_public_key_der(cert_der: bytes) -> bytes:
    """The certificate's SubjectPublicKeyInfo (DER)."""
    return (
        _load_cert(cert_der)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def der_to_pem(der: bytes, label: str = "CERTIFICATE") -> bytes:
    """PEM armour (RFC 7468) around DER bytes."""
    body = base64.encodebytes(der).replace(b"\n", b"")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return b"".join(
        [
            f"-----BEGIN {label}-----\n".encode(),
            *(line + b"\n" for line in lines),
            f"-----END {label}-----\n".encode(),
        ]
    )


def private_key_der_from_pem(pem: bytes) -> bytes:
    """A PEM private key (unencrypted) as PKCS#8 DER."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise ArgumentsBad("not an unencrypted PEM private key") from None
    return _pkcs8(key)


def csr_der_from_pem(pem: bytes) -> bytes:
    """A PEM certificate request as DER."""
    try:
        return x509.load_pem_x509_csr(pem).public_bytes(serialization.Encoding.DER)
    except ValueError:
        raise ArgumentsBad("not a PEM certificate request") from None


def pem_to_der(pem: bytes) -> list[bytes]:
    """Every certificate in a PEM bundle, as DER, in order; none is ARGUMENTS_BAD."""
    try:
        certs = x509.load_pem_x509_certificates(pem)
    except ValueError:
        raise ArgumentsBad("no PEM certificate found") from None
    return [c.public_bytes(serialization.Encoding.DER) for c in certs]


def check_ca_certificate(cert_der: bytes) -> None:
    """Raise ``ArgumentsBad`` unless ``cert_der`` is a CA certificate (RFC 5280 §4.2.1.9)."""
    cert = _load_cert(cert_der)
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        raise ArgumentsBad("a trust anchor needs basicConstraints CA:TRUE") from None
    if not constraints.ca:
        raise ArgumentsBad("a trust anchor must be a CA certificate (CA:TRUE)")

"""Manufacturer and service identities: who made an HSM, and which service configured it.

This module owns the two identities the backup key hierarchy stands on (docs/formats/
backup-v1.md): a **manufacturer** (an ID, the manufacturer key backup key MKBK, and a CA that
will sign node certificates) is created once and handed to every HSM it makes; a **service**
(an ID and the service key backup key AKBK) is installed into an HSM when the service first
configures it. Only HSMs with the same manufacturer and service derive the same PBK, so only
they can open each other's backups.

Identity files are canonical CBOR maps with a format name and version, written atomically
with mode 0600; a file readable by group or others is refused. An HSM keeps the AKBK in its
store sealed under a key derived from the MKBK, so the store file alone reveals neither.
Nothing here ever puts a key in a repr, message or log.
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strongroom.crypto.aead import AESGCM
from strongroom.crypto.certs import create_ca
from strongroom.crypto.hashing import constant_time_equal, hmac_sign
from strongroom.crypto.kdf import hkdf
from strongroom.crypto.random import RandomSource, SystemRandom
from strongroom.errors import IdentityInvalid, IntegrityError, StoreCorrupt
from strongroom.files import write_atomic
from strongroom.model.codec import decode_cbor, encode_cbor

__all__ = [
    "ManufacturerIdentity",
    "ServiceIdentity",
    "open_akbk",
    "seal_akbk",
]

_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_KEY_BYTES = 32
_MANUFACTURER_FORMAT = "strongroom-manufacturer-identity"
_SERVICE_FORMAT = "strongroom-service-identity"
_VERSION = 1


def _check_id(value: object, what: str) -> str:
    if not isinstance(value, str) or _ID.fullmatch(value) is None:
        raise IdentityInvalid(f"a {what} ID is 1-63 characters of [a-z0-9-], starting alphanumeric")
    return value


def _check_key(value: object, what: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != _KEY_BYTES:
        raise IdentityInvalid(f"the {what} must be {_KEY_BYTES} bytes")
    return value


def _check_value(key: bytes, label: bytes) -> bytes:
    # A public fingerprint of a key: HMAC-SHA-256(key, label), first 16 bytes.
    return hmac_sign("SHA256", key, label)[:16]


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` atomically with mode 0600: temp file, fsync, rename, fsync dir."""
    write_atomic(path, data, 0o600)


def _read_private(path: Path, expected_format: str) -> dict[str, Any]:
    path = Path(path)
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as exc:
        raise IdentityInvalid(f"cannot read identity file {path.name}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise IdentityInvalid(f"identity file {path.name} is readable by others; chmod 600 it")
    try:
        decoded = decode_cbor(data)
    except StoreCorrupt:
        raise IdentityInvalid(f"identity file {path.name} is not an identity") from None
    if not isinstance(decoded, dict) or decoded.get("format") != expected_format:
        raise IdentityInvalid(f"identity file {path.name} is not a {expected_format}")
    if decoded.get("version") != _VERSION:
        raise IdentityInvalid(f"identity file {path.name} has an unsupported version")
    return decoded


@dataclass(frozen=True, slots=True)
class ManufacturerIdentity:
    """A manufacturer: ID, MKBK, and the CA that signs its nodes' certificates."""

    manufacturer_id: str
    mkbk: bytes
    ca_key: bytes
    ca_cert: bytes

    def __post_init__(self) -> None:
        _check_id(self.manufacturer_id, "manufacturer")
        _check_key(self.mkbk, "MKBK")
        if not isinstance(self.ca_key, bytes) or not isinstance(self.ca_cert, bytes):
            raise IdentityInvalid("the manufacturer CA must be DER bytes")

    def __repr__(self) -> str:
        return f"ManufacturerIdentity({self.manufacturer_id!r}, mkbk=<redacted>)"

    @classmethod
    def create(cls, manufacturer_id: str, rng: RandomSource | None = None) -> ManufacturerIdentity:
        """A new manufacturer with a fresh MKBK and CA."""
        _check_id(manufacturer_id, "manufacturer")
        ca_key, ca_cert = create_ca(f"Strongroom manufacturer {manufacturer_id}")
        mkbk = (rng or SystemRandom()).random_bytes(_KEY_BYTES)
        return cls(manufacturer_id, mkbk, ca_key, ca_cert)

    @property
    def check_value(self) -> bytes:
        """A public fingerprint of the MKBK (16 bytes), to tell identities apart."""
        return _check_value(self.mkbk, b"strongroom MKBK check v1")

    def save(self, path: Path) -> None:
        """Write the identity file (0600, atomic)."""
        _write_private(
            path,
            encode_cbor(
                {
                    "format": _MANUFACTURER_FORMAT,
                    "version": _VERSION,
                    "manufacturer_id": self.manufacturer_id,
                    "mkbk": self.mkbk,
                    "ca_key": self.ca_key,
                    "ca_cert": self.ca_cert,
                }
            ),
        )

    @classmethod
    def load(cls, path: Path) -> ManufacturerIdentity:
        """Read an identity file; refuses files others can read."""
        d = _read_private(path, _MANUFACTURER_FORMAT)
        return cls(
            _check_id(d.get("manufacturer_id"), "manufacturer"),
            _check_key(d.get("mkbk"), "MKBK"),
            d.get("ca_key"),  # type: ignore[arg-type]
            d.get("ca_cert"),  # type: ignore[arg-type]
        )


@dataclass(frozen=True, slots=True)
class ServiceIdentity:
    """A service: ID, AKBK (the service key backup key) and the CA that certifies its HSMs.

    The CA is optional (identities made before the network service have none); with one,
    configuring a node also gives it a certificate from the service (CloudHSM's
    ``AwsHardwareCertificate``).
    """

    service_id: str
    akbk: bytes
    ca_key: bytes | None = field(default=None, repr=False)
    ca_cert: bytes | None = None

    def __post_init__(self) -> None:
        _check_id(self.service_id, "service")
        _check_key(self.akbk, "AKBK")
        if (self.ca_key is None) != (self.ca_cert is None) or not all(
            v is None or isinstance(v, bytes) for v in (self.ca_key, self.ca_cert)
        ):
            raise IdentityInvalid("the service CA is a DER key and certificate, or neither")

    def __repr__(self) -> str:
        return f"ServiceIdentity({self.service_id!r}, akbk=<redacted>)"

    @classmethod
    def create(cls, service_id: str, rng: RandomSource | None = None) -> ServiceIdentity:
        """A new service with a fresh AKBK and CA."""
        _check_id(service_id, "service")
        ca_key, ca_cert = create_ca(f"Strongroom service {service_id}")
        return cls(service_id, (rng or SystemRandom()).random_bytes(32), ca_key, ca_cert)

    @property
    def check_value(self) -> bytes:
        """A public fingerprint of the AKBK (16 bytes)."""
        return _check_value(self.akbk, b"strongroom AKBK check v1")

    def save(self, path: Path) -> None:
        """Write the identity file (0600, atomic)."""
        _write_private(
            path,
            encode_cbor(
                {
                    "format": _SERVICE_FORMAT,
                    "version": _VERSION,
                    "service_id": self.service_id,
                    "akbk": self.akbk,
                }
                | ({} if self.ca_key is None else {"ca_key": self.ca_key, "ca_cert": self.ca_cert})
            ),
        )

    @classmethod
    def load(cls, path: Path) -> ServiceIdentity:
        """Read an identity file; refuses files others can read."""
        d = _read_private(path, _SERVICE_FORMAT)
        return cls(
            _check_id(d.get("service_id"), "service"),
            _check_key(d.get("akbk"), "AKBK"),
            d.get("ca_key"),
            d.get("ca_cert"),
        )


def _akbk_sealing_key(mkbk: bytes) -> AESGCM:
    return AESGCM(hkdf("SHA256", mkbk, salt=None, info=b"strongroom AKBK seal v1", length=32))


def _akbk_aad(hsm_id: str, service_id: str) -> bytes:
    return b"strongroom-akbk\x00" + hsm_id.encode() + b"\x00" + service_id.encode()


def seal_akbk(mkbk: bytes, hsm_id: str, service: ServiceIdentity, rng: RandomSource) -> bytes:
    """The AKBK as the HSM stores it: nonce || AES-256-GCM under HKDF(MKBK), AAD = ids."""
    nonce = rng.random_bytes(12)
    return nonce + _akbk_sealing_key(mkbk).encrypt(
        nonce, service.akbk, _akbk_aad(hsm_id, service.service_id)
    )


def open_akbk(mkbk: bytes, hsm_id: str, service_id: str, sealed: bytes, check: bytes) -> bytes:
    """The stored AKBK, authenticated and checked against its fingerprint."""
    try:
        akbk = _akbk_sealing_key(mkbk).decrypt(
            sealed[:12], sealed[12:], _akbk_aad(hsm_id, service_id)
        )
    except IntegrityError:
        raise IdentityInvalid("the stored service key does not open with this MKBK") from None
    if not constant_time_equal(_check_value(akbk, b"strongroom AKBK check v1"), check):
        raise IdentityInvalid("the stored service key does not match its fingerprint")
    return akbk

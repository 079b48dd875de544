"""Known keys for mechanism tests: each held by pyca/cryptography and imported into the engine.

Every key exists twice — as a pyca object the test can use directly, and as engine handles
owned by alice with every usage flag its kind allows — so each mechanism can be checked in
both directions against pyca.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from strongroom.constants import Attribute, KeyType, ObjectClass
from strongroom.crypto.asymmetric import ec_params_for_curve, ec_point
from strongroom.engine import Session
from strongroom.testing import MemoryStore

from .engine_helpers import Cluster, build

A = Attribute
CURVES: dict[str, ec.EllipticCurve] = {
    "secp224r1": ec.SECP224R1(),
    "secp256r1": ec.SECP256R1(),
    "secp384r1": ec.SECP384R1(),
    "secp521r1": ec.SECP521R1(),
    "secp256k1": ec.SECP256K1(),
}


def int_bytes(value: int) -> bytes:
    """Big-endian, minimal length (PKCS#11 big integers)."""
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


@dataclass
class SecretPair:
    """A secret key's value and its engine handle."""

    value: bytes
    handle: int


@dataclass
class AsymmetricPair:
    """A pyca private key and the engine's private and public handles for it."""

    private: object
    private_handle: int
    public_handle: int


def import_secret(s: Session, key_type: KeyType, value: bytes, **extra: object) -> int:
    """Import a secret key in the clear with every usage flag its type allows."""
    usage = {
        A.SIGN: True,
        A.VERIFY: True,
        A.DERIVE: True,
    }
    if key_type is KeyType.AES:
        usage |= {A.ENCRYPT: True, A.DECRYPT: True, A.WRAP: True, A.UNWRAP: True}
    template = {A.CLASS: ObjectClass.SECRET_KEY, A.KEY_TYPE: key_type, A.VALUE: value}
    template |= usage
    template |= {Attribute[k.upper()]: v for k, v in extra.items()}
    return s.create_object(template)


def import_rsa(s: Session, key: rsa.RSAPrivateKey) -> AsymmetricPair:
    """Import an RSA key pair (private key by its CRT components)."""
    n = key.private_numbers()
    public = {
        A.MODULUS: int_bytes(n.public_numbers.n),
        A.PUBLIC_EXPONENT: int_bytes(n.public_numbers.e),
    }
    priv = s.create_object(
        {
            A.CLASS: ObjectClass.PRIVATE_KEY,
            A.KEY_TYPE: KeyType.RSA,
            **public,
            A.PRIVATE_EXPONENT: int_bytes(n.d),
            A.PRIME_1: int_bytes(n.p),
            A.PRIME_2: int_bytes(n.q),
            A.EXPONENT_1: int_bytes(n.dmp1),
            A.EXPONENT_2: int_bytes(n.dmq1),
            A.COEFFICIENT: int_bytes(n.iqmp),
            A.EXTRACTABLE: True,
        }
    )
    pub = s.create_object({A.CLASS: ObjectClass.PUBLIC_KEY, A.KEY_TYPE: KeyType.RSA, **public})
    return AsymmetricPair(key, priv, pub)


def import_ec(s: Session, key: ec.EllipticCurvePrivateKey) -> AsymmetricPair:
    """Import an EC key pair (private key by its scalar) with DERIVE on."""
    params = ec_params_for_curve(key.curve.name)  # type: ignore[arg-type]
    size = (key.curve.key_size + 7) // 8
    priv = s.create_object(
        {
            A.CLASS: ObjectClass.PRIVATE_KEY,
            A.KEY_TYPE: KeyType.EC,
            A.EC_PARAMS: params,
            A.VALUE: key.private_numbers().private_value.to_bytes(size, "big"),
            A.DERIVE: True,
            A.EXTRACTABLE: True,
        }
    )
    pub = s.create_object(
        {
            A.CLASS: ObjectClass.PUBLIC_KEY,
            A.KEY_TYPE: KeyType.EC,
            A.EC_PARAMS: params,
            A.EC_POINT: ec_point(key.public_key()),
        }
    )
    return AsymmetricPair(key, priv, pub)


def import_ed25519(s: Session, key: ed25519.Ed25519PrivateKey) -> AsymmetricPair:
    """Import an Ed25519 key pair."""
    params = ec_params_for_curve("ed25519")
    priv = s.create_object(
        {
            A.CLASS: ObjectClass.PRIVATE_KEY,
            A.KEY_TYPE: KeyType.EC_EDWARDS,
            A.EC_PARAMS: params,
            A.VALUE: key.private_bytes_raw(),
        }
    )
    pub = s.create_object(
        {
            A.CLASS: ObjectClass.PUBLIC_KEY,
            A.KEY_TYPE: KeyType.EC_EDWARDS,
            A.EC_PARAMS: params,
            A.EC_POINT: ec_point(key.public_key()),
        }
    )
    return AsymmetricPair(key, priv, pub)


@dataclass
class Keys:
    """One HSM with alice's known keys of every kind."""

    cluster: Cluster
    aes: dict[int, SecretPair]
    generic: SecretPair
    rsa: AsymmetricPair
    ec: dict[str, AsymmetricPair]
    ed25519: AsymmetricPair

    @property
    def alice(self) -> Session:
        """Alice's session, which owns every key here."""
        return self.cluster.alice


_RSA_CACHE: list[rsa.RSAPrivateKey] = []


def rsa_2048() -> rsa.RSAPrivateKey:
    """One RSA-2048 key per test process (generation is slow)."""
    if not _RSA_CACHE:
        _RSA_CACHE.append(rsa.generate_private_key(65537, 2048))
    return _RSA_CACHE[0]


def make_keys() -> Iterator[Keys]:
    """Build the HSM and import every key; close it afterwards."""
    cluster = build(MemoryStore())
    s = cluster.alice
    aes = {
        n: SecretPair(v, import_secret(s, KeyType.AES, v))
        for n in (16, 24, 32)
        for v in [os.urandom(n)]
    }
    generic_value = os.urandom(32)
    keys = Keys(
        cluster=cluster,
        aes=aes,
        generic=SecretPair(generic_value, import_secret(s, KeyType.GENERIC_SECRET, generic_value)),
        rsa=import_rsa(s, rsa_2048()),
        ec={name: import_ec(s, ec.generate_private_key(curve)) for name, curve in CURVES.items()},
        ed25519=import_ed25519(s, ed25519.Ed25519PrivateKey.generate()),
    )
    yield keys
    cluster.hsm.close()

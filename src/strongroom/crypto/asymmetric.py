"""RSA, ECDSA and Ed25519: key generation, encodings, signatures and the pairwise test.

This module owns Strongroom's public-key operations on pyca/cryptography key objects: which
curves exist (`CurveName`), the byte encodings PKCS#11 attributes use (PKCS#8 and
SubjectPublicKeyInfo, ML-DSA keys included; RSA components; ``CKA_EC_PARAMS`` OIDs; the
``CKA_EC_POINT`` OCTET STRING; raw r || s ECDSA signatures), signing and verification
(verification raises `SignatureInvalid`, never returns a bool), and the FIPS 140-3 pairwise
consistency test for every key type, ML-DSA included (ML-DSA signing itself lives in
`strongroom.crypto.mldsa`). Every primitive is pyca's; the only hand-written code is the DER
OCTET STRING framing in `strongroom.crypto._der`, which is encoding, not cryptography. It
must not know about handles, attributes or users.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, TypeAlias

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

from strongroom.crypto._der import octet_string, octet_string_content
from strongroom.crypto.hashing import DIGEST_SIZES, HashName, hash_algorithm
from strongroom.crypto.mldsa import MLDSAPrivateKey, MLDSAPublicKey, mldsa_sign, mldsa_verify
from strongroom.errors import ArgumentsBad, SelfTestFailed, SignatureInvalid

if TYPE_CHECKING:
    from typing_extensions import TypeIs

__all__ = [
    "CurveName",
    "PrivateKey",
    "PublicKey",
    "RSAComponents",
    "curve_for_ec_params",
    "curve_of",
    "ec_params_for_curve",
    "ec_point",
    "ec_private_key_from_value",
    "ec_private_value",
    "ec_public_key_from_point",
    "ecdsa_sign",
    "ecdsa_sign_digest",
    "ecdsa_verify",
    "ecdsa_verify_digest",
    "ed25519_sign",
    "ed25519_verify",
    "generate_ec_private_key",
    "generate_ed25519_private_key",
    "generate_rsa_private_key",
    "is_rsa",
    "load_private_key_der",
    "load_public_key_der",
    "pairwise_consistency_check",
    "private_key_to_der",
    "public_key_of",
    "public_key_to_der",
    "rsa_modulus_bits",
    "rsa_pkcs1v15_sign",
    "rsa_pkcs1v15_verify",
    "rsa_private_components",
    "rsa_private_key_from_components",
    "rsa_pss_sign",
    "rsa_pss_verify",
    "rsa_public_components",
    "rsa_public_key_from_components",
]

PrivateKey: TypeAlias = (
    rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | MLDSAPrivateKey
)
PublicKey: TypeAlias = (
    rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | MLDSAPublicKey
)
CurveName = Literal["secp224r1", "secp256r1", "secp384r1", "secp521r1", "secp256k1"]

_CURVES: Final[dict[str, type[ec.EllipticCurve]]] = {
    "secp224r1": ec.SECP224R1,
    "secp256r1": ec.SECP256R1,
    "secp384r1": ec.SECP384R1,
    "secp521r1": ec.SECP521R1,
    "secp256k1": ec.SECP256K1,
}

# CKA_EC_PARAMS: DER of the namedCurve OBJECT IDENTIFIER (X9.62 / SEC 1 §C.2, RFC 5480
# §2.1.1.1; Ed25519 per RFC 8410 §3).
_EC_PARAMS: Final[dict[CurveName | Literal["ed25519"], bytes]] = {
    "secp224r1": bytes.fromhex("06052b81040021"),  # 1.3.132.0.33
    "secp256r1": bytes.fromhex("06082a8648ce3d030107"),  # 1.2.840.10045.3.1.7
    "secp384r1": bytes.fromhex("06052b81040022"),  # 1.3.132.0.34
    "secp521r1": bytes.fromhex("06052b81040023"),  # 1.3.132.0.35
    "secp256k1": bytes.fromhex("06052b8104000a"),  # 1.3.132.0.10
    "ed25519": bytes.fromhex("06032b6570"),  # 1.3.101.112
}
# PKCS#11 v3.0 also lets Edwards-curve CKA_EC_PARAMS be the PrintableString curve name.
_ED25519_PRINTABLE: Final = b"\x13\x0cedwards25519"

# ECDSA digest sizes accepted for a caller-supplied hash (CKM_ECDSA over a digest). A size is
# read as the SHA-1 or SHA-2 hash of that length, never as the SHA-3 hash of the same length.
_PREHASH_SIZES: Final[tuple[tuple[int, HashName], ...]] = tuple(
    sorted((DIGEST_SIZES[name], name) for name in ("SHA1", "SHA224", "SHA256", "SHA384", "SHA512"))
)
"""(digest size, hash) for raw ECDSA's input, shortest first."""

_ED25519_KEY_SIZE: Final = 32
_PCT_MESSAGE: Final = b"Strongroom pairwise consistency test"


# --- generation ---------------------------------------------------------------------------


def generate_rsa_private_key(bits: int, public_exponent: int) -> rsa.RSAPrivateKey:
    """A fresh RSA key; pyca refuses < 1024 bits and e other than 3 or 65537 (policy is yours)."""
    try:
        return rsa.generate_private_key(public_exponent=public_exponent, key_size=bits)
    except ValueError:
        raise ArgumentsBad(f"cannot generate RSA-{bits} with e={public_exponent}") from None


def generate_ec_private_key(curve: CurveName) -> ec.EllipticCurvePrivateKey:
    """A fresh EC key on ``curve`` (SEC 1 §3.2.1)."""
    return ec.generate_private_key(_curve(curve))


def generate_ed25519_private_key() -> ed25519.Ed25519PrivateKey:
    """A fresh Ed25519 key (RFC 8032 §5.1.5)."""
    return ed25519.Ed25519PrivateKey.generate()


# --- serialisation ------------------------------------------------------------------------


def private_key_to_der(key: PrivateKey) -> bytes:
    """Unencrypted PKCS#8 DER (RFC 5208 §5); ML-DSA keys in the RFC 9881 seed-only form."""
    return key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_private_key_der(der: bytes, *, trusted: bool) -> PrivateKey:
    """Load unencrypted private-key DER; malformed or unsupported keys are `ArgumentsBad`.

    ``trusted=True`` skips pyca's RSA key validation (about 26 ms per key) and is only for
    keys the HSM sealed itself; anything from outside must be loaded with ``trusted=False``.
    ML-DSA keys load only in the RFC 9881 ``seed`` form: pyca 50 refuses the ``expandedKey``
    and ``both`` forms, which are `ArgumentsBad` here like any other malformed key.
    """
    try:
        key = serialization.load_der_private_key(
            der, password=None, unsafe_skip_rsa_key_validation=trusted
        )
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ArgumentsBad("malformed or unsupported private key") from None
    if isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        return key
    if isinstance(key, MLDSAPrivateKey):
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in _CURVES:
        return key
    raise ArgumentsBad("unsupported private key type or curve")


def public_key_to_der(key: PublicKey) -> bytes:
    """SubjectPublicKeyInfo DER (RFC 5280 §4.1.2.7)."""
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public_key_der(der: bytes) -> PublicKey:
    """Load SubjectPublicKeyInfo DER; malformed or unsupported keys are `ArgumentsBad`."""
    try:
        key = serialization.load_der_public_key(der)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ArgumentsBad("malformed or unsupported public key") from None
    if isinstance(key, rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        return key
    if isinstance(key, MLDSAPublicKey):
        return key
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name in _CURVES:
        return key
    raise ArgumentsBad("unsupported public key type or curve")


def public_key_of(key: PrivateKey) -> PublicKey:
    """The public half of ``key``."""
    return key.public_key()


def is_rsa(key: PrivateKey | PublicKey) -> TypeIs[rsa.RSAPrivateKey | rsa.RSAPublicKey]:
    """True for RSA keys, private or public; type checkers narrow both branches."""
    return isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey)


# --- RSA components -----------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class RSAComponents:
    """An RSA private key as PKCS#11 attributes (RFC 8017 §3.2), big-endian unsigned bytes."""

    modulus: bytes
    public_exponent: bytes
    private_exponent: bytes
    prime_1: bytes
    prime_2: bytes
    exponent_1: bytes
    exponent_2: bytes
    coefficient: bytes

    def __repr__(self) -> str:
        bits = int.from_bytes(self.modulus, "big").bit_length()
        return f"RSAComponents(modulus=<{bits}-bit>, private components redacted)"


def _to_bytes(value: int) -> bytes:
    """Minimal big-endian unsigned encoding (at least one byte)."""
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


def _to_int(value: bytes) -> int:
    return int.from_bytes(value, "big")


def rsa_private_components(key: rsa.RSAPrivateKey) -> RSAComponents:
    """All eight components of ``key``; coefficient is q^-1 mod p (RFC 8017 §3.2)."""
    numbers = key.private_numbers()
    return RSAComponents(
        modulus=_to_bytes(numbers.public_numbers.n),
        public_exponent=_to_bytes(numbers.public_numbers.e),
        private_exponent=_to_bytes(numbers.d),
        prime_1=_to_bytes(numbers.p),
        prime_2=_to_bytes(numbers.q),
        exponent_1=_to_bytes(numbers.dmp1),
        exponent_2=_to_bytes(numbers.dmq1),
        coefficient=_to_bytes(numbers.iqmp),
    )


def rsa_private_key_from_components(c: RSAComponents) -> rsa.RSAPrivateKey:
    """Rebuild and fully validate an RSA key; inconsistent components are `ArgumentsBad`."""
    numbers = rsa.RSAPrivateNumbers(
        p=_to_int(c.prime_1),
        q=_to_int(c.prime_2),
        d=_to_int(c.private_exponent),
        dmp1=_to_int(c.exponent_1),
        dmq1=_to_int(c.exponent_2),
        iqmp=_to_int(c.coefficient),
        public_numbers=rsa.RSAPublicNumbers(e=_to_int(c.public_exponent), n=_to_int(c.modulus)),
    )
    try:
        return numbers.private_key()
    except (ValueError, UnsupportedAlgorithm):
        raise ArgumentsBad("inconsistent RSA private key components") from None


def rsa_public_components(pub: rsa.RSAPublicKey) -> tuple[bytes, bytes]:
    """(modulus, public exponent) as minimal big-endian bytes."""
    numbers = pub.public_numbers()
    return _to_bytes(numbers.n), _to_bytes(numbers.e)


def rsa_public_key_from_components(modulus: bytes, public_exponent: bytes) -> rsa.RSAPublicKey:
    """An RSA public key from big-endian modulus and exponent; bad values are `ArgumentsBad`.

    pyca checks the exponent (odd, 3 <= e < n); the modulus must also be odd (RFC 8017 §3.1:
    a product of odd primes).
    """
    if not _to_int(modulus) & 1:
        raise ArgumentsBad("RSA modulus must be odd")
    try:
        return rsa.RSAPublicNumbers(e=_to_int(public_exponent), n=_to_int(modulus)).public_key()
    except (ValueError, UnsupportedAlgorithm):
        raise ArgumentsBad("invalid RSA public key components") from None


def rsa_modulus_bits(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> int:
    """Modulus length in bits (PKCS#11 ``CKA_MODULUS_BITS``)."""
    return key.key_size


# --- EC parameters, points and private values --------------------------------------------------


def _curve(curve: str) -> ec.EllipticCurve:
    try:
        return _CURVES[curve]()
    except (KeyError, TypeError):
        raise ArgumentsBad(f"unsupported curve {curve!r}") from None


def _field_bytes(curve: ec.EllipticCurve) -> int:
    # SEC 1 §2.3.5: field elements and scalars of these curves are ceil(log2 p / 8) bytes.
    return (curve.key_size + 7) // 8


def ec_params_for_curve(curve: CurveName | Literal["ed25519"]) -> bytes:
    """``CKA_EC_PARAMS`` for ``curve``: the DER-encoded namedCurve OID."""
    try:
        return _EC_PARAMS[curve]
    except (KeyError, TypeError):
        raise ArgumentsBad(f"unsupported curve {curve!r}") from None


def curve_for_ec_params(params: bytes) -> CurveName | Literal["ed25519"]:
    """The curve named by ``CKA_EC_PARAMS``; also accepts Ed25519's PrintableString form."""
    for name, encoded in _EC_PARAMS.items():
        if params == encoded:
            return name
    if params == _ED25519_PRINTABLE:
        return "ed25519"
    raise ArgumentsBad("unsupported or malformed EC parameters")


def ec_point(key: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey) -> bytes:
    """``CKA_EC_POINT``: DER OCTET STRING of the X9.62 uncompressed point (SEC 1 §2.3.3).

    For Ed25519 the content is the raw 32-byte public key (RFC 8032 §5.1.2).
    """
    if isinstance(key, ed25519.Ed25519PublicKey):
        return octet_string(key.public_bytes_raw())
    raw = key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return octet_string(raw)


def _public_key_from_raw(
    curve: CurveName | Literal["ed25519"], raw: bytes
) -> ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey:
    if curve == "ed25519":
        if len(raw) != _ED25519_KEY_SIZE:
            raise ValueError("wrong Ed25519 public key length")
        return ed25519.Ed25519PublicKey.from_public_bytes(raw)
    return ec.EllipticCurvePublicKey.from_encoded_point(_curve(curve), raw)


def ec_public_key_from_point(
    curve: CurveName | Literal["ed25519"], point: bytes
) -> ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey:
    """A public key from ``CKA_EC_POINT``: the DER OCTET STRING form or, leniently, the raw point.

    Points are checked to lie on the curve (SEC 1 §3.2.2.1); off-curve or malformed points are
    `ArgumentsBad`. The two forms cannot be confused: the OCTET STRING header changes the
    length by 2 or 3 bytes, and no valid encoding has those lengths.
    """
    if curve != "ed25519":
        _curve(curve)
    candidates = [point]
    content = octet_string_content(point)
    if content is not None:
        candidates.insert(0, content)
    for candidate in candidates:
        try:
            return _public_key_from_raw(curve, candidate)
        except (ValueError, UnsupportedAlgorithm):
            continue
    raise ArgumentsBad("invalid EC point for the curve")


def ec_private_value(key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    """``CKA_VALUE`` of a private key: the scalar d, big-endian, padded to the field length.

    For Ed25519 it is the 32-byte seed (RFC 8032 §5.1.5), as PKCS#11 v3.0 specifies.
    """
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.private_bytes_raw()
    value = key.private_numbers().private_value
    return value.to_bytes(_field_bytes(key.curve), "big")


def ec_private_key_from_value(
    curve: CurveName | Literal["ed25519"], value: bytes
) -> ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey:
    """A private key from ``CKA_VALUE``; d must be in [1, n-1] (SEC 1 §3.2.1), else `ArgumentsBad`.

    Leading zero bytes of d may be omitted; Ed25519 seeds must be exactly 32 bytes.
    """
    if curve == "ed25519":
        if len(value) != _ED25519_KEY_SIZE:
            raise ArgumentsBad(f"Ed25519 private key must be 32 bytes, not {len(value)}")
        return ed25519.Ed25519PrivateKey.from_private_bytes(value)
    ec_curve = _curve(curve)
    if not 1 <= len(value) <= _field_bytes(ec_curve):
        raise ArgumentsBad(f"EC private value has the wrong length for {curve}")
    try:
        return ec.derive_private_key(_to_int(value), ec_curve)
    except ValueError:
        raise ArgumentsBad(f"EC private value out of range for {curve}") from None


def curve_of(key: PrivateKey | PublicKey) -> CurveName | Literal["ed25519"]:
    """The curve ``key`` lives on; RSA and ML-DSA keys and unsupported curves are `ArgumentsBad`."""
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "ed25519"
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        raise ArgumentsBad("RSA keys have no curve")
    if isinstance(key, MLDSAPrivateKey | MLDSAPublicKey):
        raise ArgumentsBad("ML-DSA keys have no curve")
    name = key.curve.name
    for known in _EC_PARAMS:
        if known == name:
            return known
    raise ArgumentsBad(f"unsupported curve {name!r}")


# --- RSA signatures -----------------------------------------------------------------------


def _message_algorithm(
    hash_name: HashName, data: bytes, prehashed: bool
) -> hashes.HashAlgorithm | utils.Prehashed:
    algorithm = hash_algorithm(hash_name)
    if not prehashed:
        return algorithm
    if len(data) != algorithm.digest_size:
        raise ArgumentsBad(f"{hash_name} digest must be {algorithm.digest_size} bytes")
    return utils.Prehashed(algorithm)


_PSS_CACHE: dict[tuple[str, int], padding.PSS] = {}


def _pss(hash_name: HashName, salt_length: int) -> padding.PSS:
    # RFC 8017 §9.1 with MGF1 over the message hash (§B.2.1); built once per (hash, salt).
    cached = _PSS_CACHE.get((hash_name, salt_length))
    if cached is not None:
        return cached
    if salt_length < 0:
        raise ArgumentsBad(f"PSS salt length must not be negative, not {salt_length}")
    scheme = padding.PSS(mgf=padding.MGF1(hash_algorithm(hash_name)), salt_length=salt_length)
    if len(_PSS_CACHE) < 4096:
        _PSS_CACHE[hash_name, salt_length] = scheme
    return scheme


def rsa_pss_sign(
    key: rsa.RSAPrivateKey,
    data: bytes,
    hash_name: HashName,
    salt_length: int,
    *,
    prehashed: bool = False,
) -> bytes:
    """RSASSA-PSS signature (RFC 8017 §8.1.1); ``prehashed`` means ``data`` is the digest."""
    algorithm = _message_algorithm(hash_name, data, prehashed)
    scheme = _pss(hash_name, salt_length)
    try:
        return key.sign(data, scheme, algorithm)
    except ValueError:
        raise ArgumentsBad("digest and salt are too long for the RSA key") from None


def rsa_pss_verify(
    pub: rsa.RSAPublicKey,
    signature: bytes,
    data: bytes,
    hash_name: HashName,
    salt_length: int,
    *,
    prehashed: bool = False,
) -> None:
    """Check an RSASSA-PSS signature (RFC 8017 §8.1.2); raise `SignatureInvalid` if wrong."""
    algorithm = _message_algorithm(hash_name, data, prehashed)
    scheme = _pss(hash_name, salt_length)
    try:
        pub.verify(signature, data, scheme, algorithm)
    except (InvalidSignature, ValueError):
        raise SignatureInvalid("signature did not verify") from None


def rsa_pkcs1v15_sign(
    key: rsa.RSAPrivateKey, data: bytes, hash_name: HashName, *, prehashed: bool = False
) -> bytes:
    """RSASSA-PKCS1-v1_5 signature (RFC 8017 §8.2.1); deterministic."""
    algorithm = _message_algorithm(hash_name, data, prehashed)
    try:
        return key.sign(data, padding.PKCS1v15(), algorithm)
    except ValueError:
        raise ArgumentsBad("digest is too long for the RSA key") from None


def rsa_pkcs1v15_verify(
    pub: rsa.RSAPublicKey,
    signature: bytes,
    data: bytes,
    hash_name: HashName,
    *,
    prehashed: bool = False,
) -> None:
    """Check an RSASSA-PKCS1-v1_5 signature (RFC 8017 §8.2.2); raise `SignatureInvalid`."""
    algorithm = _message_algorithm(hash_name, data, prehashed)
    try:
        pub.verify(signature, data, padding.PKCS1v15(), algorithm)
    except (InvalidSignature, ValueError):
        raise SignatureInvalid("signature did not verify") from None


# --- ECDSA and Ed25519 ----------------------------------------------------------------------


_ECDSA_BY_HASH: dict[str, ec.ECDSA] = {}


def _ecdsa(algorithm: hashes.HashAlgorithm | utils.Prehashed) -> ec.ECDSA:
    """The (immutable) ECDSA signature algorithm object, built once per hash: a hot path."""
    if isinstance(algorithm, utils.Prehashed):
        return ec.ECDSA(algorithm)
    cached = _ECDSA_BY_HASH.get(algorithm.name)
    if cached is None:
        cached = _ECDSA_BY_HASH[algorithm.name] = ec.ECDSA(algorithm)
    return cached


def _ecdsa_raw_sign(
    key: ec.EllipticCurvePrivateKey, data: bytes, algorithm: hashes.HashAlgorithm | utils.Prehashed
) -> bytes:
    # PKCS#11 v3.0 CKM_ECDSA output: r || s, each as long as the group order (= the field here).
    r, s = utils.decode_dss_signature(key.sign(data, _ecdsa(algorithm)))
    size = (key.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def _ecdsa_raw_verify(
    pub: ec.EllipticCurvePublicKey,
    signature: bytes,
    data: bytes,
    algorithm: hashes.HashAlgorithm | utils.Prehashed,
) -> None:
    size = _field_bytes(pub.curve)
    if len(signature) != 2 * size:
        raise SignatureInvalid("signature did not verify")
    der = utils.encode_dss_signature(_to_int(signature[:size]), _to_int(signature[size:]))
    try:
        pub.verify(der, data, _ecdsa(algorithm))
    except (InvalidSignature, ValueError):
        raise SignatureInvalid("signature did not verify") from None


def _x962_input(digest: bytes, order_bits: int) -> tuple[bytes, utils.Prehashed]:
    """Raw ECDSA input of any length as a digest OpenSSL signs the same way (ANSI X9.62).

    X9.62 takes the input's leftmost ``order_bits`` bits as the integer e (the whole input when
    it is shorter). OpenSSL does the same with a digest, so e is re-encoded as a digest of
    a standard size that yields e again: the smallest size of at least ``order_bits`` bits,
    with e in its leftmost bits. Standard digests come through unchanged.
    """
    if not digest:
        raise ArgumentsBad("raw ECDSA needs a non-empty input (a digest)")
    value = int.from_bytes(digest, "big")
    if len(digest) * 8 > order_bits:
        value >>= len(digest) * 8 - order_bits
    for size, hash_name in _PREHASH_SIZES:
        if size * 8 >= order_bits:
            padded = (value << (size * 8 - order_bits)).to_bytes(size, "big")
            return padded, utils.Prehashed(hash_algorithm(hash_name))
    if value.bit_length() > 512:  # P-521: 64 bytes is the longest digest, and not truncated
        raise ArgumentsBad("raw ECDSA on P-521 takes at most 64 bytes of input")
    return value.to_bytes(64, "big"), utils.Prehashed(hash_algorithm("SHA512"))


def ecdsa_sign(key: ec.EllipticCurvePrivateKey, data: bytes, hash_name: HashName) -> bytes:
    """ECDSA over ``data`` hashed with ``hash_name`` (SEC 1 §4.1.3); returns raw r || s."""
    return _ecdsa_raw_sign(key, data, hash_algorithm(hash_name))


def ecdsa_sign_digest(key: ec.EllipticCurvePrivateKey, digest: bytes) -> bytes:
    """Raw ECDSA (CKM_ECDSA) over a precomputed digest, or any input as ANSI X9.62 takes it;
    returns raw r || s."""
    return _ecdsa_raw_sign(key, *_x962_input(digest, key.curve.key_size))


def ecdsa_verify(
    pub: ec.EllipticCurvePublicKey, signature: bytes, data: bytes, hash_name: HashName
) -> None:
    """Check a raw r || s ECDSA signature (SEC 1 §4.1.4); raise `SignatureInvalid`."""
    _ecdsa_raw_verify(pub, signature, data, hash_algorithm(hash_name))


def ecdsa_verify_digest(pub: ec.EllipticCurvePublicKey, signature: bytes, digest: bytes) -> None:
    """Check a raw r || s ECDSA signature over a digest (or any input, as signing takes it);
    raise `SignatureInvalid`."""
    _ecdsa_raw_verify(pub, signature, *_x962_input(digest, pub.curve.key_size))


def ed25519_sign(key: ed25519.Ed25519PrivateKey, data: bytes) -> bytes:
    """Pure Ed25519 signature (RFC 8032 §5.1.6); deterministic, 64 bytes."""
    return key.sign(data)


def ed25519_verify(pub: ed25519.Ed25519PublicKey, signature: bytes, data: bytes) -> None:
    """Check a pure Ed25519 signature (RFC 8032 §5.1.7); raise `SignatureInvalid`."""
    try:
        pub.verify(signature, data)
    except (InvalidSignature, ValueError):
        raise SignatureInvalid("signature did not verify") from None


# --- pairwise consistency --------------------------------------------------------------------


def _pct_salt_length(key: rsa.RSAPrivateKey) -> int:
    # RFC 8017 §9.1.1 step 3: emLen >= hLen + sLen + 2, emLen = ceil((modBits - 1) / 8).
    em_len = (key.key_size - 1 + 7) // 8
    return max(0, min(DIGEST_SIZES["SHA256"], em_len - DIGEST_SIZES["SHA256"] - 2))


def pairwise_consistency_check(key: PrivateKey) -> None:
    """Sign a fixed message and verify it with the public key (the FIPS 140-3 conditional PCT).

    RSA uses PSS with SHA-256, EC keys ECDSA with SHA-256, Ed25519 and ML-DSA themselves. Any
    failure, including an unexpected exception, raises `SelfTestFailed`.
    """
    try:
        if isinstance(key, rsa.RSAPrivateKey):
            salt = _pct_salt_length(key)
            signature = rsa_pss_sign(key, _PCT_MESSAGE, "SHA256", salt)
            rsa_pss_verify(key.public_key(), signature, _PCT_MESSAGE, "SHA256", salt)
        elif isinstance(key, ec.EllipticCurvePrivateKey):
            signature = ecdsa_sign(key, _PCT_MESSAGE, "SHA256")
            ecdsa_verify(key.public_key(), signature, _PCT_MESSAGE, "SHA256")
        elif isinstance(key, MLDSAPrivateKey):
            signature = mldsa_sign(key, _PCT_MESSAGE)
            mldsa_verify(key.public_key(), signature, _PCT_MESSAGE)
        else:
            signature = ed25519_sign(key, _PCT_MESSAGE)
            ed25519_verify(key.public_key(), signature, _PCT_MESSAGE)
    except Exception:
        raise SelfTestFailed("pairwise consistency test failed") from None

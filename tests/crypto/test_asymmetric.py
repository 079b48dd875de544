"""Behaviour of RSA, ECDSA and Ed25519: encodings, interop with raw pyca, errors and the PCT."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, get_args

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.crypto.asymmetric import (
    CurveName,
    PrivateKey,
    RSAComponents,
    curve_for_ec_params,
    curve_of,
    ec_params_for_curve,
    ec_point,
    ec_private_key_from_value,
    ec_private_value,
    ec_public_key_from_point,
    ecdsa_sign,
    ecdsa_sign_digest,
    ecdsa_verify,
    ecdsa_verify_digest,
    ed25519_sign,
    ed25519_verify,
    generate_ec_private_key,
    generate_ed25519_private_key,
    generate_rsa_private_key,
    is_rsa,
    load_private_key_der,
    load_public_key_der,
    pairwise_consistency_check,
    private_key_to_der,
    public_key_of,
    public_key_to_der,
    rsa_modulus_bits,
    rsa_pkcs1v15_sign,
    rsa_pkcs1v15_verify,
    rsa_private_components,
    rsa_private_key_from_components,
    rsa_pss_sign,
    rsa_pss_verify,
    rsa_public_components,
    rsa_public_key_from_components,
)
from strongroom.crypto.hashing import HashName, digest, hash_algorithm
from strongroom.errors import ArgumentsBad, SelfTestFailed, SignatureInvalid

CURVES: tuple[CurveName, ...] = get_args(CurveName)
ALL_CURVES: tuple[CurveName | Literal["ed25519"], ...] = (*CURVES, "ed25519")
HASHES: tuple[HashName, ...] = ("SHA1", "SHA224", "SHA256", "SHA384", "SHA512")
_FIELD_BYTES = {"secp224r1": 28, "secp256r1": 32, "secp384r1": 48, "secp521r1": 66, "secp256k1": 32}
MESSAGE = b"interop message"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    """One RSA-2048 key for the module (generation is the slow part)."""
    return generate_rsa_private_key(2048, 65537)


@pytest.fixture(scope="module", params=CURVES)
def ec_key(request: pytest.FixtureRequest) -> ec.EllipticCurvePrivateKey:
    """One EC key per supported curve."""
    curve: CurveName = request.param
    return generate_ec_private_key(curve)


@pytest.fixture(scope="module")
def ed_key() -> ed25519.Ed25519PrivateKey:
    """One Ed25519 key for the module."""
    return generate_ed25519_private_key()


def _flip_first_byte(data: bytes) -> bytes:
    return bytes([data[0] ^ 0x01]) + data[1:]


def _raw_to_der(signature: bytes) -> bytes:
    half = len(signature) // 2
    r, s = int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")
    return utils.encode_dss_signature(r, s)


def _der_to_raw(signature: bytes, size: int) -> bytes:
    r, s = utils.decode_dss_signature(signature)
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


# --- generation -------------------------------------------------------------------------------


def test_rsa_generation(rsa_key: rsa.RSAPrivateKey) -> None:
    """Generated RSA keys have the asked-for size and exponent."""
    assert rsa_modulus_bits(rsa_key) == 2048
    assert rsa_modulus_bits(rsa_key.public_key()) == 2048
    assert rsa_key.public_key().public_numbers().e == 65537


@pytest.mark.parametrize(("bits", "exponent"), [(512, 65537), (2048, 4), (2048, 1), (0, 65537)])
def test_rsa_generation_bad_parameters_are_arguments_bad(bits: int, exponent: int) -> None:
    """Sizes or exponents pyca refuses raise ArgumentsBad."""
    with pytest.raises(ArgumentsBad):
        generate_rsa_private_key(bits, exponent)


def test_ec_generation(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """Generated EC keys live on the asked-for curve."""
    assert ec_key.curve.name == curve_of(ec_key)


def test_unknown_curve_is_arguments_bad() -> None:
    """Generating on a curve outside CurveName raises ArgumentsBad."""
    with pytest.raises(ArgumentsBad):
        generate_ec_private_key("secp192r1")  # type: ignore[arg-type]


def test_is_rsa_tells_key_families_apart(
    rsa_key: rsa.RSAPrivateKey, ed_key: ed25519.Ed25519PrivateKey
) -> None:
    """is_rsa is true for RSA private and public keys and false for the others."""
    assert is_rsa(rsa_key)
    assert is_rsa(rsa_key.public_key())
    assert not is_rsa(ed_key)
    assert not is_rsa(generate_ec_private_key("secp256r1").public_key())


# --- serialisation ----------------------------------------------------------------------------


@pytest.mark.parametrize("trusted", [True, False])
def test_private_der_round_trip(
    rsa_key: rsa.RSAPrivateKey,
    ec_key: ec.EllipticCurvePrivateKey,
    ed_key: ed25519.Ed25519PrivateKey,
    trusted: bool,
) -> None:
    """PKCS#8 DER out and back in gives the same key, trusted or validated."""
    keys: list[PrivateKey] = [rsa_key, ec_key, ed_key]
    for key in keys:
        der = private_key_to_der(key)
        assert der[0] == 0x30
        loaded = load_private_key_der(der, trusted=trusted)
        assert private_key_to_der(loaded) == der
        assert public_key_to_der(public_key_of(loaded)) == public_key_to_der(key.public_key())


def test_private_der_is_pkcs8(rsa_key: rsa.RSAPrivateKey) -> None:
    """The private DER is the PKCS#8 encoding pyca produces."""
    assert private_key_to_der(rsa_key) == rsa_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.mark.parametrize("der", [b"", b"\x30\x00", b"garbage", bytes(100)])
def test_malformed_private_der_is_arguments_bad(der: bytes) -> None:
    """Garbage private-key DER raises ArgumentsBad either way."""
    for trusted in (True, False):
        with pytest.raises(ArgumentsBad):
            load_private_key_der(der, trusted=trusted)


def test_unsupported_curve_private_der_is_arguments_bad() -> None:
    """A well-formed key on a curve we do not support (P-192) raises ArgumentsBad."""
    der = private_key_to_der(ec.generate_private_key(ec.SECP192R1()))
    with pytest.raises(ArgumentsBad):
        load_private_key_der(der, trusted=False)
    spki = (
        ec.generate_private_key(ec.SECP192R1())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(ArgumentsBad):
        load_public_key_der(spki)


def test_encrypted_private_der_is_arguments_bad(ed_key: ed25519.Ed25519PrivateKey) -> None:
    """Password-protected PKCS#8 raises ArgumentsBad (we only load unencrypted DER)."""
    der = ed_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"password"),
    )
    with pytest.raises(ArgumentsBad):
        load_private_key_der(der, trusted=False)


def _inconsistent_rsa_der(key: rsa.RSAPrivateKey) -> bytes:
    """DER of an RSA key whose CRT coefficient is wrong, built with validation skipped."""
    numbers = key.private_numbers()
    broken = rsa.RSAPrivateNumbers(
        p=numbers.p,
        q=numbers.q,
        d=numbers.d,
        dmp1=numbers.dmp1,
        dmq1=numbers.dmq1,
        iqmp=numbers.iqmp + 1,
        public_numbers=numbers.public_numbers,
    ).private_key(unsafe_skip_rsa_key_validation=True)
    return private_key_to_der(broken)


def test_untrusted_load_validates_rsa_keys(rsa_key: rsa.RSAPrivateKey) -> None:
    """trusted=False refuses an inconsistent RSA key; trusted=True skips the check."""
    der = _inconsistent_rsa_der(rsa_key)
    with pytest.raises(ArgumentsBad):
        load_private_key_der(der, trusted=False)
    assert isinstance(load_private_key_der(der, trusted=True), rsa.RSAPrivateKey)


def test_public_der_round_trip(
    rsa_key: rsa.RSAPrivateKey,
    ec_key: ec.EllipticCurvePrivateKey,
    ed_key: ed25519.Ed25519PrivateKey,
) -> None:
    """SubjectPublicKeyInfo DER out and back in gives the same public key."""
    for key in (rsa_key, ec_key, ed_key):
        der = public_key_to_der(key.public_key())
        assert public_key_to_der(load_public_key_der(der)) == der


@pytest.mark.parametrize("der", [b"", b"\x30\x00", b"garbage"])
def test_malformed_public_der_is_arguments_bad(der: bytes) -> None:
    """Garbage public-key DER raises ArgumentsBad."""
    with pytest.raises(ArgumentsBad):
        load_public_key_der(der)


# --- RSA components ---------------------------------------------------------------------------


def test_rsa_components_round_trip(rsa_key: rsa.RSAPrivateKey) -> None:
    """Components out and back in rebuild the same key."""
    components = rsa_private_components(rsa_key)
    rebuilt = rsa_private_key_from_components(components)
    assert rebuilt.private_numbers() == rsa_key.private_numbers()


def test_rsa_components_are_minimal_big_endian(rsa_key: rsa.RSAPrivateKey) -> None:
    """Every component is minimal big-endian, and coefficient is q^-1 mod p."""
    components = rsa_private_components(rsa_key)
    numbers = rsa_key.private_numbers()
    for value in vars(components).values():
        assert value[0] != 0
    assert components.public_exponent == b"\x01\x00\x01"
    assert int.from_bytes(components.prime_1, "big") == numbers.p
    assert int.from_bytes(components.coefficient, "big") == pow(numbers.q, -1, numbers.p)
    assert len(components.modulus) == 256


def test_rsa_components_repr_redacts(rsa_key: rsa.RSAPrivateKey) -> None:
    """The repr shows the modulus length only: no component in hex, raw or decimal form."""
    components = rsa_private_components(rsa_key)
    text = repr(components)
    assert text == "RSAComponents(modulus=<2048-bit>, private components redacted)"
    assert str(components) == text
    for value in vars(components).values():
        if len(value) > 3:
            assert value.hex() not in text
            assert value.hex().upper() not in text
            assert str(int.from_bytes(value, "big")) not in text
            assert repr(value) not in text


def test_rsa_components_are_frozen(rsa_key: rsa.RSAPrivateKey) -> None:
    """RSAComponents cannot be changed after construction."""
    components = rsa_private_components(rsa_key)
    with pytest.raises(AttributeError):
        components.modulus = b"\x01"  # type: ignore[misc]


def test_inconsistent_rsa_components_are_arguments_bad(rsa_key: rsa.RSAPrivateKey) -> None:
    """Components that do not form a valid key raise ArgumentsBad."""
    components = rsa_private_components(rsa_key)
    bad = [
        RSAComponents(**(vars(components) | {"coefficient": b"\x01"})),
        RSAComponents(**(vars(components) | {"prime_1": components.prime_2})),
        RSAComponents(**(vars(components) | {"modulus": b""})),
    ]
    for candidate in bad:
        with pytest.raises(ArgumentsBad):
            rsa_private_key_from_components(candidate)


def test_rsa_public_components_round_trip(rsa_key: rsa.RSAPrivateKey) -> None:
    """(modulus, exponent) out and back in gives the same public key."""
    modulus, exponent = rsa_public_components(rsa_key.public_key())
    rebuilt = rsa_public_key_from_components(modulus, exponent)
    assert rebuilt.public_numbers() == rsa_key.public_key().public_numbers()


@pytest.mark.parametrize(
    ("modulus", "exponent"),
    [(b"", b"\x01\x00\x01"), (b"\x01" * 256, b""), (b"\x02" * 256, b"\x01\x00\x01")],
)
def test_bad_rsa_public_components_are_arguments_bad(modulus: bytes, exponent: bytes) -> None:
    """An empty or even modulus, or an empty exponent, raises ArgumentsBad."""
    with pytest.raises(ArgumentsBad):
        rsa_public_key_from_components(modulus, exponent)


# --- EC parameters, points and values ---------------------------------------------------------


def test_ec_params_published_encodings() -> None:
    """P-256 and Ed25519 parameters are the DER OIDs PKCS#11 expects."""
    assert ec_params_for_curve("secp256r1") == bytes.fromhex("06082a8648ce3d030107")
    assert ec_params_for_curve("ed25519") == bytes.fromhex("06032b6570")


@pytest.mark.parametrize("curve", ALL_CURVES)
def test_ec_params_round_trip(curve: CurveName | Literal["ed25519"]) -> None:
    """curve_for_ec_params inverts ec_params_for_curve for every curve."""
    assert curve_for_ec_params(ec_params_for_curve(curve)) == curve


@pytest.mark.parametrize("curve", ALL_CURVES)
def test_ec_params_match_pyca_public_key_info(curve: CurveName | Literal["ed25519"]) -> None:
    """The OID bytes are exactly those pyca writes into a SubjectPublicKeyInfo for that curve."""
    key: PrivateKey = (
        generate_ed25519_private_key() if curve == "ed25519" else generate_ec_private_key(curve)
    )
    assert ec_params_for_curve(curve) in public_key_to_der(key.public_key())


def test_ed25519_printable_string_params_are_accepted() -> None:
    """The PKCS#11 v3.0 PrintableString "edwards25519" form names Ed25519."""
    assert curve_for_ec_params(b"\x13\x0cedwards25519") == "ed25519"


@pytest.mark.parametrize(
    "params",
    [b"", b"\x06", bytes.fromhex("06082a8648ce3d030101"), bytes.fromhex("06032b6571"), b"\x05\x00"],
    ids=["empty", "truncated", "secp192r1", "ed448", "null"],
)
def test_unknown_ec_params_are_arguments_bad(params: bytes) -> None:
    """Unknown, unsupported or malformed parameters raise ArgumentsBad."""
    with pytest.raises(ArgumentsBad):
        curve_for_ec_params(params)


def test_ec_params_for_unknown_curve_is_arguments_bad() -> None:
    """Asking for the parameters of an unsupported curve raises ArgumentsBad."""
    with pytest.raises(ArgumentsBad):
        ec_params_for_curve("prime239v1")  # type: ignore[arg-type]


def test_ec_point_is_der_octet_string_of_uncompressed_point(
    ec_key: ec.EllipticCurvePrivateKey,
) -> None:
    """CKA_EC_POINT is 04 <len> 04 || X || Y, with long-form length for P-521."""
    curve = curve_of(ec_key)
    size = _FIELD_BYTES[curve]
    point = ec_point(ec_key.public_key())
    raw = ec_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert len(raw) == 1 + 2 * size
    header = b"\x04\x81\x85" if curve == "secp521r1" else bytes([0x04, len(raw)])
    assert point == header + raw


def test_ec_point_round_trips_in_both_forms(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """The DER form and the raw point (leniently) both load back to the same public key."""
    curve = curve_of(ec_key)
    assert curve != "ed25519"
    point = ec_point(ec_key.public_key())
    raw = ec_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    compressed = ec_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
    )
    for form in (point, raw, compressed):
        loaded = ec_public_key_from_point(curve, form)
        assert isinstance(loaded, ec.EllipticCurvePublicKey)
        assert ec_point(loaded) == point


def test_ed25519_point_round_trips_in_both_forms(ed_key: ed25519.Ed25519PrivateKey) -> None:
    """The Ed25519 point is 04 20 || key; both forms load back to the same key."""
    raw = ed_key.public_key().public_bytes_raw()
    point = ec_point(ed_key.public_key())
    assert point == b"\x04\x20" + raw
    for form in (point, raw):
        assert ec_point(ec_public_key_from_point("ed25519", form)) == point


def test_raw_point_that_parses_as_der_still_loads() -> None:
    """A raw P-256 point whose first bytes read as a valid OCTET STRING header still loads.

    With X starting 0x3f the raw 65-byte point is also 04 3f <63 bytes>, a well-formed DER
    OCTET STRING; its 63-byte content is no point, so the raw reading must win.
    """
    for scalar in range(1, 5000):
        public = ec.derive_private_key(scalar, ec.SECP256R1()).public_key()
        raw = public.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        if raw[1] == 0x3F:
            loaded = ec_public_key_from_point("secp256r1", raw)
            assert ec_point(loaded) == b"\x04\x41" + raw
            return
    pytest.fail("no scalar below 5000 gives X starting 0x3f")


def test_off_curve_point_is_arguments_bad(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """A point not on the curve raises ArgumentsBad in either form."""
    curve = curve_of(ec_key)
    assert curve != "ed25519"
    raw = bytearray(
        ec_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )
    raw[-1] ^= 0x01
    for form in (bytes(raw), b"\x04" + bytes([len(raw)]) + bytes(raw)):
        with pytest.raises(ArgumentsBad):
            ec_public_key_from_point(curve, form)


@pytest.mark.parametrize("point", [b"", b"\x04", b"\x04\x00", b"\x00", bytes(65)])
def test_garbage_points_are_arguments_bad(point: bytes) -> None:
    """Empty, truncated or zero points raise ArgumentsBad."""
    with pytest.raises(ArgumentsBad):
        ec_public_key_from_point("secp256r1", point)
    with pytest.raises(ArgumentsBad):
        ec_public_key_from_point("ed25519", point)


def test_point_for_another_curve_is_arguments_bad() -> None:
    """A P-384 point offered as P-256 raises ArgumentsBad."""
    point = ec_point(generate_ec_private_key("secp384r1").public_key())
    with pytest.raises(ArgumentsBad):
        ec_public_key_from_point("secp256r1", point)
    with pytest.raises(ArgumentsBad):
        ec_public_key_from_point("brainpoolP256r1", point)  # type: ignore[arg-type]


def test_ec_private_value_round_trip(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """The private scalar is fixed-length big-endian and loads back to the same key."""
    curve = curve_of(ec_key)
    assert curve != "ed25519"
    value = ec_private_value(ec_key)
    assert len(value) == _FIELD_BYTES[curve]
    assert int.from_bytes(value, "big") == ec_key.private_numbers().private_value
    loaded = ec_private_key_from_value(curve, value)
    assert isinstance(loaded, ec.EllipticCurvePrivateKey)
    assert loaded.private_numbers() == ec_key.private_numbers()


def test_ec_private_value_may_drop_leading_zeros() -> None:
    """A scalar given without its leading zero bytes loads as the same key."""
    key = ec_private_key_from_value("secp256r1", b"\x05")
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert ec_private_value(key) == bytes(31) + b"\x05"


def test_ed25519_private_value_round_trip(ed_key: ed25519.Ed25519PrivateKey) -> None:
    """The Ed25519 value is the 32-byte seed and loads back to the same key."""
    value = ec_private_value(ed_key)
    assert value == ed_key.private_bytes_raw()
    loaded = ec_private_key_from_value("ed25519", value)
    assert ec_private_value(loaded) == value


@pytest.mark.parametrize(
    ("curve", "value"),
    [
        ("secp256r1", b""),
        ("secp256r1", bytes(32)),
        ("secp256r1", b"\xff" * 32),
        ("secp256r1", b"\x01" * 33),
        ("ed25519", bytes(31)),
        ("ed25519", bytes(33)),
        ("secp192r1", b"\x01"),
    ],
    ids=["empty", "zero", "above-order", "too-long", "ed-short", "ed-long", "bad-curve"],
)
def test_bad_private_values_are_arguments_bad(curve: CurveName, value: bytes) -> None:
    """Empty, zero, out-of-range or wrong-length values, or unknown curves, raise ArgumentsBad."""
    with pytest.raises(ArgumentsBad):
        ec_private_key_from_value(curve, value)


def test_curve_of_private_and_public_keys(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """curve_of names the same curve for a private key and its public key."""
    assert curve_of(ec_key) == curve_of(ec_key.public_key()) == ec_key.curve.name
    assert curve_of(generate_ed25519_private_key().public_key()) == "ed25519"


def test_curve_of_unsupported_curve_is_arguments_bad() -> None:
    """A pyca key on an unsupported curve raises ArgumentsBad."""
    with pytest.raises(ArgumentsBad):
        curve_of(ec.generate_private_key(ec.SECP192R1()))


def test_curve_of_rsa_key_is_arguments_bad(rsa_key: rsa.RSAPrivateKey) -> None:
    """RSA keys, private or public, have no curve and raise ArgumentsBad."""
    with pytest.raises(ArgumentsBad):
        curve_of(rsa_key)
    with pytest.raises(ArgumentsBad):
        curve_of(rsa_key.public_key())


# --- RSA signatures: interop with raw pyca ---------------------------------------------------


@pytest.mark.parametrize("hash_name", HASHES)
@pytest.mark.parametrize("salt_length", [0, 20, 32])
def test_rsa_pss_interop(rsa_key: rsa.RSAPrivateKey, hash_name: HashName, salt_length: int) -> None:
    """Our PSS signatures verify under pyca, and pyca's verify under ours."""
    public = rsa_key.public_key()
    algorithm = hash_algorithm(hash_name)
    scheme = padding.PSS(mgf=padding.MGF1(algorithm), salt_length=salt_length)
    ours = rsa_pss_sign(rsa_key, MESSAGE, hash_name, salt_length)
    public.verify(ours, MESSAGE, scheme, algorithm)
    theirs = rsa_key.sign(MESSAGE, scheme, algorithm)
    rsa_pss_verify(public, theirs, MESSAGE, hash_name, salt_length)


@pytest.mark.parametrize("hash_name", HASHES)
def test_rsa_pss_prehashed_matches_hashing_first(
    rsa_key: rsa.RSAPrivateKey, hash_name: HashName
) -> None:
    """A prehashed PSS signature verifies against the message, and vice versa."""
    message_digest = digest(hash_name, MESSAGE)
    signature = rsa_pss_sign(rsa_key, message_digest, hash_name, 16, prehashed=True)
    rsa_pss_verify(rsa_key.public_key(), signature, MESSAGE, hash_name, 16)
    signature = rsa_pss_sign(rsa_key, MESSAGE, hash_name, 16)
    rsa_pss_verify(rsa_key.public_key(), signature, message_digest, hash_name, 16, prehashed=True)


@pytest.mark.parametrize("hash_name", HASHES)
def test_rsa_pkcs1v15_interop(rsa_key: rsa.RSAPrivateKey, hash_name: HashName) -> None:
    """Our PKCS#1 v1.5 signatures are pyca's byte for byte, and verify both ways."""
    algorithm = hash_algorithm(hash_name)
    ours = rsa_pkcs1v15_sign(rsa_key, MESSAGE, hash_name)
    theirs = rsa_key.sign(MESSAGE, padding.PKCS1v15(), algorithm)
    assert ours == theirs
    rsa_key.public_key().verify(ours, MESSAGE, padding.PKCS1v15(), algorithm)
    rsa_pkcs1v15_verify(rsa_key.public_key(), theirs, MESSAGE, hash_name)
    prehashed = rsa_pkcs1v15_sign(rsa_key, digest(hash_name, MESSAGE), hash_name, prehashed=True)
    assert prehashed == ours
    rsa_pkcs1v15_verify(
        rsa_key.public_key(), ours, digest(hash_name, MESSAGE), hash_name, prehashed=True
    )


def test_rsa_verification_failures_raise(rsa_key: rsa.RSAPrivateKey) -> None:
    """Altered messages, altered or empty signatures and wrong salts raise SignatureInvalid."""
    public = rsa_key.public_key()
    pss = rsa_pss_sign(rsa_key, MESSAGE, "SHA256", 32)
    pkcs1 = rsa_pkcs1v15_sign(rsa_key, MESSAGE, "SHA256")
    failures: list[Callable[[], object]] = [
        lambda: rsa_pss_verify(public, pss, MESSAGE + b"!", "SHA256", 32),
        lambda: rsa_pss_verify(public, _flip_first_byte(pss), MESSAGE, "SHA256", 32),
        lambda: rsa_pss_verify(public, b"", MESSAGE, "SHA256", 32),
        lambda: rsa_pss_verify(public, pss + b"\x00", MESSAGE, "SHA256", 32),
        lambda: rsa_pss_verify(public, pss, MESSAGE, "SHA256", 20),
        lambda: rsa_pss_verify(public, pss, MESSAGE, "SHA384", 32),
        lambda: rsa_pkcs1v15_verify(public, pkcs1, MESSAGE + b"!", "SHA256"),
        lambda: rsa_pkcs1v15_verify(public, _flip_first_byte(pkcs1), MESSAGE, "SHA256"),
        lambda: rsa_pkcs1v15_verify(public, pkcs1, MESSAGE, "SHA512"),
        lambda: rsa_pkcs1v15_verify(public, pss, MESSAGE, "SHA256"),
    ]
    for failure in failures:
        with pytest.raises(SignatureInvalid) as caught:
            failure()
        assert caught.value.__cause__ is None


def test_rsa_verify_returns_none(rsa_key: rsa.RSAPrivateKey) -> None:
    """Verification signals success by returning None, never a bool."""
    signature = rsa_pkcs1v15_sign(rsa_key, MESSAGE, "SHA256")
    result = rsa_pkcs1v15_verify(rsa_key.public_key(), signature, MESSAGE, "SHA256")  # type: ignore[func-returns-value]
    assert result is None


def test_rsa_misuse_is_arguments_bad(rsa_key: rsa.RSAPrivateKey) -> None:
    """Wrong digest lengths, negative or oversized salts and unknown hashes raise ArgumentsBad."""
    public = rsa_key.public_key()
    misuses: list[Callable[[], object]] = [
        lambda: rsa_pss_sign(rsa_key, b"short", "SHA256", 32, prehashed=True),
        lambda: rsa_pss_verify(public, b"", b"short", "SHA256", 32, prehashed=True),
        lambda: rsa_pss_sign(rsa_key, MESSAGE, "SHA256", -1),
        lambda: rsa_pss_verify(public, b"", MESSAGE, "SHA256", -1),
        lambda: rsa_pss_sign(rsa_key, MESSAGE, "SHA512", 200),
        lambda: rsa_pkcs1v15_sign(rsa_key, bytes(31), "SHA256", prehashed=True),
        lambda: rsa_pkcs1v15_verify(public, b"", bytes(33), "SHA256", prehashed=True),
        lambda: rsa_pkcs1v15_sign(rsa_key, MESSAGE, "MD5"),  # type: ignore[arg-type]
    ]
    for misuse in misuses:
        with pytest.raises(ArgumentsBad):
            misuse()


# --- ECDSA and Ed25519: interop with raw pyca ---------------------------------------------------


@pytest.mark.parametrize("hash_name", ["SHA256", "SHA384", "SHA512"])
def test_ecdsa_interop(ec_key: ec.EllipticCurvePrivateKey, hash_name: HashName) -> None:
    """Our raw r || s verifies under pyca (as DER), and pyca's DER (as r || s) under ours."""
    size = _FIELD_BYTES[ec_key.curve.name]
    algorithm = ec.ECDSA(hash_algorithm(hash_name))
    ours = ecdsa_sign(ec_key, MESSAGE, hash_name)
    assert len(ours) == 2 * size
    ec_key.public_key().verify(_raw_to_der(ours), MESSAGE, algorithm)
    theirs = _der_to_raw(ec_key.sign(MESSAGE, algorithm), size)
    ecdsa_verify(ec_key.public_key(), theirs, MESSAGE, hash_name)


@pytest.mark.parametrize("hash_name", HASHES)
def test_ecdsa_digest_interop(ec_key: ec.EllipticCurvePrivateKey, hash_name: HashName) -> None:
    """Signing a digest picks the hash by length and interoperates with pyca's Prehashed."""
    size = _FIELD_BYTES[ec_key.curve.name]
    message_digest = digest(hash_name, MESSAGE)
    prehashed = ec.ECDSA(utils.Prehashed(hash_algorithm(hash_name)))
    ours = ecdsa_sign_digest(ec_key, message_digest)
    ec_key.public_key().verify(_raw_to_der(ours), message_digest, prehashed)
    ecdsa_verify(ec_key.public_key(), ours, MESSAGE, hash_name)
    theirs = _der_to_raw(ec_key.sign(message_digest, prehashed), size)
    ecdsa_verify_digest(ec_key.public_key(), theirs, message_digest)


def test_ecdsa_verification_failures_raise(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """Altered messages or signatures, wrong lengths and zero r, s raise SignatureInvalid."""
    public = ec_key.public_key()
    size = _FIELD_BYTES[ec_key.curve.name]
    signature = ecdsa_sign(ec_key, MESSAGE, "SHA256")
    message_digest = digest("SHA256", MESSAGE)
    candidates = [
        (signature, MESSAGE + b"!"),
        (_flip_first_byte(signature), MESSAGE),
        (signature[:-1], MESSAGE),
        (signature + b"\x00", MESSAGE),
        (b"", MESSAGE),
        (bytes(2 * size), MESSAGE),
        (_raw_to_der(signature), MESSAGE),
    ]
    for candidate, message in candidates:
        with pytest.raises(SignatureInvalid):
            ecdsa_verify(public, candidate, message, "SHA256")
    with pytest.raises(SignatureInvalid):
        ecdsa_verify_digest(public, signature[:-1], message_digest)
    with pytest.raises(SignatureInvalid):
        ecdsa_verify_digest(public, signature, digest("SHA256", b"other"))


_X962_CURVES = {"secp256r1": (32, "SHA256"), "secp384r1": (48, "SHA384")}
_X962_KEYS = {name: generate_ec_private_key(name) for name in _X962_CURVES}  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(curve=st.sampled_from(sorted(_X962_CURVES)), data=st.binary(min_size=1, max_size=80))
def test_raw_ecdsa_takes_any_input_as_x962_does(curve: str, data: bytes) -> None:
    """CKM_ECDSA signs any input as ANSI X9.62 reads it: the leftmost order-length bits, or
    the whole input as an integer when shorter. pyca checks that against its own digest path:
    the input cut to the order's length, or left-padded with zeros to it."""
    key = _X962_KEYS[curve]
    size, hash_name = _X962_CURVES[curve]
    reference = data[:size] if len(data) >= size else data.rjust(size, b"\0")
    signature = ecdsa_sign_digest(key, data)
    prehashed = ec.ECDSA(utils.Prehashed(hash_algorithm(hash_name)))  # type: ignore[arg-type]
    key.public_key().verify(_raw_to_der(signature), reference, prehashed)
    ecdsa_verify_digest(key.public_key(), signature, data)
    theirs = _der_to_raw(key.sign(reference, prehashed), size)
    ecdsa_verify_digest(key.public_key(), theirs, data)


def test_raw_ecdsa_refuses_what_it_cannot_sign() -> None:
    """No input at all, and on P-521 an input above 512 bits (OpenSSL takes 64 bytes at most)."""
    key = generate_ec_private_key("secp256r1")
    with pytest.raises(ArgumentsBad):
        ecdsa_sign_digest(key, b"")
    with pytest.raises(ArgumentsBad):
        ecdsa_verify_digest(key.public_key(), bytes(64), b"")
    p521 = generate_ec_private_key("secp521r1")
    assert len(ecdsa_sign_digest(p521, b"\xff" * 64)) == 2 * 66
    with pytest.raises(ArgumentsBad):
        ecdsa_sign_digest(p521, b"\xff" * 66)


def test_ed25519_interop(ed_key: ed25519.Ed25519PrivateKey) -> None:
    """Ed25519 signatures are pyca's byte for byte and verify both ways."""
    ours = ed25519_sign(ed_key, MESSAGE)
    assert ours == ed_key.sign(MESSAGE)
    ed_key.public_key().verify(ours, MESSAGE)
    ed25519_verify(ed_key.public_key(), ed_key.sign(MESSAGE), MESSAGE)


def test_ed25519_verification_failures_raise(ed_key: ed25519.Ed25519PrivateKey) -> None:
    """Altered messages, altered or wrong-length signatures raise SignatureInvalid."""
    signature = ed25519_sign(ed_key, MESSAGE)
    for candidate, message in [
        (signature, MESSAGE + b"!"),
        (_flip_first_byte(signature), MESSAGE),
        (signature[:-1], MESSAGE),
        (signature + b"\x00", MESSAGE),
        (b"", MESSAGE),
    ]:
        with pytest.raises(SignatureInvalid):
            ed25519_verify(ed_key.public_key(), candidate, message)


@settings(max_examples=20)
@given(message=st.binary(max_size=200))
def test_signatures_round_trip_for_any_message(message: bytes) -> None:
    """ECDSA and Ed25519 signatures of arbitrary messages verify under our functions."""
    ec_private = ec_private_key_from_value("secp256r1", b"\x2a" * 32)
    ed_private = ec_private_key_from_value("ed25519", b"\x2a" * 32)
    assert isinstance(ec_private, ec.EllipticCurvePrivateKey)
    assert isinstance(ed_private, ed25519.Ed25519PrivateKey)
    ecdsa_verify(
        ec_private.public_key(), ecdsa_sign(ec_private, message, "SHA256"), message, "SHA256"
    )
    ed25519_verify(ed_private.public_key(), ed25519_sign(ed_private, message), message)


def test_pyca_rejects_a_tampered_signature_of_ours(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """Interop is real: pyca refuses our signature once it is altered."""
    signature = ecdsa_sign(ec_key, MESSAGE, "SHA256")
    with pytest.raises(InvalidSignature):
        ec_key.public_key().verify(
            _raw_to_der(_flip_first_byte(signature)), MESSAGE, ec.ECDSA(hashes.SHA256())
        )


# --- pairwise consistency ---------------------------------------------------------------------


def test_pairwise_consistency_passes_for_good_keys(
    rsa_key: rsa.RSAPrivateKey,
    ec_key: ec.EllipticCurvePrivateKey,
    ed_key: ed25519.Ed25519PrivateKey,
) -> None:
    """The PCT passes for every freshly generated key type."""
    for key in (rsa_key, ec_key, ed_key):
        pairwise_consistency_check(key)


def test_pairwise_consistency_passes_for_small_rsa() -> None:
    """The PCT shrinks the PSS salt so small (1024-bit) keys still pass."""
    pairwise_consistency_check(generate_rsa_private_key(1024, 65537))


def test_pairwise_consistency_fails_for_inconsistent_rsa(rsa_key: rsa.RSAPrivateKey) -> None:
    """A key whose private exponents do not match its public key raises SelfTestFailed.

    Both d and d mod (p-1) are corrupted: OpenSSL silently recomputes a faulty CRT result
    with d, so a CRT-only fault would be repaired rather than caught.
    """
    numbers = rsa_key.private_numbers()
    corrupted = rsa.RSAPrivateNumbers(
        p=numbers.p,
        q=numbers.q,
        d=numbers.d + 2,
        dmp1=numbers.dmp1 + 2,
        dmq1=numbers.dmq1,
        iqmp=numbers.iqmp,
        public_numbers=numbers.public_numbers,
    ).private_key(unsafe_skip_rsa_key_validation=True)
    with pytest.raises(SelfTestFailed) as caught:
        pairwise_consistency_check(corrupted)
    assert caught.value.__cause__ is None


def test_pairwise_consistency_fails_for_a_non_key() -> None:
    """Anything that is not a supported private key fails the PCT with SelfTestFailed."""
    with pytest.raises(SelfTestFailed):
        pairwise_consistency_check(object())  # type: ignore[arg-type]

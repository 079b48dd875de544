"""Behaviour of ECDH: Z agrees with pyca both ways, every point form works, bad points do not."""

from __future__ import annotations

from typing import get_args

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF

from strongroom.crypto._der import octet_string
from strongroom.crypto.asymmetric import CurveName, generate_ec_private_key
from strongroom.crypto.ecdh import ecdh_shared_secret
from strongroom.crypto.hashing import hash_algorithm
from strongroom.crypto.kdf import x963_kdf
from strongroom.errors import ArgumentsBad

CURVES: tuple[CurveName, ...] = get_args(CurveName)


@pytest.fixture(scope="module", params=CURVES)
def key_pair(
    request: pytest.FixtureRequest,
) -> tuple[ec.EllipticCurvePrivateKey, ec.EllipticCurvePrivateKey]:
    """Our key and a peer's, on each supported curve."""
    curve: CurveName = request.param
    return generate_ec_private_key(curve), generate_ec_private_key(curve)


def _point(key: ec.EllipticCurvePrivateKey, compressed: bool = False) -> bytes:
    form = (
        serialization.PublicFormat.CompressedPoint
        if compressed
        else serialization.PublicFormat.UncompressedPoint
    )
    return key.public_key().public_bytes(serialization.Encoding.X962, form)


def test_shared_secret_matches_pyca_both_ways(
    key_pair: tuple[ec.EllipticCurvePrivateKey, ec.EllipticCurvePrivateKey],
) -> None:
    """Z equals pyca's exchange from either side and is as long as the field."""
    ours, peer = key_pair
    z = ecdh_shared_secret(ours, _point(peer))
    assert z == ours.exchange(ec.ECDH(), peer.public_key())
    assert z == peer.exchange(ec.ECDH(), ours.public_key())
    assert z == ecdh_shared_secret(peer, _point(ours))
    assert len(z) == (ours.curve.key_size + 7) // 8


def test_every_point_form_gives_the_same_secret(
    key_pair: tuple[ec.EllipticCurvePrivateKey, ec.EllipticCurvePrivateKey],
) -> None:
    """Uncompressed, compressed and DER OCTET STRING wrapped points all give the same Z."""
    ours, peer = key_pair
    expected = ours.exchange(ec.ECDH(), peer.public_key())
    for point in (_point(peer), _point(peer, compressed=True)):
        assert ecdh_shared_secret(ours, point) == expected
        assert ecdh_shared_secret(ours, octet_string(point)) == expected


def test_point_off_the_curve_is_arguments_bad(
    key_pair: tuple[ec.EllipticCurvePrivateKey, ec.EllipticCurvePrivateKey],
) -> None:
    """An uncompressed point whose y is changed (so off the curve) raises ArgumentsBad."""
    ours, peer = key_pair
    point = bytearray(_point(peer))
    point[-1] ^= 1
    for candidate in (bytes(point), octet_string(bytes(point))):
        with pytest.raises(ArgumentsBad, match="invalid peer public point"):
            ecdh_shared_secret(ours, candidate)


def test_point_from_another_curve_is_arguments_bad() -> None:
    """A valid point on a different curve raises ArgumentsBad."""
    ours = generate_ec_private_key("secp256r1")
    for curve in ("secp224r1", "secp384r1", "secp256k1"):
        peer = generate_ec_private_key(curve)
        with pytest.raises(ArgumentsBad):
            ecdh_shared_secret(ours, _point(peer))


@pytest.mark.parametrize(
    "point",
    [
        b"",
        b"\x00",  # SEC 1 §2.3.3: the point at infinity
        b"\x04",
        b"\x05" + bytes(64),
        b"\x04" + bytes(64),
        b"\x04" + bytes(63),
        octet_string(b""),
        octet_string(b"\x00"),
        b"\x04\x41" + bytes(65),  # a header claiming the right length around a bad point
    ],
    ids=[
        "empty",
        "infinity",
        "bare-tag",
        "bad-prefix",
        "zero-point",
        "short",
        "empty-der",
        "infinity-der",
        "der-zero-point",
    ],
)
def test_malformed_points_are_arguments_bad(point: bytes) -> None:
    """Empty, infinity, truncated and badly prefixed points raise ArgumentsBad."""
    with pytest.raises(ArgumentsBad):
        ecdh_shared_secret(generate_ec_private_key("secp256r1"), point)


def test_ecdh_then_x963_matches_pyca() -> None:
    """ECDH followed by the X9.63 KDF (as CKD_SHA256_KDF does) matches pyca end to end."""
    ours, peer = generate_ec_private_key("secp384r1"), generate_ec_private_key("secp384r1")
    z = ecdh_shared_secret(ours, octet_string(_point(peer)))
    derived = x963_kdf("SHA256", z, length=32, shared_info=b"shared")
    pyca_z = peer.exchange(ec.ECDH(), ours.public_key())
    assert derived == X963KDF(hash_algorithm("SHA256"), 32, b"shared").derive(pyca_z)

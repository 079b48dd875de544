"""Elliptic-curve Diffie-Hellman: the raw shared secret Z (NIST SP 800-56A Rev. 3).

This module owns the ECC CDH primitive (SP 800-56A §5.7.1.2) on pyca/cryptography keys and
the two forms PKCS#11 lets a caller give the peer's public point in (the ``pPublicData`` of
``CK_ECDH1_DERIVE_PARAMS``): the bare SEC 1 §2.3.3 encoding, compressed or uncompressed, or
that encoding wrapped in a DER OCTET STRING. The peer point is checked to lie on the key's
curve (on the cofactor-1 curves Strongroom uses, that is full public-key validation,
§5.6.2.3.3); anything else is `ArgumentsBad`. It returns Z unprocessed: deriving keys from
Z is the job of `strongroom.crypto.kdf`. It must not know which key is being derived, nor
keep Z.
"""

from __future__ import annotations

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec

from strongroom.crypto._der import octet_string_content
from strongroom.errors import ArgumentsBad

__all__ = ["ecdh_shared_secret"]


def _peer_public_key(curve: ec.EllipticCurve, peer_point: bytes) -> ec.EllipticCurvePublicKey:
    # The OCTET STRING form is tried first; the two forms cannot be confused, because the DER
    # header adds 2 or 3 bytes and no valid point encoding is that much longer than another.
    candidates = [peer_point]
    content = octet_string_content(peer_point)
    if content is not None:
        candidates.insert(0, content)
    for candidate in candidates:
        try:
            return ec.EllipticCurvePublicKey.from_encoded_point(curve, candidate)
        except (ValueError, UnsupportedAlgorithm):
            continue
    raise ArgumentsBad("invalid peer public point")


def ecdh_shared_secret(key: ec.EllipticCurvePrivateKey, peer_point: bytes) -> bytes:
    """Z = x-coordinate of d·Q (SP 800-56A §5.7.1.2), as many bytes as the field (SEC 1 §2.3.5).

    ``peer_point`` is the peer's public point, bare or DER OCTET STRING wrapped; a malformed
    point or one not on ``key``'s curve is `ArgumentsBad`.
    """
    # The peer key was built on key.curve and checked on it, so the exchange cannot fail.
    return key.exchange(ec.ECDH(), _peer_public_key(key.curve, peer_point))

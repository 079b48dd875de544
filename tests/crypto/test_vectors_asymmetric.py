"""Wycheproof ECDSA P-256 (raw r || s), Ed25519 and RSA-PSS vectors through our verifiers."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from strongroom.crypto.asymmetric import (
    ec_public_key_from_point,
    ecdsa_verify,
    ed25519_verify,
    load_public_key_der,
    rsa_pss_verify,
)
from strongroom.errors import SignatureInvalid

from .crypto_vectors import WycheproofCase, wycheproof_cases


@pytest.mark.parametrize(
    "case",
    wycheproof_cases("ecdsa_secp256r1_sha256_p1363_test.json"),
    ids=lambda case: case.case_id,
)
def test_wycheproof_ecdsa_p256_sha256_p1363(case: WycheproofCase) -> None:
    """Valid raw r || s signatures verify; every invalid one raises SignatureInvalid."""
    assert case.result in {"valid", "invalid"}
    assert case.group["sha"] == "SHA-256"
    public = load_public_key_der(bytes.fromhex(case.group["publicKeyDer"]))
    assert isinstance(public, ec.EllipticCurvePublicKey)
    if case.result == "valid":
        ecdsa_verify(public, case.hex("sig"), case.hex("msg"), "SHA256")
    else:
        with pytest.raises(SignatureInvalid):
            ecdsa_verify(public, case.hex("sig"), case.hex("msg"), "SHA256")


@pytest.mark.parametrize(
    "case", wycheproof_cases("ed25519_test.json"), ids=lambda case: case.case_id
)
def test_wycheproof_ed25519(case: WycheproofCase) -> None:
    """Valid Ed25519 signatures verify; every invalid one raises SignatureInvalid."""
    assert case.result in {"valid", "invalid"}
    public = ec_public_key_from_point("ed25519", bytes.fromhex(case.group["publicKey"]["pk"]))
    assert isinstance(public, ed25519.Ed25519PublicKey)
    if case.result == "valid":
        ed25519_verify(public, case.hex("sig"), case.hex("msg"))
    else:
        with pytest.raises(SignatureInvalid):
            ed25519_verify(public, case.hex("sig"), case.hex("msg"))


@pytest.mark.parametrize(
    "case",
    wycheproof_cases("rsa_pss_2048_sha256_mgf1_32_test.json"),
    ids=lambda case: case.case_id,
)
def test_wycheproof_rsa_pss_2048_sha256_mgf1_32(case: WycheproofCase) -> None:
    """Valid PSS (SHA-256, MGF1-SHA-256, 32-byte salt) signatures verify; invalid ones raise."""
    assert case.result in {"valid", "invalid"}
    group = case.group
    assert (group["sha"], group["mgfSha"], group["sLen"]) == ("SHA-256", "SHA-256", 32)
    public = load_public_key_der(bytes.fromhex(group["publicKeyDer"]))
    assert isinstance(public, rsa.RSAPublicKey)
    if case.result == "valid":
        rsa_pss_verify(public, case.hex("sig"), case.hex("msg"), "SHA256", 32)
    else:
        with pytest.raises(SignatureInvalid):
            rsa_pss_verify(public, case.hex("sig"), case.hex("msg"), "SHA256", 32)

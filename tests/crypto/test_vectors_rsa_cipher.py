"""Wycheproof RSA-OAEP (2048-bit, SHA-256, MGF1-SHA-256) vectors through rsa_oaep_decrypt."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from strongroom.crypto.rsa_cipher import rsa_oaep_decrypt
from strongroom.errors import IntegrityError

from .crypto_vectors import WycheproofCase, wycheproof_cases

_CASES = wycheproof_cases("rsa_oaep_2048_sha256_mgf1sha256_test.json")
_KEYS: dict[str, rsa.RSAPrivateKey] = {}


def _key(case: WycheproofCase) -> rsa.RSAPrivateKey:
    der = str(case.group["privateKeyPkcs8"])
    if der not in _KEYS:
        key = serialization.load_der_private_key(bytes.fromhex(der), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        _KEYS[der] = key
    return _KEYS[der]


def test_wycheproof_oaep_file_shape() -> None:
    """The file holds 37 cases for SHA-256 with MGF1-SHA-256: 18 valid, 19 invalid."""
    assert len(_CASES) == 37
    assert {(case.group["sha"], case.group["mgfSha"]) for case in _CASES} == {
        ("SHA-256", "SHA-256")
    }
    assert sum(case.result == "valid" for case in _CASES) == 18
    assert sum(case.result == "invalid" for case in _CASES) == 19


@pytest.mark.parametrize("case", _CASES, ids=lambda case: case.case_id)
def test_wycheproof_rsa_oaep(case: WycheproofCase) -> None:
    """Valid cases decrypt to msg; every invalid one raises IntegrityError with one message."""
    assert case.result in {"valid", "invalid"}
    key, ciphertext, label = _key(case), case.hex("ct"), case.hex("label")
    if case.result == "valid":
        assert rsa_oaep_decrypt(key, ciphertext, "SHA256", "SHA256", label) == case.hex("msg")
    else:
        with pytest.raises(IntegrityError) as caught:
            rsa_oaep_decrypt(key, ciphertext, "SHA256", "SHA256", label)
        assert str(caught.value) == str(IntegrityError("decryption failed"))
        assert caught.value.__cause__ is None

"""NIST CAVP GCMVS (AES-256) and Wycheproof AES-GCM vectors through our AESGCM."""

from __future__ import annotations

import pytest

from strongroom.crypto.aead import AESGCM
from strongroom.errors import ArgumentsBad, IntegrityError

from .crypto_vectors import CAVPRecord, WycheproofCase, cavp_records, wycheproof_cases


def _profile(name: str) -> list[CAVPRecord]:
    """Strongroom's GCM profile: 96-bit IV, 128-bit tag."""
    return [
        record
        for record in cavp_records("nist-cavp", "gcmvs", name)
        if record.section["IVLEN"] == "96" and record.section["TAGLEN"] == "128"
    ]


_ENCRYPT = _profile("gcmEncryptExtIV256.rsp")
_DECRYPT = _profile("gcmDecrypt256.rsp")


def _gcm_id(record: CAVPRecord) -> str:
    section = record.section
    verdict = "-FAIL" if record.fail else ""
    return f"PT{section['PTLEN']}-AAD{section['AADLEN']}-Count{record.count()}{verdict}"


def test_cavp_gcm_profile_subset_sizes() -> None:
    """The 96-bit-IV, 128-bit-tag subset is 375 records in each direction."""
    assert len(_ENCRYPT) == 375
    assert len(_DECRYPT) == 375
    assert any(record.fail for record in _DECRYPT)


@pytest.mark.parametrize("record", _ENCRYPT, ids=_gcm_id)
def test_cavp_gcm_encrypt(record: CAVPRecord) -> None:
    """Encrypting PT with AAD gives exactly CT || Tag (SP 800-38D §7.1)."""
    sealed = AESGCM(record.hex("Key")).encrypt(
        record.hex("IV"), record.hex("PT"), record.hex("AAD")
    )
    assert sealed == record.hex("CT") + record.hex("Tag")


@pytest.mark.parametrize("record", _DECRYPT, ids=_gcm_id)
def test_cavp_gcm_decrypt(record: CAVPRecord) -> None:
    """Decrypting CT || Tag gives PT, and every FAIL record raises IntegrityError (§7.2)."""
    aead = AESGCM(record.hex("Key"))
    sealed = record.hex("CT") + record.hex("Tag")
    if record.fail:
        with pytest.raises(IntegrityError):
            aead.decrypt(record.hex("IV"), sealed, record.hex("AAD"))
    else:
        assert aead.decrypt(record.hex("IV"), sealed, record.hex("AAD")) == record.hex("PT")


_WYCHEPROOF = wycheproof_cases("aes_gcm_test.json")
_WYCHEPROOF_PROFILE = [
    case for case in _WYCHEPROOF if case.group["ivSize"] == 96 and case.group["tagSize"] == 128
]
_WYCHEPROOF_OTHER_IV = [case for case in _WYCHEPROOF if case.group["ivSize"] != 96]


@pytest.mark.parametrize("case", _WYCHEPROOF_PROFILE, ids=lambda case: case.case_id)
def test_wycheproof_gcm(case: WycheproofCase) -> None:
    """Valid 96-bit-IV cases round-trip exactly; invalid ones raise IntegrityError."""
    assert case.result in {"valid", "invalid"}
    aead = AESGCM(case.hex("key"))
    iv, aad, sealed = case.hex("iv"), case.hex("aad"), case.hex("ct") + case.hex("tag")
    if case.result == "valid":
        assert aead.encrypt(iv, case.hex("msg"), aad) == sealed
        assert aead.decrypt(iv, sealed, aad) == case.hex("msg")
    else:
        with pytest.raises(IntegrityError):
            aead.decrypt(iv, sealed, aad)


@pytest.mark.parametrize("case", _WYCHEPROOF_OTHER_IV, ids=lambda case: case.case_id)
def test_wycheproof_gcm_other_iv_sizes_are_refused(case: WycheproofCase) -> None:
    """Cases with IVs other than 96 bits are refused as caller misuse, in both directions."""
    aead = AESGCM(case.hex("key"))
    iv, aad = case.hex("iv"), case.hex("aad")
    with pytest.raises(ArgumentsBad):
        aead.decrypt(iv, case.hex("ct") + case.hex("tag"), aad)
    with pytest.raises(ArgumentsBad):
        aead.encrypt(iv, case.hex("msg"), aad)

"""NIST CAVP KDFCTR (SP 800-108 counter mode) and Wycheproof PBKDF2 vectors through our KDFs."""

from __future__ import annotations

from typing import Literal

import pytest

from strongroom.crypto.kdf import kbkdf_counter_hmac, pbkdf2_hmac_sha256

from .crypto_vectors import CAVPRecord, WycheproofCase, cavp_records, wycheproof_cases

_LOCATIONS: dict[str, Literal["before", "after", "middle"]] = {
    "BEFORE_FIXED": "before",
    "AFTER_FIXED": "after",
    "MIDDLE_FIXED": "middle",
}

_HMAC_SHA256 = [
    record
    for record in cavp_records("nist-cavp", "kbkdf", "KDFCTR_gen.txt")
    if record.section["PRF"] == "HMAC_SHA256"
]
# The profile Strongroom uses: counter first, 32 bits wide.
_BEFORE_FIXED_RLEN_32 = [
    record
    for record in _HMAC_SHA256
    if record.section["CTRLOCATION"] == "BEFORE_FIXED" and record.section["RLEN"] == "32_BITS"
]


def _kdf_id(record: CAVPRecord) -> str:
    location = record.section["CTRLOCATION"].split("_")[0].lower()
    rlen = record.section["RLEN"].split("_")[0]
    return f"{location}-r{rlen}-L{record.fields['L']}-COUNT{record.count()}"


def _derive(record: CAVPRecord) -> bytes:
    location = _LOCATIONS[record.section["CTRLOCATION"]]
    rlen = int(record.section["RLEN"].split("_")[0]) // 8
    length = int(record.fields["L"]) // 8
    if location == "middle":
        before, after = record.hex("DataBeforeCtrData"), record.hex("DataAfterCtrData")
        assert len(before) == int(record.fields["DataBeforeCtrLen"])
        return kbkdf_counter_hmac(
            record.hex("KI"),
            fixed=before + after,
            length=length,
            rlen=rlen,
            location="middle",
            break_location=len(before),
        )
    fixed = record.hex("FixedInputData")
    assert len(fixed) == int(record.fields["FixedInputDataByteLen"])
    return kbkdf_counter_hmac(
        record.hex("KI"), fixed=fixed, length=length, rlen=rlen, location=location
    )


@pytest.mark.parametrize("record", _HMAC_SHA256, ids=_kdf_id)
def test_cavp_kdfctr_hmac_sha256(record: CAVPRecord) -> None:
    """Every CAVP HMAC_SHA256 counter-mode record derives exactly KO, in any location and width."""
    assert _derive(record) == record.hex("KO")


def test_cavp_kdfctr_hmac_sha256_record_count() -> None:
    """The file holds 480 HMAC_SHA256 records: 3 counter locations x 4 widths x 40."""
    assert len(_HMAC_SHA256) == 480


def test_cavp_kdfctr_strongroom_profile_has_40_records() -> None:
    """Strongroom's profile (BEFORE_FIXED, RLEN=32) has 40 records, 10 each of L=128/160/256/320."""
    lengths = sorted(int(record.fields["L"]) for record in _BEFORE_FIXED_RLEN_32)
    assert lengths == [128] * 10 + [160] * 10 + [256] * 10 + [320] * 10


@pytest.mark.parametrize("record", _BEFORE_FIXED_RLEN_32, ids=_kdf_id)
def test_cavp_kdfctr_strongroom_profile_with_defaults(record: CAVPRecord) -> None:
    """With its defaults (SHA-256, 32-bit counter before the fixed input) the KDF matches KO."""
    length = int(record.fields["L"]) // 8
    derived = kbkdf_counter_hmac(
        record.hex("KI"), fixed=record.hex("FixedInputData"), length=length
    )
    assert derived == record.hex("KO")


@pytest.mark.parametrize(
    "case", wycheproof_cases("pbkdf2_hmacsha256_test.json"), ids=lambda case: case.case_id
)
def test_wycheproof_pbkdf2_hmac_sha256(case: WycheproofCase) -> None:
    """Every Wycheproof PBKDF2-HMAC-SHA256 case (all valid) derives exactly dk."""
    assert case.result == "valid"
    derived = pbkdf2_hmac_sha256(
        case.hex("password"),
        case.hex("salt"),
        int(case.case["iterationCount"]),
        int(case.case["dkLen"]),
    )
    assert derived == case.hex("dk")

"""NIST CAVP KWVS and Wycheproof vectors through Strongroom's AES-KW and AES-KWP functions."""

from __future__ import annotations

import pytest
from crypto_vectors import CAVPRecord, WycheproofCase, cavp_records, wycheproof_cases

from strongroom.crypto.keywrap import (
    aes_key_unwrap,
    aes_key_unwrap_with_padding,
    aes_key_wrap,
    aes_key_wrap_with_padding,
)
from strongroom.errors import ArgumentsBad, IntegrityError

_KEY_BITS = ("128", "192", "256")


def _cavp(kind: str, direction: str) -> list[CAVPRecord]:
    return [
        record
        for bits in _KEY_BITS
        for record in cavp_records("nist-cavp", "kwvs", f"{kind}_{direction}_{bits}.txt")
    ]


def _cavp_id(record: CAVPRecord) -> str:
    plaintext_bits = record.section["PLAINTEXT LENGTH"]
    verdict = "-FAIL" if record.fail else ""
    return f"{record.source[:-4]}-P{plaintext_bits}-COUNT{record.count()}{verdict}"


@pytest.mark.parametrize("record", _cavp("KW", "AE"), ids=_cavp_id)
def test_cavp_kw_wrap(record: CAVPRecord) -> None:
    """KW-AE: wrapping P under K gives exactly C (SP 800-38F §6.2)."""
    assert aes_key_wrap(record.hex("K"), record.hex("P")) == record.hex("C")


@pytest.mark.parametrize("record", _cavp("KW", "AD"), ids=_cavp_id)
def test_cavp_kw_unwrap(record: CAVPRecord) -> None:
    """KW-AD: unwrapping C gives P, and every FAIL record raises IntegrityError."""
    if record.fail:
        with pytest.raises(IntegrityError):
            aes_key_unwrap(record.hex("K"), record.hex("C"))
    else:
        assert aes_key_unwrap(record.hex("K"), record.hex("C")) == record.hex("P")


@pytest.mark.parametrize("record", _cavp("KWP", "AE"), ids=_cavp_id)
def test_cavp_kwp_wrap(record: CAVPRecord) -> None:
    """KWP-AE: wrapping P under K gives exactly C (SP 800-38F §6.3)."""
    assert aes_key_wrap_with_padding(record.hex("K"), record.hex("P")) == record.hex("C")


@pytest.mark.parametrize("record", _cavp("KWP", "AD"), ids=_cavp_id)
def test_cavp_kwp_unwrap(record: CAVPRecord) -> None:
    """KWP-AD: unwrapping C gives P, and every FAIL record raises IntegrityError."""
    if record.fail:
        with pytest.raises(IntegrityError):
            aes_key_unwrap_with_padding(record.hex("K"), record.hex("C"))
    else:
        assert aes_key_unwrap_with_padding(record.hex("K"), record.hex("C")) == record.hex("P")


@pytest.mark.parametrize(
    ("kind", "direction", "total", "failing"),
    [
        ("KW", "AE", 1500, 0),
        ("KW", "AD", 1500, 300),
        ("KWP", "AE", 1500, 0),
        ("KWP", "AD", 1500, 300),
    ],
)
def test_cavp_keywrap_record_counts(kind: str, direction: str, total: int, failing: int) -> None:
    """The parser sees every CAVP record, including the 100 FAIL records per AD file."""
    records = _cavp(kind, direction)
    assert len(records) == total
    assert sum(record.fail for record in records) == failing


# Wycheproof "acceptable" cases need a recorded decision. aes_wrap_test.json marks wrapping an
# 8-byte key acceptable; SP 800-38F §5.3.1 requires n >= 2 semiblocks for KW, so we refuse it.
_ACCEPTABLE_ACCEPTED = {"ShortKey": False}


def _wycheproof_expects_success(case: WycheproofCase) -> bool:
    if case.result == "acceptable":
        decisions = {_ACCEPTABLE_ACCEPTED[flag] for flag in case.flags}
        assert len(decisions) == 1, f"record a decision for acceptable flags {case.flags}"
        return decisions.pop()
    return case.result == "valid"


@pytest.mark.parametrize(
    "case", wycheproof_cases("aes_wrap_test.json"), ids=lambda case: case.case_id
)
def test_wycheproof_kw(case: WycheproofCase) -> None:
    """Valid KW cases wrap and unwrap exactly; invalid and refused ones raise our errors."""
    key, message, wrapped = case.hex("key"), case.hex("msg"), case.hex("ct")
    if _wycheproof_expects_success(case):
        assert aes_key_wrap(key, message) == wrapped
        assert aes_key_unwrap(key, wrapped) == message
    else:
        with pytest.raises(IntegrityError):
            aes_key_unwrap(key, wrapped)


@pytest.mark.parametrize(
    "case",
    [case for case in wycheproof_cases("aes_wrap_test.json") if case.result == "acceptable"],
    ids=lambda case: case.case_id,
)
def test_wycheproof_kw_acceptable_short_key_is_refused(case: WycheproofCase) -> None:
    """Wycheproof's acceptable 8-byte KW cases are refused: wrap is misuse, unwrap fails."""
    assert case.flags == ["ShortKey"]
    with pytest.raises(ArgumentsBad):
        aes_key_wrap(case.hex("key"), case.hex("msg"))
    with pytest.raises(IntegrityError):
        aes_key_unwrap(case.hex("key"), case.hex("ct"))


@pytest.mark.parametrize(
    "case", wycheproof_cases("aes_kwp_test.json"), ids=lambda case: case.case_id
)
def test_wycheproof_kwp(case: WycheproofCase) -> None:
    """Valid KWP cases wrap and unwrap exactly; every invalid one raises IntegrityError."""
    key, message, wrapped = case.hex("key"), case.hex("msg"), case.hex("ct")
    if _wycheproof_expects_success(case):
        assert aes_key_wrap_with_padding(key, message) == wrapped
        assert aes_key_unwrap_with_padding(key, wrapped) == message
    else:
        with pytest.raises(IntegrityError):
            aes_key_unwrap_with_padding(key, wrapped)

"""NIST CAVP KWVS and Wycheproof vectors through Strongroom's AES-KW and AES-KWP functions."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from strongroom.crypto.keywrap import (
    aes_key_unwrap,
    aes_key_unwrap_with_padding,
    aes_key_wrap,
    aes_key_wrap_with_padding,
)
from strongroom.errors import ArgumentsBad, IntegrityError

from .crypto_vectors import CAVPRecord, WycheproofCase, cavp_records, wycheproof_cases

_KEY_BITS = ("128", "192", "256")
_Unwrap = Callable[[bytes, bytes], bytes]


def _cavp(kind: str, direction: str) -> list[CAVPRecord]:
    return [
        record
        for bits in _KEY_BITS
        for record in cavp_records("nist-cavp", "kwvs", f"{kind}_{direction}_{bits}.txt")
    ]


def _sections(kind: str, direction: str) -> list[tuple[CAVPRecord, ...]]:
    """Records grouped by file and plaintext length: 100 records per test item.

    Grouping keeps the item count (and pytest-xdist's per-item overhead) down; a failure
    names every failing COUNT, so nothing is lost against one item per record.
    """
    groups: dict[tuple[str, str], list[CAVPRecord]] = {}
    for record in _cavp(kind, direction):
        key = (record.source, record.section["PLAINTEXT LENGTH"])
        groups.setdefault(key, []).append(record)
    return [tuple(records) for records in groups.values()]


def _section_id(records: tuple[CAVPRecord, ...]) -> str:
    first = records[0]
    return f"{first.source[:-4]}-P{first.section['PLAINTEXT LENGTH']}"


def _label(record: CAVPRecord) -> str:
    return f"COUNT={record.count()}{' (FAIL)' if record.fail else ''}"


@pytest.mark.parametrize("records", _sections("KW", "AE"), ids=_section_id)
def test_cavp_kw_wrap(records: tuple[CAVPRecord, ...]) -> None:
    """KW-AE: wrapping P under K gives exactly C (SP 800-38F §6.2), for every record."""
    wrong = [
        _label(record)
        for record in records
        if aes_key_wrap(record.hex("K"), record.hex("P")) != record.hex("C")
    ]
    assert not wrong


def _unwrap_mismatches(records: tuple[CAVPRecord, ...], unwrap: _Unwrap) -> list[str]:
    """Records where unwrap does not give P, or a FAIL record does not raise IntegrityError."""
    wrong = []
    for record in records:
        try:
            unwrapped = unwrap(record.hex("K"), record.hex("C"))
        except IntegrityError:
            if not record.fail:
                wrong.append(_label(record))
            continue
        if record.fail or unwrapped != record.hex("P"):
            wrong.append(_label(record))
    return wrong


@pytest.mark.parametrize("records", _sections("KW", "AD"), ids=_section_id)
def test_cavp_kw_unwrap(records: tuple[CAVPRecord, ...]) -> None:
    """KW-AD: unwrapping C gives P, and every FAIL record raises IntegrityError."""
    assert not _unwrap_mismatches(records, aes_key_unwrap)


@pytest.mark.parametrize("records", _sections("KWP", "AE"), ids=_section_id)
def test_cavp_kwp_wrap(records: tuple[CAVPRecord, ...]) -> None:
    """KWP-AE: wrapping P under K gives exactly C (SP 800-38F §6.3), for every record."""
    wrong = [
        _label(record)
        for record in records
        if aes_key_wrap_with_padding(record.hex("K"), record.hex("P")) != record.hex("C")
    ]
    assert not wrong


@pytest.mark.parametrize("records", _sections("KWP", "AD"), ids=_section_id)
def test_cavp_kwp_unwrap(records: tuple[CAVPRecord, ...]) -> None:
    """KWP-AD: unwrapping C gives P, and every FAIL record raises IntegrityError."""
    assert not _unwrap_mismatches(records, aes_key_unwrap_with_padding)


@pytest.mark.parametrize(
    ("kind", "direction", "failing"),
    [("KW", "AE", 0), ("KW", "AD", 300), ("KWP", "AE", 0), ("KWP", "AD", 300)],
)
def test_cavp_keywrap_record_counts(kind: str, direction: str, failing: int) -> None:
    """The parser sees all 1500 records per set, including the 100 FAIL records per AD file."""
    records = _cavp(kind, direction)
    assert len(records) == 1500
    assert sum(record.fail for record in records) == failing
    assert sum(len(section) for section in _sections(kind, direction)) == 1500


# Wycheproof "acceptable" cases need a recorded decision. aes_wrap_test.json marks wrapping an
# 8-byte key acceptable; SP 800-38F §6.2 requires n >= 2 semiblocks for KW, so we refuse it.
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

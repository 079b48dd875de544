"""Behaviour of the known-answer self-tests: all pass, each can be broken alone, never raises."""

from __future__ import annotations

import dataclasses
import time

import pytest

from strongroom.crypto import selftest
from strongroom.crypto.selftest import FAMILIES, SelfTestResult, run_known_answer_tests

_FIXED_DETAILS = {"ok", "known-answer mismatch", "unknown self-test family"}


def test_families_are_the_documented_twenty() -> None:
    """FAMILIES lists the twenty algorithm families, each with a test."""
    assert FAMILIES == (
        "aes-gcm",
        "aes-kw",
        "aes-kwp",
        "aes-ecb",
        "sha-256",
        "sha-512",
        "sha3-256",
        "aes-cmac",
        "hmac-sha256",
        "pbkdf2-sha256",
        "kbkdf-sha256",
        "hkdf-sha256",
        "ecdsa-p256",
        "rsa-pss",
        "rsa-pkcs1v15",
        "rsa-oaep",
        "ecdh-p256",
        "ed25519",
        "ml-dsa-44",
        "drbg",
    )


def test_everything_passes_by_default() -> None:
    """With nothing broken, every family passes, in FAMILIES order."""
    results = run_known_answer_tests()
    assert [result.family for result in results] == list(FAMILIES)
    assert all(result.passed for result in results), [r for r in results if not r.passed]
    assert {result.detail for result in results} == {"ok"}


@pytest.mark.parametrize("family", FAMILIES)
def test_breaking_a_family_fails_exactly_that_family(family: str) -> None:
    """A family named in broken fails, and every other family still passes."""
    results = run_known_answer_tests(frozenset({family}))
    failed = [result.family for result in results if not result.passed]
    assert failed == [family]
    (broken,) = [result for result in results if result.family == family]
    assert broken.detail in _FIXED_DETAILS or broken.detail.startswith("failed with ")


def test_breaking_everything_fails_everything() -> None:
    """Breaking all families at once fails all of them."""
    results = run_known_answer_tests(frozenset(FAMILIES))
    assert not any(result.passed for result in results)


def test_unknown_break_request_fails_closed() -> None:
    """A name that is no family adds a failed result instead of passing silently."""
    results = run_known_answer_tests(frozenset({"aes-gmc"}))
    assert results[-1] == SelfTestResult("aes-gmc", passed=False, detail="unknown self-test family")
    assert all(result.passed for result in results[:-1])


def test_run_is_fast() -> None:
    """A full run takes under 200 ms (it gates start-up)."""
    run_known_answer_tests()
    start = time.perf_counter()
    run_known_answer_tests()
    assert time.perf_counter() - start < 0.2


def test_unexpected_exceptions_are_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    """A primitive that raises anything is a failed result naming the exception type only."""

    def explode(broken: bool) -> None:
        raise RuntimeError("secret key material 0011223344")

    monkeypatch.setitem(selftest._TESTS, "sha-256", explode)
    results = run_known_answer_tests()
    (sha256,) = [result for result in results if result.family == "sha-256"]
    assert sha256 == SelfTestResult("sha-256", passed=False, detail="failed with RuntimeError")
    assert sum(not result.passed for result in results) == 1


def test_details_never_carry_data() -> None:
    """Every detail, passing or failing, is drawn from a fixed vocabulary without hex."""
    for family in FAMILIES:
        for result in run_known_answer_tests(frozenset({family})):
            assert result.detail in _FIXED_DETAILS or result.detail.startswith("failed with ")
            assert not any(len(word) > 24 for word in result.detail.split())


def test_results_are_frozen() -> None:
    """SelfTestResult cannot be altered after the run."""
    result = run_known_answer_tests()[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.passed = False  # type: ignore[misc]

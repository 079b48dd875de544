"""Wycheproof HMAC-SHA256 vectors through our HMAC functions."""

from __future__ import annotations

import pytest

from strongroom.crypto.hashing import constant_time_equal, hmac_sign, hmac_verify
from strongroom.errors import SignatureInvalid

from .crypto_vectors import WycheproofCase, wycheproof_cases


@pytest.mark.parametrize(
    "case", wycheproof_cases("hmac_sha256_test.json"), ids=lambda case: case.case_id
)
def test_wycheproof_hmac_sha256(case: WycheproofCase) -> None:
    """The tag's leftmost tagSize bits match exactly for valid cases and differ for invalid ones."""
    assert case.result in {"valid", "invalid"}
    key, message, tag = case.hex("key"), case.hex("msg"), case.hex("tag")
    tag_size = int(case.group["tagSize"]) // 8
    full = hmac_sign("SHA256", key, message)
    matches = len(tag) == tag_size and constant_time_equal(full[:tag_size], tag)
    assert matches == (case.result == "valid")
    if tag_size == len(full):
        if case.result == "valid":
            hmac_verify("SHA256", key, message, tag)
        else:
            with pytest.raises(SignatureInvalid):
                hmac_verify("SHA256", key, message, tag)

"""Usernames, passwords, verifiers and the password-derived KEK.

This module owns the user credential rules and the verifier format (store format v1,
"Users"). A password is stretched once with PBKDF2-HMAC-SHA256 (≥ 600,000 iterations,
OWASP 2023 / SP 800-132) into a 32-byte master secret; HKDF-SHA256 then splits that into
the stored verifier and the KEK that wraps the storage key for admins — so a login costs
one stretch, and the verifier reveals nothing about the KEK. Passwords are never stored,
logged or kept past the call that checks them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from strongroom.crypto.hashing import constant_time_equal
from strongroom.crypto.kdf import hkdf_sha256, pbkdf2_hmac_sha256
from strongroom.crypto.random import RandomSource
from strongroom.errors import ArgumentsBad, StoreCorrupt
from strongroom.model.codec import decode_cbor, encode_cbor

__all__ = [
    "MIN_ITERATIONS",
    "Credential",
    "check_password",
    "derive_credential",
    "normalize_username",
    "validate_password",
]

MIN_ITERATIONS = 600_000
"""Floor for production HSMs (OWASP 2023 for PBKDF2-HMAC-SHA256)."""
_USERNAME = re.compile(r"[a-z0-9_]{1,31}")
_SALT_BYTES = 16
_VERIFIER_INFO = b"strongroom/user/verifier/v1"
_KEK_INFO = b"strongroom/user/kek/v1"


def normalize_username(username: object) -> str:
    """Lower-case and check a username: 1–31 characters of [a-z0-9_], case-insensitive."""
    if not isinstance(username, str):
        raise ArgumentsBad("username must be a string")
    name = username.lower()
    if not _USERNAME.fullmatch(name):
        raise ArgumentsBad("username must be 1-31 characters of a-z, 0-9 and _")
    return name


def validate_password(password: object) -> bytes:
    """Check a password (8–128 characters) and return its UTF-8 bytes."""
    if not isinstance(password, str):
        raise ArgumentsBad("password must be a string")
    if not 8 <= len(password) <= 128:
        raise ArgumentsBad("password must be 8-128 characters")
    return password.encode()


@dataclass(frozen=True, slots=True)
class Credential:
    """A freshly derived verifier blob and the KEK that goes with it."""

    verifier: bytes
    kek: bytes

    def __repr__(self) -> str:
        return "Credential(<redacted>)"


def _split(master: bytes) -> tuple[bytes, bytes]:
    verifier = hkdf_sha256(master, salt=None, info=_VERIFIER_INFO, length=32)
    kek = hkdf_sha256(master, salt=None, info=_KEK_INFO, length=32)
    return verifier, kek


def derive_credential(password: str, iterations: int, rng: RandomSource) -> Credential:
    """New verifier (random salt) and KEK for ``password``."""
    secret = validate_password(password)
    salt = rng.random_bytes(_SALT_BYTES)
    verifier, kek = _split(pbkdf2_hmac_sha256(secret, salt, iterations, 32))
    blob = encode_cbor(
        {"v": 1, "alg": "pbkdf2-hmac-sha256", "iter": iterations, "salt": salt, "hash": verifier}
    )
    return Credential(blob, kek)


def check_password(verifier_blob: bytes, password: str) -> bytes | None:
    """The KEK if ``password`` matches the verifier (constant-time compare), else ``None``."""
    fields = decode_cbor(verifier_blob)
    try:
        iterations = int(fields["iter"])
        salt = bytes(fields["salt"])
        stored = bytes(fields["hash"])
        if fields["v"] != 1 or fields["alg"] != "pbkdf2-hmac-sha256":
            raise ValueError
    except (KeyError, TypeError, ValueError):
        raise StoreCorrupt("user verifier is malformed") from None
    try:
        secret = validate_password(password)
    except ArgumentsBad:
        secret = b"\x00" * 8  # still spend the time, then fail
        verifier, _ = _split(pbkdf2_hmac_sha256(secret, salt, iterations, 32))
        return None
    verifier, kek = _split(pbkdf2_hmac_sha256(secret, salt, iterations, 32))
    return kek if constant_time_equal(verifier, stored) else None

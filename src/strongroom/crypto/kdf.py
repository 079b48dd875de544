"""Key derivation: SP 800-108 counter mode, PBKDF2 and HKDF, all with HMAC.

This module owns Strongroom's key-derivation functions and, above all, the byte layout of
the SP 800-108 fixed input that the backup format and key hierarchy depend on:
``[i]_32 || Label || 0x00 || Context || [L]_32`` (NIST SP 800-108r1 counter mode). It also
offers the raw, opaque-fixed-input form that NIST's CAVP vectors exercise. Primitives are
pyca/cryptography's. It must not pick labels, salts or iteration counts for callers, nor
know which keys it derives.
"""

from __future__ import annotations

from typing import Final, Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.kbkdf import KBKDFHMAC, CounterLocation, Mode
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from strongroom.crypto.hashing import DIGEST_SIZES, HashName, hash_algorithm
from strongroom.errors import ArgumentsBad

__all__ = [
    "hkdf_sha256",
    "kbkdf_counter_hmac",
    "pbkdf2_hmac_sha256",
    "sp800_108_counter_hmac_sha256",
]

_LOCATIONS: Final[dict[str, CounterLocation]] = {
    "before": CounterLocation.BeforeFixed,
    "after": CounterLocation.AfterFixed,
    "middle": CounterLocation.MiddleFixed,
}
# SP 800-108r1: the fixed input's [L]_32 must hold L = 8 * length bits.
_MAX_LENGTH_L32: Final = (2**32 - 1) // 8


def sp800_108_counter_hmac_sha256(
    key_in: bytes, *, label: bytes, context: bytes, length: int
) -> bytes:
    """Derive ``length`` bytes with SP 800-108r1 §4.1 counter mode, PRF HMAC-SHA256.

    K(i) = HMAC-SHA256(key_in, [i]_32 || label || 0x00 || context || [L]_32), i = 1..n,
    with L = 8 * length and both integers big-endian; the output is the leftmost L bits.
    """
    if not 1 <= length <= _MAX_LENGTH_L32:
        raise ArgumentsBad(f"derived length must be 1 to {_MAX_LENGTH_L32} bytes, not {length}")
    kdf = KBKDFHMAC(
        algorithm=hashes.SHA256(),
        mode=Mode.CounterMode,
        length=length,
        rlen=4,  # §4.1: r = 32, the counter [i]_32
        llen=4,  # [L]_32, the length field of the fixed input
        location=CounterLocation.BeforeFixed,
        label=label,
        context=context,
        fixed=None,
    )
    return kdf.derive(key_in)


def kbkdf_counter_hmac(
    key_in: bytes,
    *,
    fixed: bytes,
    length: int,
    hash_name: HashName = "SHA256",
    rlen: int = 4,
    location: Literal["before", "after", "middle"] = "before",
    break_location: int | None = None,
) -> bytes:
    """SP 800-108r1 §4.1 counter mode over an opaque fixed input (the CAVP KDFCTR shape).

    ``rlen`` is the counter width in bytes (1 to 4). With ``location="middle"`` the counter
    sits ``break_location`` bytes into ``fixed``; otherwise ``break_location`` must be None.
    """
    algorithm = hash_algorithm(hash_name)
    if length < 1:
        raise ArgumentsBad(f"derived length must be positive, not {length}")
    if not 1 <= rlen <= 4:
        raise ArgumentsBad(f"counter width must be 1 to 4 bytes, not {rlen}")
    if location not in _LOCATIONS:
        raise ArgumentsBad(f"unknown counter location {location!r}")
    if (location == "middle") != (break_location is not None):
        raise ArgumentsBad("break_location is required for, and only for, location='middle'")
    # §4.1: n = ceil(L / h) must fit in the r-bit counter.
    blocks = -(-length // algorithm.digest_size)
    if blocks > 2 ** (8 * rlen) - 1:
        raise ArgumentsBad("derived length needs more blocks than the counter can count")
    try:
        kdf = KBKDFHMAC(
            algorithm=algorithm,
            mode=Mode.CounterMode,
            length=length,
            rlen=rlen,
            llen=None,  # any [L] is already inside the opaque fixed input
            location=_LOCATIONS[location],
            label=None,
            context=None,
            fixed=fixed,
            break_location=break_location,
        )
        return kdf.derive(key_in)
    except ValueError:
        raise ArgumentsBad("invalid KBKDF parameters") from None


def pbkdf2_hmac_sha256(password: bytes, salt: bytes, iterations: int, length: int = 32) -> bytes:
    """PBKDF2 with PRF HMAC-SHA256 (RFC 8018 §5.2, NIST SP 800-132 §5.3)."""
    if iterations < 1:
        raise ArgumentsBad(f"iteration count must be positive, not {iterations}")
    if length < 1:
        raise ArgumentsBad(f"derived length must be positive, not {length}")
    try:
        kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=length, salt=salt, iterations=iterations)
        return kdf.derive(password)
    except (ValueError, OverflowError):
        raise ArgumentsBad("invalid PBKDF2 parameters") from None


def hkdf_sha256(ikm: bytes, *, salt: bytes | None, info: bytes, length: int) -> bytes:
    """HKDF extract-then-expand with HMAC-SHA256 (RFC 5869 §2); at most 255 * 32 bytes."""
    if not 1 <= length <= 255 * DIGEST_SIZES["SHA256"]:
        raise ArgumentsBad(f"HKDF length must be 1 to 8160 bytes, not {length}")
    kdf = HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info)
    return kdf.derive(ikm)

"""Key derivation: SP 800-108 counter mode, PBKDF2, HKDF and the ANSI X9.63 KDF.

This module owns Strongroom's key-derivation functions and, above all, the byte layout of
the SP 800-108 fixed input that the backup format and key hierarchy depend on:
``[i]_32 || Label || 0x00 || Context || [L]_32`` (NIST SP 800-108r1 counter mode, with an
HMAC or AES-CMAC PRF). It also offers the raw, opaque-fixed-input form that NIST's CAVP
vectors exercise, HKDF with any `HashName` (whole, or as its extract and expand steps), and
the X9.63 KDF that turns an ECDH shared secret into key material. Primitives are
pyca/cryptography's. It must not pick labels, salts or iteration counts for callers, nor
know which keys it derives.
"""

from __future__ import annotations

from typing import Final, Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand
from cryptography.hazmat.primitives.kdf.kbkdf import (
    KBKDFCMAC,
    KBKDFHMAC,
    CounterLocation,
    Mode,
)
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF

from strongroom.crypto.hashing import HashName, hash_algorithm
from strongroom.errors import ArgumentsBad

__all__ = [
    "PRFName",
    "hkdf",
    "hkdf_expand",
    "hkdf_extract",
    "hkdf_sha256",
    "kbkdf_counter",
    "kbkdf_counter_hmac",
    "pbkdf2_hmac_sha256",
    "sp800_108_counter_hmac_sha256",
    "x963_kdf",
]

# The PRFs `kbkdf_counter` offers: HMAC with SHA-1/SHA-2 (FIPS 198-1) or AES-CMAC (SP 800-38B),
# the set SP 800-108r1 §4 allows and PKCS#11 v3.0 CKM_SP800_108_COUNTER_KDF names.
PRFName = Literal[
    "HMAC-SHA1", "HMAC-SHA224", "HMAC-SHA256", "HMAC-SHA384", "HMAC-SHA512", "CMAC-AES"
]

_HMAC_PRFS: Final[dict[str, HashName]] = {
    "HMAC-SHA1": "SHA1",
    "HMAC-SHA224": "SHA224",
    "HMAC-SHA256": "SHA256",
    "HMAC-SHA384": "SHA384",
    "HMAC-SHA512": "SHA512",
}
_AES_KEY_SIZES: Final = frozenset({16, 24, 32})

_LOCATIONS: Final[dict[str, CounterLocation]] = {
    "before": CounterLocation.BeforeFixed,
    "after": CounterLocation.AfterFixed,
    "middle": CounterLocation.MiddleFixed,
}
# SP 800-108r1: the fixed input's [L]_32 must hold L = 8 * length bits.
_MAX_LENGTH_L32: Final = (2**32 - 1) // 8


def kbkdf_counter(
    key_in: bytes, *, prf: PRFName, label: bytes, context: bytes, length: int
) -> bytes:
    """Derive ``length`` bytes with SP 800-108r1 §4.1 counter mode and PRF ``prf``.

    K(i) = PRF(key_in, [i]_32 || label || 0x00 || context || [L]_32), i = 1..n, with
    L = 8 * length and both integers big-endian; the output is the leftmost L bits. For
    ``CMAC-AES`` (SP 800-38B), ``key_in`` is the AES key and must be 16, 24 or 32 bytes.
    """
    if not 1 <= length <= _MAX_LENGTH_L32:
        raise ArgumentsBad(f"derived length must be 1 to {_MAX_LENGTH_L32} bytes, not {length}")
    if prf == "CMAC-AES":
        if len(key_in) not in _AES_KEY_SIZES:
            raise ArgumentsBad(f"CMAC-AES key must be 16, 24 or 32 bytes, not {len(key_in)}")
        cmac_kdf = KBKDFCMAC(
            algorithm=algorithms.AES,
            mode=Mode.CounterMode,
            length=length,
            rlen=4,  # §4.1: r = 32, the counter [i]_32
            llen=4,  # [L]_32, the length field of the fixed input
            location=CounterLocation.BeforeFixed,
            label=label,
            context=context,
            fixed=None,
        )
        return cmac_kdf.derive(key_in)
    try:
        hash_name = _HMAC_PRFS[prf]
    except (KeyError, TypeError):
        raise ArgumentsBad(f"unknown KBKDF PRF {prf!r}") from None
    hmac_kdf = KBKDFHMAC(
        algorithm=hash_algorithm(hash_name),
        mode=Mode.CounterMode,
        length=length,
        rlen=4,  # §4.1: r = 32, the counter [i]_32
        llen=4,  # [L]_32, the length field of the fixed input
        location=CounterLocation.BeforeFixed,
        label=label,
        context=context,
        fixed=None,
    )
    return hmac_kdf.derive(key_in)


def sp800_108_counter_hmac_sha256(
    key_in: bytes, *, label: bytes, context: bytes, length: int
) -> bytes:
    """`kbkdf_counter` with PRF HMAC-SHA256: the profile the backup format and key hierarchy use.

    K(i) = HMAC-SHA256(key_in, [i]_32 || label || 0x00 || context || [L]_32), i = 1..n.
    """
    return kbkdf_counter(key_in, prf="HMAC-SHA256", label=label, context=context, length=length)


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


def _hkdf_length(hash_name: HashName, length: int) -> hashes.HashAlgorithm:
    algorithm = hash_algorithm(hash_name)
    # RFC 5869 §2.3: L <= 255 * HashLen.
    limit = 255 * algorithm.digest_size
    if not 1 <= length <= limit:
        raise ArgumentsBad(f"HKDF length must be 1 to {limit} bytes, not {length}")
    return algorithm


def hkdf(hash_name: HashName, ikm: bytes, *, salt: bytes | None, info: bytes, length: int) -> bytes:
    """HKDF extract-then-expand (RFC 5869 §2); at most 255 hash blocks of output.

    ``salt=None`` is the RFC's "not provided": HashLen zero bytes (§2.2).
    """
    algorithm = _hkdf_length(hash_name, length)
    return HKDF(algorithm=algorithm, length=length, salt=salt, info=info).derive(ikm)


def hkdf_extract(hash_name: HashName, ikm: bytes, *, salt: bytes | None) -> bytes:
    """HKDF-Extract (RFC 5869 §2.2): PRK = HMAC-Hash(salt, IKM), one hash output long."""
    return HKDF.extract(hash_algorithm(hash_name), salt, ikm)


def hkdf_expand(hash_name: HashName, prk: bytes, *, info: bytes, length: int) -> bytes:
    """HKDF-Expand (RFC 5869 §2.3) of a pseudorandom key; at most 255 hash blocks of output."""
    algorithm = _hkdf_length(hash_name, length)
    return HKDFExpand(algorithm=algorithm, length=length, info=info).derive(prk)


def hkdf_sha256(ikm: bytes, *, salt: bytes | None, info: bytes, length: int) -> bytes:
    """HKDF extract-then-expand with HMAC-SHA256 (RFC 5869 §2); at most 255 * 32 bytes."""
    return hkdf("SHA256", ikm, salt=salt, info=info, length=length)


def x963_kdf(
    hash_name: HashName, shared_secret: bytes, *, length: int, shared_info: bytes = b""
) -> bytes:
    """The ANSI X9.63 KDF (SEC 1 §3.6.1): Hash(Z || [i]_32 || SharedInfo), i = 1, 2, ...

    The counter starts at 1 and the output is the leftmost ``length`` bytes; ``length`` must
    be below HashLen * (2^32 - 1) (§3.6.1 step 1).
    """
    algorithm = hash_algorithm(hash_name)
    limit = algorithm.digest_size * (2**32 - 1) - 1
    if not 1 <= length <= limit:
        raise ArgumentsBad(f"X9.63 KDF length must be 1 to {limit} bytes, not {length}")
    kdf = X963KDF(algorithm=algorithm, length=length, sharedinfo=shared_info or None)
    return kdf.derive(shared_secret)
